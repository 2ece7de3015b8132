"""Repairs: tickets from diagnosis, technicians, loaners, maintenance records and SLAs."""
