"""The National Bank of Poland's average exchange rates

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-13 09:00:00

- ``exchange_rates``: one row per currency and table date, as ``prorata rates import`` read it from the bank's
  files: the table's number, the average rate as the bank wrote it (exact decimal text) and its unit count. A
  foreign-currency invoice of a Polish seller shows its VAT in PLN at the rate of the last working day before its
  issue date.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exchange_rates",
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("table_date", sa.Date(), nullable=False),
        sa.Column("table_number", sa.String(32), nullable=False),
        sa.Column("mid", sa.String(24), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("currency", "table_date", name=op.f("pk_exchange_rates")),
    )


def downgrade() -> None:
    op.drop_table("exchange_rates")
