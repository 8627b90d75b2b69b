"""Operators of the installation and their console sessions

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 09:00:00

- ``operators``: the people who run the business in the operator console (``/operator``), apart from the customers'
  people: an operator belongs to no account, and no customer's sign-in opens the console.
- ``operator_sessions``: their console sessions, as ``web_sessions`` keeps the portal's (the token's hash only).
- ``credit_ledger.note`` and ``grant_key``: credit an operator adds by hand carries its reason, and the key of the
  request that added it (with the account's id: keys are the account's), unique, so that a request sent twice adds
  it once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_operators_email")),
    )
    op.create_table(
        "operator_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("operator_id", _ID, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_sessions_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_operator_sessions")),
    )
    op.create_index(op.f("ix_operator_sessions_operator_id"), "operator_sessions", ["operator_id"])
    op.add_column("credit_ledger", sa.Column("note", sa.Text()))
    op.add_column("credit_ledger", sa.Column("grant_key", sa.String(128)))
    op.create_index("uq_credit_ledger_grant_key", "credit_ledger", ["grant_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_credit_ledger_grant_key", table_name="credit_ledger")
    with op.batch_alter_table("credit_ledger") as batch:
        batch.drop_column("grant_key")
        batch.drop_column("note")
    op.drop_index(op.f("ix_operator_sessions_operator_id"), table_name="operator_sessions")
    op.drop_table("operator_sessions")
    op.drop_table("operators")
