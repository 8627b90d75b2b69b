"""Tax exemption certificates (rule TE1)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-12 09:00:00

- ``tax_exemptions``: each certificate an account sent, kept in the row (a file of at most 5 MB, with its SHA-256),
  and what became of it: pending, exempt (accepted), rejected (with the reason), or cleared (the Sold-To country
  changed, or a newer certificate replaced it).
- ``accounts.tax_exemption``: the account's current state (pending or exempt), read with the account wherever its
  tax is decided, so deciding it costs no statement more.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tax_exemptions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            _ID,
            sa.ForeignKey("accounts.id", ondelete="RESTRICT", name="fk_tax_exemptions_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("filename", sa.String(100), nullable=False),
        sa.Column("media_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("sent_by", sa.String(320), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(320)),
        sa.Column("decided_at", UTCDateTime()),
        sa.Column("reason", sa.Text()),
        sa.Column("cleared_at", UTCDateTime()),
        sa.CheckConstraint(
            "status in ('pending', 'exempt', 'rejected', 'cleared')", name=op.f("ck_tax_exemptions_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_exemptions")),
    )
    op.create_index("ix_tax_exemptions_account_id", "tax_exemptions", ["account_id"])
    op.add_column("accounts", sa.Column("tax_exemption", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("tax_exemption")
    op.drop_index("ix_tax_exemptions_account_id", table_name="tax_exemptions")
    op.drop_table("tax_exemptions")
