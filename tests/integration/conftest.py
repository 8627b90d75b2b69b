"""Persistence tests: a migrated engine on the database of ``tests/conftest.py`` (SQLite and PostgreSQL), and a
folder of the test's own for the e-mails a command sends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from prorata.adapters.db.database import create_database_engine, migrate
from tests.conftest import PREPARED


def migrated(url: str) -> None:
    engine = create_database_engine(url)
    migrate(engine)
    engine.dispose()


PREPARED["engine"] = migrated


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database (a copy of one migrated once per test session)."""
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def mail_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """E-mails a command sends land in the test's own folder, never in the working directory."""
    folder = tmp_path / "mail"
    monkeypatch.setenv("PRORATA_MAIL_DIR", str(folder))
    monkeypatch.delenv("PRORATA_SMTP_HOST", raising=False)
    return folder
