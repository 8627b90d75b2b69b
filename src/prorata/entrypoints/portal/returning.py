"""The checkout of a returning buyer (rule K2): an account that has placed an order before, whose contacts are in
place and whose default payment method can still pay, goes from its change past the contacts and payment steps. With
these Terms of Service accepted by an earlier order it goes straight to the order summary, where each section is
shown read-only with its Edit link ("Edytuj") and an edit leads back to the summary; with Terms it has not accepted
yet (a new version) it goes to the Terms step, then to the summary. A first order, or one whose contacts or payment
method are missing or no longer valid (an expired card), walks every step of K1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from prorata.adapters.db.queries import (
    PaymentMethodView,
    contact_views,
    has_placed_order,
    payment_method_views,
    terms_accepted_at,
)
from prorata.adapters.db.terms_store import terms_of
from prorata.entrypoints.portal.pages import Visit

TERMS_VERSION = "2026-01"
SUMMARY = "/checkout/summary"
TERMS = "/checkout/terms"
CONTACTS = "/checkout/contacts"


def can_pay(method: PaymentMethodView, today: date) -> bool:
    """A PayPal account, or a card that has not expired (a card is valid to the last day of its expiry month)."""
    if method.kind != "card":
        return True
    if method.exp_year is None or method.exp_month is None:
        return False
    return (method.exp_year, method.exp_month) >= (today.year, today.month)


@dataclass(frozen=True)
class Standing:
    """What a buyer set up with earlier orders and has not changed since."""

    ready: bool  # an order placed before, the contacts in place, a default payment method that can pay
    terms_at: datetime | None  # when these Terms were accepted with a placed order (only when ``ready``)

    @property
    def skipped(self) -> tuple[str, ...]:
        """The checkout steps this buyer does not walk (shown read-only on the summary instead)."""
        if not self.ready:
            return ()
        return ("contacts", "payment", "terms") if self.terms_at is not None else ("contacts", "payment")


def standing(found: Visit) -> Standing:
    account_id = found.signed_in.account_id
    with found.app.engine.connect() as conn:
        if not has_placed_order(conn, account_id) or "sold_to" not in contact_views(conn, account_id):
            return Standing(ready=False, terms_at=None)
        methods = payment_method_views(conn, account_id)
        accepted = terms_accepted_at(conn, account_id, TERMS_VERSION)
        on_terms = terms_of(conn, account_id) is not None
    default = next((m for m in methods if m.is_default), None)
    # rule NT1: an account on invoice terms pays by transfer; it needs no card to order
    if not on_terms and (default is None or not can_pay(default, found.app.clock.now().date())):
        return Standing(ready=False, terms_at=None)
    return Standing(ready=True, terms_at=accepted)


def standing_terms(found: Visit) -> datetime | None:
    """When this returning buyer's account accepted the current Terms with a placed order, or None."""
    return standing(found).terms_at


def after_products(found: Visit) -> str:
    """Where the checkout goes once the cart is filled: the summary or the Terms for a returning buyer, the contacts
    otherwise."""
    now = standing(found)
    if not now.ready:
        return CONTACTS
    return SUMMARY if now.terms_at is not None else TERMS
