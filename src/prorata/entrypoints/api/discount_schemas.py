"""The bodies of the discount routes (rules DC1, DC2) and what they answer.

A percentage travels as the decimal text an operator types (``"20"``, ``"12.5"``) and is read exactly into basis
points by ``domain.discounts.percent_points``; a fixed discount is integer minor units per currency (rule X1). Codes,
percentages, currencies and products are checked by the domain, so that each refusal names its rule (DC2) beside the
field, whichever door the code came through (the API, ``prorata discounts``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from prorata.entrypoints.api.schemas import Currency, MinorUnits, Out, Strict

CodeText = Annotated[str, Field(description="3-32 letters, digits, '-' or '_'; read in capitals (`save20` is SAVE20)",
                                examples=["SAVE20"])]  # fmt: skip
Duration = Literal["once", "repeating", "forever"]


class DiscountCodeIn(Strict):
    code: CodeText
    duration: Duration = Field(description="once: one billing period; repeating: `periods` of them; forever")
    periods: int | None = Field(default=None, description="For `repeating`: how many billing periods (1-120)")
    percent: str | None = Field(
        default=None,
        description='A percentage as text, "20" or "12.5" (0.01 to 100); or give `amounts`',
        examples=["20", "12.5"],
    )
    amounts: dict[str, int] | None = Field(
        default=None,
        description="A fixed discount: minor units off each license's price per billing period, by ISO 4217 currency "
        '(`{"USD": 500, "PLN": 2000}`); an account in a currency not named here cannot redeem it',
    )
    products: Annotated[list[str], Field(max_length=100)] = Field(
        default_factory=list, description="The products it discounts (catalog codes); empty: the whole order"
    )
    expires_at: str | None = Field(
        default=None,
        description="Redeemable before this date (YYYY-MM-DD, its midnight UTC) or ISO 8601 instant with its offset; "
        "absent: no expiry",
    )
    max_redemptions: int | None = Field(default=None, description="How many accounts may redeem it; absent: no limit")


class RedeemIn(Strict):
    code: CodeText


class DiscountCodeOut(Out):
    code: str
    duration: Duration
    periods: int | None = Field(description="For `repeating`: how many billing periods")
    percent: str | None = Field(description='The percentage, as text ("12.5"); null for a fixed discount')
    amounts: dict[str, MinorUnits] = Field(description="A fixed discount's minor units per currency; empty for a "
                                           "percentage")  # fmt: skip
    products: list[str] = Field(description="The products it discounts; empty: the whole order")
    expires_at: datetime | None
    max_redemptions: int | None
    redeemed: int = Field(description="Redemptions so far, those reserved by an order being paid for included")
    active: bool = Field(description="False once retired: no new redemptions; discounts redeemed run their course")
    created_at: datetime
    retired_at: datetime | None


class RedemptionOut(Out):
    account_id: int
    account_code: str
    status: Literal["reserved", "applied", "removed"] = Field(
        description="reserved: its order is being paid for; applied: the account's; removed by an operator"
    )
    starts_at: datetime = Field(description="The service time it covers starts here")
    ends_at: datetime | None = Field(description="... and ends here (exclusive); null: for ever")
    redeemed_at: datetime
    order_id: int | None = Field(description="The order it came with (rule DC1); null: entered later")


class DiscountCodeDetailOut(DiscountCodeOut):
    redemptions: list[RedemptionOut] = Field(description="Every redemption, oldest first")


class DiscountOut(Out):
    """The discount an account holds (rules DC1, DC2): its terms in the account's currency and the time it covers."""

    code: str
    status: Literal["scheduled", "active", "ended"] = Field(
        description="scheduled: entered without an order, it applies from the next billing date (rule DC1); active: "
        "it covers now; ended: its periods have run out (a new code may be entered)"
    )
    percent: str | None = Field(description='The percentage, as text ("12.5"); null for a fixed discount')
    amount: MinorUnits | None = Field(description="A fixed discount: off each license's price per billing period")
    currency: Currency
    products: list[str] = Field(description="The products it discounts; empty: the whole order")
    periods: int | None = Field(description="Billing periods it covers; null: for ever")
    starts_at: datetime
    ends_at: datetime | None = Field(description="Exclusive; null: for ever")
    redeemed_at: datetime
    order_id: int | None = Field(description="The order it came with (rule DC1); null: entered later")
