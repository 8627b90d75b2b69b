"""What the discount use cases (``services/discounts.py``, rules DC1, DC2) read and write in a unit of work.

A part of ``ports.UnitOfWork``, kept apart so that the port of each subject stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from prorata.domain.discounts import Discount, DiscountCode, Redemption


@dataclass(frozen=True, slots=True)
class StoredCode:
    """A code as stored: its row id, the definition and when it was made or retired."""

    id: int
    code: DiscountCode
    created_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True, slots=True)
class RedemptionRecord:
    """A code redeemed by an account (rule DC2), as the operator's listing shows it."""

    account_id: int
    account_code: str
    status: str  # reserved, applied or removed
    starts_at: datetime
    ends_at: datetime | None
    redeemed_at: datetime
    order_id: int | None


class DiscountStorePort(Protocol):
    def discount_code(self, code: str) -> StoredCode | None: ...

    def discount_codes(self) -> list[StoredCode]: ...

    def create_discount_code(self, code: DiscountCode, now: datetime) -> int: ...

    def retire_discount_code(self, code_id: int, now: datetime) -> None: ...

    def has_redeemed(self, code_id: int, account_id: int) -> bool: ...

    def take_redemption(self, code_id: int, now: datetime) -> bool:
        """Count one redemption of the code if it is still offered, unexpired and below its limit (one conditional
        update: racing redeemers of the last one, one wins)."""
        ...

    def write_redemption(
        self,
        code_id: int,
        account_id: int,
        order_id: int | None,
        status: str,
        discount: Discount,
        periods: int | None,
        now: datetime,
    ) -> None: ...

    def reserved_discount(self, order_id: int) -> Redemption | None: ...

    def remove_discount(self, account_id: int, now: datetime) -> str | None: ...

    def redemptions_of(self, code_id: int) -> list[RedemptionRecord]: ...
