"""What the entitlement routes answer (rules U1, U2, A7, D1, I6, I8): ``domain/entitlements.py``'s ``as_dict()``
described for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from prorata.entrypoints.api.schemas import Out

Names = dict[str, str]
Status = Literal["active", "overdue", "cancelled"]
VALID_UNTIL = (
    "The end of the current term, or when an overdue account's subscriptions end (`cancels_at`, rule I8) when earlier"
)


class PlanEntitlementOut(Out):
    code: str = Field(description="The plan's product code in the catalog")
    names: Names = Field(description="The plan's names by language")
    interval: Literal["month", "year"]
    quantity: int = Field(description="Licenses")
    assigned: int = Field(description="Licenses held by users")
    valid_until: datetime = Field(description=VALID_UNTIL)
    renews: bool = Field(description="False: cancelled, it ends at `valid_until` (rule D1)")


class AddonEntitlementOut(Out):
    code: str = Field(description="The add-on's product code in the catalog")
    names: Names
    family: str | None = Field(description="Add-ons of one family are sizes of one thing (Large Meetings)")
    capacity: int | None = Field(description="The catalog's size: participants, attendees, gigabytes ...")
    unit: Literal["per_user", "per_account"] = Field(
        description="per_user: seats held by users (rule U2); per_account: the account's as a whole"
    )
    interval: Literal["month", "year"]
    quantity: int
    assigned: int = Field(description="Seats held by users")
    valid_until: datetime = Field(description=VALID_UNTIL)
    renews: bool = Field(description="False: cancelled (rule D1) or a one-month product (rule A8)")


class SeatOut(Out):
    code: str
    family: str | None
    capacity: int | None
    valid_until: datetime = Field(description=f"{VALID_UNTIL}; never beyond the user's plan license (rule A7)")


class UserEntitlementOut(Out):
    id: int
    email: str
    type: Literal["licensed", "basic"] = Field(description="Rule U1: Licensed holds a license of the plan")
    valid_until: datetime | None = Field(description="When the plan license ends; null for a Basic user")
    addons: list[SeatOut] = Field(description="The add-on seats the user holds (rules U2, A7)")


class RetiredOut(Out):
    code: str = Field(description="A product the catalog no longer has; the subscription is held as it is")
    interval: Literal["month", "year"]
    quantity: int
    valid_until: datetime = Field(description=VALID_UNTIL)


class _Head(Out):
    account_id: int
    status: Status = Field(description="overdue: purchases are locked until paid (rule I6)")
    overdue_since: datetime | None
    cancels_at: datetime | None = Field(
        description="Rule I8: when an overdue account's subscriptions end unless it pays first"
    )
    plan: PlanEntitlementOut | None = Field(description="Null when the account holds no plan")
    addons: list[AddonEntitlementOut]
    retired: list[RetiredOut] = Field(description="Subscriptions to products the catalog no longer has")


class EntitlementsOut(_Head):
    users: list[UserEntitlementOut]


class UserEntitlementsOut(_Head):
    user: UserEntitlementOut
