"""The numbering check (invariant 2, rule I2): per series and year, numbers 1..n, each once, and the counter at n.

The counts come from one grouped query; only a series and year that fail it is read number by number (a window over
its numbers) to name what is missing or repeated and the documents on either side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.verify.common import Context, violation
from prorata.domain.invariants import RowRef, Violation


def numbering(ctx: Context) -> list[Violation]:
    since = "" if ctx.scope.since is None else " AND i.year >= :year"
    year = None if ctx.scope.since is None else ctx.scope.since.year
    groups = {
        (r["series"], int(r["year"])): r
        for r in ctx.rows(
            "SELECT i.series, i.year, count(*) AS n, count(DISTINCT i.number) AS distinct_n, min(i.number) AS low, "
            f"max(i.number) AS high FROM invoices i WHERE i.number IS NOT NULL{since} GROUP BY i.series, i.year",
            year=year,
        )
    }
    counters = {
        (r["series"], int(r["year"])): int(r["last_number"])
        for r in ctx.rows(
            f"SELECT c.series, c.year, c.last_number FROM invoice_counters c WHERE 1 = 1{since.replace('i.', 'c.')}",
            year=year,
        )
    }
    out: list[Violation] = []
    for key in sorted(set(groups) | set(counters)):
        series, in_year = key
        group = groups.get(key)
        counter = counters.get(key)
        high = int(group["high"]) if group else 0
        if group is not None and not (int(group["low"]) == 1 and int(group["n"]) == int(group["distinct_n"]) == high):
            out.extend(_gaps(ctx, series, in_year))
        if counter is None:
            out.append(
                violation(
                    "inv.numbering",
                    f"{series}-{in_year}: {high} documents are numbered but the "
                    "series has no counter: the next number would start again at 1",
                )
            )
        elif counter != high:
            if counter > high:
                what = (
                    f"the counter stands at {counter} but the highest number is {high}: "
                    f"{invoice_number_text(series, in_year, high + 1)} .. "
                    f"{invoice_number_text(series, in_year, counter)} were taken without a document"
                )
            else:
                what = (
                    f"the counter stands at {counter} below the highest number {high}: the next document "
                    f"would repeat {invoice_number_text(series, in_year, counter + 1)}"
                )
            out.append(
                violation(
                    "inv.numbering",
                    f"{series}-{in_year}: {what}",
                    RowRef("invoice_counters", 0, f"counter {series}-{in_year}"),
                )
            )
    return out


def _gaps(ctx: Context, series: str, year: int) -> list[Violation]:
    rows = ctx.rows(
        "SELECT t.id, t.number, t.prev, t.prev_id, t.account_id FROM (SELECT i.id, i.number, i.account_id, "
        "lag(i.number) OVER (ORDER BY i.number, i.id) AS prev, lag(i.id) OVER (ORDER BY i.number, i.id) AS prev_id "
        "FROM invoices i WHERE i.series = :series AND i.year = :year AND i.number IS NOT NULL) t "
        "WHERE (t.prev IS NULL AND t.number <> 1) OR t.number - t.prev <> 1",
        series=series,
        year=year,
    )
    return [_gap(series, year, r) for r in rows]


def _gap(series: str, year: int, r: Mapping[str, Any]) -> Violation:
    number, prev = int(r["number"]), None if r["prev"] is None else int(r["prev"])
    this = RowRef("invoices", int(r["id"]), invoice_number_text(series, year, number))
    if prev == number:
        return violation(
            "inv.numbering",
            f"{this.label} is given to two documents",
            RowRef("invoices", int(r["prev_id"]), this.label),
            this,
            account_id=r["account_id"],
        )
    first = 1 if prev is None else prev + 1
    missing = invoice_number_text(series, year, first)
    if number - 1 > first:
        missing += f" .. {invoice_number_text(series, year, number - 1)}"
    rows = (
        [this]
        if prev is None
        else [RowRef("invoices", int(r["prev_id"]), invoice_number_text(series, year, prev)), this]
    )
    return violation(
        "inv.numbering",
        f"{missing} missing: no document has it (between "
        f"{rows[0].label if prev is not None else 'the start of the year'} and {this.label})",
        *rows,
    )
