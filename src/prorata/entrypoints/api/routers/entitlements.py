"""What each user of an account may use in the vendor's product, and until when (rules U1, U2, A7, D1, I6, I8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from prorata.adapters.db.entitlements import load_entitlements
from prorata.domain.entitlements import AccountEntitlements, user_dict
from prorata.entrypoints.api.auth import AppDep, ScopeDep, row_id
from prorata.entrypoints.api.entitlement_schemas import EntitlementsOut, UserEntitlementOut, UserEntitlementsOut
from prorata.entrypoints.api.errors import not_found

router = APIRouter(tags=["entitlements"])
UserId = Annotated[int, row_id("The user")]


def _entitlements(scope: ScopeDep, app: AppDep) -> AccountEntitlements:
    with app.engine.connect() as conn:
        found = load_entitlements(conn, scope.account_id, app.catalog, app.dunning, app.catalog.granularity)
    if found is None:
        raise not_found("account", "account_id")
    return found


@router.get(
    "/accounts/{account_id}/entitlements",
    summary="What each user may use now: the plan, Licensed or Basic users, add-ons with their capacities, and until "
    "when",
)
def get_entitlements(scope: ScopeDep, app: AppDep) -> EntitlementsOut:
    return EntitlementsOut(**_entitlements(scope, app).as_dict())


@router.get(
    "/accounts/{account_id}/users/{user_id}/entitlements",
    summary="What one user may use now: the account's plan and add-ons, and the user's license and seats",
)
def get_user_entitlements(user_id: UserId, scope: ScopeDep, app: AppDep) -> UserEntitlementsOut:
    found = _entitlements(scope, app)
    user = found.user(user_id)
    if user is None:
        raise not_found("user", "user_id")  # another account's user is answered as a missing one
    head = found.as_dict()
    del head["users"]
    return UserEntitlementsOut(**head, user=UserEntitlementOut(**user_dict(user)))
