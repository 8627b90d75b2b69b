"""Cancellation at the period end, reactivation, add-ons before the plan (rules D1, D2)."""

from __future__ import annotations

from prorata.domain.account import Pending, PendingKind
from prorata.domain.cart import AddAddon, Cancel, ChangePlan, Reactivate, SetLicenses
from prorata.domain.engine import quote, renew
from tests.helpers import CATALOG, account, amounts, price, refusal, sub, t

PLAN = sub("plan", "business", 12, "2026-11-01", "2026-12-01")
ADDON = sub("w", "webinar_500", 2, "2026-11-01", "2026-12-01")
CANCELLING = sub(
    "plan", "business", 12, "2026-11-01", "2026-12-01", pending=(Pending(PendingKind.CANCEL, t("2026-12-01")),)
)


def test_a_cancelled_plan_runs_to_the_period_end_and_is_not_renewed() -> None:
    # rule D1
    q = quote(account(PLAN), CATALOG, t("2026-11-15"), [Cancel()])

    assert q.lines == ()
    assert q.account.subscriptions[0].pending == (Pending(PendingKind.CANCEL, t("2026-12-01")),)
    renewal = renew(q.account, CATALOG, t("2026-12-01"))
    assert renewal.lines == ()
    assert renewal.account.subscriptions == ()


def test_a_cancelled_plan_can_be_reactivated_before_the_period_ends() -> None:
    # rule D1
    q = quote(account(CANCELLING), CATALOG, t("2026-11-15"), [Reactivate()])

    assert q.account.subscriptions[0].pending == ()
    assert [s.action for s in q.scheduled] == ["withdrawn"]
    assert amounts(renew(q.account, CATALOG, t("2026-12-01"))) == [12 * price("business")]


def test_reactivating_what_is_not_cancelled_is_refused() -> None:
    error = refusal(account(PLAN), Reactivate())
    assert (error.code, error.rule) == ("subscription.not_cancelling", "D1")


def test_cancelling_twice_is_refused() -> None:
    assert refusal(account(CANCELLING), Cancel()).code == "subscription.already_cancelling"


def test_a_cancelling_plan_must_be_reactivated_before_it_is_changed() -> None:
    # rule D1: buying onto a plan that is about to end is refused with the way out
    for change in (SetLicenses(14), ChangePlan("business_plus", 12), AddAddon("webinar_500", 1)):
        error = refusal(account(CANCELLING), change)
        assert (error.code, error.rule) == ("subscription.cancelling", "D1"), change
    q = quote(account(CANCELLING), CATALOG, t("2026-11-15"), [SetLicenses(14), Reactivate()])
    assert q.account.subscriptions[0].quantity == 14


def test_add_ons_must_be_cancelled_before_the_plan() -> None:
    # rule D2
    error = refusal(account(PLAN, ADDON), Cancel())
    assert (error.code, error.rule, error.field) == ("cancel.addons_first", "D2", "with_addons")
    assert error.data["addons"] == ["w"]
    assert "Webinar 500" in error.message


def test_add_ons_are_cancelled_with_the_plan_after_an_explicit_confirmation() -> None:
    # rule D2
    q = quote(account(PLAN, ADDON), CATALOG, t("2026-11-15"), [Cancel(with_addons=True)])

    assert all(s.cancelling for s in q.account.subscriptions)
    assert renew(q.account, CATALOG, t("2026-12-01")).account.subscriptions == ()


def test_an_add_on_cancelled_first_then_the_plan() -> None:
    q = quote(account(PLAN, ADDON), CATALOG, t("2026-11-15"), [Cancel("w"), Cancel()])
    assert [s.id for s in q.account.subscriptions if s.cancelling] == ["plan", "w"]


def test_an_add_on_cannot_be_reactivated_under_a_cancelled_plan() -> None:
    # rule D2: the add-on would outlive its plan
    cancelled_addon = sub(
        "w", "webinar_500", 2, "2026-11-01", "2026-12-01", pending=(Pending(PendingKind.CANCEL, t("2026-12-01")),)
    )
    error = refusal(account(CANCELLING, cancelled_addon), Reactivate("w"))
    assert (error.code, error.rule) == ("cancel.addons_first", "D2")


def test_cancelling_an_unknown_subscription_names_the_field() -> None:
    error = refusal(account(PLAN), Cancel("nope"))
    assert (error.code, error.field) == ("subscription.unknown", "subscription")
