"""Alembic migrations of the posops schema."""
