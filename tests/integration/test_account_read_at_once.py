"""Reading an account unlocked (one statement, for quotes) gives the very account the locked read gives, on SQLite and
PostgreSQL: subscriptions, their charges and pending changes in order, licenses assigned, balance, status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from prorata.adapters.db.accounts import load_account
from prorata.adapters.db.schema import accounts, invoices
from prorata.domain.account import Account
from prorata.domain.cart import AddAddon, ChangePlan, SetLicenses
from prorata.domain.errors import InvalidInput
from prorata.domain.periods import Granularity
from prorata.services.assign_license import Assignment, assign_license
from prorata.services.billing_information import set_contacts
from prorata.services.preview_order import PreviewOrder, preview_order
from tests.helpers import CATALOG
from tests.integration.shop import NOW, Shop
from tests.integration.test_tax import PL_COMPANY


def both_reads(engine: Engine, account_id: int) -> tuple[Account, Account]:
    with engine.begin() as conn:
        locked = load_account(conn, account_id, Granularity.DAY, lock=True)
    with engine.connect() as conn:
        at_once = load_account(conn, account_id, Granularity.DAY, lock=False)
    return locked, at_once


def test_an_account_read_at_once_is_the_account_read_row_by_row(engine: Engine) -> None:
    shop = Shop(engine)
    other = Shop(engine, code="other")  # rows of another account must not leak in
    other.order(ChangePlan("business", 12), key="other")
    shop.order(ChangePlan("business", 14), AddAddon("webinar_500", 2), key="buy")
    shop.clock.at = NOW + timedelta(days=3)
    shop.order(SetLicenses(16), AddAddon("large_meetings_500", 1), key="more")  # a second charge span, an add-on
    shop.order(SetLicenses(12), key="reduce")  # a pending change (rule L3)
    for n in range(3):
        user = shop.add_user(f"u{n}@acme.test")
        assign_license(Assignment(shop.account_id, shop.subscription_ids()["business"], user), uow=shop.uow,
                       clock=shop.clock, catalog=CATALOG, actor="test")  # fmt: skip
    with engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.id == shop.account_id).values(status="overdue"))

    locked, at_once = both_reads(engine, shop.account_id)

    assert at_once == locked
    assert at_once.overdue
    assert [s.assigned for s in at_once.subscriptions] == [3, 0, 0]
    assert any(s.pending for s in at_once.subscriptions)


def test_an_account_without_subscriptions_is_read_at_once_too(engine: Engine) -> None:
    shop = Shop(engine)
    locked, at_once = both_reads(engine, shop.account_id)
    assert at_once == locked
    assert at_once.subscriptions == ()


def test_an_unknown_account_is_named_by_both_reads(engine: Engine) -> None:
    for lock in (True, False):
        with engine.begin() as conn, pytest.raises(InvalidInput) as error:
            load_account(conn, 424242, Granularity.DAY, lock=lock)
        assert error.value.code == "account.unknown"


def test_both_reads_keep_the_tax_rate_each_charge_was_taxed_at(engine: Engine) -> None:
    # rule T3: a credit reverses tax at its charge's rate, so the quick read must carry the rate as the locked one does
    shop = Shop(engine)
    set_contacts(shop.account_id, PL_COMPANY, None, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3), key="buy")

    locked, at_once = both_reads(engine, shop.account_id)

    assert at_once == locked
    assert [c.tax_rate for s in at_once.subscriptions for c in s.charges] == [2300]


def test_a_preview_of_an_upgrade_with_a_taxed_credit_is_the_invoice_the_order_makes(engine: Engine) -> None:
    # rules C6, T3: the preview reads the account unlocked, the order locked; both must tax the credit alike
    shop = Shop(engine)
    set_contacts(shop.account_id, PL_COMPANY, None, uow=shop.uow, clock=shop.clock)
    shop.order(ChangePlan("pro", 3), key="buy")
    shop.clock.at = NOW + timedelta(days=10)
    cart = (ChangePlan("business", 10),)

    preview = preview_order(PreviewOrder(shop.account_id, cart), uow=shop.uow, clock=shop.clock, catalog=CATALOG)
    shop.order(*cart, key="upgrade")

    with engine.connect() as conn:
        invoice = conn.execute(select(invoices).order_by(invoices.c.id.desc()).limit(1)).mappings().one()
    assert any(line.tax < 0 for line in preview.lines)  # the credit reverses tax
    assert (preview.tax, preview.total) == (invoice["tax"], invoice["total"])
    assert preview.amount_due == shop.paid_for(invoice["id"])  # what was due is what paid it; nothing is owed now
    assert invoice["amount_due"] == 0
