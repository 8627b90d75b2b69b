"""Renewal on access (rules C7, I1, I2, X3): an account whose period has ended is renewed when it is next touched,
by the billing run's own code, before anything is priced on it, so a customer is never refused for being behind the
run; the run then finds nothing to renew for it. On SQLite and PostgreSQL, races with real concurrent connections.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from prorata.adapters.db.schema import audit_log, invoice_lines, invoices, outbox, subscriptions
from prorata.domain.cart import AddAddon, ChangePlan, SetLicenses
from prorata.domain.errors import ProrataError
from prorata.domain.invoice_lines import Quote
from prorata.services.preview_order import PreviewOrder, preview_order
from prorata.services.renew_account import RenewAccount, renew_account
from prorata.services.renew_due import BillingRunReport, RenewDue, renew_due
from tests.helpers import CATALOG, price
from tests.integration.shop import Shop
from tests.integration.test_billing_run import DEC_15
from tests.integration.test_runs_finish_their_day import order_in_flight
from tests.races import together

DEC_20 = datetime(2026, 12, 20, 9, 0, tzinfo=UTC)


def run(shop: Shop, at: datetime) -> BillingRunReport:
    shop.clock.at = at
    return renew_due(RenewDue(at, wait=10), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                     catalog=CATALOG, dunning=shop.dunning)  # fmt: skip


def touch(shop: Shop, at: datetime) -> Any:
    shop.clock.at = at
    return renew_account(RenewAccount(shop.account_id), uow=shop.uow, clock=shop.clock, catalog=CATALOG)


def preview(shop: Shop, *changes: Any) -> Quote:
    return preview_order(PreviewOrder(shop.account_id, changes), uow=shop.uow, clock=shop.clock, catalog=CATALOG)


def renewals(engine: Engine, account_id: int) -> list[dict[str, Any]]:
    """The account's renewal invoices as a customer sees them: everything but the row ids, the number and the seal
    (a hash of the document, its account and number included)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(invoices).where(invoices.c.account_id == account_id, invoices.c.billing_date.is_not(None))
        ).mappings()
        out = []
        for row in rows:
            lines = conn.execute(
                select(invoice_lines).where(invoice_lines.c.invoice_id == row["id"]).order_by(invoice_lines.c.id)
            ).mappings()
            invoice = {k: v for k, v in row.items() if k not in ("id", "account_id", "number", "content_hash")}
            invoice["lines"] = [
                {k: v for k, v in line.items() if k not in ("id", "invoice_id", "subscription_id")} for line in lines
            ]
            out.append(invoice)
        return out


def numbers(engine: Engine, account_id: int) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(invoices.c.number).where(
                    invoices.c.account_id == account_id, invoices.c.billing_date.is_not(None)
                )
            ).scalars()
        )


def held(engine: Engine, account_id: int) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(subscriptions.c.product, subscriptions.c.quantity)
            .where(subscriptions.c.account_id == account_id, subscriptions.c.status == "active")
            .order_by(subscriptions.c.id)
        )
        return [(r.product, r.quantity) for r in rows]


def mail_kinds(engine: Engine, account_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox.c.kind).where(outbox.c.account_id == account_id)).scalars())


def twins(engine: Engine) -> tuple[Shop, Shop]:
    """Two accounts alike: Business with a Webinar add-on and a reduction waiting for Dec 15."""
    first, second = Shop(engine, code="first"), Shop(engine, code="second")
    for shop in (first, second):
        shop.add_user(f"owner@{shop.account_id}.test", "owner")
        shop.order(ChangePlan("business", 14), AddAddon("webinar_500", 2), key="buy")
        shop.clock.at += timedelta(days=3)
        shop.order(SetLicenses(12), key="reduce")
    return first, second


def test_an_account_touched_after_its_period_ended_gets_the_billing_runs_renewal(engine: Engine) -> None:
    # rules C7, I1, I2: the same invoice (lines, periods, amounts, tax, credit), numbered from the same counter,
    # with the same e-mails and audit entry; the run then renews only the account nobody touched
    touched, untouched = twins(engine)

    renewal = touch(touched, DEC_20)
    report = run(untouched, DEC_20)

    assert renewal.state == "renewed"
    assert report.accounts == 1
    assert report.invoices == [f"INV-2026-{numbers(engine, untouched.account_id)[0]:06d}"]
    assert renewal.invoices == (f"INV-2026-{numbers(engine, touched.account_id)[0]:06d}",)
    assert numbers(engine, untouched.account_id)[0] == numbers(engine, touched.account_id)[0] + 1  # no gap
    ours, runs = renewals(engine, touched.account_id), renewals(engine, untouched.account_id)
    assert len(ours) == 1
    assert ours == runs
    assert ours[0]["billing_date"] == DEC_15
    assert ours[0]["subtotal"] == 12 * price("business") + 2 * price("webinar_500")
    assert mail_kinds(engine, touched.account_id) == mail_kinds(engine, untouched.account_id)
    assert (
        held(engine, touched.account_id)
        == held(engine, untouched.account_id)
        == [
            ("business", 12),
            ("webinar_500", 2),
        ]
    )
    with engine.connect() as conn:
        audit = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail)
            .where(audit_log.c.action == "renewed")
            .order_by(audit_log.c.id)
        ).all()
    assert [actor for actor, _ in audit] == ["renewal on access", "billing run"]
    assert [json.loads(detail)["billing_date"] for _, detail in audit] == [DEC_15.isoformat()] * 2
    # the run collects the renewal it found made, as it collects every open invoice on its issue date
    assert report.payments_succeeded == 2


def test_touching_an_account_again_or_running_the_billing_after_it_renews_nothing_more(engine: Engine) -> None:
    # rules I1, X3: idempotent
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")

    first = touch(shop, DEC_20)
    second = touch(shop, DEC_20)
    report = run(shop, DEC_20)

    assert (first.state, len(first.invoices), second.state) == ("renewed", 1, "not_due")
    assert (report.accounts, report.invoices, report.busy, report.complete) == (0, [], [], True)
    assert len(renewals(engine, shop.account_id)) == 1


def test_a_late_touch_catches_up_date_by_date_like_the_run(engine: Engine) -> None:
    # rule C7: Dec 15, Jan 15 and Feb 15, each once
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")

    renewal = touch(shop, datetime(2027, 2, 20, tzinfo=UTC))

    assert renewal.invoices == ("INV-2027-000001", "INV-2027-000002", "INV-2027-000003")  # issued on Feb 20
    assert [r["billing_date"].month for r in renewals(engine, shop.account_id)] == [12, 1, 2]


def test_an_order_after_the_period_ended_renews_the_account_then_is_priced_on_the_new_period(engine: Engine) -> None:
    # rules C7, L2: no "renew it first"; the two added licenses are charged from Dec 20 to Jan 15
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    shop.clock.at = DEC_20

    placed = shop.order(SetLicenses(4), key="more")

    assert placed.status == "placed"
    with engine.connect() as conn:
        line = conn.execute(
            select(
                invoice_lines.c.amount, invoice_lines.c.period_end, invoice_lines.c.used, invoice_lines.c.whole
            ).where(invoice_lines.c.invoice_id == placed.invoice_id)
        ).one()
    assert (line.period_end, line.used, line.whole) == (datetime(2027, 1, 15, tzinfo=UTC), 26, 31)
    assert line.amount == (2 * 2 * price("pro") * 26 + 31) // (2 * 31)  # 26 of 31 days, half up (rule C4)
    assert [r["billing_date"] for r in renewals(engine, shop.account_id)] == [DEC_15]
    assert run(shop, DEC_20).accounts == 0


def test_a_quote_after_the_period_ended_is_priced_on_the_renewed_period(engine: Engine) -> None:
    # rules C6, C7: the quote's one write is the renewal the run would make
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    shop.clock.at = DEC_20

    quoted = preview(shop, SetLicenses(4))

    assert [(line.period.end, line.used, line.whole) for line in quoted.lines] == [
        (datetime(2027, 1, 15, tzinfo=UTC), 26, 31)
    ]
    assert len(renewals(engine, shop.account_id)) == 1
    assert shop.order(SetLicenses(4), key="more").amount_due == quoted.amount_due  # rule C6


def test_a_quote_on_an_account_whose_renewal_waits_for_an_order_says_so(engine: Engine) -> None:
    # rule C7: the order in flight was priced on the period that has ended; the renewal waits for it
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    gateway, thread = order_in_flight(shop)
    try:
        shop.clock.at = DEC_20
        with pytest.raises(ProrataError) as error:
            preview(shop, SetLicenses(5))
    finally:
        gateway.release.set()
        thread.join(timeout=30)

    assert (error.value.code, error.value.rule, error.value.field) == ("account.renewal_waiting", "C7", None)
    assert "an order of this account being paid for" in error.value.message
    assert preview(shop, SetLicenses(5)).lines  # the order settled: renewed on this touch, then priced
    assert [r["subtotal"] for r in renewals(engine, shop.account_id)] == [3 * price("pro")]


def test_an_account_the_engine_refuses_to_renew_is_refused_a_quote_with_the_reason_and_left_as_it_was(
    engine: Engine,
) -> None:
    # rule X4: a product the catalog no longer prices; the run lists it for the operator, the customer is told
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        conn.execute(update(subscriptions).values(product="legacy"))
    shop.clock.at = DEC_20

    with pytest.raises(ProrataError) as error:
        preview(shop, SetLicenses(5))
    renewal = touch(shop, DEC_20)

    assert (error.value.code, error.value.rule, error.value.field) == ("account.renewal_refused", "C7", None)
    assert "product.unknown" in error.value.message
    assert (renewal.state, renewal.refusal and renewal.refusal.code) == ("refused", "product.unknown")
    assert renewals(engine, shop.account_id) == []
    with engine.connect() as conn:
        assert conn.execute(select(audit_log.c.action).where(audit_log.c.action == "renewal.refused")).all() == []
    assert [r.account_id for r in run(shop, DEC_20).refused] == [shop.account_id]


def test_two_touches_and_a_billing_run_at_once_renew_each_account_once(engine: Engine) -> None:
    # rules I1, I2, X3: a quote, an order and the run released together on three accounts; whoever takes an
    # account's lock first renews it, the others find it renewed; the numbers stay gap-free
    shops = [Shop(engine, code=f"race{n}") for n in range(3)]
    for shop in shops:
        shop.order(ChangePlan("pro", 2), key="buy")
        shop.clock.at = DEC_20

    def billing_run() -> BillingRunReport:
        return renew_due(RenewDue(DEC_20, wait=20), uow=shops[0].uow, clock=shops[0].clock, gateway=shops[0].gateway,
                         catalog=CATALOG, dunning=shops[0].dunning)  # fmt: skip

    calls: list[Callable[[], object]] = [billing_run]
    for shop in shops:
        calls.append(lambda shop=shop: preview(shop, SetLicenses(3)))
        calls.append(lambda shop=shop: shop.order(SetLicenses(4), key="more"))
    results = together(calls)

    assert not [r for r in results if isinstance(r, BaseException)], results
    report = results[0]
    assert (report.not_renewed, report.refused, report.complete) == ([], [], True)
    for shop in shops:
        assert [r["billing_date"] for r in renewals(engine, shop.account_id)] == [DEC_15]
        assert held(engine, shop.account_id) == [("pro", 4)]
    with engine.connect() as conn:
        taken = sorted(conn.execute(select(invoices.c.number).where(invoices.c.number.is_not(None))).scalars())
    assert taken == list(range(1, len(taken) + 1))
    assert len(taken) == 3 * 3  # per account: the first order, the renewal, the order placed after it
    assert run(shops[0], DEC_20).accounts == 0
    shops[0].assert_books_balance()
