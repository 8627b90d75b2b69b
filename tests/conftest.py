"""Fixtures every database test shares: each such test runs on SQLite and on PostgreSQL.

PostgreSQL: a database of the test's own on ``PRORATA_TEST_POSTGRES`` (default the local server as user postgres),
dropped afterwards. Where PostgreSQL is not reachable its tests are skipped with a message, except in CI (``CI`` set),
where that is a failure.

Most tests want their database already prepared in one of a few ways (migrated; migrated with the demo accounts). A
fixture that prepares a database registers how in ``PREPARED``; the first time a test asks for it, a database is
prepared that way once for the test session (per pytest-xdist worker) and every such test gets a copy of it: a file copy
on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL. A copy costs a fraction of a migration, and the tests stay
independent of each other.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.stripe_standin import StripeStandIn
from tests.stripe_standin import start as start_stripe_standin
from tests.webhook_receiver import WebhookReceiver, running_receiver

# Every event object and entitlement a transaction makes from what it holds is also read back and must be the same
# (``adapters/db/event_store.py``): the whole suite, and the processes its tests start, check the shortcut.
os.environ["PRORATA_CHECK_EVENTS"] = "1"
# No test calls the internet: the EU VAT registry is off unless a test points it at its local stand-in.
os.environ["PRORATA_VIES_URL"] = "off"

ADMIN_URL = os.environ.get("PRORATA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")

# Fixture name -> how a database for it is prepared, given the database's URL; first match in this order wins.
PREPARED: dict[str, Callable[[str], None]] = {}


def postgres_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def postgres_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {ADMIN_URL} ({exc}); its persistence tests are skipped"
        if os.environ.get("CI"):
            pytest.fail(message + ", which CI does not allow")
        pytest.skip(message)


class Templates:
    """The prepared databases of this test session, made when first needed and dropped at its end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, Path] = {}
        self.databases: dict[str, str] = {}

    def sqlite(self, kind: str, target: Path) -> None:
        source = self.files.get(kind)
        if source is None:
            source = self.folder / f"{kind}.sqlite3"
            PREPARED[kind](f"sqlite:///{source}")
            self.files[kind] = source
        shutil.copyfile(source, target)

    def postgres(self, admin: psycopg.Connection, kind: str) -> str:
        name = self.databases.get(kind)
        if name is None:
            name = f"prorata_template_{uuid.uuid4().hex[:12]}"
            admin.execute(f'CREATE DATABASE "{name}"')
            self.databases[kind] = name
            PREPARED[kind](postgres_url(name))  # disposes its connections: a template must have none
        return name

    def drop(self) -> None:
        if not self.databases:
            return
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            for name in self.databases.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    made = Templates(tmp_path_factory.mktemp("templates"))
    yield made
    made.drop()


def postgres_database(templates: Templates | None = None, kind: str | None = None) -> Iterator[str]:
    admin = postgres_admin()
    name = f"prorata_test_{uuid.uuid4().hex[:12]}"
    with admin:
        template = f' TEMPLATE "{templates.postgres(admin, kind)}"' if templates and kind else ""
        admin.execute(f'CREATE DATABASE "{name}"{template}')
        # A test database need not survive a crash of the server itself; its commits need not wait for the disk.
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
        try:
            yield postgres_url(name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, templates: Templates) -> Iterator[str]:
    """An empty database, or a copy of a prepared one when the test uses a fixture registered in ``PREPARED``."""
    kind = next((name for name in PREPARED if name in request.fixturenames), None)
    if request.param == "sqlite":
        path = tmp_path / "prorata.sqlite3"
        if kind:
            templates.sqlite(kind, path)
        yield f"sqlite:///{path}"
    else:
        yield from postgres_database(templates, kind)


@pytest.fixture
def standin() -> Iterator[StripeStandIn]:
    """A local stand-in for Stripe's API on a free port of 127.0.0.1, for this test alone."""
    server = start_stripe_standin()
    yield server
    server.server.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver on a free port of 127.0.0.1 (``tests/webhook_receiver.py``), answering 204 until told."""
    with running_receiver() as server:
        yield server
