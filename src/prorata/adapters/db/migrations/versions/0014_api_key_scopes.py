"""API keys: a scope (full or read-only) and when each key was last used

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 09:00:00

Only ``api_keys`` changes. Every existing key keeps what it could do (``full``); ``last_used_at`` is empty until the
key is next used.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as table:
        table.add_column(sa.Column("scope", sa.String(length=16), server_default="full", nullable=False))
        table.add_column(sa.Column("last_used_at", UTCDateTime(timezone=True), nullable=True))
        table.create_check_constraint("scope", "scope in ('full', 'read_only')")


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as table:
        table.drop_constraint(op.f("ck_api_keys_scope"), type_="check")
        table.drop_column("last_used_at")
        table.drop_column("scope")
