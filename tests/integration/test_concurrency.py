"""Billing runs and orders at the same time, with real concurrent connections (rules I1, I2, X3)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from prorata.adapters.db.schema import invoices
from prorata.domain.cart import ChangePlan
from tests.integration.shop import Shop

DEC_15 = "2026-12-15"


def test_two_billing_runs_at_once_renew_every_subscription_exactly_once(engine: Engine, database_url: str) -> None:
    # rules I1, I2: two processes share the accounts (SKIP LOCKED on PostgreSQL); numbers stay gap-free and unique
    shops = [Shop(engine, code=f"acct{n:02d}") for n in range(24)]
    for shop in shops:
        shop.order(ChangePlan("pro", 1 + shop.account_id % 5), key="buy")

    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prorata",
                "bill",
                "--until",
                DEC_15,
                "--bill-in-advance",
                "--database",
                database_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(out + err for out, err in outputs)

    with engine.connect() as conn:
        renewed = conn.execute(
            select(invoices.c.account_id, func.count())
            .where(invoices.c.billing_date == datetime(2026, 12, 15, tzinfo=UTC))
            .group_by(invoices.c.account_id)
        ).all()
        numbers = (
            conn.execute(select(invoices.c.number).where(invoices.c.year == 2026, invoices.c.number.is_not(None)))
            .scalars()
            .all()
        )
    assert sorted(account for account, _ in renewed) == sorted(shop.account_id for shop in shops)
    assert all(count == 1 for _, count in renewed)
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert len(numbers) == 48  # 24 orders and 24 renewals
    shops[0].assert_books_balance()
