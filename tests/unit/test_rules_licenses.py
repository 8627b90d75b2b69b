"""Licenses: the field is the total, more now prorated, fewer at the term end, never below the assigned count
(rules L1-L6)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prorata.domain.account import Pending, PendingKind
from prorata.domain.cart import AddAddon, ChangePlan, SetLicenses
from prorata.domain.catalog import DowngradePolicy
from prorata.domain.engine import quote, renew
from prorata.domain.invoice_lines import LineKind
from prorata.domain.periods import Period
from tests.helpers import CATALOG, account, amounts, price, refusal, sub, t

BUSINESS_10 = sub("plan", "business", 10, "2026-11-01", "2026-12-01", assigned=8)


def test_the_license_field_holds_the_new_total_not_the_number_added() -> None:
    # rule L1: 10 held + 2 more -> enter 12
    q = quote(account(BUSINESS_10), CATALOG, t("2026-11-15"), [SetLicenses(12)])

    assert q.lines[0].quantity == 2
    assert q.account.subscriptions[0].quantity == 12


@pytest.mark.parametrize("total", [0, -3, 2.5, "12", None, True])
def test_a_total_that_is_not_a_positive_whole_number_is_refused(total: object) -> None:
    # rule L1
    error = refusal(account(BUSINESS_10), SetLicenses(total))  # type: ignore[arg-type]
    assert (error.code, error.rule, error.field) == ("licenses.invalid_total", "L1", "total")


def test_entering_the_current_total_changes_nothing_and_says_so() -> None:
    assert refusal(account(BUSINESS_10), SetLicenses(10)).code == "licenses.unchanged"


def test_added_licenses_are_charged_now_prorated_to_the_billing_date() -> None:
    # rule L2: one line for the added seats only, renewing on the original date
    q = quote(account(BUSINESS_10), CATALOG, t("2026-11-15T16:00"), [SetLicenses(12)])

    (line,) = q.lines
    assert line.kind is LineKind.CHARGE
    assert line.description == "Business x 2, 16 of 30 days"
    assert line.amount == (2 * price("business") * 16 + 15) // 30
    assert line.period == Period(t("2026-11-15"), t("2026-12-01"))
    assert q.account.subscriptions[0].period.end == t("2026-12-01")
    assert amounts(renew(q.account, CATALOG, t("2026-12-01"))) == [12 * price("business")]


def test_removed_licenses_wait_for_the_term_end_with_no_refund() -> None:
    # rule L3: the account keeps all licenses until then; the plan shows the pending change and its date
    acc = account(sub("plan", "business", 14, "2026-11-01", "2026-12-01", assigned=8))
    q = quote(acc, CATALOG, t("2026-11-15"), [SetLicenses(11)])

    assert q.lines == ()
    held = q.account.subscriptions[0]
    assert held.quantity == 14
    assert held.pending == (Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=11),)
    assert [(s.action, s.change.quantity) for s in q.scheduled] == [("scheduled", 11)]
    renewal = renew(q.account, CATALOG, t("2026-12-01"))
    assert amounts(renewal) == [11 * price("business")]
    assert renewal.account.subscriptions[0].quantity == 11


def test_a_reduction_below_the_assigned_licenses_names_how_many_to_unassign() -> None:
    # rule L4
    acc = account(sub("plan", "business", 14, "2026-11-01", "2026-12-01", assigned=13))
    error = refusal(acc, SetLicenses(11))
    assert (error.code, error.rule) == ("licenses.below_assigned", "L4")
    assert error.data == {"assigned": 13, "must_unassign": 2, "entered": 11, "change": 0}  # the cart's first item
    assert "unassign 2 users" in error.message
    assert "User Management" in error.message


def test_licenses_bought_are_listed_for_assignment() -> None:
    # rule L5: the confirmation says how many licenses and seats to assign
    q = quote(account(BUSINESS_10), CATALOG, t("2026-11-15"), [SetLicenses(12), AddAddon("webinar_500", 3)])
    assert q.to_assign == (("plan", "business", 2), ("new-1", "webinar_500", 3))
    upgrade = quote(account(), CATALOG, t("2026-11-15"), [ChangePlan("pro", 4)])
    assert upgrade.to_assign == (("new-1", "pro", 4),)


def test_a_new_reduction_replaces_the_pending_one_and_both_are_reported() -> None:
    # rule L6
    pending = (Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=12),)
    acc = account(sub("plan", "business", 14, "2026-11-01", "2026-12-01", pending=pending))
    q = quote(acc, CATALOG, t("2026-11-15"), [SetLicenses(11)])

    assert q.account.subscriptions[0].pending == (Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=11),)
    assert [(s.action, s.change.quantity) for s in q.scheduled] == [("withdrawn", 12), ("scheduled", 11)]


def test_an_increase_after_a_pending_reduction_cancels_the_reduction() -> None:
    # rule L6: the increase is charged now and the reduction is withdrawn
    pending = (Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=10),)
    acc = account(sub("plan", "business", 12, "2026-11-01", "2026-12-01", pending=pending))
    q = quote(acc, CATALOG, t("2026-11-15"), [SetLicenses(13)])

    assert q.lines[0].quantity == 1
    assert q.account.subscriptions[0].pending == ()
    assert [s.action for s in q.scheduled] == ["withdrawn"]


def test_entering_the_held_total_withdraws_a_pending_reduction() -> None:
    # rule L6
    pending = (Pending(PendingKind.QUANTITY, t("2026-12-01"), quantity=10),)
    acc = account(sub("plan", "business", 12, "2026-11-01", "2026-12-01", pending=pending))
    q = quote(acc, CATALOG, t("2026-11-15"), [SetLicenses(12)])

    assert q.lines == ()
    assert q.account.subscriptions[0].pending == ()
    assert [(s.action, s.change.quantity) for s in q.scheduled] == [("withdrawn", 10)]


def test_a_reduction_below_the_plan_minimum_is_refused() -> None:
    # rules L1 and P3 together
    assert refusal(account(BUSINESS_10), SetLicenses(9)).code == "plan.min_licenses"


def test_under_the_immediate_policy_a_reduction_is_credited_now() -> None:
    # rules P7, C5: the removed licenses' unused share of what was charged comes back; nothing is charged
    immediate = replace(CATALOG, downgrade_policy=DowngradePolicy.IMMEDIATE_WITH_CREDIT)
    acc = account(sub("plan", "business", 14, "2026-11-01", "2026-12-01"))
    q = quote(acc, immediate, t("2026-11-15"), [SetLicenses(11)])

    assert amounts(q) == [-((3 * price("business") * 16 + 15) // 30)]
    assert q.lines[0].description == "Unused time on Business x 3 removed, 16 of 30 days"
    assert q.account.subscriptions[0].quantity == 11
    assert (q.credit_added, q.amount_due) == (-q.subtotal, 0)


def test_under_the_immediate_policy_a_discounted_plan_is_never_charged_for_a_reduction() -> None:
    # rules P7, C5: 131.94 charged for 12 licenses; removing 2 credits 2/12 of the unused part
    immediate = replace(CATALOG, downgrade_policy=DowngradePolicy.IMMEDIATE_WITH_CREDIT)
    acc = account(sub("plan", "business", 12, "2026-11-01", "2026-12-01", charged=13194))
    q = quote(acc, immediate, t("2026-11-15"), [SetLicenses(10)])

    assert amounts(q) == [-1173]  # 131.94 x 16/30 x 2/12 = 11.728 -> 11.73
    later = quote(q.account, immediate, t("2026-11-15"), [ChangePlan("business_plus")])
    assert -later.lines[0].amount == (13194 * 16 + 15) // 30 - 1173  # the rest of the unused part, once
