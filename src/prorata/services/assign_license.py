"""Assign and unassign licenses and add-on seats to users (rules U1, U2, A7, L5).

A plan license makes a Basic user Licensed; unassigning it makes them Basic again. Per-user add-on seats go only to
Licensed users (A7), so a user's plan license cannot be taken while they hold add-on seats: those are unassigned
first. Assigning needs a free license now and after every change scheduled for the term end (a reduction L4, a
downgrade P5, a smaller add-on size A4), so assignments never exceed what will be held; it waits while an order of the
account is being paid for; the change is immediate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prorata.domain.catalog import Catalog, Unit
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.services.ports import Clock, UnitOfWork


@dataclass(frozen=True, slots=True)
class Assignment:
    account_id: int
    subscription_id: int
    user_id: int


def _check(tx: UnitOfWork, command: Assignment, catalog: Catalog) -> tuple[str, int]:
    owner = tx.subscription_owner(command.subscription_id)
    if owner is None or owner[0] != command.account_id or owner[3] != "active":
        raise InvalidInput(
            "subscription.unknown",
            f"subscription: the account has no active subscription {command.subscription_id}",
            field="subscription",
        )
    if tx.user_account(command.user_id) != command.account_id:
        raise InvalidInput("user.unknown", f"user: the account has no user {command.user_id}", field="user")
    product = catalog.product(owner[1])
    if product.unit is not Unit.PER_USER:
        raise RuleViolation(
            "assignment.not_per_user", f"subscription: {product.name()} is not assigned to users", rule="U2",
            field="subscription",
        )  # fmt: skip
    return owner[1], owner[2]


def assign_license(
    command: Assignment, *, uow: Callable[[], UnitOfWork], clock: Clock, catalog: Catalog, actor: str
) -> None:
    with uow() as tx:
        account = tx.load_account(command.account_id, lock=True)  # account first, as every writer
        code, quantity = _check(tx, command, catalog)
        if tx.has_pending_order(command.account_id):
            # the order being paid for was checked against today's assignments (rule L4); it settles in a moment
            raise RuleViolation(
                "order.in_progress", "an order of this account is being paid for; try again in a moment", rule="X3",
                field="subscription",
            )  # fmt: skip
        holders = tx.assigned_users(command.subscription_id)
        if command.user_id in holders:
            raise RuleViolation(
                "assignment.exists", "user: the user already holds this license", rule="U1", field="user"
            )
        product = catalog.products[code]
        if len(holders) >= quantity:
            raise RuleViolation(
                "assignment.no_free_license",
                f"subscription: all {quantity} {'seats' if product.is_addon else 'licenses'} are assigned; buy more "
                "or unassign one first",
                rule="U1",
                field="subscription",
                addon=product.is_addon,  # an add-on's are seats, a plan's are licenses: the portal names them so
            )
        sub = next(s for s in account.subscriptions if s.id == str(command.subscription_id))
        # the fewest held now or after any change scheduled for it: a reduction, a downgrade with its own total, a
        # smaller add-on size; a license assigned now would otherwise be taken away again at the term end
        limit = sub.assignable_limit()
        if len(holders) >= limit:
            raise RuleViolation(
                "assignment.pending_reduction",
                f"subscription: {limit} licenses remain after the change scheduled for the term end, and "
                f"{len(holders)} are assigned; withdraw that change to assign more",
                rule="L4",
                field="subscription",
                remaining=limit,
                assigned=len(holders),
            )
        held = tx.user_subscriptions(command.account_id, command.user_id)
        licensed = any(catalog.products[p].is_plan for _, p in held)
        if product.is_addon and not licensed:
            raise RuleViolation(
                "assignment.requires_license",
                f"user: {product.name()} seats go to Licensed users; assign a plan license first",
                rule="A7",
                field="user",
            )
        tx.assign(command.subscription_id, command.user_id, clock.now())
        if product.is_plan:
            tx.set_user_type(command.user_id, licensed=True)
        tx.record_event("license.assigned", command.account_id, "user", command.user_id, clock.now())
        tx.audit(command.account_id, actor, "license.assigned",
                 {"subscription": command.subscription_id, "user": command.user_id}, clock.now())  # fmt: skip


def unassign_license(
    command: Assignment, *, uow: Callable[[], UnitOfWork], clock: Clock, catalog: Catalog, actor: str
) -> None:
    with uow() as tx:
        tx.load_account(command.account_id, lock=True)
        code, _ = _check(tx, command, catalog)
        if command.user_id not in tx.assigned_users(command.subscription_id):
            raise RuleViolation("assignment.missing", "user: the user holds no such license", rule="U1", field="user")
        if catalog.products[code].is_plan:
            seats = [p for _, p in tx.user_subscriptions(command.account_id, command.user_id)
                     if catalog.products[p].is_addon]  # fmt: skip
            if seats:
                raise RuleViolation(
                    "assignment.addon_seats_held",
                    "user: unassign the user's add-on seats first (" + ", ".join(
                        catalog.products[p].name() for p in seats) + ")",
                    rule="A7",
                    field="user",
                )  # fmt: skip
        tx.unassign(command.subscription_id, command.user_id)
        if catalog.products[code].is_plan:
            tx.set_user_type(command.user_id, licensed=False)
        tx.record_event("license.unassigned", command.account_id, "user", command.user_id, clock.now())
        tx.audit(command.account_id, actor, "license.unassigned",
                 {"subscription": command.subscription_id, "user": command.user_id}, clock.now())  # fmt: skip
