"""What each user of an account may use in the vendor's product, and until when (rules U1, U2, A7, A8, D1, I6, I8).

The product asks which plan the account has, which users are Licensed or Basic (U1), which add-ons the account holds
with their capacities, and which add-on seats each user holds (U2, A7). Everything it is told comes from the catalog:
names, families, capacities (an add-on's ``size``) and units, so another catalog is read the same way.

Each entitlement carries ``valid_until``: the end of the current term. A subscription that renews is extended by its
renewal; one that is cancelling (D1) or a one-month product (A8) is still held until then and ``renews`` is false.
While the account is overdue (I6) its subscriptions end the dunning policy's days after it became overdue (I8), so
nothing is valid beyond that if it comes first. A seat is held only with its user's plan license (A7), so never beyond
it.

The answer is a function of the stored state alone: no instant of computation goes into it, and nothing already past
is dropped. Read twice with nothing changed in between, it is equal, so its ``as_dict()`` can be compared to tell
the product that something changed; an entitlement whose ``valid_until`` has passed is the product's to refuse.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prorata.domain.account import Account, Subscription
from prorata.domain.catalog import Catalog, Product, ProductKind, Unit
from prorata.domain.dunning import DunningPolicy


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    OVERDUE = "overdue"  # rule I6: purchases locked until paid; rule I8: cancelled after the policy's days
    CANCELLED = "cancelled"  # rule I8: dunning ended every subscription


class UserType(enum.StrEnum):
    LICENSED = "licensed"  # rule U1: holds a license of the plan
    BASIC = "basic"  # rule U1: free, unlimited, never ends


@dataclass(frozen=True, slots=True)
class PlanEntitlement:
    code: str
    names: Mapping[str, str]  # by language, as the catalog writes them
    interval: str  # month or year
    quantity: int  # licenses
    assigned: int  # licenses held by users
    valid_until: datetime
    renews: bool  # false: it ends at ``valid_until`` (a cancellation D1)


@dataclass(frozen=True, slots=True)
class AddonEntitlement:
    code: str
    names: Mapping[str, str]
    family: str | None
    capacity: int | None  # the catalog's ``size`` (Large Meetings 500: 500); None when it names none
    unit: Unit  # per_user: seats held by users (U2); per_account: the account's as a whole
    interval: str
    quantity: int
    assigned: int  # seats held by users (per_user add-ons)
    valid_until: datetime
    renews: bool  # false: cancelling (D1) or a one-month product (A8)


@dataclass(frozen=True, slots=True)
class SeatEntitlement:
    """An add-on seat one user holds (rules U2, A7)."""

    code: str
    family: str | None
    capacity: int | None
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class RetiredEntitlement:
    """A subscription to a product the catalog no longer has (the operator removed it): held as it is, but the
    catalog cannot say what it is, so it is named by its code only and its holders are not counted as Licensed."""

    code: str
    interval: str
    quantity: int
    valid_until: datetime


@dataclass(frozen=True, slots=True)
class UserEntitlement:
    id: int
    email: str
    type: UserType
    valid_until: datetime | None  # when the plan license ends; None for a Basic user (free, it does not end)
    addons: tuple[SeatEntitlement, ...]


@dataclass(frozen=True, slots=True)
class AccountEntitlements:
    account_id: int
    status: AccountStatus
    overdue_since: datetime | None  # set while overdue (I6)
    cancels_at: datetime | None  # rule I8: when an overdue account's subscriptions end unless it pays first
    plan: PlanEntitlement | None  # None: the account holds no plan
    addons: tuple[AddonEntitlement, ...]
    users: tuple[UserEntitlement, ...]
    retired: tuple[RetiredEntitlement, ...] = ()

    def user(self, user_id: int) -> UserEntitlement | None:
        for u in self.users:
            if u.id == user_id:
                return u
        return None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, keys in a fixed order, lists sorted, instants as ISO 8601 in UTC (``...Z``)."""
        return {
            "account_id": self.account_id,
            "status": self.status.value,
            "overdue_since": _instant(self.overdue_since),
            "cancels_at": _instant(self.cancels_at),
            "plan": None if self.plan is None else _plan(self.plan),
            "addons": [_addon(a) for a in self.addons],
            "users": [user_dict(u) for u in self.users],
            "retired": [
                {"code": r.code, "interval": r.interval, "quantity": r.quantity, "valid_until": _instant(r.valid_until)}
                for r in self.retired
            ],
        }

    def to_json(self) -> str:
        """``as_dict()`` as compact JSON text: equal text for equal entitlements."""
        return json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))


def user_dict(user: UserEntitlement) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "type": user.type.value,
        "valid_until": _instant(user.valid_until),
        "addons": [
            {"code": s.code, "family": s.family, "capacity": s.capacity, "valid_until": _instant(s.valid_until)}
            for s in user.addons
        ],
    }


def account_entitlements(
    account_id: int,
    account: Account,
    catalog: Catalog,
    *,
    dunning: DunningPolicy,
    status: AccountStatus | str,
    overdue_since: datetime | None,
    users: Sequence[tuple[int, str]],
    holders: Mapping[str, Collection[int]],
) -> AccountEntitlements:
    """The entitlements of ``account`` (its current subscriptions) read through ``catalog``.

    ``status`` and ``overdue_since`` are the account's as stored; ``users`` are its users as (id, e-mail);
    ``holders`` maps a subscription id to the users holding one of its licenses or seats. Holders of subscriptions
    the account no longer holds, and users not in ``users``, are left out. ``dunning`` says when an overdue account's
    subscriptions end (rule I8)."""
    # what is stored is read, never a customer's input: data that cannot be true is a defect, not a refusal
    status = AccountStatus(status)
    grace_end: datetime | None = None
    if status is AccountStatus.OVERDUE:
        if overdue_since is None:
            raise ValueError("an overdue account says since when it is overdue")
        grace_end = dunning.cancels_at(overdue_since)  # rule I8
    else:
        overdue_since = None  # a cancelled account keeps the date stored; nothing is counted from it any more
    plan: PlanEntitlement | None = None
    plan_holders: Collection[int] = ()
    addons: list[AddonEntitlement] = []
    seats: dict[int, list[SeatEntitlement]] = {}
    retired: list[RetiredEntitlement] = []
    for sub in account.subscriptions:
        held = holders.get(sub.id, ())
        until = _valid_until(sub, grace_end)
        product = catalog.products.get(sub.product)
        if product is None:
            retired.append(RetiredEntitlement(sub.product, sub.interval.value, sub.quantity, until))
            continue
        renews = not sub.cancelling and product.kind is not ProductKind.ONE_TIME_MONTH  # rules D1, A8
        if product.is_plan:
            plan = PlanEntitlement(
                product.code, dict(product.names), sub.interval.value, sub.quantity, len(held), until, renews
            )
            plan_holders = held
            continue
        capacity = _capacity(product)
        addons.append(
            AddonEntitlement(
                product.code, dict(product.names), product.family, capacity, product.unit, sub.interval.value,
                sub.quantity, len(held), until, renews,
            )
        )  # fmt: skip
        for user_id in held:
            seats.setdefault(user_id, []).append(SeatEntitlement(product.code, product.family, capacity, until))
    licensed_until = None if plan is None else plan.valid_until
    members = tuple(
        _user(user_id, email, user_id in plan_holders, licensed_until, seats.get(user_id, []))
        for user_id, email in sorted(users)
    )
    addons.sort(key=lambda a: (a.code, a.valid_until, a.interval, a.quantity))
    retired.sort(key=lambda r: (r.code, r.valid_until, r.interval, r.quantity))
    return AccountEntitlements(
        account_id, status, overdue_since, grace_end, plan, tuple(addons), members, tuple(retired)
    )  # fmt: skip


def _valid_until(sub: Subscription, grace_end: datetime | None) -> datetime:
    # rule D1: held to the term end even when cancelling; rule I8: never beyond the end of an overdue account's grace
    end = sub.period.end
    return end if grace_end is None else min(end, grace_end)


def _capacity(product: Product) -> int | None:
    return product.size or None


def _user(
    user_id: int, email: str, licensed: bool, licensed_until: datetime | None, seats: list[SeatEntitlement]
) -> UserEntitlement:
    if licensed and licensed_until is not None:
        # rule A7: a seat goes with its user's plan license, so it is held no longer than that license
        held = [
            s if s.valid_until <= licensed_until else SeatEntitlement(s.code, s.family, s.capacity, licensed_until)
            for s in seats
        ]
        return UserEntitlement(user_id, email, UserType.LICENSED, licensed_until, _sorted(held))
    # a seat held without the plan license (stored before rule A7 held) is shown as stored, not hidden
    return UserEntitlement(user_id, email, UserType.BASIC, None, _sorted(seats))


def _sorted(seats: list[SeatEntitlement]) -> tuple[SeatEntitlement, ...]:
    return tuple(sorted(seats, key=lambda s: (s.code, s.valid_until)))


def _instant(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plan(p: PlanEntitlement) -> dict[str, Any]:
    return {
        "code": p.code,
        "names": dict(sorted(p.names.items())),
        "interval": p.interval,
        "quantity": p.quantity,
        "assigned": p.assigned,
        "valid_until": _instant(p.valid_until),
        "renews": p.renews,
    }


def _addon(a: AddonEntitlement) -> dict[str, Any]:
    return {
        "code": a.code,
        "names": dict(sorted(a.names.items())),
        "family": a.family,
        "capacity": a.capacity,
        "unit": a.unit.value,
        "interval": a.interval,
        "quantity": a.quantity,
        "assigned": a.assigned,
        "valid_until": _instant(a.valid_until),
        "renews": a.renews,
    }
