"""Events for the vendor's product, webhook endpoints and their deliveries, and the entitlements last told

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 09:00:00

- ``events``: each change that matters, written in the transaction of the change, with the object as the API returns
  it.
- ``entitlement_states``: the digest of each account's entitlements as last emitted (``entitlements.updated``).
- ``webhook_endpoints``, ``webhook_deliveries``, ``webhook_attempts``: where events go, each event's delivery to
  each endpoint (in order per endpoint and account), and every attempt with what the endpoint answered.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, name: str, target: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(
        name,
        _ID,
        sa.ForeignKey(f"{target}.id", ondelete="RESTRICT", name=f"fk_{table}_{name}_{target}"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(40), nullable=False),
        sa.Column("type", sa.String(48), nullable=False),
        _fk("events", "account_id", "accounts", nullable=True),
        sa.Column("object", sa.String(24), nullable=False),
        sa.Column("object_id", sa.String(64)),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("public_id", name="uq_events_public_id"),
    )
    op.create_index("ix_events_account_id", "events", ["account_id"])
    op.create_index("ix_events_created_at", "events", ["created_at"])
    op.create_index("ix_events_type_id", "events", ["type", "id"])
    op.create_table(
        "entitlement_states",
        _fk("entitlement_states", "account_id", "accounts"),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_entitlement_states"),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.String(200), server_default="", nullable=False),
        sa.Column("event_types", sa.Text(), server_default="[]", nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("secret_generation", sa.Integer(), server_default="1", nullable=False),
        sa.Column("previous_valid_until", UTCDateTime(timezone=True)),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("failing_since", UTCDateTime(timezone=True)),
        sa.Column("disabled_at", UTCDateTime(timezone=True)),
        sa.Column("disabled_reason", sa.String(32)),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoints"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        _fk("webhook_deliveries", "endpoint_id", "webhook_endpoints"),
        _fk("webhook_deliveries", "event_id", "events"),
        sa.Column("lane", _ID, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", UTCDateTime(timezone=True)),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True)),
        sa.CheckConstraint(
            "status in ('pending', 'sending', 'delivered', 'failed')", name="ck_webhook_deliveries_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    op.create_index("ix_webhook_deliveries_endpoint_id", "webhook_deliveries", ["endpoint_id"])
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_index("ix_webhook_deliveries_lane", "webhook_deliveries", ["endpoint_id", "lane", "id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        _fk("webhook_attempts", "delivery_id", "webhook_deliveries"),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error", sa.String(64)),
        sa.Column("excerpt", sa.Text(), server_default="", nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_table("entitlement_states")
    op.drop_table("events")
