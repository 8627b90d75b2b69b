"""What refunding stores (rules R1, R2): refunds of credit notes to the original payment method, their attempts and
outcomes, and the reads of them that the API, the CLI and the portal show.

One row per credit note (``refunds.credit_note_id`` is unique): never two refunds in flight for one note. An attempt
is written ``pending`` with its idempotency key before the gateway is called and settled afterwards under the locks,
account first, then the invoice, then the refund. A failed refund keeps its amount (it is still owed to the customer)
until it is retried (the next attempt, a new key) or sent to the credit balance (a ledger entry of the credit note,
status ``credited``).

A part of ``SqlUnitOfWork``, which provides the connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from prorata.adapters.db.documents import parse_number, payment_method_text
from prorata.adapters.db.numbering import invoice_number_text
from prorata.adapters.db.schema import credit_ledger, invoices, payment_methods, payments, refunds
from prorata.domain.payments import RefundResult
from prorata.domain.refunds import refund_key
from prorata.services.ports import ChargeRecord, RefundRecord

_NOTE = invoices.alias("note")
_CORRECTED = invoices.alias("corrected")


def _query() -> Any:
    return select(
        refunds,
        _NOTE.c.series.label("n_series"), _NOTE.c.year.label("n_year"), _NOTE.c.number.label("n_number"),
        _CORRECTED.c.series.label("c_series"), _CORRECTED.c.year.label("c_year"),
        _CORRECTED.c.number.label("c_number"), payments.c.gateway_reference.label("charge_reference"),
        payment_methods.c.kind, payment_methods.c.brand, payment_methods.c.last4,
    ).select_from(
        refunds.join(_NOTE, _NOTE.c.id == refunds.c.credit_note_id)
        .join(_CORRECTED, _CORRECTED.c.id == refunds.c.invoice_id)
        .join(payments, payments.c.id == refunds.c.payment_id)
        .outerjoin(payment_methods, payment_methods.c.id == payments.c.payment_method_id)
    )  # fmt: skip


def _record(row: Row[Any]) -> RefundRecord:
    r = row._mapping
    return RefundRecord(
        int(r["id"]), int(r["account_id"]), int(r["credit_note_id"]),
        invoice_number_text(r["n_series"], r["n_year"], r["n_number"]), int(r["invoice_id"]),
        invoice_number_text(r["c_series"], r["c_year"], r["c_number"]), int(r["payment_id"]),
        r["charge_reference"] or "", int(r["amount"]), r["currency"], r["status"], r["gateway"],
        r["gateway_reference"], r["idempotency_key"], r["failure_code"], int(r["attempt"]), r["requested_by"],
        r["override_reason"], r["created_at"], r["settled_at"], payment_method_text(r["kind"], r["brand"], r["last4"]),
    )  # fmt: skip


def refund_views(
    conn: Connection, *, account_id: int | None = None, refund_id: int | None = None,
    credit_note_ids: Sequence[int] | None = None,
) -> list[RefundRecord]:  # fmt: skip
    """Refunds, newest first: of an account, one by id, or of the named credit notes."""
    query = _query().order_by(refunds.c.id.desc())
    if account_id is not None:
        query = query.where(refunds.c.account_id == account_id)
    if refund_id is not None:
        query = query.where(refunds.c.id == refund_id)
    if credit_note_ids is not None:
        query = query.where(refunds.c.credit_note_id.in_(list(credit_note_ids)))
    return [_record(r) for r in conn.execute(query)]


class RefundStore:
    """The refunding part of the unit of work."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def charge_of_invoice(self, invoice_id: int) -> ChargeRecord | None:
        """The successful charge that paid the invoice (at most one: rule X3), or None (paid from the balance)."""
        row = self.conn.execute(
            select(payments.c.id, payments.c.gateway, payments.c.gateway_reference, payments.c.currency)
            .where(payments.c.invoice_id == invoice_id, payments.c.status == "succeeded",
                   payments.c.gateway_reference.is_not(None))
            .order_by(payments.c.id)
            .limit(1)
        ).first()  # fmt: skip
        return None if row is None else ChargeRecord(int(row.id), row.gateway, row.gateway_reference, row.currency)

    def insert_refund(
        self, credit_note: str, invoice_id: int, charge: ChargeRecord, amount: int, requested_by: str,
        override_reason: str | None, now: datetime,
    ) -> RefundRecord:  # fmt: skip
        parsed = parse_number(credit_note)
        assert parsed is not None
        series, year, serial = parsed
        note = self.conn.execute(
            select(invoices.c.id, invoices.c.account_id).where(
                invoices.c.series == series, invoices.c.year == year, invoices.c.number == serial
            )
        ).one()
        refund_id = int(
            self.conn.execute(
                insert(refunds)
                .values(account_id=note.account_id, credit_note_id=note.id, invoice_id=invoice_id,
                        payment_id=charge.payment_id, amount=amount, currency=charge.currency, status="pending",
                        gateway=charge.gateway, idempotency_key=f"refund-new-{note.id}", attempt=1,
                        requested_by=requested_by, override_reason=override_reason, created_at=now)
                .returning(refunds.c.id)
            ).scalar_one()
        )  # fmt: skip
        # the key names the refund's own id, known only now
        key = refund_key(refund_id, 1)
        self.conn.execute(update(refunds).where(refunds.c.id == refund_id).values(idempotency_key=key))
        found = self._one(refund_id)
        assert found is not None
        return found

    def _one(self, refund_id: int, *, lock: bool = False) -> RefundRecord | None:
        query = _query().where(refunds.c.id == refund_id)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update(of=refunds)
        row = self.conn.execute(query).first()
        return None if row is None else _record(row)

    def lock_refund(self, refund_id: int) -> RefundRecord | None:
        return self._one(refund_id, lock=True)

    def refund_by_reference(self, reference: str) -> RefundRecord | None:
        found = self.conn.execute(select(refunds.c.id).where(refunds.c.gateway_reference == reference)).scalar()
        return None if found is None else self._one(int(found))

    def refund_of_note(self, credit_note: str) -> RefundRecord | None:
        parsed = parse_number(credit_note)
        if parsed is None:
            return None
        series, year, serial = parsed
        found = self.conn.execute(
            select(refunds.c.id)
            .join(invoices, invoices.c.id == refunds.c.credit_note_id)
            .where(invoices.c.series == series, invoices.c.year == year, invoices.c.number == serial)
        ).scalar()
        return None if found is None else self._one(int(found))

    def record_refund_outcome(self, refund_id: int, result: RefundResult, now: datetime) -> None:
        self.conn.execute(
            update(refunds)
            .where(refunds.c.id == refund_id)
            .values(status=result.status, gateway_reference=result.reference or None,
                    failure_code=result.failure_code if result.status == "failed" else None,
                    settled_at=None if result.status == "pending" else now)
        )  # fmt: skip

    def next_refund_attempt(self, refund_id: int) -> RefundRecord:
        """The next attempt of a failed refund: pending again, with a key of its own."""
        attempt = int(self.conn.execute(select(refunds.c.attempt).where(refunds.c.id == refund_id)).scalar_one()) + 1
        self.conn.execute(
            update(refunds)
            .where(refunds.c.id == refund_id)
            .values(status="pending", attempt=attempt, idempotency_key=refund_key(refund_id, attempt),
                    failure_code=None, gateway_reference=None, settled_at=None)
        )  # fmt: skip
        found = self._one(refund_id)
        assert found is not None
        return found

    def refund_to_balance(self, refund_id: int, now: datetime) -> None:
        """A failed refund's amount sent to the credit balance instead, booked against its credit note."""
        r = self.conn.execute(select(refunds).where(refunds.c.id == refund_id)).mappings().one()
        self.conn.execute(
            insert(credit_ledger).values(account_id=r["account_id"], amount=r["amount"], currency=r["currency"],
                                         reason="credit_note", invoice_id=r["credit_note_id"], created_at=now)
        )  # fmt: skip
        self.conn.execute(update(refunds).where(refunds.c.id == refund_id).values(status="credited", settled_at=now))

    def pending_refunds(self, created_before: datetime) -> list[RefundRecord]:
        rows = self.conn.execute(
            _query().where(refunds.c.status == "pending", refunds.c.created_at < created_before).order_by(refunds.c.id)
        )
        return [_record(r) for r in rows]
