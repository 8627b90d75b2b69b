"""The changes a cart can hold (rules K3, P2, L1, C1, C2, A1-A8, D1, D2).

A cart is a sequence of these; the engine prices them together as one order with one invoice (rule K3). Targets are
subscription ids from the account; ``None`` means the account's plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from prorata.domain.periods import Interval


@dataclass(frozen=True, slots=True)
class ChangePlan:
    """Move to another plan: an upgrade now (P2) or a downgrade at the term end (P5; P7 immediate)."""

    product: str
    licenses: int | None = None
    interval: Interval | None = None
    billing_day: int | None = None  # from a free account: bill on this day of the month, the first period prorated
    trial: bool = False  # rule TR1: start the plan's free trial instead of paying now (once per account)


@dataclass(frozen=True, slots=True)
class SetLicenses:
    """Set the license (or add-on seat) **total**, not the number added (rule L1)."""

    total: int
    subscription: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeInterval:
    """Switch between monthly and yearly billing (rules C1, C2); an add-on when ``subscription`` names one."""

    interval: Interval
    subscription: str | None = None


@dataclass(frozen=True, slots=True)
class AddAddon:
    """Buy an add-on, co-termed with the plan (rule A5); its interval defaults to the plan's."""

    product: str
    quantity: int = 1
    interval: Interval | None = None


@dataclass(frozen=True, slots=True)
class ChangeAddon:
    """Change an add-on's seats or size within its family (rule A4)."""

    subscription: str
    quantity: int | None = None
    product: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancel at the period end (rule D1); a plan with add-ons needs ``with_addons`` (rule D2)."""

    subscription: str | None = None
    with_addons: bool = False


@dataclass(frozen=True, slots=True)
class Reactivate:
    """Withdraw a pending cancellation (rule D1)."""

    subscription: str | None = None


Change = ChangePlan | SetLicenses | ChangeInterval | AddAddon | ChangeAddon | Cancel | Reactivate

# Changes are applied in this order whatever the order in the cart, so that add-ons are priced against the plan
# as the order leaves it (one credit and one charge per subscription, not a chain of them).
ORDER: dict[type, int] = {
    Reactivate: 0,
    ChangePlan: 1,
    ChangeInterval: 2,
    SetLicenses: 3,
    ChangeAddon: 4,
    AddAddon: 5,
    Cancel: 6,
}

# By name, for carts stored as JSON (an order's cart, read back to reconcile an interrupted payment)
CHANGE_TYPES: dict[str, type] = {kind.__name__: kind for kind in ORDER}
