"""Gap-free invoice numbers (rule I2): ``INV-2026-000001``, one series per year.

The counter row is locked by the UPDATE that increments it, inside the transaction that finalizes the invoice: if
that transaction rolls back, so does the number, and no other transaction can take a number in between. The first
number of a year inserts the row; two first numbers racing for it meet the primary key and the loser retries.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, update
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.schema import invoice_counters


def next_invoice_number(connection: Connection, series: str, year: int) -> int:
    """The next number of ``series`` in ``year``; call it inside the finalizing transaction."""
    return take_invoice_numbers(connection, series, year, 1)


def take_invoice_numbers(connection: Connection, series: str, year: int, count: int) -> int:
    """Take ``count`` consecutive numbers of ``series`` in ``year`` in one statement; returns the first. The billing
    run numbers a whole batch of renewal invoices this way, as late in its transaction as it can, since the counter
    row stays locked until the commit."""
    if count < 1:
        raise ValueError("take at least one number")
    for _ in range(3):
        last = connection.execute(
            update(invoice_counters)
            .where(invoice_counters.c.series == series, invoice_counters.c.year == year)
            .values(last_number=invoice_counters.c.last_number + count)
            .returning(invoice_counters.c.last_number)
        ).scalar_one_or_none()
        if last is not None:
            return int(last) - count + 1
        try:
            with connection.begin_nested():
                connection.execute(insert(invoice_counters).values(series=series, year=year, last_number=count))
            return 1
        except IntegrityError:
            continue  # another transaction created the row first: increment it instead
    raise RuntimeError(f"could not take an invoice number in {series}-{year}")


def invoice_number_text(series: str, year: int, number: int) -> str:
    return f"{series}-{year}-{number:06d}"
