"""Bank transfers received for invoices (rule NT1): recorded by an operator against an invoice number, or imported
from a bank statement (CAMT.053).

A transfer is booked once: the account is locked, then the invoice, then the bank reference is looked up; a reference
recorded already is answered as the first time (the same invoice, amount and date) or refused (anything else), and
the unique index on the reference holds it against a writer that got past the read. What the transfer pays lowers
what the invoice owes (an underpayment leaves the rest open); what it brings beyond that goes to the credit balance,
as ``settlement.settle`` books a card's excess, with an audit line and an e-mail. Paying the last open invoice
re-enables an overdue account at once (rule I6).

An import is one transaction: every matched entry is booked or none is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from prorata.domain.bank_statement import StatementEntry
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.payment_terms import BankPayment, BankPaymentRecord, find_invoice_number
from prorata.services import events, notifications
from prorata.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class RecordBankPayment:
    invoice_number: str
    amount: int
    currency: str
    received_on: date
    bank_reference: str
    actor: str


@dataclass(frozen=True, slots=True)
class Recorded:
    payment: BankPaymentRecord
    replayed: bool = False  # the same transfer was recorded before: nothing was booked now
    reenabled: bool = False  # rule I6: the account was overdue and owes nothing now


def _unknown_invoice(number: str) -> RuleViolation:
    return RuleViolation("bank_payment.invoice_unknown", f"invoice_number: there is no issued invoice {number}",
                         rule="NT1", field="invoice_number", invoice=number)  # fmt: skip


def _record_locked(tx: UnitOfWork, account_id: int, payment: BankPayment, source: str, actor: str,
                   now: datetime) -> Recorded:  # fmt: skip
    """In the caller's transaction, with ``account_id`` locked: the invoice locked, the transfer booked once."""
    invoice = tx.lock_terms_invoice(account_id, payment.invoice_number)
    if invoice is None or invoice.status == "draft":
        raise _unknown_invoice(payment.invoice_number)
    earlier = tx.bank_payment_by_reference(payment.bank_reference)
    if earlier is not None:
        same = (earlier.invoice_number, earlier.amount, earlier.currency, earlier.received_on) == (
            payment.invoice_number, payment.amount, payment.currency, payment.received_on)  # fmt: skip
        if not same:
            raise RuleViolation(
                "bank_payment.reference_used",
                f"bank_reference: transfer {payment.bank_reference} is recorded already, for "
                f"{earlier.invoice_number} ({earlier.amount} {earlier.currency}, {earlier.received_on})",
                rule="NT1", field="bank_reference", invoice=earlier.invoice_number,
            )  # fmt: skip
        return Recorded(earlier, replayed=True)
    if invoice.terms_days is None and tx.terms_days(account_id) is None:
        raise RuleViolation("bank_payment.not_on_terms", f"invoice_number: {payment.invoice_number} was not issued "
                            "on invoice terms and its account pays by card", rule="NT1",
                            field="invoice_number")  # fmt: skip
    if payment.currency != invoice.currency:
        raise RuleViolation("bank_payment.currency", f"currency: {payment.invoice_number} is in {invoice.currency}, "
                            f"not {payment.currency}", rule="NT1", field="currency",
                            expected=invoice.currency)  # fmt: skip
    made, applied, excess = tx.book_bank_payment(invoice, payment.bank_reference, payment.amount,
                                                 payment.received_on, source, actor, now)  # fmt: skip
    tx.audit(account_id, actor, "bank_payment.recorded",
             {"invoice": payment.invoice_number, "reference": payment.bank_reference, "amount": payment.amount,
              "applied": applied, "excess": excess, "source": source}, now)  # fmt: skip
    if applied and applied == invoice.amount_due:
        notifications.invoice_paid(tx, account_id, invoice.id, now)
        tx.record_event("invoice.paid", account_id, "invoice", invoice.id, now)
    if excess:
        notifications.excess_credited(tx, account_id, invoice.id, excess, invoice.currency, now)
    reenabled = bool(applied) and tx.clear_overdue_if_paid(account_id)
    if reenabled:
        events.account(tx, "account.restored", account_id, now)  # rule I6
    record = tx.bank_payment_by_reference(payment.bank_reference)
    assert record is not None
    assert record.id == made
    return Recorded(record, reenabled=reenabled)


def record_bank_payment(command: RecordBankPayment, *, uow: Callable[[], UnitOfWork], clock: Clock) -> Recorded:
    """Rule NT1: the operator records a transfer against an invoice number (see the module's docstring)."""
    payment = BankPayment(command.invoice_number.strip().upper(), command.amount, command.currency.upper(),
                          command.received_on, command.bank_reference)  # fmt: skip
    if command.received_on > clock.now().date():
        raise InvalidInput("bank_payment.received_on", "received_on: a transfer received in the future",
                           rule="NT1", field="received_on")  # fmt: skip
    now = clock.now()
    with uow() as tx:
        account_id = tx.invoice_account_by_number(payment.invoice_number)
        if account_id is None:
            raise _unknown_invoice(payment.invoice_number)
        tx.lock_account(account_id)
        return _record_locked(tx, account_id, payment, "operator", command.actor, now)


@dataclass(frozen=True, slots=True)
class ImportedEntry:
    entry: StatementEntry
    outcome: str  # matched, already (the same bank reference was recorded), unmatched
    invoice_number: str | None = None
    reason: str = ""  # unmatched: why (a refusal code), e.g. no invoice number, not on terms, another currency


@dataclass(frozen=True, slots=True)
class ImportReport:
    entries: tuple[ImportedEntry, ...] = field(default_factory=tuple)

    def of(self, outcome: str) -> list[ImportedEntry]:
        return [e for e in self.entries if e.outcome == outcome]


def import_statement(
    entries: Sequence[StatementEntry], *, actor: str, uow: Callable[[], UnitOfWork], clock: Clock
) -> ImportReport:
    """Rule NT1: each credit entry whose remittance names an invoice on terms (issued on terms, or of an account on
    terms now: as an operator may record it) is booked as that invoice's bank payment; one whose bank reference is
    recorded already is reported so; the others are listed unmatched, with why. All in one transaction (accounts
    locked in id order): nothing is half-imported."""
    now = clock.now()
    out: list[ImportedEntry] = []
    with uow() as tx:
        found: list[tuple[StatementEntry, str | None, int | None]] = []
        for entry in entries:
            number = find_invoice_number(entry.remittance)
            found.append((entry, number, None if number is None else tx.invoice_account_by_number(number)))
        for locking in sorted({a for _, _, a in found if a is not None}):
            tx.lock_account(locking)
        for entry, number, account_id in found:
            if number is None or account_id is None:
                out.append(ImportedEntry(entry, "unmatched", number, "bank_payment.invoice_unknown"))
                continue
            try:
                payment = BankPayment(number, entry.amount, entry.currency, entry.booked_on, entry.bank_reference)
                done = _record_locked(tx, account_id, payment, "statement", actor, now)
            except (RuleViolation, InvalidInput) as refused:
                out.append(ImportedEntry(entry, "unmatched", number, refused.code))
                continue
            out.append(ImportedEntry(entry, "already" if done.replayed else "matched", number))
    return ImportReport(tuple(out))
