"""Users and license assignment: how many licenses may be assigned while changes wait for the term end, and which
assignments a renewal ends (rules U1, U2, A7, L4, P5, C7, D1, A8)."""

from __future__ import annotations

import pytest

from prorata.domain.account import Pending, PendingKind, assignable_limit
from prorata.domain.engine import renew
from prorata.domain.invoice_lines import Unassigned, UnassignReason
from prorata.domain.licenses import Held, Release, ReleaseReason, become_basic, releases
from prorata.entrypoints.quote_document import price_document, quote_to_dict
from tests.helpers import CATALOG, account, sub, t
from tests.unit.test_quote_document import RESPONSE, schema_errors

DEC_1 = t("2026-12-01")


def pending(kind: PendingKind, quantity: int | None = None, product: str | None = None) -> Pending:
    return Pending(kind, DEC_1, quantity, product)


@pytest.mark.parametrize(
    ("product", "quantity", "scheduled", "limit"),
    [
        ("business", 12, (), 12),
        ("business", 12, (pending(PendingKind.PRODUCT, 6, "pro"),), 6),  # P5: Business x 12 -> Pro x 6
        ("business", 14, (pending(PendingKind.QUANTITY, 11),), 11),  # L3, L4: a reduction
        ("webinar_1000", 5, (pending(PendingKind.PRODUCT, 2, "webinar_500"),), 2),  # A4: a smaller size, fewer seats
        ("webinar_1000", 5, (pending(PendingKind.PRODUCT, None, "webinar_500"),), 5),  # a smaller size, same seats
        ("pro", 6, (pending(PendingKind.CANCEL),), 6),  # D1: usable until the cancellation takes effect
        ("pro", 6, (pending(PendingKind.QUANTITY, 4), pending(PendingKind.CANCEL)), 4),
    ],
)
def test_the_assignable_limit_is_the_fewest_held_now_or_after_any_scheduled_change(
    product: str, quantity: int, scheduled: tuple[Pending, ...], limit: int
) -> None:
    # rules U1, L4, P5, A7: a license is never assigned that the term end would take away again
    held = sub("s", product, quantity, "2026-11-01", "2026-12-01", pending=scheduled)
    assert held.assignable_limit() == limit
    assert assignable_limit(quantity, (p.quantity for p in scheduled)) == limit


def test_a_renewal_below_the_assigned_licenses_reports_the_excess_instead_of_hiding_it() -> None:
    # rules C7, L4: Business x 12 with 12 assigned and a downgrade to Pro x 6 scheduled before rule L4 held
    downgrade = (Pending(PendingKind.PRODUCT, DEC_1, quantity=6, product="pro"),)
    acc = account(sub("plan", "business", 12, "2026-11-01", "2026-12-01", assigned=12, pending=downgrade))

    renewal = renew(acc, CATALOG, DEC_1)

    plan = renewal.account.subscriptions[0]
    assert (plan.product, plan.quantity, plan.assigned) == ("pro", 6, 6)
    assert renewal.unassigned == (Unassigned("plan", "business", 6, UnassignReason.REDUCED),)


def test_a_renewal_within_the_assigned_licenses_unassigns_nobody() -> None:
    # rule C7: the downgrade keeps every user who is assigned
    downgrade = (Pending(PendingKind.PRODUCT, DEC_1, quantity=6, product="pro"),)
    acc = account(sub("plan", "business", 12, "2026-11-01", "2026-12-01", assigned=6, pending=downgrade))

    renewal = renew(acc, CATALOG, DEC_1)

    assert renewal.unassigned == ()
    assert renewal.account.subscriptions[0].assigned == 6


def test_a_subscription_that_ends_at_the_renewal_reports_every_assignment_ending_with_it() -> None:
    # rules D1, A8: a cancelled plan and its cancelled add-on end; a one-month product ends by itself
    cancel = (Pending(PendingKind.CANCEL, DEC_1),)
    acc = account(
        sub("plan", "pro", 5, "2026-11-01", "2026-12-01", assigned=4, pending=cancel),
        sub("lm", "large_meetings_500", 3, "2026-11-01", "2026-12-01", assigned=2, pending=cancel),
        sub("web", "webinar_500_one_month", 2, "2026-11-01", "2026-12-01", assigned=1),
    )

    renewal = renew(acc, CATALOG, DEC_1)

    assert renewal.account.subscriptions == ()
    assert renewal.unassigned == (
        Unassigned("plan", "pro", 4, UnassignReason.ENDED),
        Unassigned("lm", "large_meetings_500", 2, UnassignReason.ENDED),
        Unassigned("web", "webinar_500_one_month", 1, UnassignReason.ENDED),
    )


def test_the_renewal_document_lists_what_it_unassigns_and_validates() -> None:
    # rules C7, L4: the quote document in renewal mode says it too, as its published schema describes
    downgrade = (Pending(PendingKind.PRODUCT, DEC_1, quantity=6, product="pro"),)
    acc = account(sub("plan", "business", 12, "2026-11-01", "2026-12-01", assigned=9, pending=downgrade))

    answer = quote_to_dict(renew(acc, CATALOG, DEC_1))

    assert answer["unassigned"] == [{"subscription": "plan", "product": "business", "licenses": 3,
                                     "reason": "reduced"}]  # fmt: skip
    assert answer["subscriptions"][0]["assigned"] == 6
    assert schema_errors(RESPONSE, answer) == []


def test_an_order_unassigns_nothing() -> None:
    answer = price_document({"account": {"currency": "USD"}, "at": "2026-11-15T10:00:00Z",
                             "changes": [{"type": "change_plan", "product": "pro", "licenses": 2}]})  # fmt: skip
    assert answer["unassigned"] == []


# the assignments of one account, most recently assigned first: ann, bob, cid, dan hold Business; ann and cid hold
# Large Meetings seats too
ANN, BOB, CID, DAN = 1, 2, 3, 4
PLAN, SEATS = 10, 20
HELD = [
    Held(8, SEATS, "large_meetings_500", CID),
    Held(7, PLAN, "business", DAN),
    Held(6, SEATS, "large_meetings_500", ANN),
    Held(5, PLAN, "business", CID),
    Held(4, PLAN, "business", BOB),
    Held(3, PLAN, "business", ANN),
]
PLANS = {"business", "pro"}


def released(out: list[Release]) -> list[tuple[int, ReleaseReason]]:
    return [(r.held.id, r.reason) for r in out]


def test_beyond_what_a_plan_keeps_the_most_recently_assigned_lose_their_license_and_their_seats() -> None:
    # rules C7, L4, A7: the plan keeps 2 licenses: dan and cid (assigned last) lose theirs, cid his seat with it
    out = releases(HELD, ended=set(), keep={PLAN: 2}, plans=PLANS)

    assert released(out) == [
        (7, ReleaseReason.LICENSES_REDUCED),
        (5, ReleaseReason.LICENSES_REDUCED),
        (8, ReleaseReason.PLAN_LICENSE_ENDED),
    ]
    assert become_basic(out, PLANS) == {DAN, CID}


def test_an_add_on_trimmed_after_its_holders_lost_their_plan_license_unassigns_nobody_else() -> None:
    # rule A7 before L4: cid's seat went with his license, so one seat kept leaves ann hers
    out = releases(HELD, ended=set(), keep={PLAN: 2, SEATS: 1}, plans=PLANS)
    assert (6, ReleaseReason.LICENSES_REDUCED) not in released(out)
    assert len(out) == 3


def test_an_add_on_kept_with_fewer_seats_unassigns_its_latest_seat_only() -> None:
    out = releases(HELD, ended=set(), keep={SEATS: 1}, plans=PLANS)
    assert released(out) == [(8, ReleaseReason.LICENSES_REDUCED)]
    assert become_basic(out, PLANS) == set()  # a seat is not a license: cid stays Licensed


def test_every_assignment_of_an_ended_plan_ends_and_its_users_are_basic() -> None:
    # rules D1, I8, U1: the plan ended; seats of an add-on that outlived it go too (A7)
    out = releases(HELD, ended={PLAN}, keep={}, plans=PLANS)

    assert sorted(released(out)) == [
        (3, ReleaseReason.SUBSCRIPTION_ENDED),
        (4, ReleaseReason.SUBSCRIPTION_ENDED),
        (5, ReleaseReason.SUBSCRIPTION_ENDED),
        (6, ReleaseReason.PLAN_LICENSE_ENDED),
        (7, ReleaseReason.SUBSCRIPTION_ENDED),
        (8, ReleaseReason.PLAN_LICENSE_ENDED),
    ]
    assert become_basic(out, PLANS) == {ANN, BOB, CID, DAN}


def test_an_ended_add_on_takes_its_seats_and_leaves_the_licenses() -> None:
    out = releases(HELD, ended={SEATS}, keep={}, plans=PLANS)
    assert sorted(released(out)) == [(6, ReleaseReason.SUBSCRIPTION_ENDED), (8, ReleaseReason.SUBSCRIPTION_ENDED)]
    assert become_basic(out, PLANS) == set()
