"""Pay one, several or all open invoices of an account now (rules I3, I6, K7, X3).

One request, one idempotency key. Under the account's lock and then the invoices' (``settlement.begin_payment``),
each chosen invoice must still be owed with no payment in flight; the intents are written together, each with the
key ``<request key>:invoice-<id>``, and then charged one by one outside any transaction and settled. The same key
again is a replay: nothing new is charged, and the answer is what the first request did, waiting a moment for a
payment of it still in flight (a double click, two tabs, a retried request). Paying the last open invoice of an
overdue account re-enables it at once (I6).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.payments import UPDATE_BILLING, ChargeResult, GatewayUnavailable
from prorata.services.ports import (
    Clock,
    PayableInvoice,
    PaymentGateway,
    PaymentMethodRecord,
    PaymentState,
    UnitOfWork,
)
from prorata.services.settlement import begin_payment, in_flight, settle

REPLAY_WAIT = 10.0  # seconds a replay waits for the first request's charges to be settled


@dataclass(frozen=True, slots=True)
class PayInvoices:
    account_id: int
    idempotency_key: str
    invoice_ids: tuple[int, ...] | None = None  # None: every open invoice
    actor: str = "customer"  # for the audit trail


@dataclass(slots=True)
class PaymentReport:
    """What this request (this idempotency key) did, the first time or asked again."""

    paid: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    credited: list[int] = field(default_factory=list)  # received for an invoice no longer owed: to the balance
    waiting: list[int] = field(default_factory=list)  # payments the bank asks the customer to confirm (3-D Secure)
    reenabled: bool = False
    message: str = ""
    replayed: bool = False


def pay_invoices(
    command: PayInvoices,
    *,
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    gateway: PaymentGateway,
    replay_wait: float = REPLAY_WAIT,
) -> PaymentReport:
    if not command.idempotency_key.strip():
        raise InvalidInput("payment.idempotency_key_missing", "idempotency_key: required", rule="X3",
                           field="idempotency_key")  # fmt: skip
    chosen = None if command.invoice_ids is None else tuple(sorted(set(command.invoice_ids)))
    key = command.idempotency_key
    now = clock.now()
    method: PaymentMethodRecord | None = None
    with uow() as tx:
        if not tx.lock_account(command.account_id):
            raise InvalidInput("account.unknown", "account: not found", field="account")
        earlier = tx.payments_of_request(command.account_id, key)
        if earlier:
            _same_request(earlier, chosen)
            started: list[tuple[int, int, int, str]] = []
        else:
            owed = tx.lock_invoices(command.account_id, chosen)
            if chosen is not None:
                _check_chosen(chosen, owed)
            else:
                owed = [invoice for invoice in owed if not invoice.in_flight]  # "all": those being paid are left
            if not owed:
                return PaymentReport()
            method = tx.default_payment_method(command.account_id)
            if method is None:
                raise RuleViolation(
                    "payment.method_missing", f"payment_method: add a card or PayPal. {UPDATE_BILLING}", rule="K7",
                    field="payment_method",
                )  # fmt: skip
            started = [
                (invoice.id, begin_payment(tx, invoice, method, f"{key}:invoice-{invoice.id}", now),
                 invoice.amount_due, invoice.currency)
                for invoice in owed
            ]  # fmt: skip
    report = PaymentReport(replayed=bool(earlier))
    for invoice_id, payment_id, amount, currency in started:
        assert method is not None
        try:
            result: ChargeResult = gateway.charge(method.token, amount, currency, f"{key}:invoice-{invoice_id}")
        except GatewayUnavailable:
            continue  # left pending: reconciliation asks the gateway with the same key; the answer says in progress
        with uow() as tx:
            settled = settle(tx, command.account_id, invoice_id, payment_id, result, clock.now(),
                             actor=command.actor)  # fmt: skip
        report.reenabled = report.reenabled or settled.reenabled
    return _answer(report, command, uow, replay_wait)


def _same_request(earlier: Sequence[PaymentState], chosen: tuple[int, ...] | None) -> None:
    """Rule X3: the same key with other invoices is another request, refused rather than replayed."""
    if chosen is not None and set(chosen) != {p.invoice_id for p in earlier}:
        raise RuleViolation(
            "payment.idempotency_conflict",
            "idempotency_key: this key was used to pay other invoices",
            rule="X3",
            field="idempotency_key",
        )


def _check_chosen(chosen: tuple[int, ...], found: Sequence[PayableInvoice]) -> None:
    """Every invoice named must be owed and not being paid; otherwise nothing is charged (rule X4)."""
    by_id = {invoice.id: invoice for invoice in found}
    refused = [i for i in chosen if i not in by_id or not by_id[i].owed]
    if refused:
        settled = [f"{i} is {by_id[i].status}" for i in refused if i in by_id]
        raise InvalidInput(
            "invoice.not_open",
            f"invoice_ids: {refused} are not open invoices of this account"
            + (f" ({', '.join(settled)})" if settled else ""),
            rule="I3",
            field="invoice_ids",
            invoices=refused,
        )
    for invoice_id in chosen:
        if by_id[invoice_id].in_flight:
            raise in_flight(invoice_id)


def _answer(
    report: PaymentReport, command: PayInvoices, uow: Callable[[], UnitOfWork], replay_wait: float
) -> PaymentReport:
    """The outcome of every payment this key made, once none of them is in flight (or the wait is over)."""
    deadline = time.monotonic() + replay_wait
    pause = 0.02
    while True:
        with uow() as tx:
            made = tx.payments_of_request(command.account_id, command.idempotency_key)
        if all(p.status != "pending" for p in made):
            break
        if time.monotonic() >= deadline:
            raise RuleViolation(
                "payment.in_progress",
                "idempotency_key: the payments of this request are still being processed; ask again in a moment",
                rule="X3",
                field="idempotency_key",
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.5)
    report.paid = [p.invoice_id for p in made if p.status == "succeeded"]
    report.credited = [p.invoice_id for p in made if p.status == "credited"]
    report.waiting = [p.id for p in made if p.status == "action_required"]
    report.failed = [(p.invoice_id, p.failure_code or "payment_failed") for p in made if p.status == "failed"]
    if report.failed:
        report.message = ChargeResult(False, "", report.failed[0][1]).message()
    return report
