"""``bench/billing_run.py --database URL`` seeds accounts and bills every account due, and ``bench/webhooks.py`` writes
accounts, events and an endpoint of its own: given a database that already holds accounts (a demo, a production copy)
each refuses, before anything is written, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import metadata
from prorata.domain.cart import ChangePlan
from tests.integration.shop import Shop

BENCH = Path(__file__).resolve().parents[2] / "bench" / "billing_run.py"


def everything(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {t.name: sorted(map(repr, conn.execute(select(t)))) for t in metadata.sorted_tables}


@pytest.mark.parametrize("workload", [["--accounts", "3"], ["--workload", "seat-month-3", "--n", "3"]])
def test_the_billing_benchmark_refuses_a_database_that_holds_accounts(
    engine: Engine, database_url: str, workload: list[str]
) -> None:
    shop = Shop(engine, code="customer")
    shop.order(ChangePlan("pro", 2), key="buy")
    before = everything(engine)

    bench = subprocess.run(
        [sys.executable, str(BENCH), "--database", database_url, *workload],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert bench.returncode == 1, bench.stdout + bench.stderr
    assert "holds 1 account;" in bench.stderr
    assert "new, empty database" in bench.stderr
    assert bench.stdout == ""
    assert everything(engine) == before


def test_the_webhooks_benchmark_refuses_a_database_that_holds_accounts(engine: Engine, database_url: str) -> None:
    # given a database with a customer and the events of an order
    shop = Shop(engine, code="customer")
    shop.order(ChangePlan("pro", 2), key="buy")
    before = everything(engine)

    # when the webhooks benchmark is pointed at it
    bench = subprocess.run(
        [sys.executable, str(BENCH.with_name("webhooks.py")), "--database", database_url, "--events", "10"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    # then it refuses before writing anything
    assert bench.returncode == 1, bench.stdout + bench.stderr
    assert "holds 1 account;" in bench.stderr
    assert "new, empty database" in bench.stderr
    assert bench.stdout == ""
    assert everything(engine) == before
