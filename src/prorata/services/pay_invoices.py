"""Pay one, several or all open invoices of an account now (rules I3, I6, X3).

Each invoice is charged on its own, with a key made of the request's idempotency key and the invoice, so a retried
request charges nothing twice. Paying the last open invoice of an overdue account re-enables it at once (I6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.payments import UPDATE_BILLING, ChargeResult
from prorata.services import notifications
from prorata.services.ports import Clock, PaymentGateway, UnitOfWork


@dataclass(frozen=True, slots=True)
class PayInvoices:
    account_id: int
    idempotency_key: str
    invoice_ids: tuple[int, ...] | None = None  # None: every open invoice


@dataclass(slots=True)
class PaymentReport:
    paid: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    reenabled: bool = False
    message: str = ""


def pay_invoices(
    command: PayInvoices, *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway
) -> PaymentReport:
    if not command.idempotency_key.strip():
        raise InvalidInput("payment.idempotency_key_missing", "idempotency_key: required", rule="X3",
                           field="idempotency_key")  # fmt: skip
    report = PaymentReport()
    with uow() as tx:
        owed = tx.open_invoices(command.account_id, command.invoice_ids)
        method = tx.default_payment_method(command.account_id)
    if command.invoice_ids is not None:
        unknown = sorted(set(command.invoice_ids) - {invoice.id for invoice in owed})
        if unknown:
            raise InvalidInput(
                "invoice.not_open",
                f"invoice_ids: {unknown} are not open invoices of this account",
                field="invoice_ids",
            )
    if owed and method is None:
        raise RuleViolation(
            "payment.method_missing", f"payment_method: add a card or PayPal. {UPDATE_BILLING}", rule="K7",
            field="payment_method",
        )  # fmt: skip
    for invoice in owed:
        assert method is not None
        key = f"{command.idempotency_key}:invoice-{invoice.id}"
        with uow() as tx:
            earlier = tx.payment_by_key(key)
            if earlier is not None and earlier[1] != "pending":
                continue  # this request was already answered for this invoice
            payment_id = (
                earlier[0]
                if earlier is not None
                else tx.insert_payment_intent(
                    command.account_id, invoice.id, method, invoice.amount_due, invoice.currency, key, clock.now()
                )
            )
        result: ChargeResult = gateway.charge(method.token, invoice.amount_due, invoice.currency, key)
        with uow() as tx:
            tx.settle_payment(payment_id, result, clock.now())
            if result.succeeded:
                tx.mark_invoice_paid(invoice.id, clock.now())
                notifications.invoice_paid(tx, command.account_id, invoice.id, clock.now())
                report.paid.append(invoice.id)
                report.reenabled = tx.clear_overdue_if_paid(command.account_id) or report.reenabled
            else:
                report.failed.append((invoice.id, result.failure_code or "payment_failed"))
                report.message = result.message()
    return report
