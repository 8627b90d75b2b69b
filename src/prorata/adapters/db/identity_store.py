"""People who sign in, their password links, the sign-in throttle and their sessions, as the use cases reach them
(``services/sign_in.py``, ``services/passwords.py``, ``services/add_user.py``). A part of ``SqlUnitOfWork``.

E-mail addresses arrive here normalised by the use cases (``services/identity.py``); the unique address of
``people`` makes one person of one address even when two requests race to make it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.schema import accounts, outbox, people, person_tokens, sign_in_throttle, users, web_sessions
from prorata.domain.throttle import ThrottleState
from prorata.services.ports import Membership, Person

_NEVER = datetime(2000, 1, 1, tzinfo=UTC)  # the window of a throttle row made for its first attempt


class IdentityStore:
    """The people's part of the unit of work."""

    @property
    def conn(self) -> Connection:
        raise NotImplementedError

    def person_by_email(self, email: str) -> Person | None:
        row = self.conn.execute(select(people).where(people.c.email == email)).mappings().first()
        return None if row is None else Person(int(row["id"]), row["email"], row["password_hash"])

    def person(self, person_id: int) -> Person | None:
        row = self.conn.execute(select(people).where(people.c.id == person_id)).mappings().first()
        return None if row is None else Person(int(row["id"]), row["email"], row["password_hash"])

    def ensure_person(self, email: str, now: datetime) -> int:
        found = self.person_by_email(email)
        if found is not None:
            return found.id
        try:
            with self.conn.begin_nested():
                return int(
                    self.conn.execute(
                        insert(people).values(email=email, created_at=now).returning(people.c.id)
                    ).scalar_one()
                )
        except IntegrityError:  # made by a request that raced this one: the same person
            again = self.person_by_email(email)
            if again is None:
                raise
            return again.id

    def set_password_hash(self, person_id: int, password_hash: str, now: datetime) -> None:
        self.conn.execute(
            update(people).where(people.c.id == person_id).values(password_hash=password_hash, password_changed_at=now)
        )

    def memberships(self, person_id: int) -> list[Membership]:
        rows = self.conn.execute(
            select(users.c.id, users.c.account_id, accounts.c.code, accounts.c.name, users.c.role, users.c.name)
            .join(accounts, accounts.c.id == users.c.account_id)
            .where(users.c.person_id == person_id)
            .order_by(accounts.c.name, accounts.c.id)
        ).all()
        return [Membership(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def link_user(self, user_id: int, person_id: int) -> None:
        self.conn.execute(update(users).where(users.c.id == user_id).values(person_id=person_id))

    # -- the throttle

    def throttle_state(self, key: str) -> ThrottleState | None:
        # the row is made first if it is missing (a no-op when it exists), so that there is always a row to lock:
        # two first attempts at one key then queue on it like any others
        dialect_insert = postgresql_insert if self.conn.dialect.name == "postgresql" else sqlite_insert
        self.conn.execute(
            dialect_insert(sign_in_throttle)
            .values(key=key, attempts=0, window_start=_NEVER, locks=0)
            .on_conflict_do_nothing(index_elements=[sign_in_throttle.c.key])
        )
        query = select(sign_in_throttle).where(sign_in_throttle.c.key == key)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().one()
        if row["window_start"] == _NEVER:
            return None
        return ThrottleState(int(row["attempts"]), row["window_start"], int(row["locks"]), row["locked_until"])

    def save_throttle(self, key: str, state: ThrottleState) -> None:
        self.conn.execute(
            update(sign_in_throttle)
            .where(sign_in_throttle.c.key == key)
            .values(attempts=state.attempts, window_start=state.window_start, locks=state.locks,
                    locked_until=state.locked_until)
        )  # fmt: skip

    def clear_throttle(self, key: str) -> None:
        self.conn.execute(delete(sign_in_throttle).where(sign_in_throttle.c.key == key))

    # -- password links

    def insert_person_token(
        self, person_id: int, purpose: str, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        self.conn.execute(
            update(person_tokens)
            .where(person_tokens.c.person_id == person_id, person_tokens.c.purpose == purpose,
                   person_tokens.c.used_at.is_(None))
            .values(expires_at=now)
        )  # fmt: skip
        self.conn.execute(
            insert(person_tokens).values(person_id=person_id, purpose=purpose, token_hash=token_hash,
                                         created_at=now, expires_at=expires_at)
        )  # fmt: skip

    def peek_person_token(self, token_hash: str, now: datetime) -> tuple[int, str] | None:
        row = self.conn.execute(
            select(person_tokens.c.person_id, person_tokens.c.purpose).where(
                person_tokens.c.token_hash == token_hash, person_tokens.c.used_at.is_(None),
                person_tokens.c.expires_at > now,
            )
        ).first()  # fmt: skip
        return None if row is None else (int(row[0]), str(row[1]))

    def use_person_token(self, token_hash: str, now: datetime) -> tuple[int, str] | None:
        # the update is the check: of two requests using one link, only one changes its row
        row = self.conn.execute(
            update(person_tokens)
            .where(person_tokens.c.token_hash == token_hash, person_tokens.c.used_at.is_(None),
                   person_tokens.c.expires_at > now)
            .values(used_at=now)
            .returning(person_tokens.c.person_id, person_tokens.c.purpose)
        ).first()  # fmt: skip
        if row is None:
            return None
        person_id = int(row[0])
        # a password is set once per link; any other link of the person stops working with it
        self.conn.execute(
            update(person_tokens)
            .where(person_tokens.c.person_id == person_id, person_tokens.c.used_at.is_(None))
            .values(expires_at=now)
        )
        return person_id, str(row[1])

    def end_sessions(self, person_id: int, *, keep: str | None = None) -> int:
        query = delete(web_sessions).where(web_sessions.c.person_id == person_id)
        if keep is not None:
            query = query.where(web_sessions.c.token_hash != keep)
        return int(self.conn.execute(query).rowcount or 0)

    # -- messages to people

    def enqueue_person_mail(
        self, recipients: Sequence[str], kind: str, language: str, now: datetime, *,
        account_id: int | None = None, data: Mapping[str, object] | None = None,
    ) -> None:  # fmt: skip
        unique = list(dict.fromkeys(address for address in recipients if address))
        if not unique:
            return
        self.conn.execute(
            insert(outbox).values(
                account_id=account_id, kind=kind, language=language, recipients=json.dumps(unique),
                data=json.dumps(dict(data or {}), sort_keys=True, default=str),
                message_id=f"<{uuid.uuid4().hex}@outbox.prorata>", created_at=now,
            )
        )  # fmt: skip

    def owner_emails(self, account_id: int) -> list[str]:
        rows = self.conn.execute(
            select(users.c.email).where(users.c.account_id == account_id, users.c.role == "owner").order_by(users.c.id)
        ).scalars()
        return [str(email) for email in rows]
