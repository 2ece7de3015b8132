"""Shared foundations: configuration, storage, auth, audit, i18n, errors and the web layout."""
