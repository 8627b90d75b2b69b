"""Invoice terms and bank transfer (rule NT1)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-16 09:00:00

- ``accounts.terms_days``: the account pays by invoice with these net terms (None: by card, as before).
- ``invoices.terms_days``: the invoice was issued on terms (its due date is that many days after the issue); the
  billing run's collection never charges it, and it makes its account overdue only once its due date has passed.
- ``bank_payments``: bank transfers recorded against an invoice, one per bank reference (the unique index is what
  makes a transfer booked once, however many operators or imports record it at the same moment).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import Money, UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("accounts", sa.Column("terms_days", sa.Integer()))
    op.add_column("invoices", sa.Column("terms_days", sa.Integer()))
    op.create_table(
        "bank_payments",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            _ID,
            sa.ForeignKey("accounts.id", ondelete="RESTRICT", name="fk_bank_payments_account_id_accounts"),
            nullable=False,
        ),
        sa.Column(
            "invoice_id",
            _ID,
            sa.ForeignKey("invoices.id", ondelete="RESTRICT", name="fk_bank_payments_invoice_id_invoices"),
            nullable=False,
        ),
        sa.Column("bank_reference", sa.String(64), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("applied", Money(), nullable=False),
        sa.Column("excess", Money(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("recorded_by", sa.String(320), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "amount > 0 and applied >= 0 and excess >= 0 and applied + excess = amount",
            name=op.f("ck_bank_payments_amounts"),
        ),
        sa.CheckConstraint("source in ('operator', 'statement')", name=op.f("ck_bank_payments_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_payments")),
        sa.UniqueConstraint("bank_reference", name=op.f("uq_bank_payments_bank_reference")),
    )
    op.create_index("ix_bank_payments_account_id", "bank_payments", ["account_id"])
    op.create_index("ix_bank_payments_invoice_id", "bank_payments", ["invoice_id"])


def downgrade() -> None:
    op.drop_index("ix_bank_payments_invoice_id", table_name="bank_payments")
    op.drop_index("ix_bank_payments_account_id", table_name="bank_payments")
    op.drop_table("bank_payments")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("terms_days")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("terms_days")
