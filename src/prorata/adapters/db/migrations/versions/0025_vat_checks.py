"""EU VAT numbers as the VIES registry answered for them

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-14 09:00:00

- ``vat_checks``: one row per VAT number (with its country prefix): valid, invalid, or provisional (the registry
  did not answer; accepted for now and asked again at ``next_check_at``), with what the registry said and when.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vat_checks",
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("address", sa.Text()),
        sa.Column("error", sa.String(64)),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("next_check_at", UTCDateTime()),
        sa.CheckConstraint("status in ('valid', 'invalid', 'provisional')", name=op.f("ck_vat_checks_status")),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_vat_checks")),
    )
    op.create_index("ix_vat_checks_next_check_at", "vat_checks", ["next_check_at"])


def downgrade() -> None:
    op.drop_index("ix_vat_checks_next_check_at", table_name="vat_checks")
    op.drop_table("vat_checks")
