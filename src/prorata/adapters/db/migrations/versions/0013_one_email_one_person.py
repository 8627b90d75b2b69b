"""One e-mail, one person: sign-in identities, password links, and a sign-in throttle shared by every process

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:00:00

Before, each user row of each account had its own password, and the same e-mail in two accounts were two sign-ins
(the first whose password matched won, so the second account could never be reached); an address stored as
``OWNER@x`` could never sign in. Now a person is one e-mail address, stored normalised (trimmed, NFC, lower case)
and unique across the installation, with one password; every user row of every account points to its person.

- Each user's e-mail is normalised and linked to the person of that address. A person keeps the password of their
  oldest user row that had one; user rows whose different password is dropped by this are audited
  (``user.password_dropped``): that person signs in with the kept one, or resets it by e-mail.
- Two users of one account whose addresses differ only in case or spaces cannot both be that person: the older is
  linked, the newer keeps its address as it was and no person (it cannot sign in), audited as
  ``user.identity_conflict`` for the operator to settle.
- Portal sessions now belong to a person and name the chosen account; the sessions open before this migration end
  (everybody signs in again once).
- The outbox can hold a message to a person that belongs to no account (a password reset).
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from prorata.adapters.db.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _normalise(email: str) -> str:
    return unicodedata.normalize("NFC", email.strip()).lower()


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("password_changed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("email", name=op.f("uq_people_email")),
    )
    op.create_table(
        "person_tokens",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("purpose in ('reset', 'invitation')", name=op.f("ck_person_tokens_purpose")),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_person_tokens_person_id_people"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_person_tokens_token_hash")),
    )
    op.create_index(op.f("ix_person_tokens_person_id"), "person_tokens", ["person_id"], unique=False)
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("window_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("locks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )

    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("person_id", _ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_users_person_id_people"), "people", ["person_id"], ["id"], ondelete="RESTRICT"
        )
        batch.create_index(op.f("ix_users_person_id"), ["person_id"], unique=False)
    _link_people(op.get_bind())
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")

    op.execute("DELETE FROM web_sessions")  # they belonged to user rows; everybody signs in once more
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("person_id", _ID, nullable=False))
        batch.alter_column("user_id", existing_type=_ID, nullable=True)
        batch.create_foreign_key(
            op.f("fk_web_sessions_person_id_people"), "people", ["person_id"], ["id"], ondelete="RESTRICT"
        )
        batch.create_index(op.f("ix_web_sessions_person_id"), ["person_id"], unique=False)
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("account_id", existing_type=_ID, nullable=True)


def _link_people(bind: sa.Connection) -> None:
    now = datetime.now(UTC)
    meta = sa.MetaData()
    users = sa.Table(
        "users", meta, sa.Column("id", _ID), sa.Column("account_id", _ID), sa.Column("email", sa.String),
        sa.Column("password_hash", sa.String), sa.Column("person_id", _ID),
    )  # fmt: skip
    people = sa.Table(
        "people", meta, sa.Column("id", _ID), sa.Column("email", sa.String), sa.Column("password_hash", sa.String),
        sa.Column("created_at", UTCDateTime(timezone=True)),
    )  # fmt: skip
    audit = sa.Table(
        "audit_log", meta, sa.Column("account_id", _ID), sa.Column("actor", sa.String), sa.Column("action", sa.String),
        sa.Column("detail", sa.Text), sa.Column("at", UTCDateTime(timezone=True)),
    )  # fmt: skip
    person_of: dict[str, tuple[int, str | None]] = {}
    seen: set[tuple[int, str]] = set()
    rows = bind.execute(sa.select(users.c.id, users.c.account_id, users.c.email, users.c.password_hash)
                        .order_by(users.c.id)).all()  # fmt: skip
    for user_id, account_id, email, password_hash in rows:
        address = _normalise(email)
        if (account_id, address) in seen:
            bind.execute(sa.insert(audit).values(account_id=account_id, actor="migration",
                         action="user.identity_conflict", detail=json.dumps({"user": user_id, "email": email}),
                         at=now))  # fmt: skip
            continue
        seen.add((account_id, address))
        if address not in person_of:
            person_id = bind.execute(
                sa.insert(people).values(email=address, password_hash=password_hash, created_at=now)
                .returning(people.c.id)
            ).scalar_one()  # fmt: skip
            person_of[address] = (int(person_id), password_hash)
        person_id, kept = person_of[address]
        if kept is None and password_hash is not None:
            bind.execute(sa.update(people).where(people.c.id == person_id).values(password_hash=password_hash))
            person_of[address] = (person_id, password_hash)
        elif password_hash is not None and password_hash != kept:
            bind.execute(sa.insert(audit).values(account_id=account_id, actor="migration",
                         action="user.password_dropped", detail=json.dumps({"user": user_id, "email": address}),
                         at=now))  # fmt: skip
        bind.execute(sa.update(users).where(users.c.id == user_id).values(email=address, person_id=person_id))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("account_id", existing_type=_ID, nullable=False)
    op.execute("DELETE FROM web_sessions")
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_index(op.f("ix_web_sessions_person_id"))
        batch.drop_constraint(op.f("fk_web_sessions_person_id_people"), type_="foreignkey")
        batch.alter_column("user_id", existing_type=_ID, nullable=False)
        batch.drop_column("person_id")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.execute("UPDATE users SET password_hash = (SELECT p.password_hash FROM people p WHERE p.id = users.person_id)")
    with op.batch_alter_table("users") as batch:
        batch.drop_index(op.f("ix_users_person_id"))
        batch.drop_constraint(op.f("fk_users_person_id_people"), type_="foreignkey")
        batch.drop_column("person_id")
    op.drop_table("sign_in_throttle")
    op.drop_index(op.f("ix_person_tokens_person_id"), table_name="person_tokens")
    op.drop_table("person_tokens")
    op.drop_table("people")
