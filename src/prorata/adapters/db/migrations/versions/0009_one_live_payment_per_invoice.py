"""One payment in flight or paid per invoice; an invoice's amount due is what is still owed (rules X3, I3)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 09:00:00

Before the unique index can exist, any invoice that was paid twice (possible before this version, when two payments
of one invoice could race) is repaired the way such a payment is settled from now on: the first succeeded payment
paid the invoice; every later one is marked ``credited`` and its amount booked to the account's credit balance as an
overpayment, with an audit line, so that no cent is lost and none is silent. A payment still ``pending`` beside
another live one cannot be judged without asking the gateway: the migration stops and says to run the previous
version's ``prorata reconcile`` first.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LIVE = "status in ('pending', 'succeeded')"


def upgrade() -> None:
    with op.batch_alter_table("payments") as table:
        table.drop_constraint(op.f("ck_payments_status"), type_="check")
        table.create_check_constraint("status", "status in ('pending', 'succeeded', 'failed', 'credited')")
    with op.batch_alter_table("credit_ledger") as table:
        table.add_column(sa.Column("payment_id", _ID, nullable=True))
        table.create_foreign_key(
            "fk_credit_ledger_payment_id_payments", "payments", ["payment_id"], ["id"], ondelete="RESTRICT"
        )
        table.create_index("ix_credit_ledger_payment_id", ["payment_id"])
    _repair_double_payments()
    # what is still owed: nothing, once an invoice is paid (a void one was set to 0 when it was voided)
    op.execute("UPDATE invoices SET amount_due = 0 WHERE status IN ('paid', 'void')")
    op.create_index(
        "ux_payments_live_invoice",
        "payments",
        ["invoice_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def _repair_double_payments() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            f"SELECT p.id, p.invoice_id, p.account_id, p.amount, p.currency, p.status FROM payments p "
            f"WHERE p.{LIVE} AND p.invoice_id IN (SELECT invoice_id FROM payments WHERE {LIVE} "
            f"GROUP BY invoice_id HAVING count(*) > 1) ORDER BY p.invoice_id, p.id"
        )
    ).all()
    if any(row.status == "pending" for row in rows):
        invoices = sorted({int(row.invoice_id) for row in rows})
        raise RuntimeError(
            f"invoices {invoices} have a payment still pending beside another one: run `prorata reconcile` with the "
            "version you are upgrading from, then run `prorata init` again"
        )
    now = datetime.now(UTC)
    first: set[int] = set()
    for row in rows:
        if row.invoice_id not in first:
            first.add(row.invoice_id)  # this one paid the invoice
            continue
        connection.execute(sa.text("UPDATE payments SET status = 'credited' WHERE id = :id"), {"id": row.id})
        connection.execute(
            sa.text(
                "INSERT INTO credit_ledger (account_id, amount, currency, reason, invoice_id, payment_id, created_at) "
                "VALUES (:account, :amount, :currency, 'overpayment', :invoice, :payment, :now)"
            ).bindparams(sa.bindparam("now", type_=UTCDateTime())),
            {"account": row.account_id, "amount": row.amount, "currency": row.currency, "invoice": row.invoice_id,
             "payment": row.id, "now": now},
        )  # fmt: skip
        detail = {"invoice": row.invoice_id, "payment": row.id, "credited": row.amount, "by": "migration 0009"}
        connection.execute(
            sa.text(
                "INSERT INTO audit_log (account_id, actor, action, detail, at) "
                "VALUES (:account, 'migration', 'payment.excess_credited', :detail, :now)"
            ).bindparams(sa.bindparam("now", type_=UTCDateTime())),
            {"account": row.account_id, "detail": json.dumps(detail, sort_keys=True), "now": now},
        )


def downgrade() -> None:
    op.drop_index("ux_payments_live_invoice", table_name="payments")
    with op.batch_alter_table("credit_ledger") as table:
        table.drop_index("ix_credit_ledger_payment_id")
        table.drop_constraint("fk_credit_ledger_payment_id_payments", type_="foreignkey")
        table.drop_column("payment_id")
    op.execute("UPDATE payments SET status = 'succeeded' WHERE status = 'credited'")
    # the earlier meaning of a paid invoice's amount due: what was paid for it
    op.execute(
        "UPDATE invoices SET amount_due = (SELECT coalesce(sum(p.amount), 0) FROM payments p "
        "WHERE p.invoice_id = invoices.id AND p.status = 'succeeded') WHERE status = 'paid'"
    )
    with op.batch_alter_table("payments") as table:
        table.drop_constraint(op.f("ck_payments_status"), type_="check")
        table.create_check_constraint("status", "status in ('pending', 'succeeded', 'failed')")
