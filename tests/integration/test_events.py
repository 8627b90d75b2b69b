"""Events for the vendor's product, on SQLite and PostgreSQL: every change that matters writes its event in the same
transaction, with the object as the API returns it; a change that rolls back writes none, and an event that cannot be
written rolls the change back (rules K8, I1, I6, I8, U1, D1, L3)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from prorata.adapters.db import event_store
from prorata.adapters.db.schema import events, orders, subscriptions, webhook_deliveries, webhook_endpoints
from prorata.domain.account import Account
from prorata.domain.cart import Cancel, ChangePlan, Reactivate, SetLicenses
from prorata.domain.errors import ProrataError
from prorata.services.assign_license import Assignment, assign_license
from prorata.services.renew_due import RenewDue, renew_due
from tests.helpers import CATALOG
from tests.integration.shop import NOW, Shop

DEC_15 = datetime(2026, 12, 15, tzinfo=UTC)


def told(engine: Engine, *, entitlements: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """The events written, oldest first; ``entitlements.updated`` only when asked for (see its own tests)."""
    query = select(events.c.type, events.c.data).order_by(events.c.id)
    if not entitlements:
        query = query.where(events.c.type != "entitlements.updated")
    with engine.connect() as conn:
        return [(kind, json.loads(data)) for kind, data in conn.execute(query)]


def types(engine: Engine, *, entitlements: bool = False) -> list[str]:
    return [kind for kind, _ in told(engine, entitlements=entitlements)]


def assign(shop: Shop, user: int) -> None:
    assign_license(Assignment(shop.account_id, shop.subscription_ids()["pro"], user), uow=shop.uow, clock=shop.clock,
                   catalog=CATALOG, actor="owner")  # fmt: skip


def bill(shop: Shop, *days: int) -> None:
    """The billing run on each of these days after Dec 15 (the first renewal)."""
    for day in days:
        shop.clock.at = DEC_15 + timedelta(days=day)
        renew_due(RenewDue(shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                  catalog=CATALOG, dunning=shop.dunning)  # fmt: skip


def entitlements_told(engine: Engine) -> list[dict[str, Any]]:
    return [data for kind, data in told(engine, entitlements=True) if kind == "entitlements.updated"]


def test_a_paid_order_tells_the_order_its_invoice_and_the_subscription_it_created(engine: Engine) -> None:
    # rule K8: the order takes effect with its payment, and says so in one transaction
    shop = Shop(engine)

    result = shop.order(ChangePlan("pro", 2), key="buy")

    assert types(engine) == ["order.placed", "invoice.issued", "invoice.paid", "subscription.created"]
    order, issued, paid, created = (data for _, data in told(engine))
    assert (order["id"], order["status"], order["invoice_number"]) == (result.order_id, "placed", result.invoice_number)
    assert issued == paid  # the invoice as the API returns it once the order is committed: paid
    assert (paid["number"], paid["status"], paid["amount_due"]) == (result.invoice_number, "paid", 0)
    assert [line["product"] for line in paid["lines"]] == ["pro"]
    assert paid["issued_at"].endswith("Z")
    assert (created["product"], created["quantity"], created["status"]) == ("pro", 2, "active")
    assert created["id"] == shop.subscription_ids()["pro"]


def test_a_declined_order_tells_only_that_it_failed(engine: Engine) -> None:
    # rule K8: nothing changed but the order's own state
    shop = Shop(engine, card="4000000000000002")

    assert shop.order(ChangePlan("pro", 2), key="buy").status == "failed"

    ((kind, data),) = told(engine)
    assert (kind, data["status"], data["failure_code"]) == ("order.failed", "failed", "card_declined")


def test_a_refused_order_rolls_back_and_tells_nothing(engine: Engine) -> None:
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    before = told(engine)

    with pytest.raises(ProrataError):
        shop.order(SetLicenses(50), key="too-many")  # rule P3: Pro holds at most 9 licenses

    assert told(engine) == before


def test_an_event_that_cannot_be_written_takes_its_change_with_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the events are written in the transaction of the change: failing, the whole change rolls back
    shop = Shop(engine)

    def broken(self: object, *args: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(event_store.EventStore, "_write", broken)
    with pytest.raises(RuntimeError):
        shop.order(ChangePlan("pro", 2), key="buy")

    monkeypatch.undo()
    assert told(engine) == []
    assert shop.held() == []
    # the order and its payment were written before the charge; applying it rolled back, so it waits, pending, for
    # reconciliation, which asks the gateway and applies it then (with its events)
    assert shop.count(orders, orders.c.status == "pending") == 1


def test_scheduled_changes_and_a_withdrawn_cancellation_are_told(engine: Engine) -> None:
    # rules L3 and D1: reductions and cancellations wait for the term end, and a cancellation can be withdrawn
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 5), key="buy")

    shop.order(SetLicenses(3), key="fewer")
    shop.order(Cancel(), key="cancel")
    shop.order(Reactivate(), key="back")

    subscription_events = [(kind, data) for kind, data in told(engine) if kind.startswith("subscription.")]
    assert [kind for kind, _ in subscription_events] == [
        "subscription.created", "subscription.scheduled_change", "subscription.scheduled_change",
        "subscription.reactivated",
    ]  # fmt: skip
    _, reduced = subscription_events[1]
    assert (reduced["quantity"], [p["kind"] for p in reduced["pending"]]) == (5, ["quantity"])


def test_an_upgrade_updates_the_subscription_now(engine: Engine) -> None:
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")

    shop.order(SetLicenses(4), key="more")

    kinds = types(engine)
    assert kinds[-4:] == ["order.placed", "invoice.issued", "invoice.paid", "subscription.updated"]
    assert told(engine)[-1][1]["quantity"] == 4
    assert entitlements_told(engine)[-1]["plan"]["quantity"] == 4


def test_a_renewal_tells_the_new_period_and_its_invoice(engine: Engine) -> None:
    # rules C7, I1
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    start = len(types(engine))

    bill(shop, 0)

    renewal = told(engine)[start:]
    assert [kind for kind, _ in renewal] == ["subscription.renewed", "invoice.issued", "invoice.paid"]
    renewed, issued, paid = (data for _, data in renewal)
    assert renewed["period_start"] == "2026-12-15T00:00:00Z"
    assert issued["status"] == "open"  # issued, then collected in a transaction of its own
    assert paid["status"] == "paid"
    assert paid["id"] == issued["id"]


def test_dunning_tells_each_failure_the_overdue_account_and_its_end(engine: Engine) -> None:
    # rules I8, I6: five failed attempts, overdue after the last, ended 30 days on
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    user = shop.add_user("ann@acme.test")
    assign(shop, user)
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")
    start = len(types(engine))

    bill(shop, 0, 1, 3, 5, 7, 37)

    kinds = types(engine)[start:]
    overdue = kinds.index("account.overdue")
    assert kinds[:overdue] == ["subscription.renewed", "invoice.issued"] + ["invoice.payment_failed"] * 5
    assert kinds[-3:] == ["license.unassigned", "subscription.canceled", "account.ended"]
    ended = told(engine)[-1][1]
    assert (ended["id"], ended["status"]) == (shop.account_id, "cancelled")
    unassigned = told(engine)[-3][1]
    assert (unassigned["id"], unassigned["type"], unassigned["subscriptions"]) == (user, "basic", [])


def test_assigning_a_license_tells_the_user_with_what_it_holds(engine: Engine) -> None:
    # rule U1
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    user = shop.add_user("ann@acme.test")

    assign(shop, user)

    kind, data = told(engine)[-1]
    assert (kind, data["id"], data["type"], data["subscriptions"]) == (
        "license.assigned", user, "licensed", [shop.subscription_ids()["pro"]],
    )  # fmt: skip


def test_each_event_goes_to_the_enabled_endpoints_that_want_its_type(engine: Engine) -> None:
    shop = Shop(engine)
    with engine.begin() as conn:
        endpoints = [
            conn.execute(insert(webhook_endpoints).values(url=f"https://hooks.example.com/{n}", event_types=types_,
                                                          enabled=enabled, created_at=NOW)
                         .returning(webhook_endpoints.c.id)).scalar_one()
            for n, types_, enabled in ((1, "[]", True), (2, '["invoice.paid"]', True), (3, "[]", False))
        ]  # fmt: skip

    shop.order(ChangePlan("pro", 2), key="buy")

    with engine.connect() as conn:
        rows = conn.execute(
            select(webhook_deliveries.c.endpoint_id, events.c.type, webhook_deliveries.c.lane,
                   webhook_deliveries.c.status)
            .join(events, events.c.id == webhook_deliveries.c.event_id)
            .order_by(webhook_deliveries.c.id)
        ).all()  # fmt: skip
    everything, invoices_only, disabled = endpoints
    assert [r.type for r in rows if r.endpoint_id == everything] == types(engine, entitlements=True)
    assert [r.type for r in rows if r.endpoint_id == invoices_only] == ["invoice.paid"]
    assert [r for r in rows if r.endpoint_id == disabled] == []
    assert {(r.lane, r.status) for r in rows} == {(shop.account_id, "pending")}


def test_an_ended_subscription_is_told_with_its_last_state(engine: Engine) -> None:
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    sub = shop.subscription_ids()["pro"]
    with engine.begin() as conn:
        conn.execute(subscriptions.update().values(status="ended"))

    with shop.uow() as tx:
        tx.record_event("subscription.canceled", shop.account_id, "subscription", sub, NOW)

    data = told(engine)[-1][1]
    assert (data["id"], data["product"], data["quantity"], data["status"]) == (sub, "pro", 2, "ended")


def test_entitlements_are_told_when_they_change_and_only_then(engine: Engine) -> None:
    # rules U1, L3, D1: what each user may use; a reduction waiting for the term end changes nothing yet
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 5), key="buy")
    user = shop.add_user("ann@acme.test")
    assign(shop, user)
    shop.order(SetLicenses(3), key="fewer")
    shop.order(Cancel(), key="cancel")

    bought, assigned, cancelling = entitlements_told(engine)
    assert (bought["plan"]["code"], bought["plan"]["quantity"], bought["plan"]["renews"]) == ("pro", 5, True)
    assert [(u["email"], u["type"]) for u in bought["users"]] == []
    assert [(u["id"], u["type"]) for u in assigned["users"]] == [(user, "licensed")]
    assert (cancelling["plan"]["renews"], cancelling["plan"]["valid_until"]) == (False, "2026-12-15T00:00:00Z")
    kinds = types(engine, entitlements=True)
    assert kinds.index("entitlements.updated") == kinds.index("subscription.created") + 1  # last of its transaction


def test_an_overdue_account_is_told_with_its_entitlements_ending_when_it_would_be_ended(engine: Engine) -> None:
    # rules I6, I8: overdue after the last failed attempt, ended 30 days later
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    with engine.begin() as conn:
        shop.set_card(conn, "4000000000000002")

    bill(shop, 0, 1, 3, 5, 7)

    last = entitlements_told(engine)[-1]
    assert (last["status"], last["overdue_since"], last["cancels_at"]) == (
        "overdue", "2026-12-22T00:00:00Z", "2027-01-21T00:00:00Z",
    )  # fmt: skip
    assert last["plan"]["valid_until"] == "2027-01-15T00:00:00Z"  # the term ends first


def objects_read(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object]]:
    """The objects the events read back at the commit (kind, id), as production runs: without the comparison the
    test suite otherwise makes (``PRORATA_CHECK_EVENTS``)."""
    asked: list[tuple[str, object]] = []
    render = event_store.render_many

    def counting(conn: object, wanted: Any) -> Any:
        asked.extend((kind, object_id) for kind, _, object_id in wanted)
        return render(conn, wanted)  # type: ignore[arg-type]

    monkeypatch.setattr(event_store, "render_many", counting)
    monkeypatch.delenv(event_store.CHECK_VARIABLE)
    return asked


def test_what_the_transaction_holds_is_told_without_reading_it_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an order paid from the credit balance hands its account, invoice and order over as it wrote them: the events
    # are made from them, and the objects are not read back (unless PRORATA_CHECK_EVENTS asks for the comparison)
    shop = Shop(engine)
    shop.prepay()
    asked = objects_read(monkeypatch)

    result = shop.order(ChangePlan("pro", 2), key="buy")

    assert asked == []
    assert types(engine) == ["order.placed", "invoice.issued", "invoice.paid", "subscription.created"]
    order, issued, _, created = (data for _, data in told(engine))
    assert (order["id"], order["status"], order["invoice_number"]) == (result.order_id, "placed", result.invoice_number)
    assert (issued["number"], issued["status"], issued["amount_due"]) == (result.invoice_number, "paid", 0)
    assert (created["id"], created["product"], created["quantity"]) == (shop.subscription_ids()["pro"], "pro", 2)
    assert len(entitlements_told(engine)) == 1


def test_a_card_order_tells_itself_and_its_invoice_with_the_payment_it_settled_without_reading_them_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second transaction settles the payment and applies the order: the invoice is told paid, with that payment
    shop = Shop(engine)
    asked = objects_read(monkeypatch)

    result = shop.order(ChangePlan("pro", 2), key="buy")

    assert asked == []
    order, issued, paid, _ = (data for _, data in told(engine))
    assert (order["id"], order["status"], order["invoice_number"]) == (result.order_id, "placed", result.invoice_number)
    assert issued == paid
    assert (paid["status"], paid["amount_due"], paid["amount_paid"]) == ("paid", 0, paid["total"])
    ((payment,),) = (paid["payments"],)
    assert (payment["status"], payment["amount"], payment["method"]) == ("succeeded", paid["total"], "Visa •••• 4242")


def test_a_state_handed_over_that_differs_from_the_one_written_fails_the_change(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the check the test suite runs with: an account handed over with one license more assigned than is written
    shop = Shop(engine)
    shop.prepay()
    hold = event_store.EventStore.hold_account

    def wrong(self: event_store.EventStore, account_id: int, account: Account) -> None:
        first = replace(account.subscriptions[0], assigned=account.subscriptions[0].assigned + 1)
        hold(self, account_id, replace(account, subscriptions=(first, *account.subscriptions[1:])))

    monkeypatch.setattr(event_store.EventStore, "hold_account", wrong)

    with pytest.raises(event_store.HeldStateDiffers, match="subscription"):
        shop.order(ChangePlan("pro", 2), key="buy")

    assert (told(engine), shop.held(), shop.count(orders)) == ([], [], 0)
