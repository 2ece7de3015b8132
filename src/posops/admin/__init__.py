"""Administration in the console: users and their API tokens, merchants' records, CSV imports."""
