"""A billing run killed with SIGKILL half-way, then run again, leaves books that balance (rules I1, I2, C7).

The billing run renews a batch of accounts per transaction; killed between two of them (no exception handler, no
rollback of its own: the database sees a connection vanish), it leaves whole batches renewed and the rest not.
``prorata bill`` run again renews the rest once, collects and sends the e-mails; the verification of the books finds
nothing broken: no gap in the numbers, every invoice with its lines, payments and e-mail, nothing charged twice. The
run that is killed is the billing run of ``prorata bill`` in a process of its own, in batches of 20 accounts (the
command's are 500), so that a few hundred accounts make several batches. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select

from prorata.adapters.db.database import READ_ONLY
from prorata.adapters.db.schema import accounts, invoices, payment_methods, subscription_charges, subscriptions, users
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.domain.periods import Interval, boundary
from tests.helpers import CATALOG, price
from tests.integration.shop import FixedClock
from tests.verified import assert_books_balance

DAY = datetime(2026, 12, 15, tzinfo=UTC)
ACCOUNTS = 120  # six batches of 20
KILLED = (
    "import sys; from datetime import datetime; from prorata.bootstrap import build; "
    "from prorata.services.renew_due import RenewDue, renew_due; app = build(sys.argv[1]); "
    "renew_due(RenewDue(datetime.fromisoformat(sys.argv[2]), batch_size=20), uow=app.uow, clock=app.clock, "
    "gateway=app.gateway, catalog=app.catalog, dunning=app.dunning, tax=app.tax)"
)


def due_accounts(engine: Engine) -> None:
    """``ACCOUNTS`` accounts, each with an owner, a card and Pro for one user, all due on ``DAY``."""
    token, _ = SandboxGateway().tokenize_card("4242424242424242", 12, 2030, DAY.date())
    start = boundary(DAY, -1, 1, UTC)
    with engine.begin() as conn:
        conn.execute(insert(accounts), [
            {"code": f"a{n:04d}", "name": f"A {n}", "currency": "USD", "time_zone": "UTC", "country": "US",
             "created_at": start} for n in range(ACCOUNTS)
        ])  # fmt: skip
        ids = conn.execute(select(accounts.c.id).order_by(accounts.c.id)).scalars().all()
        conn.execute(insert(users), [{"account_id": a, "email": f"owner@a{a}.test", "name": "Owner", "role": "owner",
                                      "created_at": start} for a in ids])  # fmt: skip
        conn.execute(insert(payment_methods), [{"account_id": a, "kind": "card", "gateway": "sandbox", "token": token,
                                                "brand": "visa", "last4": "4242", "is_default": True,
                                                "created_at": start} for a in ids])  # fmt: skip
        subs = conn.execute(
            insert(subscriptions).returning(subscriptions.c.id, sort_by_parameter_order=True),
            [{"account_id": a, "product": "pro", "interval": "month", "quantity": 1, "anchor": start,
              "period_start": start, "period_end": DAY, "created_at": start} for a in ids],
        ).scalars().all()  # fmt: skip
        conn.execute(insert(subscription_charges), [
            {"subscription_id": s, "amount": price("pro", Interval.MONTH), "service_start": start, "service_end": DAY}
            for s in subs
        ])  # fmt: skip


def renewed(engine: Engine) -> int:
    # a reader that takes no write lock on SQLite, so that watching the run does not slow it down
    with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        return int(conn.execute(select(func.count()).where(invoices.c.billing_date == DAY)).scalar_one())


def run(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_billing_run_killed_half_way_and_run_again_leaves_books_that_balance(
    engine: Engine, database_url: str
) -> None:
    due_accounts(engine)
    first = run("-c", KILLED, database_url, DAY.isoformat())
    deadline = time.monotonic() + 120
    while (done := renewed(engine)) == 0 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)  # the moment the first batch is committed, in the middle of the next one
    first.communicate(timeout=30)
    killed_at = renewed(engine)

    again = run("-m", "prorata", "bill", "--until", DAY.date().isoformat(), "--bill-in-advance", "--database",
                database_url)  # fmt: skip
    out, err = again.communicate(timeout=300)

    assert first.returncode == -signal.SIGKILL
    assert 0 < done <= killed_at < ACCOUNTS, (done, killed_at)  # it was killed half-way through
    assert again.returncode == 0, out + err
    with engine.connect() as conn:
        per_account = conn.execute(
            select(invoices.c.account_id, func.count()).where(invoices.c.billing_date == DAY)
            .group_by(invoices.c.account_id)
        ).all()  # fmt: skip
    assert len(per_account) == ACCOUNTS
    assert {count for _, count in per_account} == {1}
    assert_books_balance(engine, FixedClock(DAY + timedelta(hours=1)), catalog=CATALOG)
