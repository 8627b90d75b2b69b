"""Discount codes and redemptions (rules DC1, DC2): the unit of work's part for ``services/discounts.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.schema import (
    accounts,
    discount_code_amounts,
    discount_codes,
    discount_redemptions,
)
from prorata.domain.discounts import Discount, DiscountCode, Duration, Redemption
from prorata.domain.errors import RuleViolation
from prorata.services.discount_ports import RedemptionRecord, StoredCode

_codes, _amounts, _redemptions = discount_codes.c, discount_code_amounts.c, discount_redemptions.c


def _stored(row: Any, amounts: dict[str, int]) -> StoredCode:
    code = DiscountCode(
        row.code,
        Duration(row.duration),
        row.periods,
        row.percent,
        amounts,
        frozenset(row.products.split()),
        row.expires_at,
        row.max_redemptions,
        int(row.redeemed),
        row.retired_at is None,
    )
    return StoredCode(int(row.id), code, row.created_at, row.retired_at)


def read_codes(conn: Connection, code: str | None = None) -> list[StoredCode]:
    """Every code, newest first (or the one named), with its amounts: two statements whatever their number."""
    query = select(discount_codes).order_by(_codes.id.desc())
    if code is not None:
        query = query.where(_codes.code == code)
    rows = conn.execute(query).all()
    if not rows:
        return []
    amounts: dict[int, dict[str, int]] = {int(row.id): {} for row in rows}
    for code_id, currency, amount in conn.execute(
        select(_amounts.code_id, _amounts.currency, _amounts.amount).where(_amounts.code_id.in_(list(amounts)))
    ):
        amounts[int(code_id)][currency] = int(amount)
    return [_stored(row, amounts[int(row.id)]) for row in rows]


def account_discount_row(conn: Connection, account_id: int) -> dict[str, Any] | None:
    """The discount the account holds (the latest applied), for the pages and the API that read it."""
    row = conn.execute(
        select(discount_redemptions)
        .where(_redemptions.account_id == account_id, _redemptions.status == "applied")
        .order_by(_redemptions.id.desc())
        .limit(1)
    ).first()
    return None if row is None else dict(row._mapping)


def apply_reserved(conn: Connection, order_id: int) -> None:
    """The paid order's discount becomes the account's (rule DC1)."""
    conn.execute(
        update(discount_redemptions)
        .where(_redemptions.order_id == order_id, _redemptions.status == "reserved")
        .values(status="applied")
    )


def release_reserved(conn: Connection, order_id: int) -> None:
    """The order failed: its reservation is deleted and the redemption given back to the code (rule K8)."""
    released: Sequence[Any] = conn.execute(
        delete(discount_redemptions)
        .where(_redemptions.order_id == order_id, _redemptions.status == "reserved")
        .returning(_redemptions.code_id)
    ).all()
    for (code_id,) in released:
        conn.execute(update(discount_codes).where(_codes.id == code_id).values(redeemed=_codes.redeemed - 1))


def _products(products: frozenset[str]) -> str:
    return " ".join(sorted(products))


class DiscountStore:
    """The discounts' part of ``SqlUnitOfWork``."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def discount_code(self, code: str) -> StoredCode | None:
        found = read_codes(self.conn, code)
        return found[0] if found else None

    def discount_codes(self) -> list[StoredCode]:
        return read_codes(self.conn)

    def create_discount_code(self, code: DiscountCode, now: datetime) -> int:
        try:
            with self.conn.begin_nested():
                code_id = int(
                    self.conn.execute(
                        insert(discount_codes)
                        .values(code=code.code, duration=code.duration.value, periods=code.periods,
                                percent=code.percent, products=_products(code.products), expires_at=code.expires_at,
                                max_redemptions=code.max_redemptions, redeemed=0, created_at=now)
                        .returning(_codes.id)
                    ).scalar_one()
                )  # fmt: skip
        except IntegrityError:  # created by a request that raced this one, after this one looked
            raise RuleViolation("discount.code_taken", f"code: {code.code} exists already; codes are never reused",
                                rule="DC2", field="code") from None  # fmt: skip
        if code.amounts:
            self.conn.execute(
                insert(discount_code_amounts),
                [{"code_id": code_id, "currency": c, "amount": a} for c, a in sorted(code.amounts.items())],
            )
        return code_id

    def retire_discount_code(self, code_id: int, now: datetime) -> None:
        self.conn.execute(
            update(discount_codes).where(_codes.id == code_id, _codes.retired_at.is_(None)).values(retired_at=now)
        )

    def has_redeemed(self, code_id: int, account_id: int) -> bool:
        return (
            self.conn.execute(
                select(_redemptions.id).where(_redemptions.code_id == code_id, _redemptions.account_id == account_id)
            ).first()
            is not None
        )

    def take_redemption(self, code_id: int, now: datetime) -> bool:
        # one conditional update: on PostgreSQL a racing transaction waits for the row and re-reads the condition
        # once the first commits, so the last redemption goes to one of them only; SQLite has one writer at a time
        taken = self.conn.execute(
            update(discount_codes)
            .where(
                _codes.id == code_id,
                _codes.retired_at.is_(None),
                (_codes.expires_at.is_(None)) | (_codes.expires_at > now),
                (_codes.max_redemptions.is_(None)) | (_codes.redeemed < _codes.max_redemptions),
            )
            .values(redeemed=_codes.redeemed + 1)
        )
        return taken.rowcount == 1

    def write_redemption(
        self,
        code_id: int,
        account_id: int,
        order_id: int | None,
        status: str,
        discount: Discount,
        periods: int | None,
        now: datetime,
    ) -> None:
        self.conn.execute(
            insert(discount_redemptions).values(
                code_id=code_id, account_id=account_id, order_id=order_id, status=status, code=discount.code,
                percent=discount.percent, amount=discount.amount, products=_products(discount.products),
                periods=periods, starts_at=discount.start, ends_at=discount.end, redeemed_at=now,
            )
        )  # fmt: skip

    def reserved_discount(self, order_id: int) -> Redemption | None:
        row = self.conn.execute(select(discount_redemptions).where(_redemptions.order_id == order_id)).first()
        if row is None:
            return None
        return Redemption(row.code, row.percent, row.amount, frozenset(row.products.split()), row.periods)

    def remove_discount(self, account_id: int, now: datetime) -> str | None:
        """An operator takes the account's discount away from now on; the code it was, or None."""
        held = account_discount_row(self.conn, account_id)
        if held is None:
            return None
        self.conn.execute(
            update(discount_redemptions).where(_redemptions.id == held["id"]).values(status="removed", removed_at=now)
        )
        return str(held["code"])

    def redemptions_of(self, code_id: int) -> list[RedemptionRecord]:
        rows = self.conn.execute(
            select(_redemptions.account_id, accounts.c.code.label("account_code"), _redemptions.status,
                   _redemptions.starts_at, _redemptions.ends_at, _redemptions.redeemed_at, _redemptions.order_id)
            .join(accounts, accounts.c.id == _redemptions.account_id)
            .where(_redemptions.code_id == code_id)
            .order_by(_redemptions.id)
        )  # fmt: skip
        return [
            RedemptionRecord(int(r.account_id), r.account_code, r.status, r.starts_at, r.ends_at, r.redeemed_at,
                             None if r.order_id is None else int(r.order_id))
            for r in rows
        ]  # fmt: skip
