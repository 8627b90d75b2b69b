"""A card's own billing address (rule K4)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("billing_address_line1", 200),
    ("billing_address_line2", 200),
    ("billing_city", 100),
    ("billing_postal_code", 20),
    ("billing_region", 100),
    ("billing_country", 2),
)


def upgrade() -> None:
    with op.batch_alter_table("payment_methods") as table:
        for name, length in _COLUMNS:
            table.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment_methods") as table:
        for name, _ in reversed(_COLUMNS):
            table.drop_column(name)
