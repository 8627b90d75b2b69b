"""A billing run's batch written in bulk (arrays of ids, COPY on PostgreSQL) writes what row-by-row statements would:
the same invoices, numbers, lines, credit, audit entries and events, on SQLite and PostgreSQL (rules C7, I1, I2, X2)."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import StatementError

from prorata.adapters.db.bulk import COPY_FROM, among, insert_rows, insert_rows_returning_ids
from prorata.adapters.db.schema import audit_log, events, invoice_lines, invoices
from prorata.domain.cart import ChangePlan
from prorata.domain.errors import InvalidInput
from prorata.services.renew_due import InvoiceNumbers, RenewDue, collector_paused, renew_due
from tests.helpers import CATALOG, price
from tests.integration.shop import Shop

DEC_15 = datetime(2026, 12, 15, tzinfo=UTC)
ACCOUNTS = COPY_FROM + 10  # one batch, large enough to be copied


def test_a_batch_written_in_bulk_bills_every_account_once_with_gap_free_numbers(engine: Engine) -> None:
    shops = [Shop(engine, code=f"c{i}") for i in range(ACCOUNTS)]
    for i, shop in enumerate(shops):
        shop.order(ChangePlan("pro", 1 + i % 5), key=f"buy-{i}")
    clock = shops[0].clock
    clock.at = DEC_15

    report = renew_due(RenewDue(DEC_15), uow=shops[0].uow, clock=clock, gateway=shops[0].gateway,
                       catalog=CATALOG, dunning=shops[0].dunning)  # fmt: skip

    assert report.complete
    assert report.accounts == ACCOUNTS
    assert gc.isenabled()  # paused for each batch only (collector_paused)
    # the orders took 1 .. ACCOUNTS; the renewals the next ACCOUNTS numbers, in account order, once each
    assert report.invoices == [f"INV-2026-{n:06d}" for n in range(ACCOUNTS + 1, 2 * ACCOUNTS + 1)]
    with engine.connect() as conn:
        renewals = conn.execute(
            select(invoices.c.id, invoices.c.account_id, invoices.c.number, invoices.c.total)
            .where(invoices.c.billing_date == DEC_15)
            .order_by(invoices.c.number)
        ).all()
        assert [(r.account_id, r.number, r.total) for r in renewals] == [
            (shop.account_id, ACCOUNTS + 1 + i, (1 + i % 5) * price("pro")) for i, shop in enumerate(shops)
        ]
        ids = [r.id for r in renewals]
        assert ids == sorted(ids)  # ids follow the numbers, as one INSERT in parameter order gave them
        lines = conn.execute(
            select(invoice_lines.c.invoice_id, func.sum(invoice_lines.c.amount))
            .where(among(conn, invoice_lines.c.invoice_id, ids))
            .group_by(invoice_lines.c.invoice_id)
        ).all()
        assert {invoice_id: int(amount) for invoice_id, amount in lines} == {r.id: r.total for r in renewals}
        audited = conn.execute(select(func.count()).where(audit_log.c.action == "renewed")).scalar_one()
        issued = conn.execute(
            select(events.c.object_id).where(events.c.type == "invoice.issued", events.c.created_at == DEC_15)
        ).scalars()
        assert (audited, sorted(issued)) == (ACCOUNTS, sorted(str(i) for i in ids))


@pytest.mark.parametrize("count", [3, COPY_FROM * 2])
def test_rows_written_in_bulk_come_back_in_order_and_naive_instants_are_refused(engine: Engine, count: int) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"account_id": None, "actor": f"a{i}", "action": "bulk", "detail": "{}", "at": at} for i in range(count)]
    with engine.begin() as conn:
        ids = insert_rows_returning_ids(conn, audit_log, rows)
        insert_rows(conn, audit_log, rows)
        found = conn.execute(select(audit_log.c.id, audit_log.c.actor).where(among(conn, audit_log.c.id, ids))).all()
        total = conn.execute(select(func.count()).where(audit_log.c.action == "bulk")).scalar_one()
    assert sorted(found) == [(i, f"a{n}") for n, i in enumerate(ids)]
    assert total == 2 * count
    naive = [{**row, "at": at.replace(tzinfo=None)} for row in rows]  # rule X2
    with pytest.raises((InvalidInput, StatementError)) as refused, engine.begin() as conn:
        insert_rows(conn, audit_log, naive)
    error = refused.value.orig if isinstance(refused.value, StatementError) else refused.value
    assert isinstance(error, InvalidInput)
    assert error.code == "time.naive"


def test_invoice_numbers_are_kept_as_runs_and_read_as_a_list() -> None:
    numbers = InvoiceNumbers(["INV-2026-000009", "INV-2026-000010", "INV-2027-000001", "INV-2027-000003"])
    numbers += ["INV-2027-000004"]
    assert numbers == ["INV-2026-000009", "INV-2026-000010", "INV-2027-000001", "INV-2027-000003",
                       "INV-2027-000004"]  # fmt: skip
    assert (len(numbers), numbers[0], numbers[-1], numbers[1:3]) == (
        5, "INV-2026-000009", "INV-2027-000004", ["INV-2026-000010", "INV-2027-000001"])  # fmt: skip
    assert len(numbers._runs) == 3  # consecutive numbers share one run
    assert InvoiceNumbers() == []
    assert numbers != ["INV-2026-000009"]


def test_the_collector_is_paused_for_a_batch_only_and_resumes_after_a_failure() -> None:
    # a batch of renewals is written without cyclic garbage collection (its CPU, issue 16), never beyond it
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()

    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the batch failed")
    assert gc.isenabled()

    gc.disable()  # whoever runs the billing run turned it off: it stays off
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
