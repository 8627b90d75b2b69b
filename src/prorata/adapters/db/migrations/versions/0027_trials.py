"""Free trials, one per account

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-15 09:00:00

- ``trials``: the free trial an account started (rule TR1): its plan, when it started and ends, and when the owner
  was reminded that it ends. Keyed by the account: a second trial cannot be written. The row stays after the trial
  ends or is cancelled, so the account never gets another one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "trials",
        sa.Column(
            "account_id",
            _ID,
            sa.ForeignKey("accounts.id", ondelete="RESTRICT", name="fk_trials_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("order_id", _ID, sa.ForeignKey("orders.id", ondelete="RESTRICT", name="fk_trials_order_id_orders")),
        sa.Column("product", sa.String(64), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("reminded_at", UTCDateTime()),
        sa.CheckConstraint("ends_at > started_at", name=op.f("ck_trials_ends_after_start")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_trials")),
    )
    op.create_index("ix_trials_ends_at", "trials", ["ends_at"])


def downgrade() -> None:
    op.drop_index("ix_trials_ends_at", table_name="trials")
    op.drop_table("trials")
