"""The bodies of what operators change on an account by hand: credit added with a reason, and whether the account is
managed by sales (rule I7)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from prorata.entrypoints.api.schemas import _PRINTABLE, Currency, MinorUnits, Out, Strict
from prorata.services.grant_credit import LARGEST, REASON_LENGTH

Reason = Annotated[str, Field(min_length=1, max_length=REASON_LENGTH, pattern=_PRINTABLE)]


class CreditGrantIn(Strict):
    amount: Annotated[int, Field(gt=0, le=LARGEST, description="Minor units of the account's currency")]
    reason: Reason = Field(description="Why the credit is added; kept with the ledger entry and in the audit log")


class CreditGrantOut(Out):
    id: int
    account_id: int
    amount: MinorUnits
    currency: Currency
    reason: str
    created_at: datetime
    credit_balance: MinorUnits = Field(description="The account's balance after the grant")


class ManagedBySalesIn(Strict):
    managed_by_sales: bool
    reason: Annotated[str, Field(max_length=REASON_LENGTH, pattern=_PRINTABLE)] | None = None
