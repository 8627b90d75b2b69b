"""Accounts read from and written to the database are the accounts the engine priced, on SQLite and PostgreSQL
(rules C5, C7, L3, L6, U1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select

from prorata.adapters.db.accounts import create_account, load_account, renumber, save_subscriptions
from prorata.adapters.db.schema import credit_ledger, license_assignments, subscriptions, users
from prorata.domain.account import Account, PendingKind
from prorata.domain.cart import AddAddon, Cancel, ChangePlan, SetLicenses
from prorata.domain.engine import quote, renew
from prorata.domain.errors import InvalidInput
from prorata.domain.periods import Granularity
from tests.helpers import CATALOG, t

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)


def open_account(engine: Engine) -> int:
    with engine.begin() as conn:
        return create_account(
            conn, code="acme", name="Acme", currency="USD", time_zone="Europe/Warsaw", country="PL", now=NOW
        )


def load(engine: Engine, account_id: int) -> Account:
    with engine.begin() as conn:
        return load_account(conn, account_id, Granularity.DAY, lock=True)


def store(engine: Engine, account_id: int, before: Account, after: Account) -> Account:
    with engine.begin() as conn:
        ids = save_subscriptions(conn, account_id, before, after, NOW)
    return renumber(after, ids)


def test_an_account_saved_after_an_order_loads_as_the_engine_left_it(engine: Engine) -> None:
    account_id = open_account(engine)
    empty = load(engine, account_id)
    assert (empty.subscriptions, empty.credit_balance) == ((), 0)

    q = quote(empty, CATALOG, NOW, [ChangePlan("business", 12), AddAddon("webinar_500", 2)])
    expected = store(engine, account_id, empty, q.account)

    loaded = load(engine, account_id)
    assert loaded == expected
    assert [s.product for s in loaded.subscriptions] == ["business", "webinar_500"]
    assert all(s.id.isdigit() for s in loaded.subscriptions)


def test_pending_changes_and_renewals_round_trip(engine: Engine) -> None:
    # rules L3, L6, C7: the reduction is stored, applied by the renewal, and gone afterwards
    account_id = open_account(engine)
    empty = load(engine, account_id)
    bought = store(engine, account_id, empty, quote(empty, CATALOG, NOW, [ChangePlan("business", 14)]).account)
    reduced = quote(load(engine, account_id), CATALOG, t("2026-11-20T09:00Z"), [SetLicenses(11)])
    store(engine, account_id, bought, reduced.account)
    loaded = load(engine, account_id)
    assert loaded.subscriptions[0].pending_of(PendingKind.QUANTITY) is not None

    renewal = renew(loaded, CATALOG, loaded.subscriptions[0].period.end)
    store(engine, account_id, loaded, renewal.account)
    renewed = load(engine, account_id).subscriptions[0]
    assert (renewed.quantity, renewed.pending, renewed.charges[0].amount) == (11, (), renewal.lines[0].amount)


def test_a_subscription_the_engine_drops_is_ended_not_deleted(engine: Engine) -> None:
    # rule D1: the history of what was held stays
    account_id = open_account(engine)
    empty = load(engine, account_id)
    bought = store(engine, account_id, empty, quote(empty, CATALOG, NOW, [ChangePlan("pro", 3)]).account)
    cancelled = quote(bought, CATALOG, NOW, [Cancel()]).account
    store(engine, account_id, bought, cancelled)
    renewal = renew(load(engine, account_id), CATALOG, bought.subscriptions[0].period.end)
    store(engine, account_id, cancelled, renewal.account)

    assert load(engine, account_id).subscriptions == ()
    with engine.connect() as conn:
        assert conn.execute(select(subscriptions.c.status)).scalars().all() == ["ended"]


def test_assigned_licenses_and_the_credit_balance_come_from_their_own_tables(engine: Engine) -> None:
    # rule U1: assignments are rows; the balance is the sum of the ledger
    account_id = open_account(engine)
    empty = load(engine, account_id)
    bought = store(engine, account_id, empty, quote(empty, CATALOG, NOW, [ChangePlan("pro", 5)]).account)
    with engine.begin() as conn:
        for n in range(3):
            user_id = conn.execute(
                insert(users)
                .values(account_id=account_id, email=f"u{n}@acme.test", name=f"U{n}", role="member", created_at=NOW)
                .returning(users.c.id)
            ).scalar_one()
            conn.execute(
                insert(license_assignments).values(
                    subscription_id=int(bought.subscriptions[0].id), user_id=user_id, assigned_at=NOW
                )
            )
        for amount in (1500, -400):
            conn.execute(
                insert(credit_ledger).values(
                    account_id=account_id, amount=amount, currency="USD", reason="test", created_at=NOW
                )
            )
    loaded = load(engine, account_id)
    assert (loaded.subscriptions[0].assigned, loaded.credit_balance) == (3, 1100)


def test_an_unknown_account_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as error:
        load(engine, 4242)
    assert error.value.code == "account.unknown"


def test_an_account_with_an_unknown_currency_is_never_written(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as error, engine.begin() as conn:
        create_account(conn, code="x", name="X", currency="XYZ", time_zone="UTC", country="PL", now=NOW)
    assert error.value.code == "currency.unknown"
