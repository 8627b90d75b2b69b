"""What `prorata verify` needs to prove the books: a seal on every issued document, the billing period of each line,
the log of verifications (rules I2, C3)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:00:00

- ``invoices.content_hash``: the seal of an issued document (``adapters/db/seal.py``). Every document already issued
  is sealed here, as it stands now: what was edited before this version cannot be told apart any more, what is edited
  from now on can.
- ``invoice_lines.whole_start`` / ``whole_end``: the period a line's ``whole`` measures (rule C3), so that a line's
  fraction is checked against the calendar and not only against itself. Lines issued before this version that cover
  their whole period (``used = whole``) get their own service period; for a prorated one the period it was prorated
  against was never stored and stays empty (its amount is still checked against its own fraction).
- ``verification_runs``: each run of the checks, what it covered and found.
- ``ix_invoices_issued_at``: ``prorata verify --since`` reads the documents of a period.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.seal import seal_all_issued
from prorata.adapters.db.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # plain ALTER TABLE on both databases (SQLite adds and drops such columns in place): a table copy would trip
    # over the rows that point at invoices
    op.add_column("invoice_lines", sa.Column("whole_start", UTCDateTime(), nullable=True))
    op.add_column("invoice_lines", sa.Column("whole_end", UTCDateTime(), nullable=True))
    op.add_column("invoices", sa.Column("content_hash", sa.String(length=64), nullable=True))
    op.create_index("ix_invoices_issued_at", "invoices", ["issued_at"])
    op.create_table(
        "verification_runs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("milliseconds", sa.Integer(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("violation_count", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("violations", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_runs")),
    )
    # a line that covers its whole period was prorated against that period
    op.execute(
        "UPDATE invoice_lines SET whole_start = period_start, whole_end = period_end WHERE used = whole "
        "AND invoice_id IN (SELECT id FROM invoices WHERE series = 'INV')"
    )
    seal_all_issued(op.get_bind())


def downgrade() -> None:
    op.drop_table("verification_runs")
    op.drop_index("ix_invoices_issued_at", table_name="invoices")
    op.drop_column("invoices", "content_hash")
    op.drop_column("invoice_lines", "whole_end")
    op.drop_column("invoice_lines", "whole_start")
