"""Fixtures every database test shares: each such test runs on SQLite and on PostgreSQL.

PostgreSQL: a fresh database per test on ``PRORATA_TEST_POSTGRES`` (default the local server as user postgres), made
from empty by the migrations and dropped afterwards. Where PostgreSQL is not reachable its tests are skipped with a
message, except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ADMIN_URL = os.environ.get("PRORATA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_database() -> Iterator[str]:
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {ADMIN_URL} ({exc}); its persistence tests are skipped"
        if os.environ.get("CI"):
            pytest.fail(message + ", which CI does not allow")
        pytest.skip(message)
    name = f"prorata_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'prorata.sqlite3'}"
    else:
        yield from postgres_database()
