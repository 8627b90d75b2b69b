"""The operator's dashboard figures, one pure function per metric with its definition in its docstring.

The definitions follow the subscription-analytics vendors (ChartMogul, Baremetrics, Chargebee's RevenueStory) and
are this product's own where the books say more or less than theirs. Every figure is per currency: amounts in two
currencies are never added. Money is integer minor units; MRR is summed exactly in ``PARTS`` of a minor unit (a
yearly price divided by 12, and a percentage off in basis points, stay whole) and rounded once per account and
instant, half up (``account_mrr``), so every total is a sum of rounded account figures and a month's movements add up
to the change of its MRR to the unit.

Months are calendar months in UTC. "At the end of a month" means during its last moment: a line in force over
``[start, end)`` counts at the month's end ``X`` when ``start < X <= end``, so a change is counted in the month in
which it happens (a cancellation that takes effect at 00:00 on the 1st is churn of the month it begins). The month in
progress is measured at the instant the figures are computed.

What history is read: the subscriptions table keeps only the current state, so MRR over time comes from what is kept
for ever, the issued invoices' lines (``recurring_blocks`` says how), cut where a subscription ended
(``subscriptions.ended_at``, final once set: an ended subscription is never renewed again). ``adapters/db/metrics.py``
reads the books, hands them to these functions and keeps the results (``DEFINITIONS`` is the dashboard's legend).
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import InvalidInput
from prorata.domain.money import round_half_up

TWELFTHS = 12  # a yearly price is twelve months'
WHOLE_PERCENT = 10_000  # a discount's percentage is in basis points (rule DC2)
# MRR is summed in these parts of a minor unit: exact for monthly and yearly prices, and percentages off, alike
PARTS = TWELFTHS * WHOLE_PERCENT
YEAR_FROM_DAYS = 200  # a whole billing period longer than this is a year (months have 28-31 days, years 365-366)
MAX_MONTHS = 240  # the longest range the dashboard is asked for

# Which rows of the books each money figure counts (the SQL that sums them uses these very values)
ISSUED_STATUSES = ("open", "paid", "void")  # an invoice or credit note that was issued (drafts never were, K8)
RECURRING_STATUSES = ("open", "paid")  # invoices whose lines make MRR: a void invoice counts as never issued
RECEIVED_STATUSES = ("succeeded", "credited")  # payments whose money arrived ('credited': it went to the balance)
REFUNDED_STATUSES = ("succeeded",)  # refunds whose money went back to the card
FAILED_STATUSES = ("failed",)  # payment attempts the gateway declined (or that had no card to charge)
INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"


# ------------------------------------------------------------------------------------------------ months


def month_of(value: date | datetime) -> date:
    """The first day of the (UTC) month of ``value``."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return date(value.year, value.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_start(month: date) -> datetime:
    """The first instant of ``month`` (UTC)."""
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def months_from(first: date, last: date) -> list[date]:
    """Every month from ``first`` to ``last``, both included."""
    out: list[date] = []
    month = month_of(first)
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


def check_months(first: object, last: object) -> tuple[date, date]:
    """A range of months asked for: two dates (any day of their months), the first not after the last, at most
    ``MAX_MONTHS`` months (rule X4: refused naming the field, never an error page)."""
    for name, value in (("first_month", first), ("last_month", last)):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise InvalidInput("period.out_of_range", f"{name}: a month (YYYY-MM), not {value!r}", field=name)
    assert isinstance(first, date)
    assert isinstance(last, date)
    first_month, last_month = month_of(first), month_of(last)
    if last_month < first_month:
        raise InvalidInput("period.empty", f"last_month: {last_month:%Y-%m} is before first_month "
                           f"{first_month:%Y-%m}", field="last_month")  # fmt: skip
    if (last_month.year - first_month.year) * 12 + last_month.month - first_month.month >= MAX_MONTHS:
        raise InvalidInput("period.out_of_range", f"first_month: at most {MAX_MONTHS} months at once",
                           field="first_month")  # fmt: skip
    return first_month, last_month


def instants(months: Sequence[date], now: datetime) -> list[datetime]:
    """The instants the figures of ``months`` are taken at: the first month's start (the opening figures), then each
    month's end; the month in progress ends at ``now``. Months that begin after ``now`` are not measured."""
    out = [month_start(months[0])] if months else []
    for month in months:
        if month_start(month) > now:
            break
        out.append(min(month_start(next_month(month)), now))
    return out


# ------------------------------------------------------------------------------------------------ MRR


@dataclass(frozen=True, slots=True)
class RecurringLine:
    """One line of an issued, not voided invoice (series INV) for one subscription, as the metrics read it."""

    kind: str  # "charge", "credit" or "discount"
    product: str
    quantity: int
    unit_amount: int | None  # list price of one license for ``months`` months; None on a credit or a discount
    start: datetime  # the service period the line covers, [start, end)
    end: datetime
    months: int  # 1 (monthly price) or 12 (yearly price): the length of the whole period the line is measured on
    # on a discount line, its code's terms (rule DC2): a percentage in basis points, or a fixed amount off each
    # license's price per billing period (minor units of the account's currency); neither when they are not known
    percent: int | None = None
    off: int | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """``quantity`` licenses of one product in force over ``[start, end)``, each at ``parts`` a month (``PARTS`` of
    a minor unit), its discount taken off."""

    product: str
    quantity: int
    parts: int
    start: datetime
    end: datetime

    def in_force_at(self, at: datetime) -> bool:
        """During the last moment before ``at`` (the convention of "at the end of a month")."""
        return self.start < at <= self.end


def interval_months(whole_start: datetime | None, whole_end: datetime | None, fallback: int) -> int:
    """The billing interval a charge's unit price is for, in months: 12 when the whole period the line is measured
    on (``whole_start``-``whole_end``: a month or a year of the subscription's anchor) is longer than 200 days, else 1.
    Lines issued before that period was kept (and credit notes' lines) have none: ``fallback``, the subscription's
    interval now, stands in (inexact only if that subscription switched interval since, rules C1, C2)."""
    if whole_start is None or whole_end is None:
        return fallback
    return 12 if (whole_end - whole_start).days > YEAR_FROM_DAYS else 1


def recurring_blocks(lines: Iterable[RecurringLine], ended_at: datetime | None = None) -> list[Block]:
    """What one subscription held over time and at which price, net of its discounts, from its invoice lines in the
    order they were issued (the definition MRR is built on).

    - A **charge** line adds ``quantity`` licenses of its product at ``unit_amount / months`` a month over its service
      period ``[start, end)``: a renewal the whole period, a purchase, an upgrade or added licenses (rule L2) the rest
      of the current one. The list price counts, not the prorated amount: MRR is the run rate.
    - A **discount** line (rule DC2) takes its code's share off the price of the charge just before it, for the part
      of that charge's period it covers: a percentage of the list price, or a fixed amount off each license's price
      per billing period (never below zero). MRR is what the customer pays, net of discounts (as Stripe and
      ChartMogul count it): a discount that ends raises it.
    - A **credit** line (an upgrade or a larger add-on, P2 and A4; an interval switch, C1 and C2; co-terming, A5; an
      immediate reduction, P7) takes ``quantity`` licenses out of those in force at its ``start``, from then on: all of
      them when the credit reverses the whole subscription, the latest charged first when it removes some (P7). A
      credit reverses the subscription's unused time, so it never needs a price of its own.
    - ``ended_at`` (the subscription ended: cancelled at the term end, D1, or by dunning, I8) cuts every block there.

    Not here, so never counted: lines of void invoices (as if never issued) and of drafts; lines of one-month
    products (A8, no recurrence). Credit notes that credit lines of a paid or open invoice (refunds, R1 and R2) change
    money, not the subscription (the service goes on; ending it is a cancellation): they do not change MRR.
    Inexact only where a credit rounded to zero was never written (a change in the last second of a period under
    second granularity): the old licenses then count to their period's end, at most that second.
    """
    # [product, quantity, parts, start, end, parts off, discount start, discount end], in the order charged
    held: list[list[Any]] = []
    charged: tuple[int, int, int] | None = None  # the charge just before: (its index in held, unit price, months)
    for line in lines:
        if line.kind == "charge":
            charged = None
            if line.unit_amount is None or line.quantity <= 0 or line.start >= line.end:
                continue
            parts = line.unit_amount * (PARTS // line.months)
            held.append([line.product, line.quantity, parts, line.start, line.end, 0, None, None])
            charged = (len(held) - 1, line.unit_amount, line.months)
            continue
        if line.kind == "discount":
            if charged is not None:
                index, unit, months = charged
                if line.percent is not None:
                    off = unit * (TWELFTHS // months) * line.percent
                elif line.off is not None:
                    off = min(line.off, unit) * (PARTS // months)
                else:
                    off = 0  # the code's terms are not known: the list price counts
                held[index][5:8] = [off, line.start, line.end]
            continue
        charged = None
        at, left = line.start, line.quantity
        for index in range(len(held) - 1, -1, -1):
            if left <= 0:
                break
            block = held[index]
            if not block[3] <= at < block[4]:
                continue
            taken = min(left, block[1])
            left -= taken
            if taken < block[1]:  # the rest stays in force after ``at``, with its discount
                held.insert(index + 1, [block[0], block[1] - taken, block[2], at, block[4], *block[5:8]])
            block[4] = at
    out: list[Block] = []
    for product, quantity, parts, start, end, off, off_start, off_end in held:
        if ended_at is not None and end > ended_at:
            end = ended_at
        if not off:
            pieces = [(parts, start, end)]
        else:  # at the list price before and after the time its discount covers
            lo, hi = max(start, off_start), min(end, off_end)
            pieces = [(parts, start, min(end, lo)), (parts - off, lo, hi), (parts, max(start, hi), end)]
        out.extend(Block(product, quantity, p, a, b) for p, a, b in pieces if a < b)
    return out


def account_mrr(blocks: Iterable[Block], at: datetime) -> int:
    """**MRR** (monthly recurring revenue) of one account at an instant: for every subscription in force then, the
    list unit price of what it holds, less the discount it has then (rule DC2: what the customer pays), times its
    licenses, a yearly price divided by 12; excluding tax and proration, one-time products (A8) and anything of a
    void invoice; in the account's currency. Recognised when invoiced, paid or not (dunning ends it by cancelling,
    rule I8). Rounded here, once, half up; every MRR total is a sum of these."""
    return round_half_up(sum(b.quantity * b.parts for b in blocks if b.in_force_at(at)), PARTS)


class Movement(enum.StrEnum):
    NEW = "new"
    REACTIVATION = "reactivation"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"


def movement(before: int, after: int, *, had_mrr_before: bool) -> tuple[Movement, int] | None:
    """**MRR movements** of one account in one month, from its MRR at the end of the month before (``before``) to
    its MRR at the end of the month (``after``), each amount positive:

    - **new**: 0 -> more than 0, and the account never had MRR before the month began: ``after``;
    - **reactivation**: 0 -> more than 0, for an account that had MRR before (it churned or was voided): ``after``;
    - **expansion**: more than before, both above 0 (upgrades, added licenses and add-ons): ``after - before``;
    - **contraction**: less than before but above 0 (reductions at the term end, downgrades): ``before - after``;
    - **churn**: more than 0 -> 0 (cancelled at the term end, ended by dunning): ``before``.

    Net new MRR = new + reactivation + expansion - contraction - churn = MRR at the month's end - MRR at its start,
    exactly. Months are compared at their ends: an account that came and went within one month moves nothing.
    """
    if before == after:
        return None
    if before == 0:
        return (Movement.REACTIVATION if had_mrr_before else Movement.NEW), after
    if after == 0:
        return Movement.CHURN, before
    if after > before:
        return Movement.EXPANSION, after - before
    return Movement.CONTRACTION, before - after


@dataclass(slots=True)
class AccountSeries:
    """One account's figures at each of the instants (``instants``): index 0 the opening one."""

    currency: str
    mrr: list[int]
    subscriptions: list[int]  # subscriptions with MRR above 0
    licenses: list[int]  # licenses of plans (seats of add-ons are in ``products``)
    products: dict[tuple[int, str], list[int]]  # (instant, product) -> [mrr, subscriptions, licenses or seats]
    first_mrr_at: datetime | None  # the first instant from which the account had MRR above 0


def account_series(
    currency: str, subscriptions: Iterable[Sequence[Block]], at: Sequence[datetime], plans: frozenset[str]
) -> AccountSeries:
    """``account_mrr`` and the counts of one account (the blocks of each of its subscriptions) at every instant of
    ``at``; by product, each product's MRR rounded once per account (so products may differ from the total by a
    unit per account where a yearly price does not divide by 12)."""
    n = len(at)
    total = [0] * n
    subs = [0] * n
    licenses = [0] * n
    by_product: dict[tuple[int, str], list[int]] = {}
    first: datetime | None = None
    for blocks in subscriptions:
        own = [0] * n
        for b in blocks:
            if b.parts > 0 and (first is None or b.start < first):
                first = b.start
            for k in range(bisect_right(at, b.start), bisect_right(at, b.end)):
                amount = b.quantity * b.parts
                own[k] += amount
                total[k] += amount
                if b.product in plans:
                    licenses[k] += b.quantity
                entry = by_product.setdefault((k, b.product), [0, 0, 0])
                entry[0] += amount
                entry[2] += b.quantity
        seen: set[tuple[int, str]] = set()
        for b in blocks:  # a subscription counts once per instant, under the product it holds then
            for k in range(bisect_right(at, b.start), bisect_right(at, b.end)):
                if own[k] > 0 and (k, b.product) not in seen:
                    seen.add((k, b.product))
                    by_product[(k, b.product)][1] += 1
        for k in range(n):
            subs[k] += own[k] > 0
    for entry in by_product.values():
        entry[0] = round_half_up(entry[0], PARTS)
    return AccountSeries(currency, [round_half_up(t, PARTS) for t in total], subs, licenses, by_product, first)


@dataclass(slots=True)
class MonthFigures:
    """One currency's subscription figures for one month (the MRR part of a dashboard row)."""

    mrr: int = 0
    new: int = 0
    reactivation: int = 0
    expansion: int = 0
    contraction: int = 0
    churn: int = 0
    customers: int = 0  # accounts with MRR above 0 at the month's end
    new_customers: int = 0
    reactivated_customers: int = 0
    churned_customers: int = 0
    subscriptions: int = 0
    licenses: int = 0


@dataclass(slots=True)
class Rollup:
    """The figures of every account added, per currency and month: ``months[k]`` is measured at ``at[k + 1]``, its
    movements between ``at[k]`` and ``at[k + 1]``."""

    at: Sequence[datetime]
    figures: dict[tuple[str, int], MonthFigures] = field(default_factory=dict)
    products: dict[tuple[str, int, str], list[int]] = field(default_factory=dict)  # -> [mrr, subscriptions, qty]

    def add(self, series: AccountSeries) -> None:
        for k in range(1, len(self.at)):
            before, after = series.mrr[k - 1], series.mrr[k]
            if not (before or after or series.subscriptions[k] or series.licenses[k]):
                continue
            month = self.figures.setdefault((series.currency, k - 1), MonthFigures())
            month.mrr += after
            month.customers += after > 0
            month.subscriptions += series.subscriptions[k]
            month.licenses += series.licenses[k]
            had = series.first_mrr_at is not None and series.first_mrr_at < self.at[k - 1]
            moved = movement(before, after, had_mrr_before=had)
            if moved is None:
                continue
            kind, amount = moved
            if kind is Movement.NEW:
                month.new += amount
                month.new_customers += 1
            elif kind is Movement.REACTIVATION:
                month.reactivation += amount
                month.reactivated_customers += 1
            elif kind is Movement.EXPANSION:
                month.expansion += amount
            elif kind is Movement.CONTRACTION:
                month.contraction += amount
            else:
                month.churn += amount
                month.churned_customers += 1
        for (k, product), (mrr, subscriptions, quantity) in series.products.items():
            if k == 0:
                continue
            entry = self.products.setdefault((series.currency, k - 1, product), [0, 0, 0])
            entry[0] += mrr
            entry[1] += subscriptions
            entry[2] += quantity


def net_new_mrr(new: int, reactivation: int, expansion: int, contraction: int, churn: int) -> int:
    """**Net new MRR** of a month: new + reactivation + expansion - contraction - churn, which is the month's MRR at
    its end less the month before's (exactly: both are sums of the same rounded account figures)."""
    return new + reactivation + expansion - contraction - churn


# ------------------------------------------------------------------------------------------------ money


def invoiced(invoices: int, credit_notes: int) -> int:
    """**Invoiced** in a month, net: the subtotals (tax excluded) of the invoices issued in the month, void ones too,
    plus those of the credit notes issued in it (negative: refunds, credits, voids). Drafts were never issued. The
    books' own view: a month's figure never changes once it is over. Tax is shown beside it, summed the same way."""
    return invoices + credit_notes


def collected(received: int, refunded: int) -> int:
    """**Collected** in a month, net of refunds: the money payments brought in that month (succeeded, or received
    for an invoice no longer owed and kept as credit), by the instant the gateway answered, tax included, less the
    refunds that went back to a card that month. Credit balance used to pay invoices is not money collected."""
    return received - refunded


def credit_balance(entries: int) -> int:
    """**Credit balance outstanding** at an instant: the sum of every credit ledger entry written before it (credit
    given by credit notes, unused time and overpayments, less what paid invoices): what the accounts of a currency
    hold with the vendor and will use on their next invoices."""
    return entries


def dunning_stage(failed_attempts: int, dunning: DunningPolicy) -> int:
    """**Dunning funnel** stage of an open invoice (amount due above 0): the number of its payment attempts that
    failed, 0 (its first attempt is still to come) to the attempts of the installation's dunning schedule (the issue
    date's and each retry: every attempt failed, the account is overdue and is cancelled once overdue for the
    schedule's days, rule I8). Accounts **overdue** hold such an invoice; accounts **cancelled for non-payment** were
    ended by dunning, counted in the month their subscriptions ended."""
    return max(0, min(failed_attempts, dunning.attempts))


def _first_paragraph(function: Any) -> str:
    text = " ".join((function.__doc__ or "").split("\n\n")[0].split())
    return text.replace("**", "")


# The dashboard's legend: each figure's name and its definition, as written above
DEFINITIONS: Mapping[str, str] = {
    "mrr": _first_paragraph(account_mrr),
    "history": _first_paragraph(recurring_blocks),
    "movements": " ".join((movement.__doc__ or "").replace("**", "").split()),
    "net_new_mrr": _first_paragraph(net_new_mrr),
    "invoiced": _first_paragraph(invoiced),
    "collected": _first_paragraph(collected),
    "credit_balance": _first_paragraph(credit_balance),
    "dunning": _first_paragraph(dunning_stage),
    "months": "Months are calendar months in UTC; a figure at a month's end is taken during its last moment, the "
    "month in progress when the figures were computed. Amounts are per currency, never added across currencies.",
}
