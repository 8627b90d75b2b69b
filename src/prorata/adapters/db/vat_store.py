"""VAT numbers as the registry answered for them (``vat_checks``): the unit of work's part for
``services/vat_numbers.py``, and the list the CLI shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from prorata.adapters.db.schema import contacts, vat_checks
from prorata.services.ports import VatAnswer, VatCheckRecord


def _record(row: object) -> VatCheckRecord:
    r = row._mapping  # type: ignore[attr-defined]
    return VatCheckRecord(r["number"], r["status"], r["checked_at"], int(r["attempts"]), r["next_check_at"])


def vat_check_rows(conn: Connection, status: str | None = None) -> list[dict[str, object]]:
    query = select(vat_checks).order_by(vat_checks.c.checked_at.desc())
    if status:
        query = query.where(vat_checks.c.status == status)
    return [dict(row._mapping) for row in conn.execute(query.limit(500))]


class VatStore:
    """The VAT registry's part of ``SqlUnitOfWork``."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def vat_check(self, number: str) -> VatCheckRecord | None:
        row = self.conn.execute(select(vat_checks).where(vat_checks.c.number == number)).first()
        return None if row is None else _record(row)

    def save_vat_check(
        self, number: str, status: str, answer: VatAnswer, now: datetime, next_check_at: datetime | None,
        attempts: int,
    ) -> None:  # fmt: skip
        self.conn.execute(delete(vat_checks).where(vat_checks.c.number == number))
        self.conn.execute(
            insert(vat_checks).values(number=number, status=status, name=answer.name, address=answer.address,
                                      error=answer.error[:64] or None, attempts=attempts, checked_at=now,
                                      next_check_at=next_check_at)
        )  # fmt: skip

    def vat_checks_due(self, now: datetime, limit: int) -> list[VatCheckRecord]:
        rows = self.conn.execute(
            select(vat_checks)
            .where(vat_checks.c.status == "provisional", vat_checks.c.next_check_at <= now)
            .order_by(vat_checks.c.next_check_at)
            .limit(limit)
        )
        return [_record(row) for row in rows]

    def accounts_with_vat_number(self, number: str) -> list[int]:
        rows = self.conn.execute(
            select(contacts.c.account_id).where(contacts.c.tax_id == number).distinct().order_by(contacts.c.account_id)
        )
        return [int(account_id) for account_id in rows.scalars()]
