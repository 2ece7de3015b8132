"""Merchants and terminals: records, onboarding, suspension and reactivation."""
