"""The seller kept with each issued document

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-10 09:00:00

- ``sellers``: the seller's identity as the configuration gave it when documents were issued (name, address, tax
  ID, country, e-mail, time zone, bank account and footer texts, as canonical JSON), one row per version, found by
  its SHA-256 (``adapters/db/sellers.py``).
- ``invoices.seller_id``: the version an invoice or credit note was issued by (rule I2: a later change of the
  configuration never changes an issued document). Documents issued before this migration have none: their seller
  stays the configured one, as it always was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sellers",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sellers")),
        sa.UniqueConstraint("digest", name=op.f("uq_sellers_digest")),
    )
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("seller_id", _ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_invoices_seller_id_sellers"), "sellers", ["seller_id"], ["id"], ondelete="RESTRICT"
        )


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_constraint(op.f("fk_invoices_seller_id_sellers"), type_="foreignkey")
        batch.drop_column("seller_id")
    op.drop_table("sellers")
