"""What every check of the books shares: the read-only snapshot it runs in, the scope as SQL, how rows are named.

Every check runs inside one read-only transaction that sees one snapshot of the books and never blocks a writer:
on PostgreSQL ``REPEATABLE READ, READ ONLY`` (plain reads take no row lock; no ``SELECT ... FOR UPDATE`` anywhere
here), on SQLite a deferred transaction under WAL (``database.READ_ONLY``: no write lock, writers go on while it
reads). So a billing run, a payment or an order proceeds while ``prorata verify`` reads, and what it reads is one
consistent moment of the books: a document and its lines, payments and ledger entries as one transaction left them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, bindparam, text

from prorata.adapters.db.database import READ_ONLY
from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.types import UTCDateTime
from prorata.domain.errors import InvalidInput
from prorata.domain.invariants import RowRef, VerificationScope, Violation
from prorata.domain.money import Money


@contextmanager
def read_only_snapshot(engine: Engine, *, snapshot: str | None = None, shared: bool = False) -> Iterator[Connection]:
    """One consistent, read-only view of the books that takes no lock a writer waits for. On PostgreSQL,
    ``snapshot`` (``pg_export_snapshot()`` of another such transaction) makes it see exactly what that one sees, and
    ``shared`` says that the work is shared out between such connections already (so none starts helpers of its
    own: as many busy processes as the cores, not three times as many)."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options |= {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            if snapshot is not None:
                conn.execute(text("SET TRANSACTION SNAPSHOT '" + snapshot.replace("'", "") + "'"))
            # the checks sort and aggregate the whole books: room for that in memory rather than on disk; and each
            # statement runs once, so compiling it to machine code (JIT) costs more than it saves
            conn.exec_driver_sql("SET LOCAL work_mem = '128MB'")
            conn.exec_driver_sql("SET LOCAL jit = off")
            if shared:
                conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        yield conn


@dataclass(frozen=True, slots=True)
class Context:
    """What a check needs besides the database: the scope, the instant it runs at, what the catalog says."""

    conn: Connection
    scope: VerificationScope
    now: datetime
    plans: frozenset[str]  # product codes of plans (their licenses make a user Licensed, rule U1)
    per_user_addons: frozenset[str]  # product codes of add-ons assigned to users (rule A7)
    part: tuple[int, int] = (0, 1)  # (k, n): this run of a check reads the k-th of n shares of the rows

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def share(self, column: str) -> str:
        """`` AND`` keeping the rows of this run's share (by ``column``, an id), when a check is run in parts."""
        k, n = self.part
        return f" AND ({column} % {n}) = {k}" if n > 1 else ""

    def where(self, account: str | None = None, at: str | None = None) -> str:
        """`` AND ...`` restricting rows to the scope: ``account`` the account id column, ``at`` the instant column
        compared with ``--since``."""
        parts = []
        if account is not None and self.scope.account_id is not None:
            parts.append(f"{account} = :account")
        if at is not None and self.scope.since is not None:
            parts.append(f"{at} >= :since")
        return "".join(f" AND {part}" for part in parts)

    def rows(self, sql: str, **params: Any) -> list[Mapping[str, Any]]:
        """The rows of ``sql``, ``:account`` and ``:since`` bound to the scope; a list parameter is ``IN :name``."""
        values = {"account": self.scope.account_id, "since": self.scope.since, **params}
        used = {name: value for name, value in values.items() if re.search(rf":{name}\b", sql)}
        return [dict(row) for row in self.conn.execute(_statement(sql, used), used).mappings()]


def _statement(sql: str, params: Mapping[str, Any]) -> TextClause:
    statement = text(sql)
    for name, value in params.items():
        if name == "since" or isinstance(value, datetime):
            statement = statement.bindparams(bindparam(name, type_=UTCDateTime()))
        elif isinstance(value, list):
            statement = statement.bindparams(bindparam(name, expanding=True))
    return statement


def number_of(row: Mapping[str, Any], prefix: str = "") -> str:
    series, year, number = row[f"{prefix}series"], row[f"{prefix}year"], row[f"{prefix}number"]
    if number is None or year is None:
        return f"draft invoice {row[f'{prefix}id']}"
    return invoice_number_text(series, int(year), int(number))


def invoice_ref(row: Mapping[str, Any], prefix: str = "") -> RowRef:
    return RowRef("invoices", int(row[f"{prefix}id"]), number_of(row, prefix))


def violation(code: str, message: str, *rows: RowRef, account_id: Any = None) -> Violation:
    """A violation of ``code``: its message on one line, the rows it involves, the account they belong to."""
    return Violation(code, tuple(rows), " ".join(message.split()), None if account_id is None else int(account_id))


INVOICE_HEAD = "i.id, i.series, i.year, i.number, i.account_id"


def money(amount: Any, currency: Any) -> str:
    """An amount as the operator reads it (``120.00 USD``); minor units as they are when the currency is unknown."""
    try:
        return Money(int(amount), str(currency)).format()
    except (InvalidInput, TypeError, ValueError):
        return f"{amount} minor units of {currency!r}"
