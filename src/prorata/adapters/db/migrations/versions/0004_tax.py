"""Tax per invoice line and per charge (rules T1-T3)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # existing rows were never taxed: 0 is their true rate, so credits of them reverse no tax (rule T3)
    with op.batch_alter_table("invoice_lines") as batch:
        batch.add_column(sa.Column("tax_rate", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("tax", sa.BigInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("subscription_charges") as batch:
        batch.add_column(sa.Column("tax_rate", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("tax_country", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("reverse_charge", sa.Boolean(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("reverse_charge")
        batch.drop_column("tax_country")
    with op.batch_alter_table("subscription_charges") as batch:
        batch.drop_column("tax_rate")
    with op.batch_alter_table("invoice_lines") as batch:
        batch.drop_column("tax")
        batch.drop_column("tax_rate")
