"""Settings from the environment (``PRORATA_*``); nothing else in Prorata reads the environment."""

from __future__ import annotations

import os

DEFAULT_DATABASE_URL = "sqlite:///prorata.sqlite3"  # the embedded database, a file in the working directory


def database_url() -> str:
    """``PRORATA_DATABASE_URL``: ``sqlite:///FILE`` (default) or ``postgresql://USER@HOST:PORT/NAME``."""
    return os.environ.get("PRORATA_DATABASE_URL") or DEFAULT_DATABASE_URL


def catalog_path() -> str | None:
    """``PRORATA_CATALOG``: an operator's catalog file (TOML); the built-in default catalog otherwise."""
    return os.environ.get("PRORATA_CATALOG") or None


def tax_path() -> str | None:
    """``PRORATA_TAX``: an operator's tax configuration (TOML: seller, rates); the built-in one otherwise."""
    return os.environ.get("PRORATA_TAX") or None
