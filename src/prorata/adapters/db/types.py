"""Column types that keep money and instants exact on every database (rules X1, X2).

SQLite has no time zone type and drops offsets silently; it also stores NUMERIC as REAL. Instants are therefore
stored as UTC (naive on SQLite, ``timestamptz`` on PostgreSQL) and always read back as aware UTC datetimes, and a
naive value is refused before it reaches the database. Money is BIGINT minor units beside a CHAR(3) currency.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from prorata.domain.errors import InvalidInput

Money = BigInteger  # minor units; never NUMERIC (REAL on SQLite) and never a float
ROW_ID_MAX = 2**63 - 1  # ids are BIGINT: a larger id is no row's, and the databases cannot even compare it


def utc_instant(value: Any) -> datetime:
    """Rule X2: an instant on its way to the database, in UTC; anything but an aware datetime is refused."""
    if isinstance(value, datetime) and value.tzinfo is UTC:  # the common case: no conversion
        return value
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput("time.naive", f"an instant stored in the database must be aware, got {value!r}", rule="X2")
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant in, an aware UTC instant out; naive datetimes are refused (rule X2)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = utc_instant(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is UTC:  # PostgreSQL's answer in a session set to UTC (``database.py``)
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
