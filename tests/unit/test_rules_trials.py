"""Free trials in the catalog and the engine (rule TR1)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from prorata.domain.account import Pending, PendingKind
from prorata.domain.cart import AddAddon, Cancel, ChangePlan
from prorata.domain.engine import quote, renew
from prorata.domain.errors import CatalogError
from prorata.domain.periods import Granularity, Interval, Period
from tests.helpers import CATALOG, account, amounts, catalog, plan_product, price, refusal, sub, t


def _broken(**extra: Any) -> CatalogError:
    with pytest.raises(CatalogError) as error:
        catalog({"pro": plan_product(10, "10.00", **extra)})
    return error.value


def test_the_default_catalog_offers_pro_and_business_a_fourteen_day_trial() -> None:
    # rule TR1: the trial and whether a card is needed live in the catalog
    products = CATALOG.products
    assert (products["pro"].trial_days, products["pro"].trial_requires_card) == (14, False)
    assert (products["business"].trial_days, products["business"].trial_requires_card) == (14, True)
    assert products["business_plus"].trial_days == 0


def test_a_catalog_trial_must_fit_in_one_billing_period_of_a_paid_plan() -> None:
    # rule TR1: the trial is the plan's first period, so it cannot be longer than the shortest month
    assert _broken(trial_days=29).field == "products.pro.trial_days"
    assert "from 1 to 28" in _broken(trial_days=29).message
    assert _broken(trial_days=-1).field == "products.pro.trial_days"
    assert _broken(trial_days="14").field == "products.pro.trial_days"
    assert _broken(trial_requires_card=True).field == "products.pro.trial_requires_card"
    yearly = catalog({"pro": {"kind": "plan", "name": "Pro", "prices": {"year": {"USD": "100.00"}}, "trial_days": 60}})
    assert yearly.products["pro"].trial_days == 60
    with pytest.raises(CatalogError) as error:
        catalog({"basic": {"kind": "plan", "name": "Basic", "free": True, "trial_days": 7}})
    assert error.value.field == "products.basic.trial_days"


def test_a_trial_starts_the_plan_at_once_and_charges_nothing() -> None:
    # rule TR1: the licenses are usable now; the trial is the first period, ending after 14 days
    q = quote(account(), CATALOG, t("2026-11-15T10:00"), [ChangePlan("pro", 3, trial=True)])

    assert q.lines == ()
    assert q.amount_due == 0
    (trial,) = q.account.subscriptions
    assert (trial.product, trial.quantity, trial.charges) == ("pro", 3, ())
    assert trial.period == Period(t("2026-11-15"), t("2026-11-29"))
    assert trial.anchor == t("2026-11-29")


def test_the_first_invoice_is_issued_at_full_price_when_the_trial_ends() -> None:
    # rule TR1 (and C7): the billing run renews the trial into the first paid period, on the trial's end as anchor
    q = quote(account(), CATALOG, t("2026-11-15"), [ChangePlan("pro", 3, trial=True)])

    first = renew(q.account, CATALOG, t("2026-11-29"))

    assert amounts(first) == [3 * price("pro")]
    assert first.account.subscriptions[0].period == Period(t("2026-11-29"), t("2026-12-29"))


def test_a_yearly_trial_converts_to_a_year() -> None:
    # rule TR1
    q = quote(account(), CATALOG, t("2026-11-15"), [ChangePlan("pro", 2, Interval.YEAR, trial=True)])
    first = renew(q.account, CATALOG, t("2026-11-29"))
    assert amounts(first) == [2 * price("pro", Interval.YEAR)]
    assert first.account.subscriptions[0].period == Period(t("2026-11-29"), t("2027-11-29"))


def test_a_trial_under_second_granularity_lasts_exactly_its_days() -> None:
    # rule TR1 (and C3): Stripe-style, from the second it starts
    acc = account(granularity=Granularity.SECOND)
    q = quote(acc, CATALOG, t("2026-11-15T10:30"), [ChangePlan("pro", 1, trial=True)])
    assert q.account.subscriptions[0].period == Period(t("2026-11-15T10:30"), t("2026-11-29T10:30"))


def test_a_trial_cancelled_during_the_trial_ends_with_it_and_costs_nothing() -> None:
    # rule TR1 (and D1): cancelling waits for the trial's end, like Stripe's cancel_at_period_end; nothing is invoiced
    started = quote(account(), CATALOG, t("2026-11-15"), [ChangePlan("pro", 3, trial=True)])

    cancelled = quote(started.account, CATALOG, t("2026-11-20"), [Cancel()])
    end = renew(cancelled.account, CATALOG, t("2026-11-29"))

    assert cancelled.lines == ()
    assert cancelled.account.subscriptions[0].pending == (Pending(PendingKind.CANCEL, t("2026-11-29")),)
    assert end.lines == ()
    assert end.account.subscriptions == ()


def test_a_second_trial_is_refused_and_the_plan_can_be_bought_normally() -> None:
    # rule TR1: once per account
    used = replace(account(), trial_used=True)

    error = refusal(used, ChangePlan("pro", 3, trial=True))
    bought = quote(used, CATALOG, t("2026-11-15"), [ChangePlan("pro", 3)])

    assert (error.code, error.rule, error.field) == ("trial.already_used", "TR1", "trial")
    assert bought.amount_due == 3 * price("pro")


def test_a_trial_is_refused_for_a_plan_without_one_or_an_account_with_a_paid_plan() -> None:
    # rule TR1
    assert refusal(account(), ChangePlan("business_plus", 10, trial=True)).code == "trial.not_offered"
    held = account(sub("plan", "pro", 2, "2026-11-01", "2026-12-01"))
    assert refusal(held, ChangePlan("business", 10, trial=True)).code == "trial.plan_held"
    assert refusal(account(), ChangePlan("pro", 1, trial=True, billing_day=5)).field == "billing_day"


def test_an_add_on_bought_with_a_trial_is_co_termed_with_the_trial() -> None:
    # rule TR1 (and A5): the add-on is not part of the trial; it is charged up to the trial's end, then renews with it
    q = quote(account(), CATALOG, t("2026-11-15"), [ChangePlan("pro", 3, trial=True), AddAddon("webinar_500", 1)])

    addon = next(s for s in q.account.subscriptions if s.product == "webinar_500")
    assert addon.period.end == t("2026-11-29")
    assert q.amount_due > 0
