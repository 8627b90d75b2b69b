"""Who is calling: a bearer API key (``Authorization: Bearer prk_<prefix>_<secret>``), of an account or of the
operator, and what it may reach.

An account's key reaches only its own account: any other account id in a path is answered 404, as if it did not
exist, so ids of other accounts reveal nothing. Operator keys reach every account and the operator's routes.

Every request reads its key again (one indexed read by the key's prefix, in a transaction that takes no write lock):
a key revoked by ``prorata apikey revoke`` or the API, in any process, is refused from the very next request. Then
the key's request is counted against its rate limit (``rate_limit.py``), and a read-only key is refused whatever
would change something (``READ_ONLY_OPERATIONS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from prorata.adapters.db.api_keys import ApiKey, check_api_key
from prorata.adapters.db.schema import accounts
from prorata.adapters.db.types import ROW_ID_MAX
from prorata.bootstrap import App
from prorata.entrypoints.api.errors import Problem, not_found
from prorata.entrypoints.api.rate_limit import QUOTA, KeyRateLimiter
from prorata.services.renew_account import RenewAccount, renew_account

_bearer = HTTPBearer(auto_error=False, description="An API key: `prk_<prefix>_<secret>`", bearerFormat="prk")

# What a read-only key may call: every GET, and these operations, which compute an answer and write nothing. Every
# other operation writes (or may: a payment, a billing run, a verification that is kept) and refuses such a key.
# A new route is a writing one until it is named here; tests/security/test_api_keys.py walks every route.
READ_ONLY_OPERATIONS: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/quote"),  # the stateless quote: the document in, its price out
    ("POST", "/accounts/{account_id}/quote"),  # a cart priced on the account as it stands (rule C6)
})  # fmt: skip


def reads_only(method: str, path: str) -> bool:
    """Whether the operation (its method and path template, as in the OpenAPI document) changes nothing."""
    return method.upper() in ("GET", "HEAD") or (method.upper(), path) in READ_ONLY_OPERATIONS


# The dependencies below are coroutines: FastAPI runs a plain function in a worker thread, which costs more than the
# work they do; the database reads (the key, an operator naming an account) go to a thread.


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
    request: Request,
    app: Annotated[App, Depends(prorata)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("Authorization: send `Bearer <API key>`")
    key = await run_in_threadpool(check_api_key, app.engine, credentials.credentials, app.clock.now())
    if key is None:
        raise _unauthorized("Authorization: the API key is unknown or revoked")
    limiter: KeyRateLimiter | None = request.app.state.rate_limiter
    if limiter is not None:
        allowed, quota = limiter.hit(key.id)
        request.scope[QUOTA] = quota  # the answer, whatever it is, carries the RateLimit headers
        if not allowed:
            raise Problem(
                429, "auth.rate_limited",
                f"Authorization: this key made more than {quota.limit} requests in {limiter.item.get_expiry()} s; "
                f"try again in {quota.reset} s",
                field="Authorization", headers={"Retry-After": str(quota.reset)},
            )  # fmt: skip
    route = request.scope.get("route")
    if key.read_only and not reads_only(request.method, getattr(route, "path", "")):
        raise Problem(
            403, "auth.read_only_key", "Authorization: a read-only key may not change anything", field="Authorization"
        )
    return Caller(key)


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
    found = await _reachable(account_id, who, app)
    await run_in_threadpool(_renew_if_due, app, account_id, who.actor)
    return found


async def quote_scope(
    account_id: Annotated[int, Path(ge=1, le=ROW_ID_MAX, description="The account's id")],
    who: CallerDep,
    app: Annotated[App, Depends(prorata)],
) -> Scope:
    """``account_scope`` for the account's quote, which renews an account whose period has ended itself (rule C7,
    ``preview_order``, in the caller's name) from the read it prices: no read of its own first."""
    return await _reachable(account_id, who, app)


async def _reachable(account_id: int, who: Caller, app: App) -> Scope:
    # an account's routes price and charge at the installation's time, which a simulation may have moved since;
    # the stateless quote and the catalog never read the clock and pay nothing for it
    app.clock.refresh_if_simulated()
    if who.key.account_id is not None:
        if who.key.account_id != account_id:
            raise not_found("account", "account_id")
        # the key's own account exists: the key refers to it
    elif not await run_in_threadpool(_account_exists, app, account_id):
        raise not_found("account", "account_id")
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
QuoteScopeDep = Annotated[Scope, Depends(quote_scope)]
OperatorDep = Annotated[Caller, Depends(operator)]
AppDep = Annotated[App, Depends(prorata)]


def row_id(description: str) -> Any:
    """A row id in a path: out of a BIGINT's range it is no row, and is refused before any query."""
    return Path(ge=1, le=ROW_ID_MAX, description=description)
