"""Billing runs told as they go, on SQLite and PostgreSQL: a run is written as running before it renews anything,
ends with what it did and left, and a run that fails is still told, with why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from prorata.adapters.db.billing_run_log import SqlBillingRunLog, billing_run_view, billing_run_views
from prorata.domain.cart import ChangePlan
from prorata.services import billing_runs
from prorata.services.billing_runs import logged_run
from prorata.services.renew_due import RenewDue
from tests.helpers import CATALOG
from tests.integration.shop import NOW, FixedClock, Shop


def run(shop: Shop, until: object, **extra: object) -> object:
    return logged_run(RenewDue(until), actor="prorata bill", log=SqlBillingRunLog(shop.engine),  # type: ignore[arg-type]
                      wall=FixedClock(NOW), uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG,
                      dunning=shop.dunning, **extra)  # type: ignore[arg-type]  # fmt: skip


def test_a_run_is_told_with_its_progress_what_it_did_and_its_invoices(engine: Engine) -> None:
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3))
    renewal = NOW + timedelta(days=31)
    shop.clock.at = renewal
    seen: list[tuple[int, int]] = []
    report = run(shop, renewal, progress=lambda done, due: seen.append((done, due)))
    with engine.connect() as conn:
        (told,) = billing_run_views(conn)
    assert seen[-1] == (1, 1)
    assert (told.status, told.actor, told.accounts_done, told.accounts_due) == ("finished", "prorata bill", 1, 1)
    assert told.summary["accounts"] == report.accounts == 1  # type: ignore[attr-defined]
    assert told.summary["invoices"] == 1
    assert told.summary["first_invoice"] == told.summary["last_invoice"] == report.invoices[0]  # type: ignore[attr-defined]
    assert told.problems["refused"] == []


def test_a_run_that_fails_is_told_as_failed_with_why(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    shop = Shop(engine)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(billing_runs, "renew_due", broken)
    with pytest.raises(RuntimeError):
        run(shop, NOW)
    with engine.connect() as conn:
        (told,) = billing_run_views(conn)
        assert billing_run_view(conn, told.id) == told
    assert (told.status, told.error) == ("failed", "RuntimeError: the database went away")
    assert told.finished_at is not None


def test_a_run_tells_each_payment_the_gateway_refused_and_why(engine: Engine) -> None:
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3))
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")  # declines from now on
    renewal = NOW + timedelta(days=31)
    shop.clock.at = renewal
    report = run(shop, renewal)
    with engine.connect() as conn:
        (told,) = billing_run_views(conn)
    assert report.payments_failed == 1  # type: ignore[attr-defined]
    assert told.summary["payments_failed"] == 1
    assert [(f["account_id"], f["code"]) for f in told.problems["failed"]] == [(shop.account_id, "card_declined")]
