"""Payment methods saved at a real gateway, in the customer's browser (rules Y1, Y2, Y4; PCI SAQ A).

With Stripe configured, a card number never reaches this server. The portal (or an integrator's own page) asks for
a SetupIntent (``start_setup``), Stripe.js collects the card, PayPal or another method the gateway offers in its own
fields and confirms the SetupIntent at Stripe, and the server then reads back what was saved (``add_saved_method``):
only the brand, the last four digits, the expiry, or the PayPal address, beside the token that charges it again.

The gateway's customer of an account is made once: its creation carries an idempotency key of the account, and the
first one stored is the one used.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.payments import SavedMethod
from prorata.services.ports import BrowserGateway, Clock, PaymentGateway, UnitOfWork


@dataclass(frozen=True, slots=True)
class Setup:
    """What the browser needs to mount the gateway's payment fields; the client secret is never stored."""

    gateway: str
    publishable_key: str
    setup_intent: str
    client_secret: str


def browser_gateway(gateway: PaymentGateway) -> BrowserGateway:
    if not gateway.browser_tokens:
        raise RuleViolation(
            "payment.no_browser_gateway",
            "payment_method_id: the sandbox gateway takes card numbers (card_number) and PayPal addresses; methods "
            "saved in the browser need a real gateway (PRORATA_GATEWAY=stripe)",
            rule="Y4",
            field="payment_method_id",
        )
    return gateway  # type: ignore[return-value]


def customer_for(account_id: int, *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: BrowserGateway) -> str:
    with uow() as tx:
        found = tx.gateway_customer(account_id, gateway.name)
        code = tx.account_code(account_id)
        owners = tx.owner_emails(account_id)
    if found is not None:
        return found
    if code is None:
        raise InvalidInput("account.unknown", "account: not found", field="account")
    made = gateway.create_customer(code, code, owners[0] if owners else None, f"customer-account-{account_id}")
    with uow() as tx:
        return tx.save_gateway_customer(account_id, gateway.name, made, clock.now())


def start_setup(account_id: int, *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway) -> Setup:
    found = browser_gateway(gateway)
    customer = customer_for(account_id, uow=uow, clock=clock, gateway=found)
    intent, secret = found.setup_intent(customer, f"setup-{account_id}-{secrets.token_hex(8)}")
    return Setup(found.name, found.publishable_key, intent, secret)


def saved_method(
    account_id: int,
    *,
    setup_intent: str | None,
    payment_method_id: str | None,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: BrowserGateway,
) -> SavedMethod:
    """What a SetupIntent of the account saved at the gateway, or (the API) a payment method of the gateway's,
    read back from the gateway: never taken from the caller's word."""
    customer = customer_for(account_id, uow=uow, clock=clock, gateway=gateway)
    if setup_intent:
        return gateway.saved_method(setup_intent, customer)
    if payment_method_id:
        return gateway.method(customer, payment_method_id)
    raise InvalidInput("payment.method_missing_id", "payment_method_id: required", rule="Y4",
                       field="payment_method_id")  # fmt: skip


def add_saved_method(
    account_id: int,
    *,
    setup_intent: str | None = None,
    payment_method_id: str | None = None,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
) -> int:
    """Keep the method a SetupIntent of the account saved, or (the API) a payment method id of the gateway; it
    becomes the default."""
    found = browser_gateway(gateway)
    saved = saved_method(account_id, setup_intent=setup_intent, payment_method_id=payment_method_id, uow=uow,
                         clock=clock, gateway=found)  # fmt: skip
    now = clock.now()
    with uow() as tx:
        tx.load_account(account_id, lock=True)
        method_id = tx.add_payment_method(account_id, saved.kind, found.name, saved.token, saved.card,
                                          saved.paypal_email, now)  # fmt: skip
        shown = {"paypal": saved.paypal_email} if saved.card is None else {
            "brand": saved.card.brand.value, "last4": saved.card.last4}  # fmt: skip
        tx.record_event("payment_method.added", account_id, "payment_method", method_id, now)
        tx.audit(account_id, "billing", "payment_method.added", shown, now)
    return method_id
