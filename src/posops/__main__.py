"""Lets `python -m posops` run the command line."""

from posops.cli import app

app()
