"""Invoice terms and bank transfer (rule NT1): the unit of work's part (``services/payment_terms.py``,
``services/bank_payments.py``) and the reads of the portal, the console, the API and the CLI.

A bank payment is a row of ``bank_payments``, unique by the bank's reference: what makes a transfer booked once is
that index, so two operators (or an operator and a statement import) recording the same transfer at the same moment
get one row, and the second is told it is recorded already. It lowers what the invoice owes (an underpayment leaves
the rest open); what it brings beyond that goes to the credit balance as a ledger entry ``bank_overpayment`` naming
the invoice, as ``settle`` books a card's excess.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.schema import accounts, bank_payments, credit_ledger, invoices
from prorata.domain.errors import RuleViolation
from prorata.domain.payment_terms import BankPaymentRecord, TermsInvoice


def _number_text(series: str, year: int, number: int) -> str:
    return f"{series}-{year}-{number:06d}"


def _split_number(text: str) -> tuple[str, int, int] | None:
    series, _, rest = text.partition("-")
    year, _, number = rest.partition("-")
    if not (year.isdigit() and number.isdigit()):
        return None
    return series, int(year), int(number)


_PAYMENT_VIEW = select(bank_payments, invoices.c.series, invoices.c.year, invoices.c.number).join(
    invoices, invoices.c.id == bank_payments.c.invoice_id
)


def _record(row: object) -> BankPaymentRecord:
    r = row._mapping  # type: ignore[attr-defined]
    return BankPaymentRecord(
        int(r["id"]), int(r["account_id"]), int(r["invoice_id"]), _number_text(r["series"], r["year"], r["number"]),
        r["bank_reference"], int(r["amount"]), r["currency"], int(r["applied"]), int(r["excess"]), r["received_on"],
        r["source"], r["recorded_by"], r["recorded_at"],
    )  # fmt: skip


def bank_payments_of(conn: Connection, account_id: int) -> list[BankPaymentRecord]:
    """The account's bank payments, newest first."""
    rows = conn.execute(
        _PAYMENT_VIEW.where(bank_payments.c.account_id == account_id).order_by(bank_payments.c.id.desc())
    ).all()
    return [_record(row) for row in rows]


def invoice_terms(conn: Connection, invoice_id: int) -> tuple[int | None, list[BankPaymentRecord]]:
    """Rule NT1: the net terms an invoice was issued on (None: not on terms) and the transfers recorded for it."""
    days = conn.execute(select(invoices.c.terms_days).where(invoices.c.id == invoice_id)).scalar_one_or_none()
    rows = conn.execute(
        _PAYMENT_VIEW.where(bank_payments.c.invoice_id == invoice_id).order_by(bank_payments.c.id)
    ).all()
    return (None if days is None else int(days)), [_record(row) for row in rows]


def terms_of(conn: Connection, account_id: int) -> int | None:
    """The account's net terms in days, or None when it pays by card."""
    found = conn.execute(select(accounts.c.terms_days).where(accounts.c.id == account_id)).scalar_one_or_none()
    return None if found is None else int(found)


def terms_of_accounts(conn: Connection, account_ids: list[int]) -> dict[int, int]:
    """Those of the accounts on terms, with their days."""
    if not account_ids:
        return {}
    rows = conn.execute(
        select(accounts.c.id, accounts.c.terms_days).where(
            accounts.c.id.in_(sorted(set(account_ids))), accounts.c.terms_days.is_not(None)
        )
    )
    return {int(r.id): int(r.terms_days) for r in rows}


class TermsStore:
    """The invoice terms part of ``SqlUnitOfWork``."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def terms_days(self, account_id: int) -> int | None:
        return terms_of(self.conn, account_id)

    def set_terms_days(self, account_id: int, days: int | None) -> None:
        self.conn.execute(update(accounts).where(accounts.c.id == account_id).values(terms_days=days))

    def invoice_account_by_number(self, number: str) -> int | None:
        """The account of the issued invoice numbered ``number`` (read without a lock: the caller locks the account,
        then the invoice, the order every writer follows)."""
        parts = _split_number(number)
        if parts is None:
            return None
        series, year, seq = parts
        found = self.conn.execute(
            select(invoices.c.account_id).where(
                invoices.c.series == series, invoices.c.year == year, invoices.c.number == seq
            )
        ).scalar_one_or_none()
        return None if found is None else int(found)

    def lock_terms_invoice(self, account_id: int, number: str) -> TermsInvoice | None:
        """The account's invoice ``number``, locked (after the account)."""
        parts = _split_number(number)
        if parts is None:
            return None
        series, year, seq = parts
        query = select(invoices).where(
            invoices.c.account_id == account_id, invoices.c.series == series, invoices.c.year == year,
            invoices.c.number == seq,
        )  # fmt: skip
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        r = self.conn.execute(query).mappings().first()
        if r is None:
            return None
        return TermsInvoice(int(r["id"]), int(r["account_id"]), number, r["status"], r["currency"],
                            int(r["amount_due"]), r["terms_days"], r["due_at"])  # fmt: skip

    def bank_payment_by_reference(self, reference: str) -> BankPaymentRecord | None:
        row = self.conn.execute(_PAYMENT_VIEW.where(bank_payments.c.bank_reference == reference)).first()
        return None if row is None else _record(row)

    def book_bank_payment(
        self, invoice: TermsInvoice, reference: str, amount: int, received_on: date, source: str, actor: str,
        now: datetime,
    ) -> tuple[int, int, int]:  # fmt: skip
        """The transfer written once (its id, applied, excess): what it pays of the invoice lowers what is owed (paid
        when nothing is left), the rest goes to the credit balance. Refused (the caller's transaction rolls back) when
        a transfer with this reference was committed meanwhile: the unique index decides, not the read before it."""
        owed = invoice.amount_due if invoice.status == "open" else 0
        applied = min(owed, amount)
        excess = amount - applied
        try:
            with self.conn.begin_nested():
                made = self.conn.execute(
                    insert(bank_payments)
                    .values(account_id=invoice.account_id, invoice_id=invoice.id, bank_reference=reference,
                            amount=amount, currency=invoice.currency, applied=applied, excess=excess,
                            received_on=received_on, source=source, recorded_by=actor, recorded_at=now)
                    .returning(bank_payments.c.id)
                ).scalar_one()  # fmt: skip
        except IntegrityError:
            raise RuleViolation(
                "bank_payment.recorded_meanwhile",
                f"bank_reference: a transfer {reference} was recorded at this moment by someone else",
                rule="NT1",
                field="bank_reference",
            ) from None
        if applied:
            left = owed - applied
            self.conn.execute(
                update(invoices)
                .where(invoices.c.id == invoice.id)
                .values(amount_due=left, **({"status": "paid", "paid_at": now} if left == 0 else {}))
            )
        if excess:
            self.conn.execute(
                insert(credit_ledger).values(account_id=invoice.account_id, amount=excess, currency=invoice.currency,
                                             reason="bank_overpayment", invoice_id=invoice.id, created_at=now)
            )  # fmt: skip
        return int(made), applied, excess

    def terms_invoices_past_due(self, now: datetime) -> list[tuple[int, int, datetime]]:
        """(invoice, account, due date) of the open invoices issued on terms whose due date has passed, of active
        accounts: rule NT1 makes those accounts overdue (I6), and only those."""
        rows = self.conn.execute(
            select(invoices.c.id, invoices.c.account_id, invoices.c.due_at)
            .join(accounts, accounts.c.id == invoices.c.account_id)
            .where(
                and_(invoices.c.status == "open", invoices.c.amount_due > 0, invoices.c.terms_days.is_not(None),
                     invoices.c.due_at < now, accounts.c.status == "active")
            )
            .order_by(invoices.c.account_id, invoices.c.id)
        )  # fmt: skip
        return [(int(r[0]), int(r[1]), r[2]) for r in rows]
