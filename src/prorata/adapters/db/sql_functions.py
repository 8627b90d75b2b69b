"""SQL that reads the same on SQLite and PostgreSQL: local days, whole seconds, exact proration.

The checks of ``prorata verify`` are set-based: one statement each over the whole books. What they compute (the days
of a period in the account's time zone, whether a line is within half a minor unit of ``quantity x unit price x
used / whole``, a document's hash) is written once and given to each database in its own words: PostgreSQL has time
zones, exact NUMERIC and ``sha256`` (``seal.py``); SQLite gets the same functions from Python, registered on every
connection (``register_sqlite_functions``), computed as the domain computes them (``periods.measure``).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from prorata.domain.errors import InvalidInput
from prorata.domain.periods import time_zone


def local_days_sql(dialect: str, start: str, end: str, zone: str) -> str:
    """Whole local days from ``start`` to ``end`` in the IANA time zone ``zone`` (rule C3's day count:
    ``periods.measure`` under day granularity)."""
    if dialect == "postgresql":
        return f"(CAST(timezone({zone}, {end}) AS DATE) - CAST(timezone({zone}, {start}) AS DATE))"
    return f"prorata_local_days({start}, {end}, {zone})"


def seconds_sql(dialect: str, start: str, end: str) -> str:
    """Whole seconds from ``start`` to ``end`` on a fixed axis (``periods.measure`` under second granularity)."""
    if dialect == "postgresql":
        return (
            f"(CAST(floor(extract(epoch FROM {end})) AS BIGINT) - CAST(floor(extract(epoch FROM {start})) AS BIGINT))"
        )
    return f"(CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER))"


def within_half_sql(dialect: str, amount: str, quantity: str, unit: str, used: str, whole: str) -> str:
    """``|amount - quantity x unit x used / whole| <= 1/2``, exactly (rule C4: one rounding per line): in NUMERIC on
    PostgreSQL, in Python integers on SQLite, so that no product of three factors overflows or becomes a float."""
    if dialect == "postgresql":
        return (
            f"(2 * abs(CAST({amount} AS NUMERIC) * {whole} - CAST({quantity} AS NUMERIC) * {unit} * {used}) <= {whole})"
        )
    return f"(prorata_within_half({amount}, {quantity}, {unit}, {used}, {whole}) = 1)"


def half_up_tax_sql(amount: str, rate: str) -> str:
    """Rule T3's ``line_tax``: ``amount x rate / 10000`` rounded half away from zero, in integers (both databases)."""
    product = f"(CAST({amount} AS BIGINT) * {rate})"
    return (
        f"(CASE WHEN {product} >= 0 THEN (2 * {product} + 10000) / 20000 ELSE -((-2 * {product} + 10000) / 20000) END)"
    )


# ------------------------------------------------------------------------------------------------ SQLite


def _instant(text: str) -> datetime:
    """An instant as SQLite holds it (UTC without an offset, ``types.UTCDateTime``)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _local_days(start: str | None, end: str | None, zone: str | None) -> int | None:
    if start is None or end is None or zone is None:
        return None
    try:
        tz = time_zone(zone)
    except InvalidInput:
        return None  # an unknown zone counts no days: the check names the line
    return _instant(end).astimezone(tz).toordinal() - _instant(start).astimezone(tz).toordinal()


def _within_half(
    amount: int | None, quantity: int | None, unit: int | None, used: int | None, whole: int | None
) -> int | None:
    if amount is None or quantity is None or unit is None or used is None or whole is None:
        return None
    return int(2 * abs(amount * whole - quantity * unit * used) <= whole)


def _sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


class _OrderedText:
    """``prorata_ordered_text(key, value)``: the values joined by newlines in the order of their keys, whatever
    order SQLite feeds them in (SQLite before 3.44 has no ORDER BY inside an aggregate)."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, str]] = []

    def step(self, key: Any, value: str) -> None:
        self.items.append((key, value))

    def finalize(self) -> str | None:
        if not self.items:
            return None
        return "\n".join(value for _, value in sorted(self.items, key=lambda item: item[0]))


def register_sqlite_functions(dbapi_connection: Any) -> None:
    """The functions above, on one SQLite connection (``database.py`` calls it on every connect)."""
    dbapi_connection.create_function("prorata_local_days", 3, _local_days, deterministic=True)
    dbapi_connection.create_function("prorata_within_half", 5, _within_half, deterministic=True)
    dbapi_connection.create_function("prorata_sha256", 1, _sha256, deterministic=True)
    dbapi_connection.create_aggregate("prorata_ordered_text", 2, _OrderedText)
