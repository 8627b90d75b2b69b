"""License and add-on seat assignment (rules U1, U2, A7): a user holds a subscription's license, or not."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from prorata.domain.errors import ProrataError
from prorata.entrypoints.api.auth import AppDep, ScopeDep, row_id
from prorata.entrypoints.api.errors import not_found
from prorata.services.assign_license import Assignment, assign_license, unassign_license

router = APIRouter(tags=["licenses"])
SubscriptionId = Annotated[int, row_id("The subscription")]
UserId = Annotated[int, row_id("The user")]

PATH = "/accounts/{account_id}/subscriptions/{subscription_id}/users/{user_id}"
# the service names an unknown (or another account's) subscription or user; in a path that is a 404
_PATH_ROWS = {"subscription.unknown": ("subscription", "subscription_id"), "user.unknown": ("user", "user_id")}


def _run(action: str, subscription_id: int, user_id: int, scope: ScopeDep, app: AppDep) -> Response:
    command = Assignment(scope.account_id, subscription_id, user_id)
    change = assign_license if action == "assign" else unassign_license
    try:
        change(command, uow=app.uow, clock=app.clock, catalog=app.catalog, actor=scope.caller.actor)
    except ProrataError as error:
        if error.code in _PATH_ROWS:
            raise not_found(*_PATH_ROWS[error.code]) from None
        raise
    return Response(status_code=204)


@router.put(PATH, status_code=204, summary="Assign a license or add-on seat to the user (needs a free one)")
def put_assignment(subscription_id: SubscriptionId, user_id: UserId, scope: ScopeDep, app: AppDep) -> Response:
    return _run("assign", subscription_id, user_id, scope, app)


@router.delete(PATH, status_code=204, summary="Take the license or add-on seat back from the user")
def delete_assignment(subscription_id: SubscriptionId, user_id: UserId, scope: ScopeDep, app: AppDep) -> Response:
    return _run("unassign", subscription_id, user_id, scope, app)
