"""Which assignments end when what an account holds ends or shrinks (rules U1, U2, A7, L4, C7, D1, A8, I8).

A license or seat is assigned to one user (U1). When its subscription ends (a cancellation at the term end D1, a
one-month product A8, overdue for the dunning schedule's days I8) every assignment of it ends with it. When a
subscription renews with fewer licenses than are assigned (rule L4 keeps that from happening; data from before it
held may not), the most recently assigned users beyond the licenses kept are unassigned: the users who got their
license last lose it first, and nobody else is touched. A user who loses the plan's license becomes Basic and, since
add-on seats go to Licensed users only (A7), loses their add-on seats with it. Nothing here is silent: each release
names its reason, and the services write each to the audit trail.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass


class ReleaseReason(enum.StrEnum):
    SUBSCRIPTION_ENDED = "subscription_ended"  # rules D1, A8, I8: the subscription ended
    LICENSES_REDUCED = "licenses_reduced"  # rules C7, L4: it renewed with fewer licenses than were assigned
    PLAN_LICENSE_ENDED = "plan_license_ended"  # rule A7: the user's plan license ended, and their seats with it


@dataclass(frozen=True, slots=True)
class Held:
    """One assignment: a user holding a subscription's license or seat."""

    id: int
    subscription: int
    product: str
    user: int


@dataclass(frozen=True, slots=True)
class Release:
    held: Held
    reason: ReleaseReason


def releases(
    held: Iterable[Held], *, ended: Collection[int], keep: Mapping[int, int], plans: Collection[str]
) -> list[Release]:
    """The assignments that end: every one of the ``ended`` subscriptions, and on each subscription of ``keep``
    (subscription -> licenses it keeps) the most recent ones beyond what it keeps. ``held`` lists the assignments
    of the accounts concerned, most recently assigned first; ``plans`` are the product codes of plans.

    Plans are settled before add-ons: a user who loses the plan license loses their seats (A7), which may leave an
    add-on within its own seats without unassigning anyone else."""
    held = list(held)
    out: list[Release] = []
    gone: set[int] = set()

    def release(h: Held, reason: ReleaseReason) -> None:
        if h.id not in gone:
            gone.add(h.id)
            out.append(Release(h, reason))

    def trim(subscription: int) -> None:
        remaining = [h for h in held if h.subscription == subscription and h.id not in gone]
        for h in remaining[: max(0, len(remaining) - keep[subscription])]:
            release(h, ReleaseReason.LICENSES_REDUCED)

    for h in held:
        if h.subscription in ended:
            release(h, ReleaseReason.SUBSCRIPTION_ENDED)
    plan_subs = {h.subscription for h in held if h.product in plans}
    for subscription in sorted(s for s in keep if s in plan_subs):
        trim(subscription)
    unlicensed = {r.held.user for r in out if r.held.product in plans}
    for h in held:
        if h.user in unlicensed and h.product not in plans:
            release(h, ReleaseReason.PLAN_LICENSE_ENDED)
    for subscription in sorted(s for s in keep if s not in plan_subs):
        trim(subscription)
    return out


def become_basic(released: Iterable[Release], plans: Collection[str]) -> set[int]:
    """Rule U1: the users who lost the plan's license are Basic again (an account holds one plan)."""
    return {r.held.user for r in released if r.held.product in plans}
