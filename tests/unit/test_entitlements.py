"""What the vendor's product is told each user may use, and until when (rules U1, U2, A7, A8, D1, I6, I8)."""

from __future__ import annotations

import json

from prorata.domain.account import Account, Pending, PendingKind
from prorata.domain.catalog import Catalog, Unit
from prorata.domain.dunning import DunningPolicy
from prorata.domain.entitlements import AccountEntitlements, AccountStatus, UserType, account_entitlements
from prorata.domain.periods import Interval
from tests.helpers import CATALOG, account, catalog, sub, t

PLAN = sub("1", "business", 12, "2026-11-01", "2026-12-01")
MEETINGS = sub("2", "large_meetings_500", 2, "2026-11-01", "2026-12-01")
STORAGE = sub("3", "cloud_recording_3tb", 1, "2026-11-01", "2026-12-01")
USERS = [(11, "ada@acme.test"), (10, "bob@acme.test"), (12, "cy@acme.test")]
HOLDERS = {"1": [10, 11], "2": [11]}


def entitlements(
    acc: Account,
    *,
    holders: dict[str, list[int]] = HOLDERS,
    status: str = "active",
    overdue_since: str | None = None,
    cat: Catalog = CATALOG,
    dunning: DunningPolicy | None = None,
) -> AccountEntitlements:
    since = None if overdue_since is None else t(overdue_since)
    return account_entitlements(7, acc, cat, dunning=dunning or DunningPolicy(), status=status,
                                overdue_since=since, users=USERS, holders=holders)  # fmt: skip


def test_users_holding_a_plan_license_are_licensed_and_the_others_basic() -> None:
    # rule U1
    found = entitlements(account(PLAN, MEETINGS))

    assert [(u.id, u.type) for u in found.users] == [
        (10, UserType.LICENSED), (11, UserType.LICENSED), (12, UserType.BASIC),
    ]  # fmt: skip
    basic = found.user(12)
    assert basic is not None
    assert basic.valid_until is None
    assert basic.addons == ()
    assert found.user(99) is None
    assert found.plan is not None
    assert (found.plan.code, found.plan.names["en"], found.plan.interval, found.plan.quantity, found.plan.assigned) == (
        "business", "Business", "month", 12, 2,
    )  # fmt: skip


def test_each_user_holds_the_add_on_seats_assigned_to_them_with_the_catalog_s_capacity() -> None:
    # rules U2, A7
    found = entitlements(account(PLAN, MEETINGS, STORAGE))

    ada, bob, cy = (found.user(i) for i in (11, 10, 12))
    assert ada is not None
    assert bob is not None
    assert cy is not None
    assert [(s.code, s.family, s.capacity) for s in ada.addons] == [("large_meetings_500", "large_meetings", 500)]
    assert bob.addons == ()
    assert cy.addons == ()


def test_per_account_add_ons_are_the_account_s_with_their_capacity_and_unit_from_the_catalog() -> None:
    found = entitlements(account(PLAN, MEETINGS, STORAGE))

    assert [(a.code, a.family, a.capacity, a.unit, a.quantity, a.assigned) for a in found.addons] == [
        ("cloud_recording_3tb", "cloud_recording", 3000, Unit.PER_ACCOUNT, 1, 0),
        ("large_meetings_500", "large_meetings", 500, Unit.PER_USER, 2, 1),
    ]


def test_everything_held_is_valid_until_the_end_of_the_current_term_and_renews() -> None:
    yearly = sub("2", "webinar_1000", 1, "2026-01-01", "2027-01-01", interval=Interval.YEAR)
    found = entitlements(account(PLAN, yearly), holders={"1": [11], "2": [11]})

    assert found.plan is not None
    assert (found.plan.valid_until, found.plan.renews) == (t("2026-12-01"), True)
    assert [(a.valid_until, a.renews) for a in found.addons] == [(t("2027-01-01"), True)]
    ada = found.user(11)
    assert ada is not None
    assert ada.valid_until == t("2026-12-01")
    # rule A7: a seat goes with the plan license, so the yearly seat is held no longer than the monthly license
    assert [s.valid_until for s in ada.addons] == [t("2026-12-01")]


def test_a_cancelling_plan_is_still_held_until_its_term_end_and_does_not_renew() -> None:
    # rule D1
    cancelling = sub(
        "1", "business", 12, "2026-11-01", "2026-12-01", pending=(Pending(PendingKind.CANCEL, t("2026-12-01")),)
    )
    found = entitlements(account(cancelling))

    assert found.plan is not None
    assert (found.plan.valid_until, found.plan.renews) == (t("2026-12-01"), False)
    assert [u.type for u in found.users if u.id in (10, 11)] == [UserType.LICENSED, UserType.LICENSED]


def test_a_one_month_product_does_not_renew() -> None:
    # rule A8
    month = sub("2", "webinar_500_one_month", 1, "2026-11-10", "2026-12-10")
    found = entitlements(account(PLAN, month), holders={"1": [11], "2": [11]})

    assert [(a.code, a.renews, a.valid_until, a.capacity) for a in found.addons] == [
        ("webinar_500_one_month", False, t("2026-12-10"), None)
    ]


def test_an_overdue_account_holds_everything_until_its_30_days_end_when_that_comes_first() -> None:
    # rules I6, I8: overdue since Nov 20, its subscriptions end on Dec 20 unless it pays
    yearly = sub("2", "large_meetings_500", 2, "2026-01-01", "2027-01-01", interval=Interval.YEAR)
    found = entitlements(account(PLAN, yearly, overdue=True), status="overdue", overdue_since="2026-11-20")

    assert (found.status, found.overdue_since, found.cancels_at) == (
        AccountStatus.OVERDUE, t("2026-11-20"), t("2026-12-20"),
    )  # fmt: skip
    assert found.plan is not None
    assert found.plan.valid_until == t("2026-12-01")
    assert [a.valid_until for a in found.addons] == [t("2026-12-20")]  # the 30 days end first


def test_an_overdue_accounts_entitlements_end_on_the_day_its_configured_schedule_cancels_it() -> None:
    # rule I8: cancelled 10 days overdue: overdue since Nov 20, everything ends on Nov 30, before the plan's term
    yearly = sub("2", "large_meetings_500", 2, "2026-01-01", "2027-01-01", interval=Interval.YEAR)
    ten_days = DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10)

    found = entitlements(account(PLAN, yearly, overdue=True), status="overdue", overdue_since="2026-11-20",
                         dunning=ten_days)  # fmt: skip

    assert found.cancels_at == t("2026-11-30")
    assert found.plan is not None
    assert found.plan.valid_until == t("2026-11-30")
    assert [a.valid_until for a in found.addons] == [t("2026-11-30")]
    licensed = [u.valid_until for u in found.users if u.type is UserType.LICENSED]
    assert licensed == [t("2026-11-30"), t("2026-11-30")]


def test_an_active_account_has_no_end_of_grace_and_a_cancelled_one_holds_nothing() -> None:
    # rule I8: the cancellation ended every subscription; the date it became overdue stays stored but counts no more
    active = entitlements(account(PLAN))
    cancelled = entitlements(account(), holders={}, status="cancelled", overdue_since="2026-10-01")

    assert (active.status, active.cancels_at) == (AccountStatus.ACTIVE, None)
    assert (cancelled.status, cancelled.overdue_since, cancelled.cancels_at) == (AccountStatus.CANCELLED, None, None)
    assert cancelled.plan is None
    assert cancelled.addons == ()
    assert {u.type for u in cancelled.users} == {UserType.BASIC}


def test_another_catalog_with_other_codes_and_sizes_is_read_the_same_way() -> None:
    other = catalog({
        "team": {"kind": "plan", "name": {"en": "Team", "pl": "Zespół"}, "rank": 1, "prices": {"year": {"EUR": "99"}}},
        "arena_250": {"kind": "addon", "name": "Arena 250", "family": "arena", "size": 250,
                      "prices": {"year": {"EUR": "10"}}},
        "vault_5": {"kind": "addon", "name": "Vault 5", "family": "vault", "size": 5, "unit": "per_account",
                    "prices": {"year": {"EUR": "5"}}},
    })  # fmt: skip
    subs = [
        sub(str(i), code, qty, "2026-03-01", "2027-03-01", interval=Interval.YEAR, catalog=other, currency="EUR")
        for i, code, qty in ((1, "team", 3), (2, "arena_250", 1), (3, "vault_5", 1))
    ]
    found = entitlements(account(*subs, currency="EUR"), holders={"1": [12], "2": [12]}, cat=other)

    assert found.plan is not None
    assert (found.plan.code, dict(found.plan.names)) == ("team", {"en": "Team", "pl": "Zespół"})
    assert [(a.code, a.family, a.capacity, a.unit) for a in found.addons] == [
        ("arena_250", "arena", 250, Unit.PER_USER), ("vault_5", "vault", 5, Unit.PER_ACCOUNT),
    ]  # fmt: skip
    cy = found.user(12)
    assert cy is not None
    assert cy.type is UserType.LICENSED
    assert [(s.code, s.capacity, s.valid_until) for s in cy.addons] == [("arena_250", 250, t("2027-03-01"))]


def test_a_product_the_catalog_no_longer_has_is_listed_as_retired_not_refused() -> None:
    found = entitlements(account(PLAN, sub("9", "webinar_500", 1, "2026-11-01", "2026-12-01")), cat=catalog({
        "business": {"kind": "plan", "name": "Business", "prices": {"month": {"USD": "21.99"}}},
    }))  # fmt: skip

    assert [(r.code, r.quantity, r.valid_until) for r in found.retired] == [("webinar_500", 1, t("2026-12-01"))]
    assert found.addons == ()


def test_the_json_is_plain_sorted_utc_and_the_same_for_the_same_state_however_it_was_listed() -> None:
    held = account(PLAN, MEETINGS, STORAGE)
    first = entitlements(held)
    shuffled = account_entitlements(
        7, account(STORAGE, MEETINGS, PLAN), CATALOG, dunning=DunningPolicy(), status="active", overdue_since=None,
        users=list(reversed(USERS)), holders={"2": [11], "1": [11, 10]},
    )  # fmt: skip

    assert first.to_json() == shuffled.to_json()
    data = json.loads(first.to_json())
    assert data == first.as_dict()
    assert list(data) == ["account_id", "status", "overdue_since", "cancels_at", "plan", "addons", "users", "retired"]
    assert data["plan"]["valid_until"] == "2026-12-01T00:00:00Z"
    assert [u["id"] for u in data["users"]] == [10, 11, 12]
    assert data["users"][1]["addons"] == [
        {
            "code": "large_meetings_500",
            "family": "large_meetings",
            "capacity": 500,
            "valid_until": "2026-12-01T00:00:00Z",
        }
    ]


def test_the_json_holds_no_instant_of_its_computation() -> None:
    # an event is emitted when the JSON changes, so it must not change with the time it is computed at: every
    # instant in it is a stored one (a term end, the overdue date and the end of its 30 days)
    text = entitlements(account(PLAN, MEETINGS), status="overdue", overdue_since="2026-11-20").to_json()

    stamps = {value for value in _strings(json.loads(text)) if value[:4].isdigit()}
    assert stamps == {"2026-12-01T00:00:00Z", "2026-11-20T00:00:00Z", "2026-12-20T00:00:00Z"}


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
