"""Conservation (invariants 5, rules C3-C5, C7): every charge is the exact integral of what was held, no subscription
is charged beyond the time it holds, and no credit exceeds the charges it reverses.

The charged periods are the stored invoice lines: each carries its service period, its quantity, its unit price,
its fraction ``used / whole`` and (since migration 0010) the billing period ``whole`` measures. A line holds when

- ``used`` is the length of its service period and ``whole`` the length of its billing period, both in whole local
  days of the account's time zone or both in seconds (a line's own figures say which granularity priced it: the
  catalog's setting may have changed since), with ``used <= whole``;
- its service period lies in its billing period and ends where it ends (charges run to the period end, rule L2;
  credits give back the rest of the subscription's period, rule C5), and an order's line starts no earlier than the
  day it was ordered (a change takes effect on its day, rule C3);
- a charge's amount is ``quantity x unit price x used / whole`` within half a minor unit (rule C4): the integral of
  unit price x quantity over the time held, exactly the property the engine's tests check;
- a discount line (rule DC2) lies in its charge's billing period, and may stop before its end (the discount ran
  out inside it).

Lines issued before the billing period was kept have no ``whole_start``: their fraction is checked against their
service period alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

from prorata.adapters.db.sql_functions import local_days_sql, seconds_sql, within_half_sql
from prorata.adapters.db.verify.common import INVOICE_HEAD, Context, invoice_ref, money, number_of, violation
from prorata.domain.invariants import RowRef, Violation

ISSUED_INVOICE = "i.series = 'INV' AND i.number IS NOT NULL"
DAYS_AT_MOST = 366  # a day-granularity line's whole period is never longer; a second-granularity one rarely as short


def _fraction_ok(ctx: Context) -> str:
    d = ctx.dialect

    def holds(used: str, whole: str) -> str:
        # a line that covers its whole period (every renewal) needs no second count of the same period
        return (f"(CASE WHEN l.used <> {used} THEN 0 WHEN l.whole_start IS NULL THEN 1 "
                "WHEN l.whole_start = l.period_start AND l.whole_end = l.period_end THEN "
                f"(CASE WHEN l.whole = l.used THEN 1 ELSE 0 END) "
                f"WHEN l.whole = {whole} THEN 1 ELSE 0 END)")  # fmt: skip

    days = holds(local_days_sql(d, "l.period_start", "l.period_end", "a.time_zone"),
                 local_days_sql(d, "l.whole_start", "l.whole_end", "a.time_zone"))  # fmt: skip
    seconds = holds(seconds_sql(d, "l.period_start", "l.period_end"), seconds_sql(d, "l.whole_start", "l.whole_end"))
    # nested CASEs: a line is counted in seconds only when it is not in days, and days are only tried when they can be
    return (f"(CASE WHEN l.whole <= {DAYS_AT_MOST} THEN (CASE WHEN {days} = 1 THEN 1 WHEN {seconds} = 1 THEN 1 "
            f"ELSE 0 END) ELSE {seconds} END)")  # fmt: skip


def proration(ctx: Context) -> list[Violation]:
    d = ctx.dialect
    exact = within_half_sql(d, "l.amount", "l.quantity", "l.unit_amount", "l.used", "l.whole")
    inside = (
        "(CASE WHEN l.used >= 0 AND l.whole > 0 AND l.used <= l.whole AND (l.whole_start IS NULL OR "
        "(l.period_start >= l.whole_start AND l.period_end = l.whole_end) OR "
        # a discount covers the part of its charge's period it covers: it may stop before the end (rule DC2)
        "(l.kind = 'discount' AND l.period_start >= l.whole_start AND l.period_end <= l.whole_end)) "
        "THEN 1 ELSE 0 END)"
    )
    # a change takes effect on the day it is ordered (rule C3), so an order's line never starts on an earlier day
    ordered = (
        f"(CASE WHEN o.id IS NULL THEN 1 WHEN {local_days_sql(d, 'o.created_at', 'l.period_start', 'a.time_zone')} "
        ">= 0 THEN 1 ELSE 0 END)"
    )
    rows = ctx.rows(
        f"SELECT t.*, {local_days_sql(d, 't.period_start', 't.period_end', 't.zone')} AS d_used, "
        f"{seconds_sql(d, 't.period_start', 't.period_end')} AS s_used, "
        f"{local_days_sql(d, 't.whole_start', 't.whole_end', 't.zone')} AS d_whole, "
        f"{seconds_sql(d, 't.whole_start', 't.whole_end')} AS s_whole FROM ("
        f"SELECT {INVOICE_HEAD}, i.currency, a.time_zone AS zone, l.id AS line_id, l.position, l.kind, l.quantity, "
        "l.unit_amount, l.used, l.whole, l.amount, l.period_start, l.period_end, l.whole_start, l.whole_end, "
        f"{_fraction_ok(ctx)} AS fraction_ok, {inside} AS inside, {ordered} AS ordered, o.created_at AS ordered_at, "
        f"(CASE WHEN l.kind <> 'charge' OR {exact} THEN 1 ELSE 0 END) AS exact "
        "FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id JOIN accounts a ON a.id = i.account_id "
        "LEFT JOIN orders o ON o.id = i.order_id "
        f"WHERE {ISSUED_INVOICE}{ctx.where('i.account_id', 'i.issued_at')}{ctx.share('l.id')}) t "
        "WHERE t.fraction_ok = 0 OR t.inside = 0 OR t.ordered = 0 OR t.exact = 0"
    )
    return [_proration_violation(r) for r in rows]


def _when(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _proration_violation(r: Mapping[str, Any]) -> Violation:
    c = r["currency"]
    wrong = []
    if not r["fraction_ok"]:
        measured = f"{r['d_used']} days ({r['s_used']} seconds)"
        whole = "" if r["whole_start"] is None else f", the billing period {r['d_whole']} days ({r['s_whole']} s)"
        wrong.append(
            f"it says {r['used']} of {r['whole']} but its service period {_when(r['period_start'])} .. "
            f"{_when(r['period_end'])} is {measured}{whole}"
        )
    if not r["inside"]:
        if r["whole_start"] is not None and (r["period_start"] < r["whole_start"] or r["period_end"] != r["whole_end"]):
            wrong.append(
                f"its service period {_when(r['period_start'])} .. {_when(r['period_end'])} does not end with "
                f"the billing period {_when(r['whole_start'])} .. {_when(r['whole_end'])}"
            )
        else:
            wrong.append(f"{r['used']} of {r['whole']} is not a part of a period")
    if not r["ordered"]:
        wrong.append(
            f"it charges from {_when(r['period_start'])}, before the day it was ordered ({_when(r['ordered_at'])})"
        )
    if not r["exact"]:
        if r["unit_amount"] is None:
            wrong.append("it is a charge without a unit price")
        else:
            value = Fraction(r["quantity"] * r["unit_amount"] * r["used"], r["whole"]) if r["whole"] else Fraction(0)
            wrong.append(
                f"it charges {money(r['amount'], c)} but {r['quantity']} x {money(r['unit_amount'], c)} x "
                f"{r['used']}/{r['whole']} is {float(value) / 10 ** _exponent(c):.4f} {c} exactly"
            )
    return violation(
        "inv.proration",
        f"{number_of(r)} line {r['position']} ({r['kind']}): " + "; ".join(wrong),
        invoice_ref(r),
        RowRef("invoice_lines", int(r["line_id"])),
        account_id=r["account_id"],
    )


def _exponent(currency: str) -> int:
    from prorata.domain.money import EXPONENTS

    return EXPONENTS.get(currency, 0)


def charged_not_held(ctx: Context) -> list[Violation]:
    given_back = (
        "EXISTS (SELECT 1 FROM invoice_lines c JOIN invoices ci ON ci.id = c.invoice_id WHERE "
        "c.subscription_id = l.subscription_id AND c.kind = 'credit' AND ci.series = 'INV' AND ci.number IS NOT NULL "
        "AND c.period_start <= s.period_end AND c.period_end >= l.period_end)"
    )
    rows = ctx.rows(
        f"SELECT {INVOICE_HEAD}, l.id AS line_id, l.position, l.product, l.period_start, l.period_end, "
        "l.subscription_id, s.period_end AS held_until, s.status AS sub_status FROM invoice_lines l "
        "JOIN invoices i ON i.id = l.invoice_id LEFT JOIN subscriptions s ON s.id = l.subscription_id "
        f"WHERE {ISSUED_INVOICE} AND l.kind = 'charge'{ctx.where('i.account_id', 'i.issued_at')}{ctx.share('l.id')} "
        "AND (s.id IS NULL "
        f"OR l.period_start >= s.period_end OR (l.period_end > s.period_end AND NOT {given_back}))"
    )
    out = []
    for r in rows:
        line = f"{number_of(r)} line {r['position']} ({r['product']})"
        refs = [invoice_ref(r), RowRef("invoice_lines", int(r["line_id"]))]
        if r["held_until"] is None:
            what = "charges no subscription of the account"
        else:
            refs.append(RowRef("subscriptions", int(r["subscription_id"])))
            what = (
                f"charges {_when(r['period_start'])} .. {_when(r['period_end'])} but subscription "
                f"{r['subscription_id']} ({r['sub_status']}) is held until {_when(r['held_until'])}, and no "
                "credit gives the rest back"
            )
        out.append(violation("inv.charged_not_held", f"{line} {what}", *refs, account_id=r["account_id"]))
    return out


def credit_exceeds_charges(ctx: Context) -> list[Violation]:
    before = (
        "(SELECT coalesce(sum(x.amount), 0) FROM invoice_lines x JOIN invoices xi ON xi.id = x.invoice_id "
        "WHERE x.subscription_id = c.subscription_id AND xi.series = 'INV' AND xi.number IS NOT NULL "
        "AND x.period_start < c.period_end AND x.period_end > c.period_start "
        "AND (x.invoice_id < c.invoice_id OR (x.invoice_id = c.invoice_id AND x.position < c.position)))"
    )
    rows = ctx.rows(
        "SELECT t.* FROM ("
        f"SELECT {INVOICE_HEAD}, i.currency, c.id AS line_id, c.position, c.product, -c.amount AS credited, c.basis, "
        f"{before} AS net_charged FROM invoice_lines c JOIN invoices i ON i.id = c.invoice_id "
        f"WHERE {ISSUED_INVOICE} AND c.kind = 'credit'{ctx.where('i.account_id', 'i.issued_at')}{ctx.share('c.id')}) t "
        "WHERE t.basis IS NULL OR t.credited > t.basis OR t.credited > t.net_charged"
    )
    out = []
    for r in rows:
        cur = r["currency"]
        if r["basis"] is None:
            what = "does not say what charges it reverses"
        elif r["credited"] > r["basis"]:
            what = f"credits {money(r['credited'], cur)}, more than the {money(r['basis'], cur)} charged it reverses"
        else:
            what = (
                f"credits {money(r['credited'], cur)} but the subscription was charged (less earlier credits) "
                f"{money(r['net_charged'], cur)} for that time"
            )
        out.append(
            violation(
                "inv.credit_exceeds_charges",
                f"{number_of(r)} line {r['position']} ({r['product']}) {what}",
                invoice_ref(r),
                RowRef("invoice_lines", int(r["line_id"])),
                account_id=r["account_id"],
            )
        )
    return out
