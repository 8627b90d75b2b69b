"""Place an order: quote -> invoice -> payment -> apply, all or nothing (rules K3, K6, K7, K8, X3, I1, I2).

1. In one transaction, with the account locked: a retried request (same idempotency key) gets the first answer;
   another order still being paid for refuses this one; an account whose billing period has ended is renewed, as
   the billing run would renew it (rule C7), so that the cart is priced on the period it falls in; the cart is
   priced by the engine; the order, its draft invoice and, when something is due, a payment intent are written.
   Nothing else of the account changes yet.
2. The gateway is asked to charge, outside any transaction, with the payment's own idempotency key.
3. In a second transaction: a successful payment applies the order (subscriptions, the invoice's number, the credit
   ledger); a failed one marks the order failed and changes nothing else (K8), and the buyer is told why (K7).

A crash between 2 and 3 leaves the order and its payment pending, and the account untouched; asking the gateway
again with the same key tells what happened (reconciliation).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from prorata.domain.cart import CHANGE_TYPES, Change
from prorata.domain.catalog import Catalog
from prorata.domain.engine import OPERATOR, quote
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.invoice_lines import Quote
from prorata.domain.payments import UPDATE_BILLING, ChargeResult, GatewayUnavailable
from prorata.domain.tax import TaxRules
from prorata.services import discounts, events, notifications, trials
from prorata.services.ports import Clock, OrderRecord, PaymentGateway, UnitOfWork
from prorata.services.renew_account import period_ended, renew_locked
from prorata.services.taxation import tax_decision_for


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    account_id: int
    changes: tuple[Change, ...]
    idempotency_key: str
    actor: str  # who places it, for the audit trail
    role: str = "owner"
    actor_user_id: int | None = None
    terms_version: str | None = None  # rule K6: the Terms of Service accepted, by whom, when
    terms_accepted: bool = False
    discount_code: str | None = None  # rule DC1: a code entered with the order applies to it


@dataclass(frozen=True, slots=True)
class OrderResult:
    order_id: int
    status: str  # placed, failed, or action_required: the bank asks the buyer to confirm the payment (3-D Secure)
    invoice_id: int | None
    invoice_number: str | None
    amount_due: int
    failure_code: str | None
    message: str
    replayed: bool = False  # the answer to an earlier request with the same key
    payment_id: int | None = None  # with action_required: the payment to confirm (portal: /billing/payments/ID/confirm)


def cart_fingerprint(account_id: int, changes: Sequence[Change], discount_code: str | None = None) -> tuple[str, str]:
    """The cart as JSON and its hash: the same key with another cart (or another discount code) is a conflict, not
    a replay."""
    cart = json.dumps([{"type": type(c).__name__, **asdict(c)} for c in changes], sort_keys=True, separators=(",", ":"))
    code = (discount_code or "").strip().upper()
    digest = hashlib.sha256(f"{account_id}:{cart}{':' + code if code else ''}".encode()).hexdigest()
    return cart, digest


def cart_from_json(cart: str) -> tuple[Change, ...]:
    """The cart ``cart_fingerprint`` wrote, as change values again."""
    changes: list[Change] = []
    for item in json.loads(cart):
        fields = dict(item)
        kind = CHANGE_TYPES[fields.pop("type")]
        changes.append(kind(**fields))
    return tuple(changes)


def place_order(
    command: PlaceOrder,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    catalog: Catalog,
    tax: TaxRules | None = None,
) -> OrderResult:
    if not command.idempotency_key.strip():
        raise InvalidInput(
            "order.idempotency_key_missing",
            "idempotency_key: every order needs one",
            rule="X3",
            field="idempotency_key",
        )
    # an order an operator places for the account (role ``operator``, the console's cancel and reactivate): the
    # customer accepted no Terms of Service with it, so none is asked for or recorded (K6 binds the customer's own)
    if command.role != OPERATOR and (not command.terms_accepted or not command.terms_version):
        raise RuleViolation(
            "order.terms_not_accepted",
            "terms_accepted: accept the Terms of Service to place the order",
            rule="K6",
            field="terms_accepted",
        )
    cart, digest = cart_fingerprint(command.account_id, command.changes, command.discount_code)
    now = clock.now()
    with uow() as tx:
        account = tx.load_account(command.account_id, lock=True)  # first: concurrent retries queue here
        context = tx.order_context(command.account_id, command.idempotency_key)
        if context.earlier is not None:
            return _replay(context.earlier, digest)
        if context.pending:
            raise RuleViolation(
                "order.in_progress",
                "another order of this account is being paid for; try again in a moment",
                rule="X3",
                field="idempotency_key",
            )
        if period_ended(account, now) is not None:
            # rule C7: a customer is never refused for being behind the billing run
            account = renew_locked(tx, command.account_id, account, now, catalog=catalog, clock=clock, tax=tax,
                                   actor=command.actor)  # fmt: skip
        rate = tax_decision_for(context.buyer, tax)  # rules T1, T2: from the Sold-To contact
        account = trials.prepare(tx, command.account_id, account, command.changes, catalog, context.method)
        taken = discounts.for_order(tx, command.account_id, account, command.discount_code, now)  # rule DC1
        redeem = taken[1] if taken is not None else None
        priced = quote(account, catalog, now, command.changes, role=command.role, tax=rate, redeem=redeem)
        method = None
        # rule NT1, and how it reads K8: an account on invoice terms pays by bank transfer after the order, so no card
        # is charged and the order takes effect at once, as a zero-to-charge order does; its invoice is issued open,
        # due ``terms`` days later, and only an unpaid due date makes the account overdue (I6)
        terms_days = tx.terms_days(command.account_id) if priced.amount_due > 0 else None
        if priced.amount_due > 0 and terms_days is None:
            method = context.method
            if method is None:
                raise RuleViolation(
                    "payment.method_missing",
                    f"payment_method: add a card or PayPal to pay. {UPDATE_BILLING}",
                    rule="K7",
                    field="payment_method",
                )
        terms = (command.terms_version or "", command.actor_user_id)
        if method is None:  # nothing to pay: the credit balance or the credits cover it (rule K8), or terms (NT1)
            # an order that charges and credits nothing (a change scheduled for the term end) has no invoice
            placed = tx.place_settled_order(
                command.account_id, command.idempotency_key, digest, cart, priced, terms, account, now, terms_days
            )
            order_id, invoice_id, number = placed.order_id, placed.invoice_id, placed.invoice_number
            if taken is not None:
                discounts.reserve(tx, command.account_id, order_id, taken, priced, now, applied=True)
            trials.record(tx, command.account_id, order_id, command.changes, placed.account, catalog)  # rule TR1
            notifications.order_placed(tx, command.account_id, invoice_id, priced, now)
            events.order_placed(tx, command.account_id, order_id, invoice_id, account, now, after=placed.account)
            tx.audit(command.account_id, command.actor, "order.placed", {"order": order_id, "invoice": number}, now)
            owed = priced.amount_due if terms_days is not None else 0
            return OrderResult(order_id, "placed", invoice_id, number, owed, None, "Placed.")
        order_id = tx.insert_order(command.account_id, command.idempotency_key, digest, cart, priced, terms, now)
        if taken is not None:  # counted now, before the card is charged; a failed payment gives it back
            discounts.reserve(tx, command.account_id, order_id, taken, priced, now, applied=False)
        invoice_id = tx.insert_draft_invoice(command.account_id, order_id, priced, now)  # something is due: lines
        payment_id = tx.insert_payment_intent(
            command.account_id, invoice_id, method, priced.amount_due, priced.currency, f"order-{order_id}", now
        )

    try:
        result = gateway.charge(method.token, priced.amount_due, priced.currency, f"order-{order_id}")
    except GatewayUnavailable:
        # whether the card was charged is not known: the order stays pending, and reconciliation asks the gateway
        # with the same key (it never charges twice), then places or fails the order
        raise RuleViolation(
            "payment.no_answer",
            "payment: the payment service did not answer; the order is being completed and you will receive an "
            "e-mail. Do not place it again",
            rule="X3",
            field="payment_method",
            order=order_id,
        ) from None
    return _settle(command, order_id, invoice_id, payment_id, priced, result, uow=uow, clock=clock)


def _settle(
    command: PlaceOrder,
    order_id: int,
    invoice_id: int,
    payment_id: int,
    priced: Quote,
    result: ChargeResult,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
) -> OrderResult:
    now = clock.now()
    with uow() as tx:
        tx.lock_account(command.account_id)
        if not tx.settle_pending_payment(payment_id, result, now):
            # reconciliation settled it meanwhile (it asked the gateway with the same key): its outcome stands
            settled = tx.order(order_id)
            return _replay(settled, settled.request_hash)
        if result.action_required:
            # the order stays pending, the account untouched (K8), until the buyer confirms or the charge is given up
            tx.audit(command.account_id, command.actor, "payment.action_required",
                     {"order": order_id, "payment": payment_id}, now)  # fmt: skip
            return OrderResult(order_id, "action_required", None, None, priced.amount_due, result.failure_code,
                               result.message(), payment_id=payment_id)  # fmt: skip
        if result.succeeded:
            before = tx.load_account(command.account_id, lock=False)  # the account lock is held
            applied = tx.apply_order(command.account_id, order_id, invoice_id, priced, now, before=before)
            number = applied.invoice_number
            notifications.order_placed(tx, command.account_id, invoice_id, priced, now)
            events.order_placed(tx, command.account_id, order_id, invoice_id, before, now, after=applied.account)
            tx.audit(command.account_id, command.actor, "order.placed", {"order": order_id, "invoice": number}, now)
            return OrderResult(order_id, "placed", invoice_id, number, priced.amount_due, None, result.message())
        code = result.failure_code or "payment_failed"
        tx.fail_order(order_id, invoice_id, code, now)
        events.order_failed(tx, command.account_id, order_id, now)
        tx.audit(command.account_id, command.actor, "order.failed", {"order": order_id, "failure": code}, now)
    return OrderResult(order_id, "failed", None, None, priced.amount_due, code, result.message())


def _replay(earlier: OrderRecord, digest: str) -> OrderResult:
    """Rule X3: the same request again gets the same answer, and nothing is charged twice."""
    if earlier.request_hash != digest:
        raise RuleViolation(
            "order.idempotency_conflict",
            "idempotency_key: this key was used for a different order",
            rule="X3",
            field="idempotency_key",
        )
    if earlier.status == "pending":
        raise RuleViolation(
            "order.in_progress",
            "this order is being paid for; ask again in a moment",
            rule="X3",
            field="idempotency_key",
        )
    failed = earlier.status == "failed"
    # the first answer's message again: what the gateway said, or "Placed." when nothing was charged
    if failed:
        message = ChargeResult(False, "", earlier.failure_code).message()
    else:
        message = ChargeResult(True, "").message() if earlier.amount_due > 0 else "Placed."
    return OrderResult(
        earlier.id,
        earlier.status,
        None if failed else earlier.invoice_id,
        earlier.invoice_number,
        earlier.amount_due,
        earlier.failure_code,
        message,
        replayed=True,
    )
