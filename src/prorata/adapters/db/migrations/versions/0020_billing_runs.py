"""Billing runs as the operator console lists them

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-09 09:00:00

- ``billing_runs``: each run of the billing (``prorata bill``, ``clock advance``, the API's operator route): who ran
  it, up to when, while it runs how many of the accounts due it has done, and when it ends what it did and what it
  left (accounts refused with their reason, invoices it could not attempt).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "billing_runs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("accounts_due", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("accounts_done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("summary", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("problems", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("error", sa.Text()),
        sa.CheckConstraint("status in ('running', 'finished', 'failed')", name=op.f("ck_billing_runs_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_runs")),
    )


def downgrade() -> None:
    op.drop_table("billing_runs")
