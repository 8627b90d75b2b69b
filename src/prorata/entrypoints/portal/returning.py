"""The checkout of a returning buyer (rule K2): an account that placed an order under these Terms of Service, whose
contacts are in place and whose default payment method can still pay, goes from its change straight to the order
summary. There each section is shown read-only with its Edit link ("Edytuj"), and an edit leads back to the summary.
Anything missing or no longer valid (no contacts, an expired card, a new version of the Terms) walks the steps of K1
as a first order does.
"""

from __future__ import annotations

from datetime import date, datetime

from prorata.adapters.db.queries import PaymentMethodView, contact_views, payment_method_views, terms_accepted_at
from prorata.entrypoints.portal.pages import Visit

TERMS_VERSION = "2026-01"
SUMMARY = "/checkout/summary"


def can_pay(method: PaymentMethodView, today: date) -> bool:
    """A PayPal account, or a card that has not expired (a card is valid to the last day of its expiry month)."""
    if method.kind != "card":
        return True
    if method.exp_year is None or method.exp_month is None:
        return False
    return (method.exp_year, method.exp_month) >= (today.year, today.month)


def standing_terms(found: Visit) -> datetime | None:
    """When this buyer's account accepted the current Terms with a placed order, if its contacts and its default
    payment method are also ready: the summary may then be reached without the contacts, payment and Terms steps."""
    account_id = found.signed_in.account_id
    with found.app.engine.connect() as conn:
        accepted = terms_accepted_at(conn, account_id, TERMS_VERSION)
        if accepted is None:
            return None
        if "sold_to" not in contact_views(conn, account_id):
            return None
        methods = payment_method_views(conn, account_id)
    default = next((m for m in methods if m.is_default), None)
    today = found.app.clock.now().date()
    return accepted if default is not None and can_pay(default, today) else None


def after_products(found: Visit) -> str:
    """Where the checkout goes once the cart is filled: the summary for a returning buyer, the contacts otherwise."""
    return SUMMARY if standing_terms(found) is not None else "/checkout/contacts"
