"""The contacts of each issued invoice, as they were when it was issued (rule I2)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_FIELDS = ("kind, name, company, email, phone, address_line1, address_line2, city, postal_code, region, country, "
           "tax_id")  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "invoice_parties",
        sa.Column("invoice_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("tax_id", sa.String(length=32), nullable=True),
        sa.CheckConstraint("kind in ('sold_to', 'bill_to')", name=op.f("ck_invoice_parties_kind")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_parties_invoice_id_invoices"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("invoice_id", "kind", name=op.f("pk_invoice_parties")),
    )
    # invoices issued before this revision: the contacts as they stand now are the best record there is
    op.execute(
        f"INSERT INTO invoice_parties (invoice_id, {_FIELDS}) "
        f"SELECT i.id, {', '.join('c.' + f.strip() for f in _FIELDS.split(','))} "
        "FROM invoices i JOIN contacts c ON c.account_id = i.account_id WHERE i.number IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("invoice_parties")
