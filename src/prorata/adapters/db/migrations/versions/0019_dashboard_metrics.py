"""The operator dashboard's figures and the indexes of its live parts

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 09:00:00

- ``metric_months``, ``metric_products``, ``metric_refreshes``: the dashboard's figures per currency and month (MRR
  and its movements, customers, subscriptions, licenses, money invoiced and collected, failed payments, credit
  balance) and MRR by product, computed from the books by ``prorata metrics refresh`` (``domain/metrics.py``), and
  when they were computed. Empty until the first refresh.
- ``ix_invoices_open``, ``ix_accounts_overdue``: partial indexes, so that the dunning funnel and the overdue
  accounts are read from the few open invoices and overdue accounts, not from every row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import Money, UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

MONEY = ("mrr", "new", "reactivation", "expansion", "contraction", "churn", "invoiced", "tax", "collected",
         "refunded", "failed_amount", "credit_balance")  # fmt: skip
COUNTS = ("customers", "new_customers", "reactivated_customers", "churned_customers", "subscriptions", "licenses",
          "failed_payments", "cancelled_accounts")  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "metric_months",
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        *(sa.Column(name, Money(), nullable=False, server_default="0") for name in MONEY),
        *(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0") for name in COUNTS),
        sa.PrimaryKeyConstraint("currency", "month", name="pk_metric_months"),
    )
    op.create_table(
        "metric_products",
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("mrr", Money(), nullable=False),
        sa.Column("subscriptions", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("currency", "month", "product", name="pk_metric_products"),
    )
    op.create_table(
        "metric_refreshes",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("computed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("milliseconds", sa.Integer(), nullable=False),
        sa.Column("first_month", sa.Date()),
        sa.Column("last_month", sa.Date()),
        sa.PrimaryKeyConstraint("name", name="pk_metric_refreshes"),
    )
    op.create_index("ix_invoices_open", "invoices", ["account_id"], sqlite_where=sa.text("status = 'open'"),
                    postgresql_where=sa.text("status = 'open'"))  # fmt: skip
    op.create_index("ix_accounts_overdue", "accounts", ["overdue_since"], sqlite_where=sa.text("status = 'overdue'"),
                    postgresql_where=sa.text("status = 'overdue'"))  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_accounts_overdue", table_name="accounts")
    op.drop_index("ix_invoices_open", table_name="invoices")
    op.drop_table("metric_refreshes")
    op.drop_table("metric_products")
    op.drop_table("metric_months")
