"""The backup payment method in the billing run's collection (rule BM1), on the sandbox and on the Stripe adapter
against the local stand-in for Stripe's API, each on SQLite and PostgreSQL.

A renewal's charge on the default (primary) method that the gateway declines goes on, in the same attempt, to the
account's backup method, with a key of its own derived from the attempt's; a processing error, a charge waiting for
the customer and an order placed in the portal never do. The payment attempt log shows both charges."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.queries import invoice_view
from prorata.adapters.db.schema import audit_log, events, invoices, outbox, payments
from prorata.domain.cart import ChangePlan
from prorata.services.reconcile import reconcile
from prorata.services.renew_due import BillingRunReport, RenewDue, collect_due, invoice_due, renew_due
from tests.helpers import CATALOG, price
from tests.integration.shop import Shop, stripe_gateway
from tests.races import CountingGateway, Holder, together
from tests.stripe_standin import StripeStandIn

DEC_15 = datetime(2026, 12, 15, tzinfo=UTC)
DECLINED, GOOD = "4000000000000002", "4242424242424242"
PROCESSING_ERROR, CONFIRM = "4000000000000119", "4000002760003184"


@pytest.fixture(params=["sandbox", "stripe"])
def gateway(request: pytest.FixtureRequest, standin: StripeStandIn) -> StripeStandIn | None:
    """None: the sandbox; the stand-in: the Stripe adapter."""
    return standin if request.param == "stripe" else None


def customer(engine: Engine, gateway: StripeStandIn | None, primary: str, backup: str | None) -> Shop:
    """An account on Pro x 2 since Nov 15, renewed on Dec 15, whose default card is ``primary``, with ``backup`` as
    its backup method (rule BM1), and an owner who hears of its billing (rule I4)."""
    shop = Shop(engine, stripe=gateway)
    if gateway is None:
        shop.gateway = CountingGateway(delay=0)  # the sandbox, remembering every key it was asked to charge with
    shop.add_user("owner@acme.test", role="owner")
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, primary)
        if backup is not None:
            shop.set_card(conn, backup, backup=True)
    return shop


def run(shop: Shop, at: datetime) -> BillingRunReport:
    shop.clock.at = at
    return renew_due(
        RenewDue(at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG, dunning=shop.dunning
    )


def renewal(engine: Engine) -> tuple[int, str, int]:
    """The renewal invoice: id, status, amount due."""
    with engine.connect() as conn:
        row = conn.execute(
            select(invoices.c.id, invoices.c.status, invoices.c.amount_due).where(invoices.c.billing_date == DEC_15)
        ).one()
    return int(row.id), row.status, int(row.amount_due)


def attempts(engine: Engine, invoice_id: int) -> list[tuple[str, str, str | None, bool]]:
    """The invoice's payments in order: (key, status, failure, charged to the backup)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(payments.c.idempotency_key, payments.c.status, payments.c.failure_code, payments.c.backup)
            .where(payments.c.invoice_id == invoice_id)
            .order_by(payments.c.id)
        ).all()
    return [(r[0], r[1], r[2], bool(r[3])) for r in rows]


def mails(engine: Engine) -> list[tuple[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.kind, outbox.c.data).order_by(outbox.c.id)).all()
    return [(kind, json.loads(data)) for kind, data in rows]


def asked(gateway: StripeStandIn | None, shop: Shop) -> Counter[str]:
    """The idempotency keys the gateway was asked to charge with (Stripe: what reached the stand-in)."""
    if isinstance(shop.gateway, CountingGateway):
        return Counter(shop.gateway.keys)
    assert gateway is not None
    return Counter(r.idempotency_key or "" for r in gateway.seen("POST", "/v1/payment_intents"))


def test_a_declined_renewal_charge_is_paid_by_the_backup_method_in_the_same_attempt(
    engine: Engine, gateway: StripeStandIn | None
) -> None:
    # rule BM1: the primary's decline, then the backup's charge with its own key derived from the attempt's
    shop = customer(engine, gateway, DECLINED, GOOD)

    report = run(shop, DEC_15)

    invoice_id, status, due = renewal(engine)
    first = f"invoice-{invoice_id}-attempt-1"
    assert (status, due) == ("paid", 0)
    assert (report.payments_succeeded, report.payments_failed, report.accounts_overdue) == (1, 0, [])
    assert attempts(engine, invoice_id) == [(first, "failed", "card_declined", False),
                                            (first + "-backup", "succeeded", None, True)]  # fmt: skip
    assert asked(gateway, shop)[first] == 1
    assert asked(gateway, shop)[first + "-backup"] == 1
    # the payment attempt log (rule I5) shows both charges, each with its method
    with engine.connect() as conn:
        view = invoice_view(conn, shop.account_id, invoice_id)
    assert view is not None
    assert [(p.status, p.method, p.backup) for p in view.payments] == [
        ("failed", "Visa •••• 0002", False), ("succeeded", "Visa •••• 4242", True)]  # fmt: skip
    # the attempt paid: a receipt, no e-mail of a failed payment; the primary's decline is an event and an audit line
    kinds = [kind for kind, _ in mails(engine)]
    assert kinds.count("receipt") == 1
    assert "payment_failed" not in kinds
    with engine.connect() as conn:
        told = conn.execute(select(events.c.type).where(events.c.object_id == str(invoice_id))).scalars().all()
        audited = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "payment.backup_attempted"))
        detail = [json.loads(d) for d in audited.scalars()]
    assert told.count("invoice.payment_failed") == 1
    assert told.count("invoice.paid") == 1
    assert [(d["invoice"], d["attempt"], d["declined"]) for d in detail] == [(invoice_id, 1, "card_declined")]
    # run again the same day: the attempt is made, nothing more is charged
    again = run(shop, DEC_15 + timedelta(hours=1))
    assert (again.payments_succeeded, again.payments_failed) == (0, 0)
    assert len(attempts(engine, invoice_id)) == 2
    shop.assert_books_balance()


def test_a_declined_backup_makes_one_failed_attempt_and_dunning_goes_on_to_overdue(
    engine: Engine, gateway: StripeStandIn | None
) -> None:
    # rules BM1, I8: both charges of an attempt declined are one failed attempt: one e-mail, the next attempt a day
    # later tries both again, and after the last the account is overdue
    shop = customer(engine, gateway, DECLINED, "4000000000009995")

    overdue = [run(shop, DEC_15 + timedelta(days=day)).accounts_overdue for day in (0, 1, 3, 5, 7)]

    assert overdue == [[], [], [], [], [shop.account_id]]
    invoice_id, status, _ = renewal(engine)
    assert status == "open"
    made = attempts(engine, invoice_id)
    assert [(key, backup) for key, _, _, backup in made] == [
        (f"invoice-{invoice_id}-attempt-{n}{suffix}", suffix != "") for n in range(1, 6) for suffix in ("", "-backup")
    ]
    assert {(status, failure) for _, status, failure, _ in made} == {("failed", "card_declined"),
                                                                      ("failed", "insufficient_funds")}  # fmt: skip
    failed = [data["attempt"] for kind, data in mails(engine) if kind == "payment_failed"]
    assert failed == [1, 2, 3, 4, 5]
    shop.assert_books_balance()


@pytest.mark.parametrize(("primary", "state"), [(PROCESSING_ERROR, "failed"), (CONFIRM, "action_required")])
def test_a_processing_error_or_a_charge_waiting_for_the_customer_does_not_fall_back(
    engine: Engine, gateway: StripeStandIn | None, primary: str, state: str
) -> None:
    # rule BM1: not a decline of the method; the same method is tried again at the next attempt (or confirmed)
    shop = customer(engine, gateway, primary, GOOD)

    run(shop, DEC_15)

    invoice_id, status, _ = renewal(engine)
    assert status == "open"
    assert [(s, backup) for _, s, _, backup in attempts(engine, invoice_id)] == [(state, False)]
    assert asked(gateway, shop)[f"invoice-{invoice_id}-attempt-1-backup"] == 0
    shop.assert_books_balance()


def test_a_backup_charge_waiting_for_the_customer_is_given_up_when_the_next_attempt_is_due(
    engine: Engine, gateway: StripeStandIn | None
) -> None:
    # rules BM1, I8 with 3-D Secure on the backup: the attempt waits for the customer until the next attempt's day,
    # when the waiting charge is cancelled and the next attempt tries the primary, then the backup, again
    shop = customer(engine, gateway, DECLINED, CONFIRM)

    first = run(shop, DEC_15)
    meanwhile = run(shop, DEC_15 + timedelta(hours=12))
    second = run(shop, DEC_15 + timedelta(days=1))

    invoice_id, status, _ = renewal(engine)
    key = f"invoice-{invoice_id}-attempt-"
    assert (first.payments_waiting, meanwhile.payments_waiting, second.payments_waiting) == (1, 0, 1)
    assert status == "open"
    assert [(k, s, backup) for k, s, _, backup in attempts(engine, invoice_id)] == [
        (key + "1", "failed", False), (key + "1-backup", "failed", True),
        (key + "2", "failed", False), (key + "2-backup", "action_required", True),
    ]  # fmt: skip
    kinds = [kind for kind, _ in mails(engine)]
    assert kinds.count("payment_action_required") == 2
    assert "payment_failed" not in kinds  # the customer was told by the confirmation's e-mail
    shop.assert_books_balance()


def test_without_a_backup_a_decline_is_a_failed_attempt_as_before(
    engine: Engine, gateway: StripeStandIn | None
) -> None:
    shop = customer(engine, gateway, DECLINED, None)

    report = run(shop, DEC_15)

    invoice_id, status, _ = renewal(engine)
    assert (status, report.payments_failed) == ("open", 1)
    assert [(s, backup) for _, s, _, backup in attempts(engine, invoice_id)] == [("failed", False)]
    assert [data["attempt"] for kind, data in mails(engine) if kind == "payment_failed"] == [1]


def test_an_order_in_the_portal_is_charged_to_the_default_method_only(
    engine: Engine, gateway: StripeStandIn | None
) -> None:
    # rule BM1 says a renewal charge: a buyer at the checkout sees the decline and chooses (rule K7)
    shop = Shop(engine, card=DECLINED, stripe=gateway)
    with engine.begin() as conn:
        shop.set_card(conn, GOOD, backup=True)

    failed = shop.order(ChangePlan("business", 10), key="buy")

    assert (failed.status, failed.failure_code, shop.held()) == ("failed", "card_declined", [])
    with engine.connect() as conn:
        made = conn.execute(select(payments.c.status, payments.c.backup)).all()
    assert [(s, bool(b)) for s, b in made] == [("failed", False)]
    shop.assert_books_balance()


def test_a_crash_after_the_primary_was_declined_leaves_the_backup_to_reconciliation_with_the_same_key(
    engine: Engine, gateway: StripeStandIn | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rules BM1, X3: the primary's decline and the backup's intent were committed together; the process died while
    # the backup was at the gateway. Reconciliation asks with the backup's key and charges nothing more, and the
    # collection that follows finds the attempt made
    shop = customer(engine, gateway, DECLINED, GOOD)
    charge = shop.gateway.charge

    def dies_at_the_backup(token: str, amount: int, currency: str, key: str) -> Any:
        result = charge(token, amount, currency, key)
        if key.endswith("-backup"):
            raise SystemExit("killed after the gateway answered the backup's charge")
        return result

    monkeypatch.setattr(shop.gateway, "charge", dies_at_the_backup)
    with pytest.raises(SystemExit):
        run(shop, DEC_15)
    monkeypatch.undo()
    invoice_id = renewal(engine)[0]
    assert [(s, backup) for _, s, _, backup in attempts(engine, invoice_id)] == [("failed", False), ("pending", True)]

    shop.gateway = shop.gateway if gateway is None else stripe_gateway(gateway)  # a new process
    shop.clock.at = DEC_15 + timedelta(hours=1)
    done = reconcile(uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG)
    later = run(shop, DEC_15 + timedelta(days=1))

    assert done.invoices_paid == [invoice_id]
    assert renewal(engine)[1] == "paid"
    assert [(s, backup) for _, s, _, backup in attempts(engine, invoice_id)] == [("failed", False),
                                                                                  ("succeeded", True)]  # fmt: skip
    assert (later.payments_succeeded, later.payments_failed) == (0, 0)
    if gateway is not None:  # found by its key at Stripe, not charged again
        keys = Counter(r.idempotency_key for r in gateway.seen("POST", "/v1/payment_intents"))
        assert keys[f"invoice-{invoice_id}-attempt-1-backup"] == 1
    shop.assert_books_balance()


def test_the_renewal_total_is_what_the_backup_was_charged(engine: Engine, gateway: StripeStandIn | None) -> None:
    # rule X1: the backup is charged what the invoice still owes, to the minor unit
    shop = customer(engine, gateway, DECLINED, GOOD)
    run(shop, DEC_15)
    invoice_id, _, _ = renewal(engine)
    with engine.connect() as conn:
        query = select(payments.c.amount).where(payments.c.invoice_id == invoice_id).order_by(payments.c.id)
        amounts = conn.execute(query).scalars().all()
    assert [int(a) for a in amounts] == [2 * price("pro")] * 2


def test_collections_released_together_charge_each_backup_once_and_never_both_methods(engine: Engine) -> None:
    # rules BM1, X3: three collections of the same day released together at a barrier, in small batches, two at once
    # each, while another transaction holds one account for a moment (its invoice is attempted alone, under its
    # lock): each primary is asked once, each declined primary's backup once, a good primary's backup never
    cards = {0: (DECLINED, GOOD), 1: (DECLINED, "4000000000009995"), 2: (DECLINED, None), 3: (GOOD, GOOD)}
    shops = [Shop(engine, code=f"c{i}") for i in range(12)]
    for i, shop in enumerate(shops):
        shop.order(ChangePlan("pro", 1 + i % 3), key="buy")
        primary, backup = cards[i % 4]
        with engine.begin() as conn:
            shop.set_card(conn, primary)
            if backup is not None:
                shop.set_card(conn, backup, backup=True)
    first = shops[0]
    first.clock.at = DEC_15
    invoice_due(DEC_15, first.uow, first.clock, CATALOG, BillingRunReport())
    with engine.connect() as conn:
        due = {int(a): int(i) for i, a in conn.execute(select(invoices.c.id, invoices.c.account_id)
                                                       .where(invoices.c.billing_date == DEC_15))}  # fmt: skip
    gateway = CountingGateway(delay=0.02)
    reports = [BillingRunReport() for _ in range(3)]

    def collection(report: BillingRunReport) -> None:
        collect_due(first.uow, first.clock, gateway, report, dunning=first.dunning, workers=2, batch_size=2, wait=20)

    with Holder(engine, shops[4].account_id) as holder:
        holder.release_after(0.3)
        results = together([lambda r=r: collection(r) for r in reports])  # type: ignore[misc]

    assert results == [None, None, None]
    expected: Counter[str] = Counter()
    for i, shop in enumerate(shops):
        key = f"invoice-{due[shop.account_id]}-attempt-1"
        expected[key] = 1
        primary, backup = cards[i % 4]
        if primary == DECLINED and backup is not None:
            expected[key + "-backup"] = 1
    assert Counter(gateway.keys) == expected
    with engine.connect() as conn:
        made = conn.execute(select(payments.c.invoice_id, payments.c.status, payments.c.backup)
                            .where(payments.c.invoice_id.in_(due.values()))).all()  # fmt: skip
        paid = set(conn.execute(select(invoices.c.id).where(invoices.c.id.in_(due.values()),
                                                            invoices.c.status == "paid")).scalars())  # fmt: skip
    succeeded = Counter(int(invoice_id) for invoice_id, status, _ in made if status == "succeeded")
    assert set(succeeded.values()) == {1}  # one method paid each invoice that was paid, never both
    assert set(succeeded) == paid == {due[s.account_id] for i, s in enumerate(shops) if i % 4 in (0, 3)}
    assert sum(r.payments_succeeded for r in reports) == 6
    assert sum(r.payments_failed for r in reports) == 6
    assert not any(r.not_attempted for r in reports)
    # a retried collection of the same day finds every attempt made
    again = BillingRunReport()
    collect_due(first.uow, first.clock, gateway, again, dunning=first.dunning, workers=2, batch_size=2)
    assert Counter(gateway.keys) == expected
    assert (again.payments_succeeded, again.payments_failed) == (0, 0)
    first.assert_books_balance()
