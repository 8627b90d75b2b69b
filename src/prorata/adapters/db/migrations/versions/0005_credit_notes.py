"""Credit notes (rule I2)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import prorata.adapters.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "credit_notes",
        sa.Column("invoice_id", _ID, nullable=False),
        sa.Column("corrects_id", _ID, nullable=False),
        sa.Column("positions", sa.Text(), nullable=False),
        sa.Column("void", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", prorata.adapters.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"], ["invoices.id"], name=op.f("fk_credit_notes_corrects_id_invoices"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_credit_notes")),
    )
    op.create_index(op.f("ix_credit_notes_corrects_id"), "credit_notes", ["corrects_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_credit_notes_corrects_id"), table_name="credit_notes")
    op.drop_table("credit_notes")
