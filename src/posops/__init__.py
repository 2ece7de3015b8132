"""posops: keep POS terminals taking payments."""

__version__ = "0.1.0"
