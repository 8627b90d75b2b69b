"""Express pay: an open invoice paid without signing in, given its account's number and its own (rule EP1).

What is shown: the invoice's number, what it owes, its currency and due date; nothing else about the account. Any
pair of numbers that does not name an open invoice of that account gets the same answer, so an invoice number alone
(or an account number alone) reveals nothing, not even that it exists.

Both numbers can be guessed (invoice numbers are sequential), so every try is counted before anything is looked up,
as sign-in counts (``domain/throttle.py``): per client address, in the same count as sign-in's, so guesses here buy no
extra guesses there; and per account number, so a spread of addresses cannot walk one account's invoices.

The payment is the portal's: the invoice is locked after its account, the intent written before the gateway is
asked, and the gateway's answer settled (``settlement.py``). The card is used for this payment only (written as a
method removed at once, so the payment can name it), never made the account's. The request's key makes it exactly
once: the same key again answers the first outcome and charges nothing (rule X3). A card that asks its holder to
confirm with their bank (3-D Secure) is given up at once: that confirmation is a signed-in page.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from prorata.domain import throttle
from prorata.domain.errors import InvalidInput, RuleViolation, refuse_all
from prorata.domain.payments import ChargeResult, GatewayUnavailable, SavedMethod
from prorata.services.billing_information import check_new_card
from prorata.services.gateway_methods import browser_gateway, saved_method
from prorata.services.identity import address_key
from prorata.services.pay_invoices import REPLAY_WAIT
from prorata.services.ports import Clock, ExpressInvoice, PaymentGateway, PaymentMethodRecord, UnitOfWork
from prorata.services.settlement import begin_payment, settle
from prorata.services.sign_in import count_attempt

ACTOR = "express-pay"
NUMBER_LENGTH = 64  # longer input is no account or invoice number: refused before it is counted or looked up


@dataclass(frozen=True, slots=True)
class FindInvoice:
    account_number: str
    invoice_number: str
    client_address: str


@dataclass(frozen=True, slots=True)
class ExpressPay:
    account_number: str
    invoice_number: str
    client_address: str
    idempotency_key: str
    # the sandbox gateway: a card typed in the page (rule Y2 checks it before the gateway sees it)
    card_number: str = ""
    exp_month: int = 0
    exp_year: int = 0
    # a real gateway: what its fields saved in the payer's browser (a SetupIntent) or, through the API, its method
    setup_intent: str = ""
    payment_method_id: str = ""


@dataclass(frozen=True, slots=True)
class ExpressPayment:
    invoice: ExpressInvoice
    status: str  # succeeded, failed, credited (the invoice was paid meanwhile: the money went to the balance)
    failure_code: str | None = None
    replayed: bool = False

    @property
    def paid(self) -> bool:
        return self.status in ("succeeded", "credited")


def express_throttled(retry_after: timedelta) -> RuleViolation:
    return RuleViolation(
        "express_pay.throttled",
        "account_number: too many tries; try again later",
        rule="EP1",
        field="account_number",
        retry_after=max(1, int(retry_after.total_seconds() + 0.999)),
    )


def no_such_invoice() -> RuleViolation:
    return RuleViolation(
        "express_pay.not_found",
        "invoice_number: no open invoice has this number in the account of this number",
        rule="EP1",
        field="invoice_number",
    )


def account_number_key(account_number: str) -> str:
    return f"express:n:{hashlib.sha256(account_number.strip().casefold().encode()).hexdigest()}"


def find_invoice(command: FindInvoice, *, uow: Callable[[], UnitOfWork], now: datetime) -> ExpressInvoice:
    """The open invoice the two numbers name, or one refusal whatever is wrong (the try counted first)."""
    account_number, invoice_number = command.account_number.strip(), command.invoice_number.strip()
    missing = []
    if not account_number or len(account_number) > NUMBER_LENGTH:
        missing.append(InvalidInput("express_pay.account_number_missing", "account_number: required", rule="EP1",
                                    field="account_number"))  # fmt: skip
    if not invoice_number or len(invoice_number) > NUMBER_LENGTH:
        missing.append(InvalidInput("express_pay.invoice_number_missing", "invoice_number: required", rule="EP1",
                                    field="invoice_number"))  # fmt: skip
    refuse_all(missing)
    refused: timedelta | None = None
    with uow() as tx:  # the count is kept whatever follows: the refusal is raised once it is committed
        by_address = count_attempt(tx, address_key(command.client_address), now, throttle.PER_ADDRESS)
        if not by_address.allowed:
            refused = by_address.retry_after
        else:
            by_account = count_attempt(tx, account_number_key(account_number), now, throttle.EXPRESS_PER_ACCOUNT)
            refused = None if by_account.allowed else by_account.retry_after
    if refused is not None:
        raise express_throttled(refused)
    with uow() as tx:
        found = tx.express_invoice(account_number, invoice_number)
    if found is None or not found.owed:
        raise no_such_invoice()
    return found


def express_pay(
    command: ExpressPay, *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway, now: datetime,
    replay_wait: float = REPLAY_WAIT,
) -> ExpressPayment:  # fmt: skip
    """Pay the invoice the numbers name with the card given, once per key. ``now`` is the wall clock the throttle
    counts in; the payment's own times are the installation's clock's."""
    key = command.idempotency_key.strip()
    if not key or len(key) > 100:
        raise InvalidInput("payment.idempotency_key_missing", "idempotency_key: required (at most 100 characters)",
                           rule="X3", field="idempotency_key")  # fmt: skip
    request_key = f"express:{key}"
    invoice = _invoice_of_request(command, request_key, uow=uow, now=now)
    if isinstance(invoice, ExpressPayment):
        return _once_settled(invoice, request_key, uow, replay_wait)
    method = _one_time_method(command, invoice, uow=uow, clock=clock, gateway=gateway)
    payment_key = f"{request_key}:invoice-{invoice.id}"
    with uow() as tx:
        tx.lock_account(invoice.account_id)
        earlier = _earlier(tx, invoice, request_key)  # the same request raced this one to the lock and won
        if earlier is None:
            locked = tx.lock_invoices(invoice.account_id, (invoice.id,))
            if not locked or not locked[0].owed:
                raise no_such_invoice()  # paid or voided since it was found
            owed = locked[0]
            record = tx.add_one_time_method(invoice.account_id, method.kind, gateway.name, method.token, method.card,
                                            method.paypal_email, clock.now())  # fmt: skip
            payment_id = begin_payment(tx, owed, record, payment_key, clock.now())
            tx.audit(invoice.account_id, ACTOR, "payment.express_started",
                     {"invoice": invoice.id, "payment": payment_id, "client_address": command.client_address},
                     clock.now())  # fmt: skip
    if earlier is not None:
        return _once_settled(earlier, request_key, uow, replay_wait)
    result = _charge(gateway, record, owed.amount_due, owed.currency, payment_key)
    if result is None:  # the gateway could not be reached: reconciliation asks it with the same key
        return ExpressPayment(invoice, "pending")
    with uow() as tx:
        settled = settle(tx, invoice.account_id, invoice.id, payment_id, result, clock.now(), actor=ACTOR)
    return ExpressPayment(invoice, settled.status, result.failure_code)


def _invoice_of_request(
    command: ExpressPay, request_key: str, *, uow: Callable[[], UnitOfWork], now: datetime
) -> ExpressInvoice | ExpressPayment:
    """The invoice (counted as a try), or, for a key used before, what the first request did: an invoice it paid is
    no longer open, and the replay must still answer it."""
    try:
        invoice = find_invoice(FindInvoice(command.account_number, command.invoice_number, command.client_address),
                               uow=uow, now=now)  # fmt: skip
    except RuleViolation as refused:
        if refused.code != "express_pay.not_found":
            raise
        with uow() as tx:
            found = tx.express_invoice(command.account_number, command.invoice_number)
            earlier = None if found is None else _earlier(tx, found, request_key)
        if earlier is None:
            raise
        return earlier
    with uow() as tx:
        earlier = _earlier(tx, invoice, request_key)
    return invoice if earlier is None else earlier


def _once_settled(
    earlier: ExpressPayment, request_key: str, uow: Callable[[], UnitOfWork], wait: float
) -> ExpressPayment:
    """A replay answers what the first request did once its payment is settled (a double click, a retried
    request), waiting for it a moment; a payment still pending after that is answered pending."""
    deadline = time.monotonic() + wait
    pause = 0.02
    while earlier.status == "pending" and time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
        with uow() as tx:
            earlier = _earlier(tx, earlier.invoice, request_key) or earlier
    return earlier


def _earlier(tx: UnitOfWork, invoice: ExpressInvoice, request_key: str) -> ExpressPayment | None:
    made = [p for p in tx.payments_of_request(invoice.account_id, request_key) if p.invoice_id == invoice.id]
    if not made:
        return None
    first = made[0]
    return ExpressPayment(invoice, first.status, first.failure_code, replayed=True)


def _one_time_method(
    command: ExpressPay, invoice: ExpressInvoice, *, uow: Callable[[], UnitOfWork], clock: Clock,
    gateway: PaymentGateway,
) -> SavedMethod:  # fmt: skip
    """The card to charge, as the gateway holds it: typed here for the sandbox (checked first, rule Y2), saved in
    the payer's browser for a real gateway, which never sends a card number to this server."""
    if gateway.browser_tokens:
        if command.card_number:
            raise InvalidInput("payment.card_number_refused",
                               "card_number: card numbers are entered in the payment service's own fields",
                               rule="Y2", field="card_number")  # fmt: skip
        return saved_method(invoice.account_id, setup_intent=command.setup_intent or None,
                            payment_method_id=command.payment_method_id or None, uow=uow, clock=clock,
                            gateway=browser_gateway(gateway))  # fmt: skip
    today = clock.now().date()
    check_new_card(command.card_number, command.exp_month, command.exp_year, None, today)
    token, card = gateway.tokenize_card(command.card_number, command.exp_month, command.exp_year, today)
    return SavedMethod(token, "card", card, None)


def _charge(
    gateway: PaymentGateway, method: PaymentMethodRecord, amount: int, currency: str, key: str
) -> ChargeResult | None:
    try:
        result = gateway.charge(method.token, amount, currency, key)
    except GatewayUnavailable:
        return None
    if result.action_required:
        # the bank's confirmation is a signed-in page (the portal's); here the charge is given up, so the invoice
        # is not held by a payment nobody can finish
        return gateway.cancel(result.reference)
    return result
