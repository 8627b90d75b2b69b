"""Correct an issued invoice with a credit note: void it, or credit some of its lines (rules I2, T3, I6).

The invoice is never edited: the credit note, with its own gap-free series (``CN-2026-000001``), reverses its lines
at their original tax rate. Voiding gives back the credit balance the invoice used and, for a paid invoice, what was
paid, to the credit balance (a refund to the card is an explicit operator action at the gateway, not done here).
Voiding or crediting an open invoice lowers what is still due, so an account overdue only because of it can buy
again at once (rule I6). Subscriptions are left as they are: the service was delivered or goes on; ending it is a
cancellation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prorata.domain.credit_notes import plan_credit_note
from prorata.domain.errors import InvalidInput
from prorata.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class CreditInvoice:
    number: str
    actor: str  # who corrects it, for the audit trail
    reason: str = ""
    lines: tuple[int, ...] | None = None  # positions of the lines to credit; None voids the whole invoice


@dataclass(frozen=True, slots=True)
class CreditNoteResult:
    number: str
    corrects: str
    total: int  # negative: what the note takes back, tax included
    to_balance: int  # credit given back to the balance
    invoice_status: str
    invoice_amount_due: int
    currency: str


def credit_invoice(command: CreditInvoice, *, uow: Callable[[], UnitOfWork], clock: Clock) -> CreditNoteResult:
    with uow() as tx:
        found = tx.issued_invoice(command.number)
        if found is None:
            raise InvalidInput("invoice.unknown", f"number: there is no issued invoice {command.number!r}",
                               rule="I2", field="number")  # fmt: skip
        tx.load_account(found.account_id, lock=True)  # account first, as every writer; then read it again, locked
        invoice = tx.issued_invoice(command.number)
        assert invoice is not None
        note = plan_credit_note(invoice, command.lines)
        now = clock.now()
        number = tx.issue_credit_note(note, command.reason, now)
        if invoice.status == "open":
            tx.clear_overdue_if_paid(invoice.account_id)
        tx.audit(invoice.account_id, command.actor, "invoice.voided" if note.void else "invoice.credited",
                 {"invoice": invoice.number, "credit_note": number, "lines": list(note.reversed_positions),
                  "to_balance": note.to_balance, "reason": command.reason}, now)  # fmt: skip
    return CreditNoteResult(number, invoice.number, note.total, note.to_balance, note.status_after,
                            note.amount_due_after, invoice.currency)  # fmt: skip


def void_invoice(number: str, *, actor: str, reason: str = "", uow: Callable[[], UnitOfWork],
                 clock: Clock) -> CreditNoteResult:  # fmt: skip
    return credit_invoice(CreditInvoice(number, actor, reason), uow=uow, clock=clock)


def credit_lines(number: str, lines: Sequence[int], *, actor: str, reason: str = "", uow: Callable[[], UnitOfWork],
                 clock: Clock) -> CreditNoteResult:  # fmt: skip
    return credit_invoice(CreditInvoice(number, actor, reason, tuple(lines)), uow=uow, clock=clock)
