"""Who is calling: a bearer API key (``Authorization: Bearer prk_<prefix>_<secret>``), of an account or of the
operator, and what it may reach.

An account's key reaches only its own account: any other account id in a path is answered 404, as if it did not
exist, so ids of other accounts reveal nothing. Operator keys reach every account and the operator's routes.
Verified keys are remembered for ``KEY_CACHE_SECONDS`` in each process, so a request pays no database read for its
key; a revoked key therefore stops working within that time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from prorata.adapters.db.api_keys import ApiKey, find_api_key, hash_key
from prorata.adapters.db.schema import accounts
from prorata.adapters.db.types import ROW_ID_MAX
from prorata.bootstrap import App
from prorata.entrypoints.api.errors import Problem, not_found
from prorata.services.renew_account import RenewAccount, renew_account

KEY_CACHE_SECONDS = 10.0
_bearer = HTTPBearer(auto_error=False, description="An API key: `prk_<prefix>_<secret>`", bearerFormat="prk")
_verified: dict[str, tuple[ApiKey, float]] = {}


# The dependencies below are coroutines: FastAPI runs a plain function in a worker thread, which costs more than the
# work they do; the rare database read (a key not yet verified, an operator naming an account) goes to a thread.


async def prorata(request: Request) -> App:
    app: App = request.app.state.prorata
    return app


@dataclass(frozen=True, slots=True)
class Caller:
    key: ApiKey

    @property
    def is_operator(self) -> bool:
        return self.key.account_id is None

    @property
    def actor(self) -> str:
        return f"api-key:{self.key.prefix}"  # the audit trail names the key, never its secret


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "auth.invalid_key", detail, field="Authorization", headers={"WWW-Authenticate": "Bearer"})


async def caller(
    app: Annotated[App, Depends(prorata)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("Authorization: send `Bearer <API key>`")
    digest = hash_key(credentials.credentials)
    now = time.monotonic()
    cached = _verified.get(digest)
    if cached is not None and cached[1] > now:
        return Caller(cached[0])
    key = await run_in_threadpool(_find_key, app, credentials.credentials)
    if key is None:
        _verified.pop(digest, None)
        raise _unauthorized("Authorization: the API key is unknown or revoked")
    _verified[digest] = (key, now + KEY_CACHE_SECONDS)
    return Caller(key)


def _find_key(app: App, text: str) -> ApiKey | None:
    with app.engine.connect() as conn:
        return find_api_key(conn, text)


CallerDep = Annotated[Caller, Depends(caller)]


async def operator(who: CallerDep, app: Annotated[App, Depends(prorata)]) -> Caller:
    if not who.is_operator:
        raise Problem(403, "auth.operator_only", "Authorization: this needs an operator key", field="Authorization")
    app.clock.refresh_if_simulated()  # the operator routes bill up to a date: the installation's time first
    return who


@dataclass(frozen=True, slots=True)
class Scope:
    """An account the caller may act on."""

    account_id: int
    caller: Caller


async def account_scope(
    account_id: Annotated[int, Path(ge=1, le=ROW_ID_MAX, description="The account's id")],
    who: CallerDep,
    app: Annotated[App, Depends(prorata)],
) -> Scope:
    # an account's routes price and charge at the installation's time, which a simulation may have moved since;
    # the stateless quote and the catalog never read the clock and pay nothing for it
    app.clock.refresh_if_simulated()
    if who.key.account_id is not None:
        if who.key.account_id != account_id:
            raise not_found("account", "account_id")
        # the key's own account exists: the key refers to it
    elif not await run_in_threadpool(_account_exists, app, account_id):
        raise not_found("account", "account_id")
    await run_in_threadpool(_renew_if_due, app, account_id, who.actor)
    return Scope(account_id, who)


def _account_exists(app: App, account_id: int) -> bool:
    with app.engine.connect() as conn:
        return conn.execute(select(accounts.c.id).where(accounts.c.id == account_id)).first() is not None


def _renew_if_due(app: App, account_id: int, actor: str) -> None:
    """Rule C7: whatever the request, an account whose period has ended is renewed first, as the billing run would
    renew it, so it is never seen or priced behind the run (one read when nothing has ended). An account that
    cannot be renewed now is shown as it is; a quote or an order on it says why."""
    renew_account(RenewAccount(account_id, actor), uow=app.uow, clock=app.clock, catalog=app.catalog, tax=app.tax)


ScopeDep = Annotated[Scope, Depends(account_scope)]
OperatorDep = Annotated[Caller, Depends(operator)]
AppDep = Annotated[App, Depends(prorata)]


def row_id(description: str) -> Any:
    """A row id in a path: out of a BIGINT's range it is no row, and is refused before any query."""
    return Path(ge=1, le=ROW_ID_MAX, description=description)
