"""The billing run's collection a batch at a time: every invoice due charged once at the gateway and recorded once in
the books, however many runs collect the same day at once (rules I8, X3). On SQLite and PostgreSQL; the runs are
released together at a barrier, each with connections of its own."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, func, select

from prorata.adapters.db.schema import invoices, payments
from prorata.domain.cart import ChangePlan
from prorata.services.renew_due import BillingRunReport, collect_due, invoice_due
from tests.helpers import CATALOG, price
from tests.integration.shop import Shop
from tests.integration.test_billing_run import DEC_15
from tests.races import CountingGateway, together

ACCOUNTS = 14
DECLINED = {3, 8, 13}  # the accounts whose card declines


def due_day(engine: Engine) -> tuple[Shop, dict[int, int]]:
    """Accounts renewed on Dec 15 and not yet collected; their renewal invoices (id -> total)."""
    shops = [Shop(engine, code=f"c{i}") for i in range(ACCOUNTS)]
    for i, shop in enumerate(shops):
        shop.order(ChangePlan("pro", 1 + i % 3), key="buy")
    with engine.begin() as conn:
        for i in DECLINED:
            shops[i].set_card(conn, "4000000000000002")
    first = shops[0]
    first.clock.at = DEC_15
    invoice_due(DEC_15, first.uow, first.clock, CATALOG, BillingRunReport())
    with engine.connect() as conn:
        rows = conn.execute(select(invoices.c.id, invoices.c.total).where(invoices.c.billing_date == DEC_15)).all()
    assert len(rows) == ACCOUNTS
    assert sum(int(total) for _, total in rows) == sum((1 + i % 3) * price("pro") for i in range(ACCOUNTS))
    return first, {int(i): int(total) for i, total in rows}


def test_two_collections_released_together_charge_each_invoice_once(engine: Engine) -> None:
    # rules X3, I8: two runs over the same due invoices, in small batches, two batches at once each
    shop, due = due_day(engine)
    gateway = CountingGateway(delay=0.02)
    reports = [BillingRunReport(), BillingRunReport()]

    def collection(report: BillingRunReport) -> None:
        collect_due(shop.uow, shop.clock, gateway, report, workers=2, batch_size=3, wait=20, dunning=shop.dunning)

    results = together([lambda: collection(reports[0]), lambda: collection(reports[1])])

    assert results == [None, None]
    # at the gateway: each invoice's first attempt asked once, and nothing else
    assert Counter(gateway.keys) == {f"invoice-{invoice_id}-attempt-1": 1 for invoice_id in due}
    # in the books: one payment per invoice, paid where the card pays
    with engine.connect() as conn:
        made = conn.execute(
            select(payments.c.invoice_id, payments.c.status, payments.c.amount).where(payments.c.invoice_id.in_(due))
        ).all()
        paid_total = conn.execute(
            select(func.coalesce(func.sum(invoices.c.total), 0)).where(
                invoices.c.id.in_(due), invoices.c.status == "paid", invoices.c.amount_due == 0
            )
        ).scalar_one()
    assert Counter(int(invoice_id) for invoice_id, _, _ in made) == dict.fromkeys(due, 1)
    declined = len(DECLINED)
    assert Counter(status for _, status, _ in made) == {"succeeded": ACCOUNTS - declined, "failed": declined}
    taken = sum(int(amount) for _, status, amount in made if status == "succeeded")
    assert (
        taken
        == paid_total
        == sum(total for invoice_id, total in due.items()) - sum((1 + i % 3) * price("pro") for i in DECLINED)
    )
    # the two reports together tell each outcome once, and nothing is left unattempted
    assert sum(r.payments_succeeded for r in reports) == ACCOUNTS - declined
    assert sum(r.payments_failed for r in reports) == declined
    assert not any(r.not_attempted for r in reports)
    shop.assert_books_balance()


def test_a_collection_in_batches_answers_as_one_at_a_time(engine: Engine) -> None:
    # rules I8, X3: a batch of one and batches of five leave the same books and the same report
    shop, due = due_day(engine)
    report = BillingRunReport()

    collect_due(shop.uow, shop.clock, shop.gateway, report, batch_size=5, dunning=shop.dunning)

    assert (report.payments_succeeded, report.payments_failed, report.not_attempted) == (
        ACCOUNTS - len(DECLINED), len(DECLINED), [],
    )  # fmt: skip
    again = BillingRunReport()
    collect_due(shop.uow, shop.clock, shop.gateway, again, batch_size=1, dunning=shop.dunning)
    assert (again.payments_succeeded, again.payments_failed) == (0, 0)  # the attempt due is made: nothing twice
    with engine.connect() as conn:
        keys = conn.execute(select(payments.c.idempotency_key).where(payments.c.invoice_id.in_(due))).scalars().all()
    assert sorted(keys) == sorted(f"invoice-{invoice_id}-attempt-1" for invoice_id in due)
    shop.assert_books_balance()


def test_each_payment_a_batch_declines_is_reported_with_the_gateways_own_reason(engine: Engine) -> None:
    # rule I8: a batch's declines are settled together, and each failure keeps the reason given for its own invoice
    cards = {"declined": "4000000000000002", "poor": "4000000000009995", "expired": "4000000000000069"}
    shops = {code: Shop(engine, code=code) for code in cards}
    for shop in shops.values():
        shop.order(ChangePlan("pro", 1), key="buy")
    with engine.begin() as conn:
        for code, shop in shops.items():
            shop.set_card(conn, cards[code])
    first = shops["declined"]
    first.clock.at = DEC_15
    invoice_due(DEC_15, first.uow, first.clock, CATALOG, BillingRunReport())
    report = BillingRunReport()

    collect_due(first.uow, first.clock, first.gateway, report, batch_size=5, dunning=first.dunning)

    reasons = {failed.account_id: failed.code for failed in report.failed}
    assert reasons == {shops["declined"].account_id: "card_declined", shops["poor"].account_id: "insufficient_funds",
                       shops["expired"].account_id: "expired_card"}  # fmt: skip
