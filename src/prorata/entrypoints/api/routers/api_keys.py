"""The operator's routes on API keys: list, make (the key is in the answer once) and revoke, through the use cases
``prorata apikey`` calls (``services/api_keys.py``); each change is an audit line naming the operator's key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from prorata.adapters.db.types import ROW_ID_MAX
from prorata.entrypoints.api.auth import AppDep, OperatorDep
from prorata.entrypoints.api.schemas import ApiKeyIn, ApiKeyOut, NewApiKeyOut
from prorata.services.api_keys import (
    CreateApiKey,
    ListApiKeys,
    RevokeApiKey,
    create_api_key,
    list_api_keys,
    revoke_api_key,
)
from prorata.services.ports import ApiKeyRecord

router = APIRouter(tags=["operator"])
Prefix = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The key's prefix: `prk_<prefix>_...`")]


def _out(key: ApiKeyRecord) -> ApiKeyOut:
    return ApiKeyOut(
        prefix=key.prefix, name=key.name, scope=key.scope, account_id=key.account_id, account_code=key.account_code,
        created_at=key.created_at, last_used_at=key.last_used_at, revoked_at=key.revoked_at,
    )  # fmt: skip


@router.get(
    "/operator/api-keys",
    summary="The API keys, oldest first, revoked ones included: prefix, name, scope, account, created, last used",
)
def get_api_keys(
    _operator: OperatorDep,
    app: AppDep,
    account_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX, description="Only this account's keys")] = None,
) -> list[ApiKeyOut]:
    return [_out(key) for key in list_api_keys(ListApiKeys(account_id=account_id), uow=app.uow)]


@router.post(
    "/operator/api-keys",
    status_code=201,
    summary="Make an API key for an account or the operator; the answer holds the key, shown this once",
)
def post_api_key(body: ApiKeyIn, operator: OperatorDep, app: AppDep) -> NewApiKeyOut:
    command = CreateApiKey(account_id=body.account_id, name=body.name, scope=body.scope, actor=operator.actor)
    made = create_api_key(command, uow=app.uow, clock=app.clock)
    return NewApiKeyOut(**_out(made.key).model_dump(), key=made.secret)


@router.post(
    "/operator/api-keys/{prefix}/revoke",
    summary="Revoke an API key: refused from its next request on, in every server process",
    description="An unknown prefix is 404 `api_key.unknown`; a key revoked already is 409 `api_key.revoked`.",
)
def post_revocation(prefix: Prefix, operator: OperatorDep, app: AppDep) -> ApiKeyOut:
    return _out(revoke_api_key(RevokeApiKey(prefix, actor=operator.actor), uow=app.uow, clock=app.clock))
