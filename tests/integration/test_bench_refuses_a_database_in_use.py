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

BENCHES = Path(__file__).resolve().parents[2] / "bench"


def everything(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {t.name: sorted(map(repr, conn.execute(select(t)))) for t in metadata.sorted_tables}


@pytest.mark.parametrize(
    ("bench", "workload"),
    [
        ("billing_run.py", ["--accounts", "3"]),
        ("billing_run.py", ["--workload", "seat-month-3", "--n", "3"]),
        ("webhooks.py", ["--events", "10"]),
    ],
)
def test_a_benchmark_refuses_a_database_that_holds_accounts(
    engine: Engine, database_url: str, bench: str, workload: list[str]
) -> None:
    # given a database with a customer and the events of an order
    shop = Shop(engine, code="customer")
    shop.order(ChangePlan("pro", 2), key="buy")
    before = everything(engine)

    # when a benchmark that writes its own accounts is pointed at it
    ran = subprocess.run(
        [sys.executable, str(BENCHES / bench), "--database", database_url, *workload],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    # then it refuses before writing anything
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert f"bench/{bench}: " in ran.stderr
    assert "holds 1 account;" in ran.stderr
    assert "new, empty database" in ran.stderr
    assert ran.stdout == ""
    assert everything(engine) == before
