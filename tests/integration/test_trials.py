"""Free trials stored and billed (rule TR1), on SQLite and PostgreSQL: a trial starts the plan at once and charges
nothing; the billing run e-mails the owner 3 days before it ends, exactly once even when runs race, and converts it at
its end with the first invoice and charge (or, without a card, leaves that invoice open for the usual dunning); a
trial is once per account."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select

from prorata.adapters.db.clock import move_clock, start_simulation
from prorata.adapters.db.schema import invoices, outbox, payment_methods, subscriptions, trials
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.domain.cart import AddAddon, Cancel, ChangePlan
from prorata.domain.errors import RuleViolation
from prorata.entrypoints.cli.main import main
from prorata.services import trials as trial_service
from prorata.services.preview_order import PreviewOrder, preview_order
from prorata.services.renew_due import BillingRunReport, RenewDue, renew_due
from tests.helpers import CATALOG, price
from tests.integration.shop import NOW, Shop
from tests.races import CountingGateway, together

TRIAL_START = datetime(2026, 11, 15, tzinfo=UTC)  # day granularity: the trial starts at the day's midnight
TRIAL_END = datetime(2026, 11, 29, tzinfo=UTC)  # 14 days later (the default catalog's Pro)
REMIND_AT = datetime(2026, 11, 26, tzinfo=UTC)  # 3 days before


def shop_on_trial(engine: Engine, *, card: bool = True, plan: str = "pro", licenses: int = 3) -> Shop:
    shop = Shop(engine)
    shop.gateway = CountingGateway(delay=0)
    shop.add_user("owner@acme.test", role="owner")
    if not card:
        with engine.begin() as conn:
            conn.execute(delete(payment_methods).where(payment_methods.c.account_id == shop.account_id))
    result = shop.order(ChangePlan(plan, licenses, trial=True), key="trial")
    assert result.status == "placed"
    return shop


def run(shop: Shop, at: datetime) -> BillingRunReport:
    shop.clock.at = at
    return renew_due(
        RenewDue(at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG, dunning=shop.dunning
    )


def mails(engine: Engine, kind: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.data).where(outbox.c.kind == kind).order_by(outbox.c.id)).scalars()
        return [json.loads(data) for data in rows]


def invoice_rows(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [(r.status, int(r.total)) for r in conn.execute(select(invoices.c.status, invoices.c.total))]


def test_a_trial_starts_the_plan_at_once_charges_nothing_and_issues_no_invoice(engine: Engine) -> None:
    # rule TR1
    shop = shop_on_trial(engine)

    assert shop.held() == [("pro", 3)]
    assert isinstance(shop.gateway, CountingGateway)
    assert shop.gateway.keys == []
    assert invoice_rows(engine) == []
    with engine.connect() as conn:
        period = conn.execute(select(subscriptions.c.period_start, subscriptions.c.period_end)).one()
        trial = conn.execute(select(trials)).one()
    assert tuple(period) == (TRIAL_START, TRIAL_END)
    assert (trial.product, trial.started_at, trial.ends_at, trial.reminded_at) == ("pro", TRIAL_START, TRIAL_END, None)


def test_the_owner_is_reminded_three_days_before_the_end_once(engine: Engine) -> None:
    # rule TR1: the reminder goes through the outbox with the trial's end and whether a card will be charged
    shop = shop_on_trial(engine)

    early = run(shop, datetime(2026, 11, 25, 23, 59, tzinfo=UTC))
    due = run(shop, REMIND_AT)
    again = run(shop, datetime(2026, 11, 27, tzinfo=UTC))

    assert (early.trials_reminded, due.trials_reminded, again.trials_reminded) == ([], [shop.account_id], [])
    assert mails(engine, "trial_ending") == [{"product": "pro", "effective": TRIAL_END.isoformat(), "card": True}]
    with engine.connect() as conn:
        recipients = conn.execute(select(outbox.c.recipients).where(outbox.c.kind == "trial_ending")).scalar_one()
    assert "owner@acme.test" in recipients


def test_the_trial_converts_at_its_end_with_the_first_invoice_charged_to_the_card(engine: Engine) -> None:
    # rule TR1 (and C7): the normal first invoice at full price, charged by the billing run
    shop = shop_on_trial(engine)

    report = run(shop, TRIAL_END)

    assert len(report.invoices) == 1
    assert report.payments_succeeded == 1
    assert invoice_rows(engine) == [("paid", 3 * price("pro"))]
    assert isinstance(shop.gateway, CountingGateway)
    assert shop.gateway.charges() == 1
    shop.assert_books_balance()


def test_without_a_card_the_first_invoice_stays_open_and_dunning_follows(engine: Engine) -> None:
    # rule TR1 (and I8): the plan's trial needs no card; its first invoice is left open and the owner told
    shop = shop_on_trial(engine, card=False)

    run(shop, REMIND_AT)
    report = run(shop, TRIAL_END)

    assert mails(engine, "trial_ending")[0]["card"] is False
    assert invoice_rows(engine) == [("open", 3 * price("pro"))]
    assert report.payments_failed == 1
    assert [m["attempt"] for m in mails(engine, "payment_failed")] == [1]


def test_a_trial_cancelled_during_the_trial_costs_nothing_and_ends_with_it(engine: Engine) -> None:
    # rule TR1 (and D1): the cancellation waits for the trial's end; no reminder of a charge that will not come
    shop = shop_on_trial(engine)
    shop.clock.at = datetime(2026, 11, 20, tzinfo=UTC)
    assert shop.order(Cancel(), key="cancel").status == "placed"

    reminded = run(shop, REMIND_AT)
    ended = run(shop, TRIAL_END)

    assert reminded.trials_reminded == []
    assert mails(engine, "trial_ending") == []
    assert ended.payments_succeeded == 0
    assert invoice_rows(engine) == []
    assert shop.held() == []


def test_a_second_trial_is_refused_and_the_plan_is_bought_normally(engine: Engine) -> None:
    # rule TR1: once per account, even after the first trial was cancelled and ended
    shop = shop_on_trial(engine)
    shop.clock.at = datetime(2026, 11, 20, tzinfo=UTC)
    shop.order(Cancel(), key="cancel")
    run(shop, TRIAL_END)
    shop.clock.at = datetime(2026, 12, 2, tzinfo=UTC)

    with pytest.raises(RuleViolation) as refused:
        shop.order(ChangePlan("pro", 2, trial=True), key="again")
    bought = shop.order(ChangePlan("pro", 2), key="bought")

    assert (refused.value.code, refused.value.rule, refused.value.field) == ("trial.already_used", "TR1", "trial")
    assert bought.status == "placed"
    assert bought.amount_due == 2 * price("pro")
    with engine.connect() as conn:
        assert len(conn.execute(select(trials)).all()) == 1


def test_a_trial_that_requires_a_card_is_refused_without_one_and_nothing_changes(engine: Engine) -> None:
    # rule TR1 (and X4): the catalog's Business asks for a card before its trial starts
    shop = Shop(engine)
    with engine.begin() as conn:
        conn.execute(delete(payment_methods).where(payment_methods.c.account_id == shop.account_id))

    with pytest.raises(RuleViolation) as previewed:
        preview_order(PreviewOrder(shop.account_id, (ChangePlan("business", 10, trial=True),)), uow=shop.uow,
                      clock=shop.clock, catalog=CATALOG)  # fmt: skip
    with pytest.raises(RuleViolation) as refused:
        shop.order(ChangePlan("business", 10, trial=True), key="trial")

    assert (previewed.value.code, refused.value.code) == ("trial.card_required", "trial.card_required")
    assert refused.value.field == "payment_method"
    assert shop.held() == []
    with engine.connect() as conn:
        assert conn.execute(select(trials)).all() == []


def test_a_trial_is_ordered_on_its_own(engine: Engine) -> None:
    # rule TR1: nothing is charged with a trial, so nothing else shares its cart
    shop = Shop(engine)

    with pytest.raises(RuleViolation) as refused:
        shop.order(ChangePlan("pro", 3, trial=True), AddAddon("webinar_500", 1), key="trial")

    assert refused.value.code == "trial.alone"
    assert shop.held() == []


def test_racing_billing_runs_write_the_reminder_once(engine: Engine) -> None:
    # rule TR1: four runs released together have each listed the trial as due before any claims it (a barrier
    # between the listing and the claim); the conditional claim lets exactly one write the e-mail
    shop = shop_on_trial(engine)
    shop.clock.at = REMIND_AT
    listed = threading.Barrier(4)
    opened = threading.local()

    def uow() -> SqlUnitOfWork:
        opened.count = getattr(opened, "count", 0) + 1
        if opened.count == 2:  # the claim's transaction: only once every run has listed the trial
            listed.wait(timeout=30)
        return shop.uow()

    results = together([lambda: trial_service.remind_ending(uow, shop.clock, CATALOG) for _ in range(4)])

    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    assert len(mails(engine, "trial_ending")) == 1
    with engine.connect() as conn:
        assert conn.execute(select(trials.c.reminded_at)).scalar_one() == REMIND_AT


def test_the_cli_lists_the_trials_and_writes_the_reminders_due_once(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule TR1: `prorata trials list` and `prorata trials remind`, on the installation's (simulated) clock
    start_simulation(engine, NOW)  # before any account: a database on the real clock refuses a simulation
    shop = shop_on_trial(engine)
    move_clock(engine, REMIND_AT)

    first = main(["trials", "remind", "--database", database_url])
    again = main(["trials", "remind", "--database", database_url])
    reminded = capsys.readouterr().out
    listed = main(["trials", "list", "--active", "--json", "--database", database_url])
    shown = json.loads(capsys.readouterr().out)

    assert (first, again, listed) == (0, 0, 0)
    assert reminded.splitlines() == [
        "1 trial reminders written to the outbox",
        "0 trial reminders written to the outbox",
    ]
    assert len(mails(engine, "trial_ending")) == 1
    assert shown == {"trials": [{"account": "acme", "account_id": shop.account_id, "product": "pro",
                                 "started_at": TRIAL_START.isoformat(), "ends_at": TRIAL_END.isoformat(),
                                 "reminded_at": REMIND_AT.isoformat()}]}  # fmt: skip
