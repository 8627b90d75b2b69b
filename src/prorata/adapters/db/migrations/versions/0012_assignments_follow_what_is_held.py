"""Assignments follow what is held: the ones earlier versions left behind end (rules U1, A7, L4, C7, D1, A8, I8)

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01 09:00:00

No table changes. Earlier versions left two kinds of assignment that the billing run now never leaves, and that the
engine refuses to price (an account holding more assigned than licensed cannot renew or order):

- Assignments of ended subscriptions (cancelled at the term end, one-month products, 30 days overdue): they end.
- Assignments beyond the licenses a subscription holds (a renewal applied a downgrade or reduction scheduled before
  rule L4 was checked on assignment, e.g. 12 users on Pro x 6): the most recently assigned beyond the quantity are
  unassigned, as a renewal does it now; the account's owner and billing contacts are e-mailed their names.

A user who loses a plan license (the installation's catalog, ``PRORATA_CATALOG`` or the default, says which products
are plans; a product it does not know is taken for a plan, so nobody loses more than that) also loses their add-on
seats (A7) and, holding no plan license of an active subscription any more, is Basic again. Every ended assignment
is an audit line (``license.unassigned``, actor ``migration``) with its reason, as the billing run writes it.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def _plans(products: set[str]) -> set[str]:
    from prorata.catalogs import default_catalog, load_catalog
    from prorata.config import catalog_path

    path = catalog_path()
    catalog = load_catalog(path) if path else default_catalog()
    return {p for p in products if p not in catalog.products or catalog.products[p].is_plan}


def upgrade() -> None:
    connection = op.get_bind()
    rows: list[Any] = list(
        connection.execute(
            sa.text(
                "SELECT la.id, la.subscription_id, la.user_id, s.account_id, s.product, s.status, s.quantity, "
                "s.period_start, u.email FROM license_assignments la "
                "JOIN subscriptions s ON s.id = la.subscription_id JOIN users u ON u.id = la.user_id "
                "ORDER BY la.assigned_at DESC, la.id DESC"
            ).columns(period_start=UTCDateTime())
        )
    )
    if not rows:
        return
    plans = _plans({row.product for row in rows})
    ended: dict[int, str] = {row.id: "subscription_ended" for row in rows if row.status == "ended"}
    by_subscription: dict[int, list[Any]] = {}
    for row in rows:  # most recently assigned first
        if row.status == "active":
            by_subscription.setdefault(row.subscription_id, []).append(row)
    over = [held for held in by_subscription.values() if len(held) > held[0].quantity]

    def trim(held: list[Any]) -> None:
        remaining = [row for row in held if row.id not in ended]
        for row in remaining[: max(0, len(remaining) - int(held[0].quantity))]:
            ended[row.id] = "licenses_reduced"

    for held in over:
        if held[0].product in plans:
            trim(held)
    # rule A7: whoever lost a plan license and holds no other loses their add-on seats, before add-ons are trimmed
    licensed = {row.user_id for row in rows if row.id not in ended and row.status == "active" and row.product in plans}
    unlicensed = {row.user_id for row in rows if row.id in ended and row.product in plans} - licensed
    for row in rows:
        if row.user_id in unlicensed and row.status == "active" and row.id not in ended:
            ended[row.id] = "plan_license_ended"
    for held in over:
        if held[0].product not in plans:
            trim(held)
    if not ended:
        return
    now = datetime.now(UTC)
    gone = [row for row in rows if row.id in ended]
    for row in gone:
        connection.execute(sa.text("DELETE FROM license_assignments WHERE id = :id"), {"id": row.id})
    basic = sorted(unlicensed | ({row.user_id for row in gone} - licensed))
    for user in basic:
        connection.execute(sa.text("UPDATE users SET type = 'basic' WHERE id = :id"), {"id": user})
    audit = sa.text(
        "INSERT INTO audit_log (account_id, actor, action, detail, at) "
        "VALUES (:account, 'migration', 'license.unassigned', :detail, :now)"
    ).bindparams(sa.bindparam("now", type_=UTCDateTime()))
    for row in gone:
        detail = {"subscription": row.subscription_id, "user": row.user_id, "product": row.product,
                  "reason": ended[row.id], "user_type": "basic" if row.user_id in basic else "licensed",
                  "by": "migration 0012"}  # fmt: skip
        connection.execute(audit, {"account": row.account_id, "detail": json.dumps(detail, sort_keys=True),
                                   "now": now})  # fmt: skip
    told = [row for reason in ("licenses_reduced", "plan_license_ended") for row in gone if ended[row.id] == reason]
    _tell_owners(connection, told, now)


def _tell_owners(connection: sa.Connection, gone: list[Any], now: datetime) -> None:
    """The e-mail a renewal writes when it unassigns users for lack of licenses (``licenses_unassigned``): to the
    Sold-To and Bill-To contacts and the owner, in Polish for a Polish Sold-To contact, dated by the renewal that
    left too few licenses (the start of the subscription's current period)."""
    accounts: dict[int, list[Any]] = {}
    for row in gone:
        accounts.setdefault(int(row.account_id), []).append(row)
    for account_id, held in accounts.items():
        contacts = connection.execute(
            sa.text("SELECT kind, email, country FROM contacts WHERE account_id = :a ORDER BY kind DESC"),
            {"a": account_id},
        ).all()
        owner = connection.execute(
            sa.text("SELECT email FROM users WHERE account_id = :a AND role = 'owner' ORDER BY id LIMIT 1"),
            {"a": account_id},
        ).scalar_one_or_none()
        recipients = list(dict.fromkeys(
            address.strip().lower() for address in [*(c.email for c in contacts), owner] if address))  # fmt: skip
        if not recipients:
            continue
        country = next((c.country for c in contacts if c.kind == "sold_to"), None)
        by_product: dict[str, list[str]] = {}
        for row in held:
            by_product.setdefault(str(row.product), []).append(str(row.email))
        effective = min(row.period_start for row in held)
        data = {"effective": effective.isoformat(),
                "unassigned": [{"product": p, "users": users} for p, users in by_product.items()]}  # fmt: skip
        connection.execute(
            sa.text(
                "INSERT INTO outbox (account_id, kind, language, recipients, data, message_id, status, attempts, "
                "created_at) VALUES (:a, 'licenses_unassigned', :language, :recipients, :data, :message_id, "
                "'pending', 0, :now)"
            ).bindparams(sa.bindparam("now", type_=UTCDateTime())),
            {"a": account_id, "language": "pl" if country == "PL" else "en", "recipients": json.dumps(recipients),
             "data": json.dumps(data, sort_keys=True), "message_id": f"<{uuid.uuid4().hex}@outbox.prorata>",
             "now": now},
        )  # fmt: skip


def downgrade() -> None:
    """Nothing to undo: the assignments that ended were ones no subscription carried."""
