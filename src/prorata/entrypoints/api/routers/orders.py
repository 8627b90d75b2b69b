"""An account's cart: its quote (the preview, rule C6) and the order that charges it (rules K6, K7, K8, X3).

Both take the cart in the quote document's format (its ``changes``), read by the same reader as ``prorata quote``,
so a refusal points at ``changes[i].field`` whichever door the cart came through.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from prorata.adapters.db.queries import account_view
from prorata.adapters.db.users import user_role
from prorata.bootstrap import App
from prorata.domain.cart import Change
from prorata.domain.errors import InvalidInput, ProrataError
from prorata.entrypoints.api.auth import AppDep, QuoteScopeDep, ScopeDep
from prorata.entrypoints.api.errors import Problem
from prorata.entrypoints.api.schemas import QUOTE_RESPONSE, CartIn, OrderIn, OrderOut
from prorata.entrypoints.quote_document import at_change, quote_to_dict, read_change
from prorata.services.place_order import PlaceOrder, place_order
from prorata.services.preview_order import PreviewOrder, preview_order

router = APIRouter(tags=["orders"])

IdempotencyKey = Annotated[
    str,
    Header(alias="Idempotency-Key", min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$",
           description="The same key returns the same answer and charges once (rule X3)"),
]  # fmt: skip


def read_cart(app: App, account_id: int, cart: CartIn) -> tuple[tuple[Change, ...], str]:
    """The cart's changes, and the role it is placed with (rule P6): the named user's, or the owner's."""
    changes = tuple(read_change(raw, f"changes[{i}]", app.catalog) for i, raw in enumerate(cart.changes))
    if cart.user is None:
        return changes, "owner"
    with app.engine.connect() as conn:
        role = user_role(conn, account_id, cart.user)
    if role is None:
        raise InvalidInput("user.unknown", f"user: the account has no user {cart.user}", field="user")
    return changes, role


@router.post(
    "/accounts/{account_id}/quote",
    summary="Price a cart on the account as it stands; nothing is written (rule C6)",
    responses={200: QUOTE_RESPONSE},
)
def post_account_quote(body: CartIn, scope: QuoteScopeDep, app: AppDep) -> JSONResponse:
    changes, role = read_cart(app, scope.account_id, body)
    try:
        priced = preview_order(
            PreviewOrder(scope.account_id, changes, role, actor=scope.caller.actor, discount_code=body.discount_code),
            uow=app.uow,
            clock=app.clock,
            catalog=app.catalog,
            tax=app.tax,
        )
    except ProrataError as error:
        raise at_change(error) from None
    return JSONResponse(quote_to_dict(priced))  # JSON-ready already


@router.post(
    "/accounts/{account_id}/orders",
    status_code=201,
    response_model=OrderOut,
    summary="Place the cart as one order with one invoice, paid by the default payment method",
    description="Applied only when the payment succeeds (rule K8); a failed payment answers 402 and says what to do "
    "(rule K7). The same Idempotency-Key answers the same and charges once (rule X3).",
    responses={201: {"headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true", "false"]}}}}},
)
def post_order(body: OrderIn, scope: ScopeDep, app: AppDep, idempotency_key: IdempotencyKey) -> JSONResponse:
    changes, role = read_cart(app, scope.account_id, body)
    command = PlaceOrder(
        scope.account_id, changes, idempotency_key, actor=scope.caller.actor, role=role, actor_user_id=body.user,
        terms_version=body.terms_version, terms_accepted=body.terms_accepted, discount_code=body.discount_code,
    )  # fmt: skip
    try:
        result = place_order(
            command, uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax
        )
    except ProrataError as error:
        raise at_change(error) from None
    replayed = {"Idempotent-Replayed": "true" if result.replayed else "false"}
    if result.status == "failed":
        raise Problem(
            402, f"payment.{result.failure_code}", result.message, rule="K7", field="payment_method",
            headers=replayed, order_id=result.order_id,
        )  # fmt: skip
    with app.engine.connect() as conn:
        account = account_view(conn, scope.account_id)
    assert account is not None  # the scope checked it
    out = OrderOut(
        order_id=result.order_id, status="placed", invoice_id=result.invoice_id, invoice_number=result.invoice_number,
        amount_due=result.amount_due, currency=account.currency, message=result.message, replayed=result.replayed,
    )  # fmt: skip
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers=replayed)
