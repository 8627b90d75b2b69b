"""The discount an account holds, as Current Plans says it (rules DC1, DC2): its code, what it takes off (a percentage,
or an amount off each license per billing period), on which products or the whole invoice, and from when until when
(or for ever); and whether the buyer may add a code now, which applies from the next billing date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from prorata.domain.catalog import Catalog
from prorata.domain.discounts import Discount
from prorata.entrypoints.portal import i18n


@dataclass(frozen=True, slots=True)
class HeldDiscount:
    code: str
    takes_off: str  # "20%", or "10,00 zł off each license per billing period"
    applies_to: str  # the products' names, or "the whole invoice"
    valid: str  # "from Dec 15, 2026 through Mar 14, 2027", or "from Dec 15, 2026, for ever"
    start: datetime
    end: datetime | None
    waiting: bool  # it starts later (a code added without an order: the next billing date, rule DC1)


def held_discount(
    discount: Discount | None, currency: str, catalog: Catalog, language: str, zone: str, now: datetime
) -> HeldDiscount | None:
    """The account's discount in the page's words, or None when it holds none (or the one it held has run out)."""
    if discount is None or not discount.active_at(now):
        return None
    _ = i18n.gettext_
    if discount.percent is not None:
        takes_off = i18n.percent(discount.percent, language)
    else:
        amount = i18n.money(discount.amount or 0, currency, language)
        takes_off = _("%(amount)s off each license per billing period", amount=amount)
    if discount.products:
        names = [catalog.products[p].name(language) if p in catalog.products else p for p in sorted(discount.products)]
        applies_to = ", ".join(names)
    else:
        applies_to = _("the whole invoice")
    start = i18n.day(discount.start, zone, language)
    if discount.end is None:
        valid = _("from %(start)s, for ever", start=start)
    else:
        # the last day it covers, as service periods are written (rule C3: first and last day included)
        last = i18n.day(discount.end - timedelta(microseconds=1), zone, language)
        valid = _("from %(start)s through %(end)s", start=start, end=last)
    return HeldDiscount(discount.code, takes_off, applies_to, valid, discount.start, discount.end,
                        discount.start > now)  # fmt: skip


def may_add(discount: Discount | None, next_billing: datetime | None) -> bool:
    """Rules DC1, DC2: a code added now starts on the next billing date; one discount at a time, so not while the
    one held still covers that date. ``next_billing`` None: no paid plan, nothing a code could apply to."""
    if next_billing is None:
        return False
    return discount is None or not discount.active_at(next_billing)
