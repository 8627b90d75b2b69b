"""The customer confirms a charge their bank asked them to confirm (3-D Secure; rules K8, I3, I6, X3).

The e-mail's link (or the checkout, for an order) leads to the portal's confirmation page. There the customer answers
their bank: with a real gateway in Stripe's own window (Stripe.js), with the sandbox on the page itself. The gateway
is then asked what came of it, and the payment is completed through ``services.completion``, as a webhook or
reconciliation would complete it, and only once whoever comes first.
"""

from __future__ import annotations

from collections.abc import Callable

from prorata.domain.catalog import Catalog
from prorata.domain.errors import InvalidInput
from prorata.domain.tax import TaxRules
from prorata.services.completion import Completed, complete
from prorata.services.ports import Clock, PaymentGateway, PendingPayment, UnitOfWork


def waiting_payment(account_id: int, payment_id: int, *, uow: Callable[[], UnitOfWork]) -> PendingPayment | None:
    """The account's payment ``payment_id`` while it is in flight; None once it is settled. Another account's
    payment is not found."""
    with uow() as tx:
        payment = tx.live_payment(payment_id=payment_id)
    if payment is not None and payment.account_id != account_id:
        raise InvalidInput("payment.unknown", "payment: not found", field="payment")
    return payment


def confirm_payment(
    account_id: int,
    payment_id: int,
    approved: bool,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    catalog: Catalog,
    tax: TaxRules | None,
    actor: str,
) -> Completed | None:
    """Complete the payment after the customer answered their bank; None when the gateway still waits for them."""
    payment = waiting_payment(account_id, payment_id, uow=uow)
    if payment is None or payment.status != "action_required" or payment.reference is None:
        return None if payment is not None else Completed("already", payment_id, 0)
    result = gateway.confirm(payment.reference, approved)
    if result is None:
        return None
    return complete(payment, result, uow=uow, clock=clock, catalog=catalog, tax=tax, actor=actor)
