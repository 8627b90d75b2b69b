"""Discount codes (rules DC1, DC2): operators create and retire them; customers redeem them with an order or for the
next billing period; operators take a discount away.

Redeeming counts against the code's limit by one conditional update of the code's row (``take_redemption``), in the
transaction that writes the redemption: two accounts racing for the last redemption cannot both get it. A code entered
with an order that must be paid for is *reserved* with the order, before the card is charged, so a payment that
succeeds always finds its discount; a failed payment gives the redemption back (``fail_order``). A code is redeemed
once per account, and an account holds one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from prorata.domain.account import Account
from prorata.domain.catalog import Catalog
from prorata.domain.discounts import (
    DiscountCode,
    Duration,
    Redemption,
    check_definition,
    exhausted,
    normalise_code,
)
from prorata.domain.engine import BUYER_ROLES, OPERATOR, redeem_later
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.invoice_lines import Quote
from prorata.services.discount_ports import RedemptionRecord, StoredCode
from prorata.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class CreateDiscountCode:
    code: str
    duration: str  # once, repeating or forever
    actor: str
    periods: int | None = None
    percent: int | None = None  # basis points
    amounts: Mapping[str, int] | None = None  # currency -> minor units off each license per period
    products: tuple[str, ...] = ()
    expires_at: datetime | None = None
    max_redemptions: int | None = None


def create_discount_code(
    command: CreateDiscountCode, *, uow: Callable[[], UnitOfWork], clock: Clock, catalog: Catalog
) -> StoredCode:
    """Rule DC2: a new code, checked against the catalog; a code already used (even retired) is refused."""
    code = definition(command, catalog)
    now = clock.now()
    if code.expires_at is not None and code.expires_at <= now:
        raise InvalidInput("discount.expires_at", "expires_at: the expiry must be in the future", rule="DC2",
                           field="expires_at")  # fmt: skip
    with uow() as tx:
        if tx.discount_code(code.code) is not None:
            raise RuleViolation("discount.code_taken", f"code: {code.code} exists already; codes are never reused",
                                rule="DC2", field="code")  # fmt: skip
        code_id = tx.create_discount_code(code, now)
        tx.audit(None, command.actor, "discount_code.created", {"code": code.code}, now)
    return StoredCode(code_id, code, now, None)


def definition(command: CreateDiscountCode, catalog: Catalog) -> DiscountCode:
    """The code the command defines, checked (rule DC2), or the refusal naming the field at fault; nothing is read."""
    try:
        duration = Duration(command.duration)
    except ValueError:
        raise InvalidInput("discount.duration", "duration: once, repeating or forever", rule="DC2",
                           field="duration") from None  # fmt: skip
    return check_definition(
        DiscountCode(
            normalise_code(command.code, field="code"),
            duration,
            command.periods,
            command.percent,
            dict(command.amounts or {}),
            frozenset(command.products),
            command.expires_at,
            command.max_redemptions,
        ),
        frozenset(catalog.products),
    )


def created_before(
    command: CreateDiscountCode, *, uow: Callable[[], UnitOfWork], catalog: Catalog
) -> StoredCode | None:
    """The code as stored when it was created with exactly the terms of ``command`` and is still offered: the same
    request sent again (a retry with its Idempotency-Key, rule X3) is answered with it rather than refused; a code with
    other terms, or retired, is not the same request's."""
    asked = definition(command, catalog)
    with uow() as tx:
        found = tx.discount_code(asked.code)
    if found is None or found.retired_at is not None:
        return None
    return found if replace(found.code, redeemed=0) == asked else None


def find_code(tx: UnitOfWork, text: object, *, field: str = "discount_code") -> StoredCode:
    """The code a customer or an operator typed, or a refusal that says it does not exist."""
    found = tx.discount_code(normalise_code(text, field=field))
    if found is None:
        raise RuleViolation("discount.unknown", f"{field}: there is no such discount code", rule="DC1", field=field)
    return found


def retire_discount_code(code: str, actor: str, *, uow: Callable[[], UnitOfWork], clock: Clock) -> StoredCode:
    """Rule DC2: no new redemptions; discounts already redeemed run their course."""
    now = clock.now()
    with uow() as tx:
        found = find_code(tx, code, field="code")
        tx.retire_discount_code(found.id, now)
        tx.audit(None, actor, "discount_code.retired", {"code": found.code.code}, now)
        again = tx.discount_code(found.code.code)
    assert again is not None
    return again


def code_with_redemptions(code: str, *, uow: Callable[[], UnitOfWork]) -> tuple[StoredCode, list[RedemptionRecord]]:
    with uow() as tx:
        found = find_code(tx, code, field="code")
        return found, tx.redemptions_of(found.id)


def list_codes(*, uow: Callable[[], UnitOfWork]) -> list[StoredCode]:
    with uow() as tx:
        return tx.discount_codes()


def for_order(
    tx: UnitOfWork, account_id: int, account: Account, text: str | None, now: datetime
) -> tuple[int, Redemption] | None:
    """Rule DC1: the code entered with an order, resolved for the account (the engine prices the order with it), or
    a refusal naming why it cannot be used. Nothing is read without a code."""
    if text is None or not text.strip():
        return None
    found = find_code(tx, text)
    _once_per_account(tx, found, account_id)
    return found.id, found.code.redemption(account.currency, now)


def reserve(
    tx: UnitOfWork,
    account_id: int,
    order_id: int,
    taken: tuple[int, Redemption],
    priced: Quote,
    now: datetime,
    *,
    applied: bool,
) -> None:
    """Rules DC1, DC2: count the redemption and write it with the order, ``applied`` when the order takes effect in
    this transaction, else reserved until its payment succeeds. The last redemption goes to one order only."""
    code_id, redemption = taken
    discount = priced.account.discount
    assert discount is not None
    assert discount.code == redemption.code
    if not tx.take_redemption(code_id, now):
        raise exhausted(redemption.code)
    tx.write_redemption(code_id, account_id, order_id, "applied" if applied else "reserved", discount,
                        redemption.periods, now)  # fmt: skip
    tx.audit(account_id, "order", "discount.redeemed", {"code": redemption.code, "order": order_id}, now)


@dataclass(frozen=True, slots=True)
class RedeemDiscount:
    account_id: int
    code: str
    actor: str
    role: str = "owner"


def redeem_discount(
    command: RedeemDiscount, *, uow: Callable[[], UnitOfWork], clock: Clock, catalog: Catalog
) -> Account:
    """Rule DC1: a code entered without an order applies from the next billing date; the account as it now is."""
    if command.role != OPERATOR and command.role not in BUYER_ROLES:
        raise RuleViolation("account.forbidden_role",
                            f"role: only the account owner or an admin may add a discount (you are {command.role!r})",
                            rule="P6", field="role")  # fmt: skip
    now = clock.now()
    with uow() as tx:
        account = tx.load_account(command.account_id, lock=True)
        if tx.has_pending_order(command.account_id):  # its payment may bring a discount of its own
            raise RuleViolation("order.in_progress",
                                "an order of this account is being paid for; try again in a moment",
                                rule="X3", field="discount_code")  # fmt: skip
        found = find_code(tx, command.code)
        _once_per_account(tx, found, command.account_id)
        redemption = found.code.redemption(account.currency, now)
        after = redeem_later(account, catalog, now, redemption)
        assert after.discount is not None
        if not tx.take_redemption(found.id, now):
            raise exhausted(found.code.code)
        tx.write_redemption(found.id, command.account_id, None, "applied", after.discount, redemption.periods, now)
        tx.audit(command.account_id, command.actor, "discount.redeemed", {"code": found.code.code}, now)
    return after


def remove_discount(account_id: int, actor: str, *, uow: Callable[[], UnitOfWork], clock: Clock) -> str:
    """An operator takes the account's discount away: charges from now on are at full price; what was charged
    stays as charged (its credits still reverse what was paid)."""
    now = clock.now()
    with uow() as tx:
        tx.load_account(account_id, lock=True)
        removed = tx.remove_discount(account_id, now)
        if removed is None:
            raise RuleViolation("discount.none", "discount: the account holds no discount", rule="DC2",
                                field="discount")  # fmt: skip
        tx.audit(account_id, actor, "discount.removed", {"code": removed}, now)
    return removed


def _once_per_account(tx: UnitOfWork, found: StoredCode, account_id: int) -> None:
    if tx.has_redeemed(found.id, account_id):
        raise RuleViolation("discount.already_redeemed",
                            f"discount_code: this account has used the code {found.code.code} already",
                            rule="DC2", field="discount_code", code_name=found.code.code)  # fmt: skip
