"""Correct an issued invoice with a credit note: void it, or credit some of its lines (rules I2, T3, I6).

The invoice is never edited: the credit note, with its own gap-free series (``CN-2026-000001``), reverses its lines
at their original tax rate. Voiding gives back the credit balance the invoice used and, for a paid invoice, what was
paid. Where it goes is the request's ``refund`` destination (rules R1, R2): ``credit_balance`` (the default), or
``original_method``: what was paid in money back to the card through the gateway (``services/refunds.py``), within
30 days of the invoice or with an operator's override, and the rest to the balance.
Voiding or crediting an open invoice lowers what is still due, so an account overdue only because of it can buy
again at once (rule I6). Subscriptions are left as they are: the service was delivered or goes on; ending it is a
cancellation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from prorata.domain.credit_notes import plan_credit_note
from prorata.domain.errors import InvalidInput
from prorata.domain.refunds import CREDIT_BALANCE, ORIGINAL_METHOD, check_destination, check_window, split_refund
from prorata.services import refunds
from prorata.services.ports import Clock, PaymentGateway, RefundRecord, UnitOfWork


@dataclass(frozen=True, slots=True)
class CreditInvoice:
    number: str
    actor: str  # who corrects it, for the audit trail
    reason: str = ""
    lines: tuple[int, ...] | None = None  # positions of the lines to credit; None voids the whole invoice
    refund: str = CREDIT_BALANCE  # where what a paid invoice gives back goes: credit_balance or original_method
    requested_by: str = "operator"  # who asked: the customer (their request is recorded) or the operator
    override_reason: str | None = None  # rule R1: the operator's reason to refund after the 30 days


@dataclass(frozen=True, slots=True)
class CreditNoteResult:
    number: str
    corrects: str
    total: int  # negative: what the note takes back, tax included
    to_balance: int  # credit given back to the balance
    invoice_status: str
    invoice_amount_due: int
    currency: str
    refund: RefundRecord | None = None  # the refund to the original payment method, when there is one


def credit_invoice(
    command: CreditInvoice, *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway | None = None
) -> CreditNoteResult:
    check_destination(command.refund, command.requested_by)
    override = (command.override_reason or "").strip() or None
    refund: RefundRecord | None = None
    with uow() as tx:
        found = tx.issued_invoice(command.number)
        if found is None:
            raise InvalidInput("invoice.unknown", f"number: there is no issued invoice {command.number!r}",
                               rule="I2", field="number")  # fmt: skip
        account = tx.load_account(found.account_id, lock=True)  # account first, as every writer; then read again
        invoice = tx.issued_invoice(command.number)
        assert invoice is not None
        note = plan_credit_note(invoice, command.lines)
        now = clock.now()
        to_method = 0
        if command.refund == ORIGINAL_METHOD and invoice.status == "paid":
            charged = invoice.amount_paid if tx.charge_of_invoice(invoice.id) is not None else 0
            split = split_refund(note.to_balance, ORIGINAL_METHOD, charged, invoice.refunded)
            if split.to_method:
                assert invoice.issued_at is not None
                if check_window(invoice.issued_at, now, account.time_zone, override):
                    override = None  # within the 30 days: nothing was overridden
                if gateway is None:
                    raise InvalidInput("refund.no_gateway", "refund: no payment gateway is configured", rule="R2",
                                       field="refund")  # fmt: skip
                to_method = split.to_method
                note = replace(note, to_balance=split.to_balance)
        number = tx.issue_credit_note(note, command.reason, now)
        tx.record_event("credit_note.issued", invoice.account_id, "credit_note", number, now)
        if note.void:
            tx.record_event("invoice.voided", invoice.account_id, "invoice", invoice.id, now)
        if invoice.status == "open" and tx.clear_overdue_if_paid(invoice.account_id):
            tx.record_event("account.restored", invoice.account_id, "account", invoice.account_id, now)  # rule I6
        tx.audit(invoice.account_id, command.actor, "invoice.voided" if note.void else "invoice.credited",
                 {"invoice": invoice.number, "credit_note": number, "lines": list(note.reversed_positions),
                  "to_balance": note.to_balance, "to_method": to_method, "destination": command.refund,
                  "requested_by": command.requested_by, "reason": command.reason}, now)  # fmt: skip
        if to_method:
            refund = refunds.request_refund(tx, number, invoice.id, to_method, command.requested_by, override,
                                            command.actor, now)  # fmt: skip
    if refund is not None:
        assert gateway is not None
        refund = refunds.attempt(refund, uow=uow, clock=clock, gateway=gateway, actor=command.actor)
    return CreditNoteResult(number, invoice.number, note.total, note.to_balance, note.status_after,
                            note.amount_due_after, invoice.currency, refund)  # fmt: skip


def void_invoice(number: str, *, actor: str, reason: str = "", uow: Callable[[], UnitOfWork],
                 clock: Clock) -> CreditNoteResult:  # fmt: skip
    return credit_invoice(CreditInvoice(number, actor, reason), uow=uow, clock=clock)


def credit_lines(number: str, lines: Sequence[int], *, actor: str, reason: str = "", uow: Callable[[], UnitOfWork],
                 clock: Clock) -> CreditNoteResult:  # fmt: skip
    return credit_invoice(CreditInvoice(number, actor, reason, tuple(lines)), uow=uow, clock=clock)
