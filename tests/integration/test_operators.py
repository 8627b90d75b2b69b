"""The console's operators on SQLite and PostgreSQL: made by one use case (the CLI's ``operator create`` included),
held to the customers' password policy, signed in apart from customers and throttled as the portal's sign-in is."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import audit_log, operators
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.adapters.passwords import HASHER
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.periods import Granularity
from prorata.entrypoints.cli.main import main
from prorata.services.operators import CreateOperator, OperatorSignIn, create_operator, operator_sign_in

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


def uow(engine: Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, Granularity.DAY)


def make(engine: Engine, email: str = "Ops@Example.test", **extra: str) -> int:
    return create_operator(CreateOperator(email, extra.get("name", "Olga Operator"), extra.get("password", PASSWORD)),
                           uow=lambda: uow(engine), hasher=HASHER, now=NOW)  # fmt: skip


def sign_in(engine: Engine, email: str, password: str, at: datetime = NOW, client: str = "10.0.0.1") -> object:
    return operator_sign_in(OperatorSignIn(email, password, client), uow=lambda: uow(engine), hasher=HASHER, now=at)


def test_an_operator_is_made_once_per_address_with_its_hash_only_and_an_audit_line(engine: Engine) -> None:
    make(engine)
    with pytest.raises(RuleViolation) as taken:
        make(engine, "ops@example.test ")
    assert (taken.value.code, taken.value.field) == ("operator.email_taken", "email")
    with engine.connect() as conn:
        rows = conn.execute(select(operators.c.email, operators.c.password_hash)).all()
        audited = conn.execute(select(audit_log.c.action, audit_log.c.account_id)).all()
    assert [r[0] for r in rows] == ["ops@example.test"]  # kept normalised
    assert PASSWORD not in rows[0][1]
    assert HASHER.verify(rows[0][1], PASSWORD)
    assert audited == [("operator.created", None)]


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"email": "nobody"}, "email", "operator.email"),
        ({"name": "  "}, "name", "operator.name"),
        ({"password": "short"}, "password", "password.too_short"),
        ({"password": "password1234"}, "password", "password.common"),
    ],
)
def test_a_bad_field_is_refused_by_name_and_nothing_is_made(
    engine: Engine, fields: dict[str, str], field: str, code: str
) -> None:
    given = dict(fields)  # the parameters are shared by both databases' runs
    with pytest.raises(InvalidInput) as refused:
        make(engine, given.pop("email", "ops@example.test"), **given)
    assert (refused.value.field, refused.value.code) == (field, code)
    with engine.connect() as conn:
        assert conn.execute(select(operators.c.id)).all() == []


def test_sign_in_takes_the_right_password_only_and_audits_both(engine: Engine) -> None:
    make(engine)
    wrong = sign_in(engine, "ops@example.test", "not the password at all")
    right = sign_in(engine, "OPS@example.test", PASSWORD)
    assert wrong.operator is None
    assert wrong.retry_after is None
    assert right.operator is not None
    assert right.operator.email == "ops@example.test"
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.actor).order_by(audit_log.c.id)).all()
    assert actions[1:] == [("operator.sign_in.failed", "operator:ops@example.test"),
                           ("operator.sign_in.succeeded", "operator:ops@example.test")]  # fmt: skip


def test_a_customers_person_with_the_same_address_does_not_sign_in_as_an_operator(engine: Engine) -> None:
    from prorata.adapters.db.accounts import create_account
    from prorata.adapters.db.schema import users
    from prorata.adapters.db.web_sessions import set_password

    with engine.begin() as conn:
        account = create_account(conn, code="acme", name="Acme", currency="USD", time_zone="UTC", country="US",
                                 now=NOW)  # fmt: skip
        made = users.insert().values(account_id=account, email="owner@acme.test", name="Owner", role="owner",
                                     created_at=NOW)  # fmt: skip
        user = conn.execute(made.returning(users.c.id)).scalar_one()
    set_password(engine, int(user), PASSWORD)
    assert sign_in(engine, "owner@acme.test", PASSWORD).operator is None  # type: ignore[attr-defined]


def test_five_wrong_passwords_lock_the_address_and_the_right_one_then_waits(engine: Engine) -> None:
    make(engine)
    for _ in range(5):
        assert sign_in(engine, "ops@example.test", "wrong password here").retry_after is None  # type: ignore[attr-defined]
    locked = sign_in(engine, "ops@example.test", PASSWORD)
    assert locked.operator is None
    assert locked.retry_after == timedelta(minutes=1)
    later = sign_in(engine, "ops@example.test", PASSWORD, NOW + timedelta(minutes=2))
    assert later.operator is not None  # type: ignore[attr-defined]


def test_the_cli_makes_an_operator_from_standard_input_and_lists_it_without_its_hash(
    database_url: str, engine: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    status = main(["operator", "create", "--email", "ops@example.test", "--name", "Olga", "--language", "pl",
                   "--password-stdin", "--database", database_url])  # fmt: skip
    assert status == 0
    assert "operator ops@example.test made" in capsys.readouterr().out
    assert main(["operator", "list", "--json", "--database", database_url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == {"operators": [{"email": "ops@example.test", "name": "Olga", "language": "pl",
                                     "disabled": False}]}  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    status = main(["operator", "create", "--email", "two@example.test", "--name", "Two", "--password-stdin",
                   "--database", database_url])  # fmt: skip
    assert status == 1
    assert "password" in capsys.readouterr().err


def test_operator_create_help_is_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["operator", "create", "--help"])
    out = capsys.readouterr().out
    assert "--password-stdin" in out
    assert "--email" in out
