"""The bank's exchange rates as stored (``exchange_rates``): imported, and found for an invoice's issue date.

An import is one transaction: every rate of the files, or none. A rate already stored for the same currency and
table date is left as it is when the file says the same; a file that says otherwise is refused with both values,
as the bank does not change a published table silently and an invoice may already show the stored one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, func, insert, select

from prorata.adapters.db.schema import exchange_rates
from prorata.domain.errors import RuleViolation
from prorata.domain.exchange_rates import ExchangeRate, rate_for


@dataclass(frozen=True, slots=True)
class Imported:
    added: int
    unchanged: int
    first: date | None
    last: date | None


def _rate(row: object) -> ExchangeRate:
    r = row._mapping  # type: ignore[attr-defined]
    return ExchangeRate(r["currency"], r["table_date"], r["table_number"], Decimal(r["mid"]), int(r["units"]))


def import_rates(conn: Connection, rates: Sequence[ExchangeRate], now: datetime) -> Imported:
    """Store every rate not stored yet; refuse the whole import when one differs from the stored one."""
    wanted = {(r.currency, r.table_date): r for r in rates}
    currencies = sorted({r.currency for r in rates})
    stored = {
        (row.currency, row.table_date): _rate(row)
        for row in conn.execute(
            select(exchange_rates).where(
                exchange_rates.c.currency.in_(currencies),
                exchange_rates.c.table_date.between(min(d for _, d in wanted), max(d for _, d in wanted)),
            )
        )
    } if wanted else {}  # fmt: skip
    for key, rate in wanted.items():
        known = stored.get(key)
        if known is not None and (known.per_unit != rate.per_unit or known.table_number != rate.table_number):
            raise RuleViolation(
                "rates.conflict",
                f"file: {rate.currency} of {rate.table_date.isoformat()} is stored as {known.mid} "
                f"({known.table_number}) and this file says {rate.mid} ({rate.table_number}); nothing was imported",
                field="file",
            )
    new = [r for key, r in sorted(wanted.items()) if key not in stored]
    if new:
        conn.execute(
            insert(exchange_rates),
            [{"currency": r.currency, "table_date": r.table_date, "table_number": r.table_number, "mid": str(r.mid),
              "units": r.units, "imported_at": now} for r in new],
        )  # fmt: skip
    days = sorted(d for _, d in wanted)
    return Imported(len(new), len(wanted) - len(new), days[0] if days else None, days[-1] if days else None)


def rate_on(conn: Connection, currency: str, issued_on: date) -> ExchangeRate:
    """The rate of the last working day before ``issued_on`` (``domain.exchange_rates.rate_for``), or the refusal
    that names the table to import."""
    newest = conn.execute(
        select(exchange_rates)
        .where(exchange_rates.c.currency == currency, exchange_rates.c.table_date < issued_on)
        .order_by(exchange_rates.c.table_date.desc())
        .limit(1)
    ).first()
    later = conn.execute(
        select(func.count())
        .select_from(exchange_rates)
        .where(exchange_rates.c.currency == currency, exchange_rates.c.table_date >= issued_on)
    ).scalar_one()
    return rate_for(currency, issued_on, None if newest is None else _rate(newest), bool(later))


def stored_rates(conn: Connection, currency: str | None = None, limit: int = 30) -> list[ExchangeRate]:
    query = select(exchange_rates).order_by(exchange_rates.c.table_date.desc(), exchange_rates.c.currency)
    if currency:
        query = query.where(exchange_rates.c.currency == currency.upper())
    return [_rate(row) for row in conn.execute(query.limit(limit))]
