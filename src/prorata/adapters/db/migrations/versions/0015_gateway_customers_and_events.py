"""A real gateway: payments that wait for the customer, the gateway's customers, and its events once each

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:00:00

- ``payments.status`` may be ``action_required``: the gateway waits for the customer to confirm the charge (3-D
  Secure). Such a payment is live (rule X3): the unique index of live payments includes it, so the invoice is not
  charged again while the customer is asked.
- ``gateway_customers``: the gateway's customer for an account, on which saved cards are kept.
- ``gateway_events``: each webhook event recorded once by its id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_LIVE = "status in ('pending', 'succeeded')"
LIVE = "status in ('pending', 'action_required', 'succeeded')"


def _live_index(where: str) -> None:
    op.drop_index("ux_payments_live_invoice", table_name="payments")
    op.create_index("ux_payments_live_invoice", "payments", ["invoice_id"], unique=True,
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("payments") as table:
        table.drop_constraint(op.f("ck_payments_status"), type_="check")
        table.create_check_constraint(
            "status", "status in ('pending', 'action_required', 'succeeded', 'failed', 'credited')"
        )
    _live_index(LIVE)
    op.create_table(
        "gateway_customers",
        sa.Column(
            "account_id",
            _ID,
            sa.ForeignKey("accounts.id", ondelete="RESTRICT", name="fk_gateway_customers_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("gateway", sa.String(32), nullable=False),
        sa.Column("customer", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "gateway", name="pk_gateway_customers"),
    )
    op.create_index("ix_gateway_customers_account_id", "gateway_customers", ["account_id"])
    op.create_table(
        "gateway_events",
        sa.Column("gateway", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(128)),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("gateway", "event_id", name="pk_gateway_events"),
    )


def downgrade() -> None:
    op.drop_table("gateway_events")
    op.drop_index("ix_gateway_customers_account_id", table_name="gateway_customers")
    op.drop_table("gateway_customers")
    op.execute("UPDATE payments SET status = 'failed', failure_code = 'authentication_required' "
               "WHERE status = 'action_required'")  # fmt: skip
    _live_index(OLD_LIVE)
    with op.batch_alter_table("payments") as table:
        table.drop_constraint(op.f("ck_payments_status"), type_="check")
        table.create_check_constraint("status", "status in ('pending', 'succeeded', 'failed', 'credited')")
