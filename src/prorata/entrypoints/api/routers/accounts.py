"""Accounts, their users, Sold-To and Bill-To contacts, and subscriptions with their pending changes (rule L6)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select

from prorata.adapters.db.queries import (
    ContactView,
    account_view,
    contact_views,
    subscription_views,
    user_views,
)
from prorata.adapters.db.schema import accounts
from prorata.adapters.db.trial_store import trial_row
from prorata.adapters.db.types import ROW_ID_MAX
from prorata.entrypoints.api.account_admin_schemas import CreditGrantIn, CreditGrantOut, ManagedBySalesIn
from prorata.entrypoints.api.auth import AppDep, CallerDep, OperatorDep, ScopeDep
from prorata.entrypoints.api.errors import not_found
from prorata.entrypoints.api.routers.orders import IdempotencyKey
from prorata.entrypoints.api.schemas import (
    ACCOUNT_CODE,
    AccountIn,
    AccountOut,
    ContactIn,
    ContactOut,
    ContactsIn,
    ContactsOut,
    PendingOut,
    SubscriptionOut,
    TrialOut,
    UserIn,
    UserOut,
)
from prorata.services.add_user import AddUser, add_user
from prorata.services.billing_information import Contact, set_contacts
from prorata.services.grant_credit import GrantCredit, grant_credit
from prorata.services.identity import normalise_email
from prorata.services.open_account import OpenAccount, open_account
from prorata.services.sales_managed import SetManagedBySales, set_managed_by_sales

router = APIRouter(tags=["accounts"])


def account_out(app: AppDep, account_id: int) -> AccountOut:
    with app.engine.connect() as conn:
        view = account_view(conn, account_id)
    if view is None:
        raise not_found("account", "account_id")
    return AccountOut(**asdict(view))


@router.post("/accounts", status_code=201, summary="Open an account (operator)", tags=["operator"])
def post_account(body: AccountIn, operator: OperatorDep, app: AppDep) -> AccountOut:
    account_id = open_account(OpenAccount(**body.model_dump(), actor=operator.actor), uow=app.uow, clock=app.clock)
    return account_out(app, account_id)


@router.get("/accounts", summary="The accounts the key reaches: its own, or for an operator every one, by id")
def get_accounts(
    who: CallerDep,
    app: AppDep,
    code: Annotated[str | None, Query(pattern=ACCOUNT_CODE, description="Only the account with this code")] = None,
    after: Annotated[int, Query(ge=0, le=ROW_ID_MAX, description="Ids after this one (the last of a page)")] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AccountOut]:
    query = select(accounts.c.id).where(accounts.c.id > after).order_by(accounts.c.id).limit(limit)
    if who.key.account_id is not None:
        query = query.where(accounts.c.id == who.key.account_id)  # an account's key lists its own account only
    if code is not None:
        query = query.where(accounts.c.code == code)
    with app.engine.connect() as conn:
        views = [account_view(conn, int(account_id)) for account_id in conn.execute(query).scalars()]
    return [AccountOut(**asdict(view)) for view in views if view is not None]


@router.get("/accounts/{account_id}", summary="An account with its status and credit balance")
def get_account(scope: ScopeDep, app: AppDep) -> AccountOut:
    return account_out(app, scope.account_id)


@router.get(
    "/accounts/{account_id}/trial",
    summary="The account's free trial (rule TR1): its plan and end; 404 trial.not_found when it had none",
)
def get_trial(scope: ScopeDep, app: AppDep) -> TrialOut:
    with app.engine.connect() as conn:
        trial = trial_row(conn, scope.account_id)
    if trial is None:
        raise not_found("trial", "account_id")
    return TrialOut(product=trial.product, started_at=trial.started_at, ends_at=trial.ends_at,
                    active=app.clock.now() < trial.ends_at, reminded=trial.reminded_at is not None)  # fmt: skip


@router.get("/accounts/{account_id}/users", summary="The account's users, with the licenses they hold")
def get_users(scope: ScopeDep, app: AppDep) -> list[UserOut]:
    with app.engine.connect() as conn:
        views = user_views(conn, scope.account_id)
    return [UserOut(**asdict(v)) for v in views]


@router.post("/accounts/{account_id}/users", status_code=201, summary="Add a Basic user (rule U1)")
def post_user(body: UserIn, scope: ScopeDep, app: AppDep) -> UserOut:
    command = AddUser(scope.account_id, body.email, body.name, body.role, actor=scope.caller.actor)
    user_id = add_user(command, uow=app.uow, clock=app.clock)
    return UserOut(
        id=user_id, email=normalise_email(body.email), name=body.name, role=body.role, type="basic", subscriptions=[]
    )


def _contact(view: ContactView | None) -> ContactOut | None:
    if view is None:
        return None
    fields = asdict(view)
    del fields["kind"]
    return ContactOut(**fields)


def contacts_out(app: AppDep, account_id: int) -> ContactsOut:
    with app.engine.connect() as conn:
        views = contact_views(conn, account_id)
    return ContactsOut(sold_to=_contact(views.get("sold_to")), bill_to=_contact(views.get("bill_to")))


@router.get("/accounts/{account_id}/contacts", summary="The Sold-To and Bill-To contacts")
def get_contacts(scope: ScopeDep, app: AppDep) -> ContactsOut:
    return contacts_out(app, scope.account_id)


def _domain_contact(contact: ContactIn) -> Contact:
    return Contact(**contact.model_dump())


@router.put("/accounts/{account_id}/contacts", summary="Replace the Sold-To and Bill-To contacts")
def put_contacts(body: ContactsIn, scope: ScopeDep, app: AppDep) -> ContactsOut:
    bill_to = None if body.bill_to is None else _domain_contact(body.bill_to)
    set_contacts(
        scope.account_id,
        _domain_contact(body.sold_to),
        bill_to,
        uow=app.uow,
        clock=app.clock,
        registry=app.vat_registry,
    )
    return contacts_out(app, scope.account_id)


@router.get("/accounts/{account_id}/subscriptions", summary="Active subscriptions with their pending changes (rule L6)")
def get_subscriptions(scope: ScopeDep, app: AppDep) -> list[SubscriptionOut]:
    with app.engine.connect() as conn:
        views = subscription_views(conn, scope.account_id)
    return [
        SubscriptionOut(
            id=v.id, product=v.product, interval=v.interval, quantity=v.quantity, assigned=v.assigned,  # type: ignore[arg-type]
            assignable=v.assignable,
            period_start=v.period_start, period_end=v.period_end,
            pending=[PendingOut(**asdict(p)) for p in v.pending],
        )
        for v in views
    ]  # fmt: skip


@router.post(
    "/accounts/{account_id}/credit-grants",
    status_code=201,
    tags=["operator"],
    summary="Add credit to the account's balance by hand, with a reason (operator)",
    description="The credit is booked in the account's currency and used by its next invoices before anything is "
    "charged. The same Idempotency-Key adds it once and answers the same (header Idempotent-Replayed); the key with "
    "another amount or reason is refused.",
    responses={201: {"headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true", "false"]}}}}},
)
def post_credit_grant(
    body: CreditGrantIn, scope: ScopeDep, operator: OperatorDep, app: AppDep, idempotency_key: IdempotencyKey
) -> JSONResponse:
    command = GrantCredit(scope.account_id, body.amount, body.reason, idempotency_key, operator.actor)
    result = grant_credit(command, uow=app.uow, clock=app.clock)
    grant = result.grant
    out = CreditGrantOut(id=grant.id, account_id=grant.account_id, amount=grant.amount, currency=grant.currency,
                         reason=grant.reason, created_at=grant.created_at, credit_balance=result.balance)  # fmt: skip
    return JSONResponse(out.model_dump(mode="json"), status_code=201,
                        headers={"Idempotent-Replayed": "true" if result.replayed else "false"})  # fmt: skip


@router.put(
    "/accounts/{account_id}/managed-by-sales",
    tags=["operator"],
    summary="Mark the account as managed by sales, or back to self-service (rule I7; operator)",
)
def put_managed_by_sales(body: ManagedBySalesIn, scope: ScopeDep, operator: OperatorDep, app: AppDep) -> AccountOut:
    command = SetManagedBySales(scope.account_id, body.managed_by_sales, operator.actor, body.reason or "")
    set_managed_by_sales(command, uow=app.uow, clock=app.clock)
    return account_out(app, scope.account_id)
