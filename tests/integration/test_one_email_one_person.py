"""Migration 0013: user rows of earlier versions become people, one per normalised e-mail, keeping a password; on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import select, text

from prorata.adapters.db.database import create_database_engine, migrate
from prorata.adapters.db.schema import audit_log, people, users
from prorata.domain import throttle
from prorata.domain.throttle import ThrottleState

AT = datetime(2026, 11, 1, tzinfo=UTC)


def test_users_of_earlier_versions_become_one_person_per_address(database_url: str) -> None:
    hasher = PasswordHasher()
    first, second = hasher.hash("first password one"), hasher.hash("second password two")
    engine = create_database_engine(database_url)
    try:
        migrate(engine, "0012")
        with engine.begin() as conn:
            for n, code in enumerate(["alpha", "beta"], start=1):
                conn.execute(text(
                    "INSERT INTO accounts (id, code, name, currency, time_zone, country, created_at) "
                    "VALUES (:id, :code, :code, 'PLN', 'Europe/Warsaw', 'PL', :at)"
                ), {"id": n, "code": code, "at": AT})  # fmt: skip
            rows = [
                (1, 1, "OWNER@x.test", "owner", first),  # alpha's owner, in capitals: could never sign in
                (2, 2, "owner@x.test", "admin", second),  # the same person in beta, with another password
                (3, 1, " owner@X.test", "member", None),  # alpha again, differing only in case and a space
                (4, 2, "member@x.test", "member", None),  # never set a password
            ]
            for user_id, account, email, role, password in rows:
                conn.execute(text(
                    "INSERT INTO users (id, account_id, email, name, role, password_hash, created_at) "
                    "VALUES (:id, :account, :email, 'N', :role, :password, :at)"
                ), {"id": user_id, "account": account, "email": email, "role": role, "password": password,
                    "at": AT})  # fmt: skip

        migrate(engine)

        with engine.connect() as conn:
            persons = {r.email: r for r in conn.execute(select(people))}
            linked = {r.id: (r.email, r.person_id) for r in conn.execute(select(users))}
            audit = [(r.account_id, r.action, json.loads(r.detail)) for r in conn.execute(select(audit_log))]
    finally:
        engine.dispose()
    assert set(persons) == {"owner@x.test", "member@x.test"}
    owner = persons["owner@x.test"]
    assert owner.password_hash == first  # the oldest user row's password is kept
    assert persons["member@x.test"].password_hash is None
    assert linked[1] == ("owner@x.test", owner.id)
    assert linked[2] == ("owner@x.test", owner.id)
    assert linked[3] == (" owner@X.test", None)  # a second user of one person in one account: for the operator
    assert linked[4] == ("member@x.test", persons["member@x.test"].id)
    assert sorted((a, action) for a, action, _ in audit) == [
        (1, "user.identity_conflict"),
        (2, "user.password_dropped"),
    ]


def test_the_throttle_counts_five_then_locks_for_a_doubling_time_and_forgets_a_quiet_key() -> None:
    policy = throttle.PER_EMAIL
    state: ThrottleState | None = None
    now = AT
    for _ in range(policy.limit):
        decision = throttle.attempt(state, now, policy)
        assert decision.allowed
        state = decision.state
    locked = throttle.attempt(state, now, policy)
    assert not locked.allowed
    assert locked.locked_now
    assert locked.retry_after == policy.first_lock
    still = throttle.attempt(locked.state, now + timedelta(seconds=59), policy)
    assert not still.allowed
    assert not still.locked_now
    assert still.retry_after == timedelta(seconds=1)
    after = throttle.attempt(locked.state, now + timedelta(seconds=60), policy)
    assert after.allowed  # one attempt once the lock is over
    again = throttle.attempt(after.state, now + timedelta(seconds=61), policy)
    assert not again.allowed
    assert again.retry_after == 2 * policy.first_lock
    longest = again
    for _ in range(12):  # each lock over, one more wrong attempt, then a longer lock, up to the longest
        assert longest.state.locked_until is not None
        allowed = throttle.attempt(longest.state, longest.state.locked_until, policy)
        longest = throttle.attempt(allowed.state, longest.state.locked_until, policy)
    assert longest.retry_after == policy.longest_lock
    assert longest.state.locked_until is not None
    quiet = throttle.attempt(longest.state, longest.state.locked_until + policy.window, policy)
    assert quiet.allowed
    assert quiet.state.attempts == 1
    assert quiet.state.locks == 0
