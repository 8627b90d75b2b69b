"""Connecting to the database, checking that it can be used, and migrating it.

SQLite: foreign keys on, WAL, and every transaction begins IMMEDIATE so that writers are serialised instead of
failing half-way (the SQLite recipe of SQLAlchemy's documentation). PostgreSQL through psycopg 3; ``postgresql://``
URLs are taken as they are written by people and mapped to that driver. Any other database is refused before a
driver is looked for.

``DatabaseNotReady`` says in one line which database cannot be used and what to run: a URL Prorata does not
support, a database that does not exist or cannot be reached, one whose tables are missing or older than this
version of Prorata.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from prorata.adapters.db.sql_functions import register_sqlite_functions

URL_FORMS = "sqlite:///FILE or postgresql://USER@HOST:5432/NAME"
_DRIVERS = {"sqlite": ("sqlite", {None, "pysqlite"}), "postgresql": ("postgresql+psycopg", {None, "psycopg"}),
            "postgres": ("postgresql+psycopg", {None, "psycopg"})}  # fmt: skip


# The execution option of a connection that only reads (``read_only_snapshot``): on SQLite its transactions are
# deferred instead of IMMEDIATE, so that it takes no write lock
READ_ONLY = "prorata_read_only"


class DatabaseNotReady(Exception):
    """The database cannot be used as it is. The message is one line: which database, and what to do."""


def _shown(url: str) -> str:
    """The URL as it may be printed: a password is never shown."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)


def shown(engine: Engine) -> str:
    """The database as people write its URL: without the driver Prorata picked, and never with its password."""
    return engine.url.set(drivername=engine.dialect.name).render_as_string(hide_password=True)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseNotReady(f"{url!r} is not a database URL; use {URL_FORMS}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in _DRIVERS or (driver or None) not in _DRIVERS[backend][1]:
        raise DatabaseNotReady(
            f"{_shown(url)}: Prorata runs on SQLite and PostgreSQL only, not {parsed.drivername}; use {URL_FORMS}"
        )
    return parsed.set(drivername=_DRIVERS[backend][0])


def normalise_url(url: str) -> str:
    """The URL with Prorata's driver; ``DatabaseNotReady`` for a URL of a database Prorata does not run on."""
    return _parse(url).render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (None for PostgreSQL and for an in-memory SQLite database)."""
    parsed = _parse(url)
    if parsed.drivername != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_url(url: str, *, create: bool = False) -> None:
    """Refuse, before anything connects, a URL Prorata does not support, and (unless ``create``, as ``prorata
    init`` does) an SQLite file that does not exist: connecting would create an empty one."""
    path = sqlite_file(url)
    if path is None:
        return
    if not create and not path.exists():
        raise DatabaseNotReady(f"the database file {path} does not exist: run `prorata init` to create it")
    if create and not path.parent.is_dir():
        raise DatabaseNotReady(f"cannot create the database file {path}: the folder {path.parent} does not exist")


def create_database_engine(url: str, **options: Any) -> Engine:
    # A pooled connection the server dropped (a restart, a failover, pg_terminate_backend) is replaced before use,
    # so that the next request after an outage succeeds instead of failing on a dead connection.
    options.setdefault("pool_pre_ping", True)
    if _parse(url).drivername.startswith("postgresql"):
        # Connections kept open for the requests a web process serves at once (its thread pool runs up to 40): a
        # connection opened beyond the pool is closed when it is given back, and PostgreSQL starts a backend
        # process for every new one, which under load cost the server as much CPU as the requests themselves.
        options.setdefault("pool_size", 10)
        options.setdefault("max_overflow", 30)
    engine = create_engine(normalise_url(url), **options)
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    elif engine.dialect.name == "postgresql":
        _postgres_setup(engine)
    return engine


def _postgres_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # No JIT compilation of queries: Prorata's statements are short, and the planner's cost estimates grow with
        # the tables, so past a few hundred thousand invoices PostgreSQL began compiling the statement that seals a
        # batch of invoices (about 0.4 s of compiling for 30 ms of work) on every batch. Set per session, not in the
        # connection's startup options, which connection poolers may refuse.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
            # Instants come back in UTC whatever the server's time zone, as Python's own UTC, which is converted
            # no further (``types.UTCDateTime``): no statement of Prorata depends on the session's time zone.
            cursor.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's BEGIN below, not the driver's implicit one
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()
        register_sqlite_functions(dbapi_connection)  # what PostgreSQL has built in (``sql_functions.py``)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # a reader of the books (``prorata verify``) begins a deferred transaction: under WAL it reads one snapshot
        # and never holds the write lock, so writers go on while it reads
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("prorata.adapters.db").joinpath("migrations")))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (the newest by default); an empty database gets every table."""
    command.upgrade(alembic_config(engine), revision)


def check_ready(engine: Engine, *, migrated: bool = True) -> None:
    """Raise ``DatabaseNotReady`` unless the database can be reached and (``migrated``) holds this version's newest
    tables. ``prorata init`` asks only for the first: it migrates next."""
    name = shown(engine)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as error:
        raise DatabaseNotReady(_unreachable(engine, error)) from None
    if not migrated:
        return
    scripts = ScriptDirectory.from_config(alembic_config(engine))
    head = scripts.get_current_head()
    if current is None:
        raise DatabaseNotReady(f"the database {name} has no Prorata tables: run `prorata init` to create them")
    if current == head:
        return
    try:
        scripts.get_revision(current)
    except CommandError:
        raise DatabaseNotReady(
            f"the database {name} was migrated by a newer Prorata (revision {current}); run that version"
        ) from None
    raise DatabaseNotReady(
        f"the database {name} is at migration {current}, this Prorata needs {head}: run `prorata init` to migrate it"
    )


def _unreachable(engine: Engine, error: DBAPIError) -> str:
    name = shown(engine)
    reason = " ".join(str(error.orig).split())  # the driver's words, on one line
    database = engine.url.database
    if engine.dialect.name == "postgresql" and f'database "{database}" does not exist' in reason:
        host, port, user = engine.url.host or "localhost", engine.url.port or 5432, engine.url.username or ""
        createdb = f"createdb -h {host} -p {port}" + (f" -U {user}" if user else "") + f" {database}"
        return f"the database {name} does not exist: create it first ({createdb}), then run `prorata init`"
    return f"cannot open the database {name}: {reason}"
