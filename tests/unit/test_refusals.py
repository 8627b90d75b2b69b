"""Every refusal of a change has its own code, names the field, and leaves the account as it was (rule X4)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prorata.domain.account import Pending, PendingKind, Subscription
from prorata.domain.cart import (
    AddAddon,
    Cancel,
    Change,
    ChangeAddon,
    ChangeInterval,
    ChangePlan,
    SetLicenses,
)
from prorata.domain.catalog import DowngradePolicy
from prorata.domain.engine import quote
from prorata.domain.invoice_lines import LineKind
from prorata.domain.periods import Interval, Period
from tests.helpers import CATALOG, account, amounts, price, refusal, sub, t

BUSINESS = sub("plan", "business", 12, "2026-11-01", "2026-12-01", assigned=4)
WEBINAR = sub("w", "webinar_500", 3, "2026-11-01", "2026-12-01")
STORAGE = sub("s", "cloud_recording_1tb", 1, "2026-11-01", "2026-12-01")
ONE_MONTH = sub("m", "webinar_500_one_month", 2, "2026-11-10", "2026-12-10")
HELD = (BUSINESS, WEBINAR, STORAGE, ONE_MONTH)


@pytest.mark.parametrize(
    ("change", "code", "rule", "field"),
    [
        (ChangePlan("pro", 9, Interval.YEAR), "plan.downgrade_with_interval", "P5", "interval"),
        (ChangeInterval(Interval.MONTH), "interval.unchanged", None, "interval"),
        (ChangeInterval(Interval.YEAR, "w"), "addon.annual_on_monthly", "A6", "interval"),
        (ChangePlan("business", 10, Interval.YEAR), "licenses.reduction_with_interval", "L3", "licenses"),
        (AddAddon("business"), "product.not_an_addon", None, "product"),
        (AddAddon("webinar_500_one_month", 1), "addon.already_held", "A3", "product"),
        (AddAddon("large_meetings_500", 0), "addon.invalid_quantity", "A7", "quantity"),
        (ChangeAddon("m", quantity=3), "addon.not_changeable", None, "subscription"),
        (ChangeAddon("plan", quantity=3), "addon.not_changeable", None, "subscription"),
        (ChangeAddon("s", quantity=2), "addon.invalid_quantity", "A7", "quantity"),
        (ChangeAddon("w", quantity=3), "addon.unchanged", None, "quantity"),
        (ChangeAddon("w", quantity=1, product="webinar_1000"), "addon.mixed_change", "A4", "quantity"),
        (ChangeAddon("s", product="webinar_1000"), "addon.family_mismatch", "A3", "product"),
        (Cancel("m"), "subscription.not_renewing", "A8", "subscription"),
        (SetLicenses(2, "w"), "licenses.below_assigned", "L4", "total"),
    ],
)
def test_each_refusal_names_its_code_rule_and_field(change: Change, code: str, rule: str | None, field: str) -> None:
    held = (BUSINESS, replace(WEBINAR, assigned=3), STORAGE, ONE_MONTH)
    error = refusal(account(*held), change)
    assert (error.code, error.rule, error.field) == (code, rule, field)
    assert error.message.startswith(f"{field}: ")


def test_a_one_month_product_is_bought_for_one_month_only() -> None:
    # rule A8
    error = refusal(account(BUSINESS), AddAddon("webinar_500_one_month", 1, Interval.YEAR))
    assert (error.code, error.rule) == ("addon.one_month_only", "A8")


def test_a_larger_size_already_held_is_not_an_edit() -> None:
    # rule A3
    big = sub("w2", "webinar_1000", 1, "2026-11-01", "2026-12-01")
    error = refusal(account(BUSINESS, WEBINAR, big), ChangeAddon("w", product="webinar_1000"))
    assert (error.code, error.rule) == ("addon.already_held", "A3")


def test_choosing_the_current_plan_on_another_interval_switches_the_interval() -> None:
    # rules C1, L1: with a higher total, the new licenses start with the new period
    q = quote(account(BUSINESS), CATALOG, t("2026-11-15"), [ChangePlan("business", 14, Interval.YEAR)])
    assert [line.kind for line in q.lines] == [LineKind.CREDIT, LineKind.CHARGE]
    assert q.lines[1].amount == 14 * price("business", Interval.YEAR)


def test_an_upgrade_to_fewer_licenses_keeps_them_until_the_term_end() -> None:
    # rules P2, L3: upgraded now at 12, reduced to 10 at the term end
    q = quote(account(BUSINESS), CATALOG, t("2026-11-15"), [ChangePlan("business_plus", 10)])
    upgraded = q.account.subscriptions[0]
    assert (upgraded.quantity, upgraded.pending) == (12, (Pending(PendingKind.QUANTITY, t("2026-12-01"), 10),))


def test_set_licenses_on_an_add_on_changes_its_seats() -> None:
    # rules L1, A4: the same total field works for an add-on
    q = quote(account(BUSINESS, WEBINAR), CATALOG, t("2026-11-15"), [SetLicenses(5, "w")])
    assert q.account.subscriptions[1].quantity == 5


def test_the_held_seats_withdraw_a_pending_add_on_reduction() -> None:
    # rule L6
    pending = (Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=1),)
    held: Subscription = replace(WEBINAR, pending=pending)
    q = quote(account(BUSINESS, held), CATALOG, t("2026-11-15"), [ChangeAddon("w", quantity=3)])
    assert q.account.subscriptions[1].pending == ()
    assert [s.action for s in q.scheduled] == ["withdrawn"]


def test_under_the_immediate_policy_a_smaller_add_on_size_is_credited_and_charged_now() -> None:
    # rules P7, A4
    immediate = replace(CATALOG, downgrade_policy=DowngradePolicy.IMMEDIATE_WITH_CREDIT)
    big = sub("w", "webinar_1000", 1, "2026-11-01", "2026-12-01")
    q = quote(account(BUSINESS, big), immediate, t("2026-11-15"), [ChangeAddon("w", product="webinar_500")])
    assert amounts(q) == [-((price("webinar_1000") * 16 + 15) // 30), (price("webinar_500") * 16 + 15) // 30]
    assert q.account.subscriptions[1].period == Period(t("2026-11-15"), t("2026-12-01"))
