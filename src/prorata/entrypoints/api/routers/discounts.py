"""Discount codes through the API (rules DC1, DC2), through the use cases ``prorata discounts`` calls
(``services/discounts.py``).

An operator's key creates, lists, shows and retires codes, and takes an account's discount away. An account's key (or
an operator's) reads the discount the account holds and enters a code, which applies from the next billing date
(rule DC1); a code entered with an order is the order's ``discount_code`` (``orders.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from prorata.adapters.db.discount_store import account_discount_row
from prorata.adapters.db.schema import accounts
from prorata.domain.discounts import percent_points
from prorata.domain.engine import OPERATOR
from prorata.domain.errors import ProrataError
from prorata.entrypoints.api.auth import AppDep, OperatorDep, ScopeDep
from prorata.entrypoints.api.discount_schemas import (
    DiscountCodeDetailOut,
    DiscountCodeIn,
    DiscountCodeOut,
    DiscountOut,
    RedeemIn,
    RedemptionOut,
)
from prorata.entrypoints.api.errors import not_found
from prorata.entrypoints.api.routers.orders import IdempotencyKey
from prorata.entrypoints.discount_document import code_fields, held_fields, redemption_fields
from prorata.services import discounts
from prorata.services.billing_window import parse_until
from prorata.services.discounts import CreateDiscountCode, RedeemDiscount

router = APIRouter(tags=["discounts"])
CodePath = Annotated[str, Path(description="The code, in any case (`save20` is SAVE20)")]
REPLAYED: dict[int | str, dict[str, Any]] = {
    201: {"headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true", "false"]}}}}
}


@contextmanager
def _the_code() -> Iterator[None]:
    """The use cases say ``discount.unknown`` of a code nobody created; in a path it is a row that is not there."""
    try:
        yield
    except ProrataError as error:
        if error.code == "discount.unknown":
            raise not_found("discount_code", "code") from None
        raise


@router.post(
    "/discount-codes",
    status_code=201,
    tags=["operator"],
    summary="Create a discount code (rule DC2; operator)",
    description="A percentage (`percent`, as text) or fixed amounts per currency (`amounts`), on chosen `products` "
    "or the whole order, for `once`, `repeating` (`periods`) or `forever`, with an optional expiry and redemption "
    "limit. Its terms never change; retire it to stop new redemptions. Codes are never reused: a code that exists "
    "with other terms, or retired, is 409 `discount.code_taken`; the same request again (a retry with its "
    "Idempotency-Key) answers the code as created (header Idempotent-Replayed: true).",
    responses=REPLAYED,
)
def post_discount_code(
    body: DiscountCodeIn, operator: OperatorDep, app: AppDep, idempotency_key: IdempotencyKey
) -> JSONResponse:
    # the code itself is what creates once (a unique index); the Idempotency-Key asks for no more
    command = CreateDiscountCode(
        code=body.code, duration=body.duration, actor=operator.actor, periods=body.periods,
        percent=None if body.percent is None else percent_points(body.percent), amounts=body.amounts,
        products=tuple(body.products),
        expires_at=None if body.expires_at is None else parse_until(body.expires_at, field="expires_at"),
        max_redemptions=body.max_redemptions,
    )  # fmt: skip
    replayed = False
    try:
        stored = discounts.create_discount_code(command, uow=app.uow, clock=app.clock, catalog=app.catalog)
    except ProrataError as error:
        taken = error.code == "discount.code_taken"
        again = discounts.created_before(command, uow=app.uow, catalog=app.catalog) if taken else None
        if again is None:
            raise
        stored, replayed = again, True
    out = DiscountCodeOut(**code_fields(stored))
    return JSONResponse(out.model_dump(mode="json"), status_code=201,
                        headers={"Idempotent-Replayed": "true" if replayed else "false"})  # fmt: skip


@router.get("/discount-codes", tags=["operator"], summary="Every discount code, newest first, retired ones included")
def get_discount_codes(_operator: OperatorDep, app: AppDep) -> list[DiscountCodeOut]:
    return [DiscountCodeOut(**code_fields(stored)) for stored in discounts.list_codes(uow=app.uow)]


@router.get(
    "/discount-codes/{code}",
    tags=["operator"],
    summary="A discount code with its redemptions: which accounts, in what state, covering what time",
    description="404 `discount_code.not_found` for a code nobody created.",
)
def get_discount_code(code: CodePath, _operator: OperatorDep, app: AppDep) -> DiscountCodeDetailOut:
    with _the_code():
        stored, redemptions = discounts.code_with_redemptions(code, uow=app.uow)
    return DiscountCodeDetailOut(
        **code_fields(stored), redemptions=[RedemptionOut(**redemption_fields(r)) for r in redemptions]
    )


@router.post(
    "/discount-codes/{code}/retire",
    tags=["operator"],
    summary="Retire a discount code: no new redemptions; discounts already redeemed run their course (rule DC2)",
    description="Retiring a retired code changes nothing. 404 `discount_code.not_found` for a code nobody created.",
)
def post_retirement(code: CodePath, operator: OperatorDep, app: AppDep) -> DiscountCodeOut:
    with _the_code():
        stored = discounts.retire_discount_code(code, operator.actor, uow=app.uow, clock=app.clock)
    return DiscountCodeOut(**code_fields(stored))


# ----------------------------------------------------------------------------------------------- an account's discount
def discount_out(app: AppDep, account_id: int) -> DiscountOut:
    with app.engine.connect() as conn:
        held = account_discount_row(conn, account_id)
        currency = conn.execute(select(accounts.c.currency).where(accounts.c.id == account_id)).scalar_one()
    if held is None:
        raise not_found("discount", "account_id")
    return DiscountOut(**held_fields(held, currency, app.clock.now()))


@router.get(
    "/accounts/{account_id}/discount",
    summary="The discount the account holds (rules DC1, DC2); 404 discount.not_found when it holds none",
)
def get_discount(scope: ScopeDep, app: AppDep) -> DiscountOut:
    return discount_out(app, scope.account_id)


@router.post(
    "/accounts/{account_id}/discount",
    status_code=201,
    summary="Enter a discount code: it applies from the next billing date (rule DC1)",
    description="Nothing of the current period changes: the renewals it covers are discounted. A code applies to the "
    "order it is entered with when given as the order's `discount_code` instead. One code at a time, each once per "
    "account (rule DC2): `discount.one_at_a_time` and `discount.already_redeemed` are 409; an unknown, expired, "
    "exhausted or retired code, or one without an amount in the account's currency, is 422, each naming `code`.",
)
def post_discount(body: RedeemIn, scope: ScopeDep, app: AppDep) -> DiscountOut:
    who = scope.caller
    command = RedeemDiscount(scope.account_id, body.code, who.actor, OPERATOR if who.is_operator else "owner")
    try:
        discounts.redeem_discount(command, uow=app.uow, clock=app.clock, catalog=app.catalog)
    except ProrataError as error:
        raise at_code(error) from None
    return discount_out(app, scope.account_id)


@router.delete(
    "/accounts/{account_id}/discount",
    status_code=204,
    tags=["operator"],
    summary="Take the account's discount away (operator): charges from now on are at full price",
    description="What was charged stays as charged, and its credits still reverse what was paid (rule DC2). 404 "
    "`discount.not_found` when the account holds none.",
)
def delete_discount(scope: ScopeDep, operator: OperatorDep, app: AppDep) -> Response:
    try:
        discounts.remove_discount(scope.account_id, operator.actor, uow=app.uow, clock=app.clock)
    except ProrataError as error:
        if error.code == "discount.none":
            raise not_found("discount", "account_id") from None
        raise
    return Response(status_code=204)


def at_code(error: ProrataError) -> ProrataError:
    """The use case names the code a customer types ``discount_code`` (the order's field); this body calls it
    ``code``: the refusal names the body's field."""
    if error.field != "discount_code":
        return error
    message = error.message.removeprefix("discount_code: ")
    return type(error)(error.code, f"code: {message}", rule=error.rule, field="code", **error.data)
