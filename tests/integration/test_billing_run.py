"""The billing run on SQLite and PostgreSQL: renewals, collection and dunning, restartable (rules C7, I1, I6, I8,
A8, X3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from prorata.adapters.db.schema import accounts, audit_log, invoices, outbox, payments, subscriptions
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.domain.cart import AddAddon, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.dunning import DunningPolicy
from prorata.domain.errors import ProrataError
from prorata.domain.periods import Interval
from prorata.services.pay_invoices import PayInvoices, PaymentReport, pay_invoices
from prorata.services.ports import Renewed
from prorata.services.renew_due import BillingRunReport, RenewDue, renew_due
from tests.helpers import CATALOG, price
from tests.integration.shop import Shop
from tests.races import together

NOV_15 = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
DEC_15 = datetime(2026, 12, 15, tzinfo=UTC)


def run(shop: Shop, at: datetime, until: datetime | None = None) -> BillingRunReport:
    shop.clock.at = at
    return renew_due(RenewDue(until or at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                     catalog=CATALOG, dunning=shop.dunning)  # fmt: skip


def invoice_rows(engine: Engine) -> list[tuple[str, int, int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(invoices.c.status, invoices.c.total, invoices.c.credit_applied, invoices.c.number)
            .where(invoices.c.number.is_not(None))
            .order_by(invoices.c.year, invoices.c.number)
        )
        return [(r.status, r.total, r.credit_applied, r.number) for r in rows]


def test_a_due_subscription_renews_at_full_price_and_is_paid_by_card(engine: Engine) -> None:
    # rules C7, I1: one invoice for the billing date, scheduled changes applied first
    shop = Shop(engine)
    shop.order(ChangePlan("business", 14), AddAddon("webinar_500", 2), key="buy")
    shop.clock.at = NOV_15 + timedelta(days=3)
    reduced = shop.order(SetLicenses(12), key="reduce")  # waits for Dec 15: nothing to invoice now
    assert (reduced.status, reduced.invoice_id) == ("placed", None)

    report = run(shop, DEC_15)

    assert report.invoices == ["INV-2026-000002"]
    assert invoice_rows(engine)[-1] == ("paid", 12 * price("business") + 2 * price("webinar_500"), 0, 2)
    assert shop.held() == [("business", 12), ("webinar_500", 2)]
    with engine.connect() as conn:
        ends = conn.execute(select(subscriptions.c.period_end).where(subscriptions.c.status == "active")).scalars()
        assert set(ends) == {datetime(2027, 1, 15, tzinfo=UTC)}


def test_running_again_bills_nothing_twice_and_a_late_run_catches_up_date_by_date(engine: Engine) -> None:
    # rules I1, X3
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    run(shop, DEC_15)
    assert run(shop, DEC_15).invoices == []
    late = run(shop, datetime(2027, 2, 20, tzinfo=UTC))
    assert late.invoices == ["INV-2027-000001", "INV-2027-000002"]  # Jan 15 and Feb 15, each once
    assert len(invoice_rows(engine)) == 4


class StoppingUnitOfWork(SqlUnitOfWork):
    """Dies after writing the renewals of the batch holding the account named, before committing them: the run is
    stopped there."""

    stop_at: int = 0

    def save_renewals(
        self, renewed: Sequence[Renewed], now: datetime, actor: str = "billing run"
    ) -> list[tuple[str | None, ...]]:
        numbers = super().save_renewals(renewed, now, actor)
        if any(r.account_id == self.stop_at for r in renewed):
            raise KeyboardInterrupt("the billing run is stopped here")
        return numbers


def test_a_run_stopped_half_way_and_started_again_bills_each_account_once(engine: Engine) -> None:
    # rule I1: three accounts due; the first run dies while renewing the second
    shops = [Shop(engine, code=code) for code in ("alpha", "beta", "gamma")]
    for shop in shops:
        shop.order(ChangePlan("pro", 1), key="a")
    StoppingUnitOfWork.stop_at = shops[1].account_id
    clock = shops[0].clock
    clock.at = DEC_15

    def stopping() -> SqlUnitOfWork:
        return StoppingUnitOfWork(engine, CATALOG.granularity)

    with pytest.raises(KeyboardInterrupt):
        renew_due(RenewDue(DEC_15, batch_size=1), uow=stopping, clock=clock, gateway=shops[0].gateway,
                  catalog=CATALOG, dunning=shops[0].dunning)  # fmt: skip
    first_run = len(invoice_rows(engine))
    report = run(shops[0], DEC_15)

    assert first_run == 3 + 1  # three orders and the first account's renewal
    assert len(report.invoices) == 2  # the two accounts the first run had not finished
    with engine.connect() as conn:
        renewed = conn.execute(select(invoices.c.account_id).where(invoices.c.billing_date == DEC_15)).scalars().all()
    assert sorted(renewed) == sorted(shop.account_id for shop in shops)
    shops[0].assert_books_balance()


def test_the_credit_balance_pays_a_renewal_first(engine: Engine) -> None:
    # rules C2, C7: the unused year credited on a switch to monthly pays the next months
    shop = Shop(engine)
    shop.order(ChangePlan("business", 10, interval=Interval.YEAR), key="year")
    shop.clock.at = datetime(2026, 12, 1, tzinfo=UTC)
    shop.order(ChangeInterval(Interval.MONTH), key="month")
    balance = shop.balance()

    run(shop, datetime(2027, 1, 1, tzinfo=UTC))

    assert invoice_rows(engine)[-1] == ("paid", 10 * price("business"), 10 * price("business"), 1)  # INV-2027-000001
    assert shop.balance() == balance - 10 * price("business")
    assert shop.count(payments) == 1  # only the yearly purchase touched the card


def test_a_renewal_paid_entirely_from_the_credit_balance_sends_its_receipt(engine: Engine) -> None:
    # rule I4: paid is paid, whether by card or by the balance: the receipt goes out with the invoice attached
    shop = Shop(engine)
    shop.add_user("owner@acme.test", "owner")
    shop.order(ChangePlan("business", 10, interval=Interval.YEAR), key="year")
    shop.clock.at = datetime(2026, 12, 1, tzinfo=UTC)
    shop.order(ChangeInterval(Interval.MONTH), key="month")

    report = run(shop, datetime(2027, 1, 1, tzinfo=UTC))

    with engine.connect() as conn:
        renewal = conn.execute(
            select(invoices.c.id, invoices.c.status, invoices.c.amount_due).where(invoices.c.billing_date.is_not(None))
        ).one()
        receipts = conn.execute(select(outbox.c.invoice_id).where(outbox.c.kind == "receipt")).scalars().all()
    assert report.invoices == ["INV-2027-000001"]
    assert (renewal.status, renewal.amount_due) == ("paid", 0)
    assert receipts == [renewal.id]


def failed_attempts(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(payments.c.id).where(payments.c.status == "failed")).all())


def test_a_failing_card_is_retried_then_the_account_is_overdue_then_cancelled(engine: Engine) -> None:
    # rules I8, I6: tried on the issue date, then 1, 3, 5 and 7 days later; overdue after the last; ended 30 days on
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")  # the card on file now declines

    run(shop, DEC_15)
    assert failed_attempts(engine) == 1
    for day, attempts in ((1, 2), (2, 2), (3, 3), (5, 4)):
        assert run(shop, DEC_15 + timedelta(days=day)).accounts_overdue == []
        assert failed_attempts(engine) == attempts
    last = run(shop, DEC_15 + timedelta(days=7))
    assert (last.accounts_overdue, failed_attempts(engine)) == ([shop.account_id], 5)
    assert invoice_rows(engine)[-1][0] == "open"
    with pytest.raises(ProrataError) as error:
        shop.order(SetLicenses(3), key="more")
    assert error.value.code == "account.overdue_locked"

    overdue_since = DEC_15 + timedelta(days=7)
    assert run(shop, overdue_since + timedelta(days=29)).accounts_cancelled == []
    assert shop.held() == [("pro", 2)]
    assert run(shop, overdue_since + timedelta(days=30)).accounts_cancelled == [shop.account_id]
    assert shop.held() == []


def attempt_days(engine: Engine) -> list[int]:
    """The days after Dec 15 on which the renewal's payment attempts were made."""
    with engine.connect() as conn:
        made = conn.execute(
            select(payments.c.created_at).where(payments.c.idempotency_key.like("invoice-%")).order_by(payments.c.id)
        ).scalars()
        return [(at - DEC_15).days for at in made]


def test_a_configured_schedule_retries_on_its_own_days_then_makes_the_account_overdue_and_cancels_it(
    engine: Engine,
) -> None:
    # rule I8 configured: retried 2 and 4 days after the issue date, overdue after the third failure, cancelled 10
    # days overdue; the run on every day in between does nothing more
    shop = Shop(engine, dunning=DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10))
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")  # the card on file now declines

    overdue_on = [day for day in range(8) if run(shop, DEC_15 + timedelta(days=day)).accounts_overdue]

    assert attempt_days(engine) == [0, 2, 4]
    assert overdue_on == [4]
    with engine.connect() as conn:
        since = conn.execute(select(accounts.c.overdue_since).where(accounts.c.id == shop.account_id)).scalar_one()
    assert since == DEC_15 + timedelta(days=4)
    cancelled_on = [day for day in range(8, 16) if run(shop, DEC_15 + timedelta(days=day)).accounts_cancelled]
    assert cancelled_on == [14]  # 10 days after it became overdue
    assert shop.held() == []
    assert attempt_days(engine) == [0, 2, 4]  # nothing tried after the last retry


def test_a_shortened_schedule_makes_an_account_past_its_last_attempt_overdue_at_the_next_run(engine: Engine) -> None:
    # rule I8 reconfigured: three attempts failed under the default schedule (days 0, 1, 3); the operator then allows
    # two attempts: no attempt more is made, the next run makes the account overdue and the cancellation counts from
    # then, with the e-mail naming its day
    shop = Shop(engine)
    shop.add_user("owner@shop.test", role="owner")
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    for day in (0, 1, 3):
        assert run(shop, DEC_15 + timedelta(days=day)).accounts_overdue == []
    shop.dunning = DunningPolicy(retry_after_days=(2,), cancel_after_overdue_days=10)

    report = run(shop, DEC_15 + timedelta(days=4))

    assert report.accounts_overdue == [shop.account_id]
    assert attempt_days(engine) == [0, 1, 3]  # nothing charged past the schedule
    with engine.connect() as conn:
        since = conn.execute(select(accounts.c.overdue_since).where(accounts.c.id == shop.account_id)).scalar_one()
        told = conn.execute(select(outbox.c.data).where(outbox.c.kind == "overdue")).scalars().all()
    assert since == DEC_15 + timedelta(days=4)
    assert len(told) == 1
    assert (DEC_15 + timedelta(days=14)).isoformat() in told[0]
    assert run(shop, DEC_15 + timedelta(days=5)).accounts_overdue == []  # told once
    assert run(shop, DEC_15 + timedelta(days=14)).accounts_cancelled == [shop.account_id]


def test_an_invoice_past_a_shortened_schedule_that_is_paid_meanwhile_makes_nobody_overdue(engine: Engine) -> None:
    # rules I6, I8: the run lists the invoice as past its last attempt, the customer pays it, then the run comes to
    # the account: read again under its locks, nothing is owed, and the account stays active
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    for day in (0, 1, 3):
        run(shop, DEC_15 + timedelta(days=day))
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
    paid: list[PaymentReport] = []

    class PaidOnceListed(DunningPolicy):
        """Two attempts; the customer pays the moment the run has listed the open invoices."""

        def collection_due(self, issued_at: datetime, attempts: int, waiting_since: datetime | None) -> datetime | None:
            if not paid:
                paid.append(pay_invoices(PayInvoices(shop.account_id, "pay-now"), uow=shop.uow, clock=shop.clock,
                                         gateway=shop.gateway))  # fmt: skip
            return DunningPolicy.collection_due(self, issued_at, attempts, waiting_since)

    shop.dunning = PaidOnceListed(retry_after_days=(2,), cancel_after_overdue_days=10)
    report = run(shop, DEC_15 + timedelta(days=4))

    assert paid[0].paid
    assert report.accounts_overdue == []
    with engine.connect() as conn:
        assert conn.execute(select(accounts.c.status).where(accounts.c.id == shop.account_id)).scalar_one() == "active"
    assert invoice_rows(engine)[-1][0] == "paid"


def test_a_one_month_product_ends_without_an_invoice(engine: Engine) -> None:
    # rule A8
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3), AddAddon("webinar_500_one_month", 1), key="buy")  # at 10:00
    report = run(shop, DEC_15 + timedelta(hours=12))  # the plan renews at midnight, the month ends at 10:00
    assert shop.held() == [("pro", 3)]
    assert invoice_rows(engine)[-1][1] == 3 * price("pro")
    assert report.invoices == ["INV-2026-000002"]


def test_an_overdue_account_cannot_buy(engine: Engine) -> None:
    # rule I6
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        conn.execute(update(accounts).values(status="overdue", overdue_since=DEC_15))
    with pytest.raises(ProrataError) as error:
        shop.order(SetLicenses(3), key="more")
    assert error.value.code == "account.overdue_locked"


def overdue_shop(engine: Engine) -> Shop:
    """A Pro account whose card declines: its Dec 15 renewal fails on every attempt and the account is overdue."""
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    for day in (0, 1, 3, 5, 7):
        run(shop, DEC_15 + timedelta(days=day))
    return shop


def test_the_billing_run_leaves_an_audit_trail(engine: Engine) -> None:
    # who changed what and when: renewals, failed attempts, overdue
    overdue_shop(engine)
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars().all()
    assert actions == ["order.placed", "renewed", *["payment.failed"] * 5, "account.overdue"]


def test_accounts_are_renewed_a_batch_at_a_time_and_numbered_without_gaps(engine: Engine) -> None:
    # rules I1, I2: five accounts in batches of two: each renewed once, the numbers consecutive in account order
    shops = [Shop(engine, code=f"shop{i}") for i in range(5)]
    for shop in shops:
        shop.order(ChangePlan("pro", 1), key="a")
    clock = shops[0].clock
    clock.at = DEC_15
    seen: list[tuple[int, int]] = []

    report = renew_due(
        RenewDue(DEC_15, batch_size=2), uow=shops[0].uow, clock=clock, gateway=shops[0].gateway, catalog=CATALOG,
        dunning=shops[0].dunning, progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip

    assert report.accounts == 5
    assert report.invoices == [f"INV-2026-{n:06d}" for n in range(6, 11)]  # after the five orders' invoices
    assert seen == [(2, 5), (4, 5), (5, 5)]
    with engine.connect() as conn:
        renewed = conn.execute(
            select(invoices.c.account_id).where(invoices.c.billing_date == DEC_15).order_by(invoices.c.number)
        ).scalars()
        assert list(renewed) == [shop.account_id for shop in shops]


def test_an_account_the_engine_refuses_is_reported_and_the_others_are_renewed(engine: Engine) -> None:
    # rule X4: a subscription to a product the catalog no longer has stops only its own account
    good, retired = Shop(engine, code="good"), Shop(engine, code="retired")
    good.order(ChangePlan("pro", 1), key="a")
    retired.order(ChangePlan("pro", 1), key="a")
    with engine.begin() as conn:
        conn.execute(
            update(subscriptions).where(subscriptions.c.account_id == retired.account_id).values(product="legacy")
        )

    report = run(good, DEC_15)

    assert report.accounts == 1
    assert [refused.account_id for refused in report.refused] == [retired.account_id]
    with engine.connect() as conn:
        ends = dict(conn.execute(select(subscriptions.c.account_id, subscriptions.c.period_end)).all())
        assert ends[good.account_id] > DEC_15 >= ends[retired.account_id]  # the refused one is left as it was
        assert conn.execute(select(invoices.c.account_id).where(invoices.c.billing_date == DEC_15)).scalars().all() == [
            good.account_id
        ]
        actions = conn.execute(
            select(audit_log.c.action).where(audit_log.c.account_id == retired.account_id)
        ).scalars().all()  # fmt: skip
        assert "renewal.refused" in actions


def test_collection_charges_each_invoice_once_with_several_collectors(engine: Engine) -> None:
    # rules I8, X3: four collectors at once, six accounts, one of them with a declining card
    shops = [Shop(engine, code=f"c{i}") for i in range(6)]
    for shop in shops:
        shop.order(ChangePlan("pro", 1), key="a")
    with engine.begin() as conn:
        shops[5].set_card(conn, "4000000000000002")
    clock = shops[0].clock
    clock.at = DEC_15

    report = renew_due(RenewDue(DEC_15, collectors=4), uow=shops[0].uow, clock=clock,
                       gateway=shops[0].gateway, catalog=CATALOG, dunning=shops[0].dunning)  # fmt: skip

    assert (report.payments_succeeded, report.payments_failed) == (5, 1)
    with engine.connect() as conn:
        keys = conn.execute(select(payments.c.idempotency_key)).scalars().all()
    assert len(keys) == len(set(keys)) == 6 + 6  # the six orders, then one attempt per renewal invoice
    assert [row[0] for row in invoice_rows(engine)[-6:]] == ["paid"] * 5 + ["open"]


def ended_after_30_days(shop: Shop) -> datetime:
    return DEC_15 + timedelta(days=7 + 30)


def cancellations(engine: Engine) -> tuple[int, int]:
    """The account.cancelled audit lines and the "cancelled" e-mails written."""
    with engine.connect() as conn:
        audits = conn.execute(select(audit_log.c.id).where(audit_log.c.action == "account.cancelled")).all()
        mails = conn.execute(select(outbox.c.id).where(outbox.c.kind == "cancelled")).all()
    return len(audits), len(mails)


def test_an_account_that_pays_while_the_run_ends_overdue_accounts_is_not_ended(engine: Engine) -> None:
    # rules I6, I8: the run reads the overdue accounts, the customer pays the last open invoice, then the run comes to
    # the account: it is read again under its lock and left as it is, active, its plan renewing
    shop = overdue_shop(engine)
    shop.add_user("owner@shop.test", role="owner")
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
    at = ended_after_30_days(shop)
    paid: list[PaymentReport] = []

    class PaysInBetween(DunningPolicy):
        """The default schedule; the customer pays the moment the run first asks when an account is cancelled."""

        def cancels_at(self, overdue_since: datetime) -> datetime:
            if not paid:
                paid.append(pay_invoices(PayInvoices(shop.account_id, "pay-late"), uow=shop.uow, clock=shop.clock,
                                         gateway=shop.gateway))  # fmt: skip
            return DunningPolicy.cancels_at(self, overdue_since)

    shop.clock.at = at
    report = renew_due(RenewDue(at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG,
                       dunning=PaysInBetween())  # fmt: skip

    assert paid[0].reenabled
    assert report.accounts_cancelled == []
    assert shop.held() == [("pro", 2)]
    assert cancellations(engine) == (0, 0)
    with engine.connect() as conn:
        assert conn.execute(select(accounts.c.status).where(accounts.c.id == shop.account_id)).scalar_one() == "active"


def test_two_runs_ending_the_same_overdue_account_end_it_once(engine: Engine) -> None:
    # rule I8 under concurrency: two runs released together end the account, release its licenses and tell the
    # customer once
    shop = overdue_shop(engine)
    shop.add_user("owner@shop.test", role="owner")  # the one the e-mail goes to
    shop.clock.at = ended_after_30_days(shop)

    def one_run() -> BillingRunReport:
        return renew_due(RenewDue(shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                         catalog=CATALOG, dunning=shop.dunning)  # fmt: skip

    reports = together([one_run, one_run])

    assert all(isinstance(report, BillingRunReport) for report in reports), reports
    assert sorted(len(report.accounts_cancelled) for report in reports) == [0, 1]
    assert cancellations(engine) == (1, 1)
    assert shop.held() == []


def test_a_customers_own_declined_payments_do_not_move_the_dunning_schedule(engine: Engine) -> None:
    # rules I6, I8: the run's attempts are on days 0, 1, 3, 5 and 7 whatever the customer tries in between; before,
    # four declines of the customer's own took the invoice out of collection and the account was never overdue
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    run(shop, DEC_15)
    for tried in range(4):
        report = pay_invoices(PayInvoices(shop.account_id, f"customer-{tried}"), uow=shop.uow, clock=shop.clock,
                              gateway=shop.gateway)  # fmt: skip
        assert report.failed
    assert failed_attempts(engine) == 5

    for day, made in ((1, 6), (3, 7), (5, 8)):
        assert run(shop, DEC_15 + timedelta(days=day)).accounts_overdue == []
        assert failed_attempts(engine) == made  # one attempt of the run each time
    assert run(shop, DEC_15 + timedelta(days=7)).accounts_overdue == [shop.account_id]
