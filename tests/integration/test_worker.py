"""``prorata worker`` collects the payments due (rules I6, I8), apart from the billing run, on SQLite and PostgreSQL:
an invoice the billing run issued but did not collect is charged by the worker's next round, once; a declined card
counts one failed attempt and waits for its retry day; ``--collect-every 0`` leaves collection to ``prorata bill``."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.clock import move_clock, start_simulation
from prorata.adapters.db.schema import invoices, outbox, payments
from prorata.domain.cart import ChangePlan
from prorata.services.renew_due import BillingRunReport, invoice_due
from tests.helpers import CATALOG
from tests.integration.shop import NOW, Shop
from tests.integration.test_cli import prorata

DEC_15 = datetime(2026, 12, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRORATA_MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setenv("PRORATA_SECRET_FILE", str(tmp_path / "prorata.key"))
    monkeypatch.delenv("PRORATA_SECRET_KEY", raising=False)


def renewed_not_collected(engine: Engine, card: str = "4242424242424242") -> Shop:
    """An account whose plan renewed on Dec 15: its invoice issued by the billing run's first stage only, in an
    installation whose simulated time is Dec 15."""
    start_simulation(engine, NOW)
    shop = Shop(engine)
    shop.add_user("owner@acme.test", role="owner")  # the e-mails' recipient
    shop.order(ChangePlan("pro", 3), key="buy")
    if card != "4242424242424242":
        with engine.begin() as conn:
            shop.set_card(conn, card)
    shop.clock.at = DEC_15
    invoice_due(DEC_15, shop.uow, shop.clock, CATALOG, BillingRunReport())
    move_clock(engine, DEC_15)
    return shop


def renewal(engine: Engine) -> tuple[str, int, int]:
    with engine.connect() as conn:
        status, due, invoice_id = conn.execute(select(invoices.c.status, invoices.c.amount_due, invoices.c.id)
                                               .where(invoices.c.billing_date == DEC_15)).one()  # fmt: skip
        return status, due, invoice_id


def attempts(engine: Engine, invoice_id: int) -> list[tuple[str, int]]:
    """The invoice's payments: each one's status and the collection attempt its key names."""
    with engine.connect() as conn:
        rows = conn.execute(select(payments.c.status, payments.c.idempotency_key)
                            .where(payments.c.invoice_id == invoice_id).order_by(payments.c.id))  # fmt: skip
        return [(status, int(key.rsplit("-", 1)[1])) for status, key in rows]


def mails(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox.c.kind).order_by(outbox.c.id)).scalars())


def test_a_worker_round_charges_the_renewal_the_billing_run_issued_once(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = renewed_not_collected(engine)
    status_before, due, invoice_id = renewal(engine)
    assert (status_before, attempts(engine, invoice_id)) == ("open", [])
    told = mails(engine)

    first = prorata(capsys, "worker", "--once", "--database", database_url)
    second = prorata(capsys, "worker", "--once", "--database", database_url)

    assert (first[0], second[0]) == (0, 0)
    assert "collected 1 payments, 0 failed" in first[2]
    assert "collected" not in second[2]  # nothing was due any more
    assert renewal(engine)[0] == "paid"
    assert attempts(engine, invoice_id) == [("succeeded", 1)]
    assert shop.paid_for(invoice_id) == due
    assert Counter(mails(engine)) - Counter(told) == {"receipt": 1}
    shop.assert_books_balance()


def test_a_declined_renewal_counts_one_attempt_and_waits_for_its_retry_day(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = renewed_not_collected(engine, card="4000000000000002")
    _, _, invoice_id = renewal(engine)
    told = mails(engine)

    for _ in range(2):
        assert prorata(capsys, "worker", "--once", "--database", database_url)[0] == 0
    after_a_day = attempts(engine, invoice_id)
    move_clock(engine, DEC_15 + timedelta(days=1))
    assert prorata(capsys, "worker", "--once", "--database", database_url)[0] == 0

    assert after_a_day == [("failed", 1)]  # the second round the same day tried nothing
    assert attempts(engine, invoice_id) == [("failed", 1), ("failed", 2)]  # rule I8: the next try on day +1
    assert renewal(engine)[0] == "open"
    assert Counter(mails(engine)) - Counter(told) == {"payment_failed": 2}  # one per attempt
    shop.assert_books_balance()


def test_collect_every_0_leaves_collection_to_the_billing_run(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    renewed_not_collected(engine)
    _, _, invoice_id = renewal(engine)

    status, _, err = prorata(capsys, "worker", "--once", "--collect-every", "0", "--database", database_url)

    assert (status, err) == (0, "")
    assert renewal(engine)[0] == "open"
    assert attempts(engine, invoice_id) == []


@pytest.mark.parametrize(
    ("option", "field"), [(["--collect-every", "-1"], "collect-every"), (["--collectors", "0"], "collectors")]
)
def test_a_worker_refuses_a_setting_out_of_range(
    engine: Engine, database_url: str, capsys: pytest.CaptureFixture[str], option: list[str], field: str
) -> None:
    status, out, err = prorata(capsys, "worker", "--once", *option, "--database", database_url)

    assert (status, out) == (1, "")
    assert err.startswith(f"prorata: {field}: ")
