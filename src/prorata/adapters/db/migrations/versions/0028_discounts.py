"""Discount codes and the discounts accounts hold

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-16 09:00:00

- ``discount_codes`` and ``discount_code_amounts``: codes as operators define them (rule DC2): a percentage or fixed
  amounts per currency, the products they cover, how many periods, an expiry and a redemption limit, with the count
  of redemptions the limit is checked against.
- ``discount_redemptions``: a code redeemed by an account (rules DC1, DC2), its terms in the account's currency and
  the service time it covers; reserved while its order is paid for, then applied; once per account and code.
- ``invoice_lines`` gain the ``discount`` kind (its amount takes off, or on a credit note gives back) and the code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import Money, UTCDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

REDEEMED = "redeemed >= 0 and (max_redemptions is null or redeemed <= max_redemptions)"
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(name: str, table: str, target: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(
        name, _ID, sa.ForeignKey(f"{target}.id", ondelete="RESTRICT", name=f"fk_{table}_{name}_{target}"),
        nullable=nullable,
    )  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "discount_codes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("duration", sa.String(16), nullable=False),
        sa.Column("periods", sa.Integer()),
        sa.Column("percent", sa.Integer()),
        sa.Column("products", sa.Text(), nullable=False, server_default=""),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("max_redemptions", sa.Integer()),
        sa.Column("redeemed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime()),
        sa.CheckConstraint("duration in ('once', 'repeating', 'forever')", name=op.f("ck_discount_codes_duration")),
        sa.CheckConstraint(
            "percent is null or (percent >= 1 and percent <= 10000)", name=op.f("ck_discount_codes_percent")
        ),
        sa.CheckConstraint(REDEEMED, name=op.f("ck_discount_codes_redeemed")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_discount_codes_code")),
    )
    op.create_table(
        "discount_code_amounts",
        _fk("code_id", "discount_code_amounts", "discount_codes"),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_discount_code_amounts_positive")),
        sa.PrimaryKeyConstraint("code_id", "currency", name=op.f("pk_discount_code_amounts")),
    )
    op.create_table(
        "discount_redemptions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        _fk("code_id", "discount_redemptions", "discount_codes"),
        _fk("account_id", "discount_redemptions", "accounts"),
        _fk("order_id", "discount_redemptions", "orders", nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("percent", sa.Integer()),
        sa.Column("amount", Money()),
        sa.Column("products", sa.Text(), nullable=False, server_default=""),
        sa.Column("periods", sa.Integer()),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime()),
        sa.Column("redeemed_at", UTCDateTime(), nullable=False),
        sa.Column("removed_at", UTCDateTime()),
        sa.CheckConstraint("status in ('reserved', 'applied', 'removed')", name=op.f("ck_discount_redemptions_status")),
        sa.CheckConstraint("(percent is null) <> (amount is null)", name=op.f("ck_discount_redemptions_terms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_redemptions")),
        sa.UniqueConstraint("code_id", "account_id", name=op.f("uq_discount_redemptions_code_id_account_id")),
    )
    for column in ("code_id", "account_id", "order_id"):
        op.create_index(f"ix_discount_redemptions_{column}", "discount_redemptions", [column])
    with op.batch_alter_table("invoice_lines") as table:
        table.add_column(sa.Column("discount_code", sa.String(32)))
        table.drop_constraint(op.f("ck_invoice_lines_kind"), type_="check")
        table.drop_constraint(op.f("ck_invoice_lines_sign"), type_="check")
        table.create_check_constraint("kind", "kind in ('charge', 'credit', 'discount')")
        table.create_check_constraint(
            "sign", "(kind = 'charge' and amount >= 0) or (kind = 'credit' and amount <= 0) or kind = 'discount'"
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines") as table:
        table.drop_constraint(op.f("ck_invoice_lines_kind"), type_="check")
        table.drop_constraint(op.f("ck_invoice_lines_sign"), type_="check")
        table.create_check_constraint("kind", "kind in ('charge', 'credit')")
        table.create_check_constraint("sign", "(kind = 'charge' and amount >= 0) or (kind = 'credit' and amount <= 0)")
        table.drop_column("discount_code")
    for column in ("code_id", "account_id", "order_id"):
        op.drop_index(f"ix_discount_redemptions_{column}", table_name="discount_redemptions")
    op.drop_table("discount_redemptions")
    op.drop_table("discount_code_amounts")
    op.drop_table("discount_codes")
