"""A backup payment method (rule BM1) and extra notice addresses (rule N1)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-10 09:00:00

- ``payment_methods.is_backup``: the account's one backup method, never its default (primary) one; charged only when
  a renewal's charge on the primary is declined.
- ``payments.backup``: a renewal's charge made to the backup method after the primary declined, in the same attempt.
- ``notice_addresses``: up to 5 extra addresses of an account that receive its new-invoice e-mails.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("payment_methods") as table:
        table.add_column(sa.Column("is_backup", sa.Boolean(), server_default="0", nullable=False))
        table.create_check_constraint("backup_not_default", "not (is_default and is_backup)")
    op.create_index("ux_payment_methods_backup", "payment_methods", ["account_id"], unique=True,
                    sqlite_where=sa.text("is_backup"), postgresql_where=sa.text("is_backup"))  # fmt: skip
    with op.batch_alter_table("payments") as table:
        table.add_column(sa.Column("backup", sa.Boolean(), server_default="0", nullable=False))
    op.create_table(
        "notice_addresses",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            _ID,
            sa.ForeignKey("accounts.id", ondelete="RESTRICT", name="fk_notice_addresses_account_id_accounts"),
            nullable=False,
        ),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notice_addresses"),
        sa.UniqueConstraint("account_id", "email", name="uq_notice_addresses_account_id_email"),
    )
    op.create_index("ix_notice_addresses_account_id", "notice_addresses", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_notice_addresses_account_id", table_name="notice_addresses")
    op.drop_table("notice_addresses")
    with op.batch_alter_table("payments") as table:
        table.drop_column("backup")
    op.drop_index("ux_payment_methods_backup", table_name="payment_methods")
    with op.batch_alter_table("payment_methods") as table:
        table.drop_constraint(op.f("ck_payment_methods_backup_not_default"), type_="check")
        table.drop_column("is_backup")
