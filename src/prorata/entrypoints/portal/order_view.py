"""What an order does, in the page's words: the totals the cart, the order summary and the confirmation show the same
way, and each change the order leaves for the term end or withdraws (rules C6, T3, L3, L4, L6, P5, D1).

One meaning for each figure (rule C6): ``subtotal`` is the sum of the lines, the tax is shown per rate as the lines
carry it (a credit reverses tax at the rate its charge paid, rule T3, so one order may hold several rates), ``total``
is subtotal plus tax, the credit balance pays first (``credit_used``) or takes what is negative (``credit_added``),
and ``amount_due`` is what the payment method is charged now.

Scheduled changes are kept as plain data (``scheduled_data``), so that the confirmation, shown after the order was
placed, words them exactly as the summary did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from prorata.adapters.db.queries import SubscriptionView, UserView
from prorata.domain.account import PendingKind
from prorata.domain.catalog import Catalog
from prorata.domain.invoice_lines import LineKind, Quote, ScheduledChange
from prorata.entrypoints.portal import i18n


@dataclass(frozen=True, slots=True)
class TaxRow:
    rate: int  # basis points
    amount: int


@dataclass(frozen=True, slots=True)
class Totals:
    currency: str
    subtotal: int
    tax_rows: tuple[TaxRow, ...]
    tax: int
    total: int
    credit_used: int
    credit_added: int
    amount_due: int
    balance_before: int
    balance_after: int
    reverse_charge: bool


def totals_of(quote: Quote) -> Totals:
    """The figures of a quote; the tax by the rates its lines carry, or the order's rate when it has no lines."""
    by_rate: dict[int, int] = {}
    for line in quote.lines:
        by_rate[line.tax_rate] = by_rate.get(line.tax_rate, 0) + line.tax
    if not by_rate:
        by_rate[quote.tax_decision.rate] = 0
    rows = tuple(TaxRow(rate, amount) for rate, amount in sorted(by_rate.items(), reverse=True))
    return Totals(
        quote.currency, quote.subtotal, rows, quote.tax, quote.total, quote.credit_used, quote.credit_added,
        quote.amount_due, quote.credit_balance_before, quote.credit_balance_after, quote.tax_decision.reverse_charge,
    )  # fmt: skip


def totals_data(totals: Totals) -> dict[str, Any]:
    """The totals as JSON-ready data, kept with the confirmation."""
    return asdict(totals)


def totals_from(data: dict[str, Any]) -> Totals:
    return Totals(**{**data, "tax_rows": tuple(TaxRow(**row) for row in data["tax_rows"])})


def discounts_data(quote: Quote) -> list[list[Any]]:
    """Rule DC2: what each discount code took off the order, before tax, as ``[code, amount]`` (a negative amount),
    kept with the confirmation."""
    taken: dict[str, int] = {}
    for line in quote.lines:
        if line.kind is LineKind.DISCOUNT and line.discount is not None:
            taken[line.discount] = taken.get(line.discount, 0) + line.amount
    return [[code, amount] for code, amount in taken.items()]


def scheduled_data(quote: Quote) -> list[dict[str, Any]]:
    """Each change the order schedules or withdraws (rule L6), as JSON-ready data, with the quantity the
    subscription keeps until the change takes effect (rule L3: until then all of it can be used). A change the
    order itself schedules and then replaces is not shown: what the buyer reads is what the order leaves."""
    held = {s.id: s.quantity for s in quote.account.subscriptions}
    shown: list[ScheduledChange] = []
    for s in quote.scheduled:
        earlier = next((e for e in shown if e.action == "scheduled" and (e.subscription, e.change) == (
            s.subscription, s.change)), None)  # fmt: skip
        if s.action == "withdrawn" and earlier is not None:
            shown.remove(earlier)  # scheduled and withdrawn by this same order: it does neither
            continue
        shown.append(s)
    return changes_data(shown, held)


def changes_data(changes: Iterable[ScheduledChange], held: dict[str, int]) -> list[dict[str, Any]]:
    """Scheduled or withdrawn changes as JSON-ready data; ``held`` is each subscription's quantity until then."""
    return [
        {
            "action": s.action,
            "kind": s.change.kind.value,
            "subscription": s.subscription,
            "product": s.product,
            "quantity": s.change.quantity,
            "target": s.change.product,
            "effective": s.change.effective.isoformat(),
            "held": held.get(s.subscription),
        }
        for s in changes
    ]


@dataclass(frozen=True, slots=True)
class ScheduledItem:
    """A scheduled or withdrawn change as a page shows it."""

    action: str  # scheduled or withdrawn
    kind: str  # quantity, product or cancel
    subscription: str
    product: str
    quantity: int | None
    target: str | None
    effective: datetime
    text: str
    note: str | None  # what it means for the buyer: no refund (L3, P5), reactivation possible (D1)
    per_seat: bool = False  # an add-on's seats rather than the plan's licenses

    @property
    def reduces(self) -> bool:
        """A new total of licenses or seats at the term end (a reduction, or a downgrade with its total)."""
        return self.action == "scheduled" and self.kind != PendingKind.CANCEL.value and self.quantity is not None


def scheduled_items(data: list[dict[str, Any]], catalog: Catalog, language: str, zone: str) -> list[ScheduledItem]:
    items = []
    for entry in data:
        product = catalog.products.get(entry["product"])
        name = product.name(language) if product is not None else entry["product"]
        per_seat = product is not None and product.is_addon
        target = catalog.products.get(entry.get("target") or "")
        effective = datetime.fromisoformat(entry["effective"])
        date = i18n.day(effective, zone, language)
        words = {"name": name, "date": date, "target": target.name(language) if target is not None else ""}
        text, note = _words(entry, per_seat, words)
        items.append(
            ScheduledItem(entry["action"], entry["kind"], str(entry["subscription"]), entry["product"],
                          entry.get("quantity"), entry.get("target"), effective, text, note, per_seat)
        )  # fmt: skip
    return items


def _words(entry: dict[str, Any], per_seat: bool, words: dict[str, str]) -> tuple[str, str | None]:
    _ = i18n.gettext_
    kind, withdrawn = entry["kind"], entry["action"] == "withdrawn"
    quantity = int(entry.get("quantity") or 0)
    if kind == PendingKind.CANCEL.value:
        if withdrawn:
            return _("%(name)s: the cancellation on %(date)s is withdrawn; it renews as before.", **words), None
        return (
            _("%(name)s: cancelled on %(date)s.", **words),
            _("Until then nothing changes; you can reactivate it before that date."),
        )
    if kind == PendingKind.PRODUCT.value:
        if withdrawn:  # named with the total it would have had, as it was scheduled
            text = (
                i18n.ngettext_("%(name)s: the downgrade to %(target)s with %(num)d seat on %(date)s is withdrawn.",
                   "%(name)s: the downgrade to %(target)s with %(num)d seats on %(date)s is withdrawn.", quantity,
                   **words)
                if per_seat
                else i18n.ngettext_(
                    "%(name)s: the downgrade to %(target)s with %(num)d license on %(date)s is withdrawn.",
                    "%(name)s: the downgrade to %(target)s with %(num)d licenses on %(date)s is withdrawn.", quantity,
                    **words)
            )  # fmt: skip
            return text, None
        text = (
            i18n.ngettext_("%(name)s: downgrade to %(target)s with %(num)d seat on %(date)s.",
               "%(name)s: downgrade to %(target)s with %(num)d seats on %(date)s.", quantity, **words)
            if per_seat
            else i18n.ngettext_("%(name)s: downgrade to %(target)s with %(num)d license on %(date)s.",
                    "%(name)s: downgrade to %(target)s with %(num)d licenses on %(date)s.", quantity, **words)
        )  # fmt: skip
        return text, _no_refund(entry, per_seat)
    if withdrawn:
        text = (
            i18n.ngettext_("%(name)s: the reduction to %(num)d seat on %(date)s is withdrawn.",
               "%(name)s: the reduction to %(num)d seats on %(date)s is withdrawn.", quantity, **words)
            if per_seat
            else i18n.ngettext_("%(name)s: the reduction to %(num)d license on %(date)s is withdrawn.",
                    "%(name)s: the reduction to %(num)d licenses on %(date)s is withdrawn.", quantity, **words)
        )  # fmt: skip
        return text, None
    text = (
        i18n.ngettext_("%(name)s: reduced to %(num)d seat on %(date)s.",
           "%(name)s: reduced to %(num)d seats on %(date)s.", quantity, **words)
        if per_seat
        else i18n.ngettext_("%(name)s: reduced to %(num)d license on %(date)s.",
                "%(name)s: reduced to %(num)d licenses on %(date)s.", quantity, **words)
    )  # fmt: skip
    return text, _no_refund(entry, per_seat)


def _no_refund(entry: dict[str, Any], per_seat: bool) -> str:
    """Rules L3, P5: nothing is refunded or credited, and what is held stays usable until the change."""
    held = int(entry.get("held") or 0)
    if per_seat:
        return i18n.ngettext_("No refund: the seat can be used until then.",
                              "No refund: all %(num)d seats can be used until then.", held)  # fmt: skip
    return i18n.ngettext_("No refund: the license can be used until then.",
                          "No refund: all %(num)d licenses can be used until then.", held)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Unassign:
    """Rule L4 at the confirmation of a reduction: who must give up a license before it takes effect, or nobody."""

    subscription: str
    must: int  # users to unassign first; 0 when the licenses that remain cover everyone assigned
    holders: tuple[str, ...]  # the users holding it now, named when some must be unassigned
    text: str


def unassign_notes(
    items: list[ScheduledItem], subs: list[SubscriptionView], people: list[UserView], language: str, zone: str
) -> list[Unassign]:
    """For each reduction the order scheduled, the licenses assigned now against those that remain. The order was
    checked against the assignments when it was placed, but a downgrade leaves the licenses held until the term
    end, so more may be assigned since; the page says so whenever it is shown."""
    held = {str(s.id): s for s in subs}
    notes = []
    for item in items:
        sub = held.get(item.subscription)
        if not item.reduces or sub is None or item.quantity is None:
            continue
        remain = item.quantity
        if sub.assigned > remain:
            must = sub.assigned - remain
            holders = tuple(f"{u.name} <{u.email}>" for u in people if sub.id in u.subscriptions)
            date = i18n.day(item.effective, zone, language)
            text = i18n.ngettext_(
                "Unassign %(num)d user in User Management → Users before %(date)s. Assigned now: %(users)s.",
                "Unassign %(num)d users in User Management → Users before %(date)s. Assigned now: %(users)s.",
                must, date=date, users=", ".join(holders),
            )  # fmt: skip
            notes.append(Unassign(item.subscription, must, holders, text))
            continue
        if item.per_seat:
            text = i18n.ngettext_(
                "Nobody needs to be unassigned: %(assigned)d assigned, %(num)d seat remains.",
                "Nobody needs to be unassigned: %(assigned)d assigned, %(num)d seats remain.",
                remain, assigned=sub.assigned,
            )  # fmt: skip
        else:
            text = i18n.ngettext_(
                "Nobody needs to be unassigned: %(assigned)d assigned, %(num)d license remains.",
                "Nobody needs to be unassigned: %(assigned)d assigned, %(num)d licenses remain.",
                remain, assigned=sub.assigned,
            )  # fmt: skip
        notes.append(Unassign(item.subscription, 0, (), text))
    return notes
