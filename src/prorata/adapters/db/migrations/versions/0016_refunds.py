"""Refunds to the original payment method (rules R1, R2)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 09:00:00

- ``refunds``: what a credit note of a paid invoice gives back to the card or PayPal it was paid with, through the
  gateway: one row per credit note, its attempts numbered, each with its own idempotency key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import Money, UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(name: str, target: str, **kwargs: object) -> sa.Column[int]:
    return sa.Column(
        name,
        _ID,
        sa.ForeignKey(f"{target}.id", ondelete="RESTRICT", name=f"fk_refunds_{name}_{target}"),
        nullable=False,
        **kwargs,  # type: ignore[arg-type]
    )


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        _fk("account_id", "accounts"),
        _fk("credit_note_id", "invoices"),
        _fk("invoice_id", "invoices"),
        _fk("payment_id", "payments"),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("gateway", sa.String(32), nullable=False),
        sa.Column("gateway_reference", sa.String(128)),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("failure_code", sa.String(64)),
        sa.Column("attempt", sa.Integer(), server_default="1", nullable=False),
        sa.Column("requested_by", sa.String(16), nullable=False),
        sa.Column("override_reason", sa.Text()),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", UTCDateTime(timezone=True)),
        sa.CheckConstraint("amount > 0", name="ck_refunds_amount"),
        sa.CheckConstraint("status in ('pending', 'succeeded', 'failed', 'credited')", name="ck_refunds_status"),
        sa.CheckConstraint("requested_by in ('customer', 'operator')", name="ck_refunds_requested_by"),
        sa.PrimaryKeyConstraint("id", name="pk_refunds"),
        sa.UniqueConstraint("credit_note_id", name="uq_refunds_credit_note_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_refunds_idempotency_key"),
    )
    for column in ("account_id", "invoice_id", "payment_id"):
        op.create_index(f"ix_refunds_{column}", "refunds", [column])


def downgrade() -> None:
    for column in ("account_id", "invoice_id", "payment_id"):
        op.drop_index(f"ix_refunds_{column}", table_name="refunds")
    op.drop_table("refunds")
