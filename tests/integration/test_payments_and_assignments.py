"""Paying open invoices and assigning licenses, on SQLite and PostgreSQL (rules I6, U1, U2, A7, L4, X3)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select

from prorata.adapters.db.schema import orders, payments, users
from prorata.domain.cart import AddAddon, ChangePlan, SetLicenses
from prorata.domain.errors import ProrataError
from prorata.services.assign_license import Assignment, assign_license, unassign_license
from prorata.services.pay_invoices import PayInvoices, pay_invoices
from tests.helpers import CATALOG
from tests.integration.shop import Shop
from tests.integration.test_billing_run import overdue_shop


def test_paying_the_overdue_invoice_re_enables_the_account_at_once(engine: Engine) -> None:
    # rule I6
    shop = overdue_shop(engine)
    with pytest.raises(ProrataError):
        shop.order(SetLicenses(3), key="blocked")
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")

    report = pay_invoices(PayInvoices(shop.account_id, "pay-1"), uow=shop.uow, clock=shop.clock, gateway=shop.gateway)

    assert (len(report.paid), report.failed, report.reenabled) == (1, [], True)
    assert shop.order(SetLicenses(3), key="after").status == "placed"


def test_paying_twice_with_one_key_charges_once(engine: Engine) -> None:
    # rule X3
    shop = overdue_shop(engine)
    with engine.begin() as conn:
        shop.set_card(conn, "4242424242424242")
    command = PayInvoices(shop.account_id, "pay-1")
    first = pay_invoices(command, uow=shop.uow, clock=shop.clock, gateway=shop.gateway)
    again = pay_invoices(command, uow=shop.uow, clock=shop.clock, gateway=shop.gateway)
    # the same request asked again is answered as the first time, and charges nothing more
    assert (again.paid, again.replayed) == (first.paid, True)
    assert len(first.paid) == 1
    assert shop.count(payments, payments.c.status == "succeeded") == 2  # the order, and this invoice once


def test_a_declined_payment_is_reported_with_what_to_do(engine: Engine) -> None:
    # rule K7
    shop = overdue_shop(engine)
    report = pay_invoices(PayInvoices(shop.account_id, "pay-1"), uow=shop.uow, clock=shop.clock, gateway=shop.gateway)
    assert [code for _, code in report.failed] == ["card_declined"]
    assert "Update your billing information" in report.message


def test_only_open_invoices_of_the_account_can_be_paid(engine: Engine) -> None:
    shop = overdue_shop(engine)
    with pytest.raises(ProrataError) as error:
        pay_invoices(PayInvoices(shop.account_id, "k", (4242,)), uow=shop.uow, clock=shop.clock, gateway=shop.gateway)
    assert (error.value.code, error.value.field) == ("invoice.not_open", "invoice_ids")


def assign(shop: Shop, product: str, user: int) -> None:
    command = Assignment(shop.account_id, shop.subscription_ids()[product], user)
    assign_license(command, uow=shop.uow, clock=shop.clock, catalog=CATALOG, actor="owner@acme.test")


def unassign(shop: Shop, product: str, user: int) -> None:
    command = Assignment(shop.account_id, shop.subscription_ids()[product], user)
    unassign_license(command, uow=shop.uow, clock=shop.clock, catalog=CATALOG, actor="owner@acme.test")


def user_type(engine: Engine, user: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(users.c.type).where(users.c.id == user)).scalar_one())


def test_licenses_are_assigned_while_free_and_make_users_licensed(engine: Engine) -> None:
    # rule U1
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    ann, bob, cid = (shop.add_user(f"{n}@acme.test") for n in ("ann", "bob", "cid"))
    assign(shop, "pro", ann)
    assign(shop, "pro", bob)
    assert user_type(engine, ann) == "licensed"
    with pytest.raises(ProrataError) as error:
        assign(shop, "pro", cid)
    assert (error.value.code, error.value.rule) == ("assignment.no_free_license", "U1")
    with pytest.raises(ProrataError) as error:
        assign(shop, "pro", ann)
    assert error.value.code == "assignment.exists"


def test_add_on_seats_go_to_licensed_users_who_keep_their_license_while_they_hold_them(engine: Engine) -> None:
    # rules A7, U2
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), AddAddon("large_meetings_500", 1), key="buy")
    ann, bob = shop.add_user("ann@acme.test"), shop.add_user("bob@acme.test")
    with pytest.raises(ProrataError) as error:
        assign(shop, "large_meetings_500", bob)
    assert (error.value.code, error.value.rule) == ("assignment.requires_license", "A7")
    assign(shop, "pro", ann)
    assign(shop, "large_meetings_500", ann)
    with pytest.raises(ProrataError) as error:
        unassign(shop, "pro", ann)
    assert error.value.code == "assignment.addon_seats_held"
    unassign(shop, "large_meetings_500", ann)
    unassign(shop, "pro", ann)
    assert user_type(engine, ann) == "basic"


def test_a_reduction_below_the_assigned_licenses_is_refused_with_the_count(engine: Engine) -> None:
    # rule L4, with the assignments from the database
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3), key="buy")
    for name in ("ann", "bob", "cid"):
        assign(shop, "pro", shop.add_user(f"{name}@acme.test"))
    with pytest.raises(ProrataError) as error:
        shop.order(SetLicenses(1), key="reduce")
    assert (error.value.code, error.value.data["must_unassign"]) == ("licenses.below_assigned", 2)


def test_storage_is_not_assigned_to_users(engine: Engine) -> None:
    # rule U2
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 1), AddAddon("cloud_recording_1tb"), key="buy")
    with pytest.raises(ProrataError) as error:
        assign(shop, "cloud_recording_1tb", shop.add_user("ann@acme.test"))
    assert error.value.code == "assignment.not_per_user"


def test_a_license_freed_only_until_the_term_end_is_not_assigned(engine: Engine) -> None:
    # rule L4: 3 licenses with a reduction to 2 scheduled; two assigned; a third would outlive the reduction
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 3), key="buy")
    shop.order(SetLicenses(2), key="reduce")
    ann, bob, cid = (shop.add_user(f"{n}@acme.test") for n in ("ann", "bob", "cid"))
    assign(shop, "pro", ann)
    assign(shop, "pro", bob)
    with pytest.raises(ProrataError) as error:
        assign(shop, "pro", cid)
    assert (error.value.code, error.value.rule, error.value.field) == (
        "assignment.pending_reduction", "L4", "subscription"
    )  # fmt: skip
    assert user_type(engine, cid) == "basic"


def test_a_license_freed_only_until_a_downgrade_at_the_term_end_is_not_assigned(engine: Engine) -> None:
    # rules L4, P5: Business 12 moving to Pro with 8 licenses at the term end; 8 assigned; a ninth would outlive it
    shop = Shop(engine)
    shop.order(ChangePlan("business", 12), key="buy")
    people = [shop.add_user(f"user{n}@acme.test") for n in range(9)]
    for user in people[:8]:
        assign(shop, "business", user)
    placed = shop.order(ChangePlan("pro", 8), key="downgrade")
    assert (placed.status, placed.invoice_id) == ("placed", None)  # scheduled: nothing charged now
    with pytest.raises(ProrataError) as error:
        assign(shop, "business", people[8])
    assert (error.value.code, error.value.rule) == ("assignment.pending_reduction", "L4")
    assert "8 licenses remain" in error.value.message
    assert user_type(engine, people[8]) == "basic"


def test_no_license_is_assigned_while_an_order_is_being_paid_for(engine: Engine) -> None:
    # rule L4: the order in flight was checked against the assignments as they were
    shop = Shop(engine)
    shop.order(ChangePlan("pro", 2), key="buy")
    ann = shop.add_user("ann@acme.test")
    with engine.begin() as conn:
        conn.execute(
            insert(orders).values(account_id=shop.account_id, idempotency_key="in-flight", request_hash="x",
                                  status="pending", cart="[]", quote="{}", created_at=shop.clock.now())
        )  # fmt: skip
    with pytest.raises(ProrataError) as error:
        assign(shop, "pro", ann)
    assert error.value.code == "order.in_progress"
