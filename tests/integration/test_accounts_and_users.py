"""Opening accounts and adding users through their use cases, on SQLite and PostgreSQL (rules U1, X1, X2, X4): the
one path of the API, ``prorata demo`` and a future operator console. Each refusal names its field and writes
nothing; a code or an e-mail address taken by a racing writer is the same refusal, never a database error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import accounts, audit_log, metadata, users
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.domain.errors import FieldErrors, ProrataError
from prorata.services.add_user import AddUser, add_user
from prorata.services.open_account import OpenAccount, open_account
from tests.helpers import CATALOG
from tests.integration.shop import NOW, FixedClock

ACME = OpenAccount("acme", "Acme Sp. z o.o.", "PLN", "Europe/Warsaw", "PL")


def units(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(engine, CATALOG.granularity)


def rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {t.name: sorted(map(repr, conn.execute(select(t)))) for t in metadata.sorted_tables}  # type: ignore[misc]


def refusal(action: Callable[[], object]) -> tuple[str, str | None]:
    with pytest.raises(ProrataError) as refused:
        action()
    return refused.value.code, refused.value.field


def test_an_account_is_opened_and_the_audit_trail_says_by_whom(engine: Engine) -> None:
    account_id = open_account(ACME, uow=units(engine), clock=FixedClock())

    with engine.connect() as conn:
        row = conn.execute(select(accounts).where(accounts.c.id == account_id)).mappings().one()
        audited = conn.execute(select(audit_log.c.actor, audit_log.c.action).where(
            audit_log.c.account_id == account_id)).all()  # fmt: skip
    assert (row["code"], row["currency"], row["time_zone"], row["country"], row["status"]) == (
        "acme", "PLN", "Europe/Warsaw", "PL", "active")  # fmt: skip
    assert row["created_at"] == NOW
    assert audited == [("operator", "account.opened")]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"code": "Acme Corp"}, "account.code_invalid", "code"),
        ({"code": "a"}, "account.code_invalid", "code"),
        ({"code": "acme\n"}, "account.code_invalid", "code"),
        ({"name": " "}, "account.name", "name"),
        ({"name": "x" * 201}, "account.name", "name"),
        ({"currency": "XYZ"}, "currency.unknown", "currency"),
        ({"time_zone": "Mars/Olympus"}, "time_zone.unknown", "time_zone"),
        ({"country": "Poland"}, "account.country", "country"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_an_account_with_a_bad_field_is_refused_naming_it_and_nothing_is_written(
    engine: Engine, change: dict[str, str], code: str, field: str
) -> None:
    # rules X1, X2, X4
    before = rows(engine)
    command = OpenAccount(**{"code": "acme", "name": "Acme", "currency": "PLN", "time_zone": "UTC",
                                "country": "PL", **change})  # fmt: skip
    assert refusal(lambda: open_account(command, uow=units(engine), clock=FixedClock())) == (code, field)
    assert rows(engine) == before


class RacingUnitOfWork(SqlUnitOfWork):
    """A writer that looked before another one wrote: it sees neither the code nor the e-mail address taken."""

    def account_id_by_code(self, code: str) -> int | None:
        return None

    def user_id_by_email(self, account_id: int, email: str) -> int | None:
        return None


def test_a_code_taken_is_refused_also_when_a_racing_writer_took_it(engine: Engine) -> None:
    open_account(ACME, uow=units(engine), clock=FixedClock())
    before = rows(engine)

    assert refusal(lambda: open_account(ACME, uow=units(engine), clock=FixedClock())) == ("account.code_taken", "code")
    racing = lambda: RacingUnitOfWork(engine, CATALOG.granularity)  # noqa: E731
    assert refusal(lambda: open_account(ACME, uow=racing, clock=FixedClock())) == ("account.code_taken", "code")
    assert rows(engine) == before


def test_a_user_is_added_as_a_basic_user(engine: Engine) -> None:
    # rule U1: Basic until a license is assigned
    account_id = open_account(ACME, uow=units(engine), clock=FixedClock())

    user_id = add_user(AddUser(account_id, "ada@acme.test", "Ada", "admin"), uow=units(engine), clock=FixedClock())

    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).mappings().one()
    assert (row["account_id"], row["email"], row["role"], row["type"]) == (account_id, "ada@acme.test", "admin",
                                                                           "basic")  # fmt: skip


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"email": "ada-at-acme"}, "user.email", "email"),
        ({"email": "ada@acme.test\n"}, "user.email", "email"),
        ({"name": ""}, "user.name", "name"),
        ({"role": "king"}, "user.role", "role"),
        ({"account_id": 999_999}, "account.unknown", "account"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_user_with_a_bad_field_is_refused_naming_it_and_nothing_is_written(
    engine: Engine, change: dict[str, object], code: str, field: str
) -> None:
    account_id = open_account(ACME, uow=units(engine), clock=FixedClock())
    before = rows(engine)
    fields: dict[str, object] = {"account_id": account_id, "email": "ada@acme.test", "name": "Ada", **change}
    command = AddUser(**fields)  # type: ignore[arg-type]
    assert refusal(lambda: add_user(command, uow=units(engine), clock=FixedClock())) == (code, field)
    assert rows(engine) == before


def test_a_user_with_a_bad_e_mail_and_a_bad_name_is_refused_for_both_at_once_and_nothing_is_written(
    engine: Engine,
) -> None:
    # rule X4: every field at fault in one refusal, the first one's code and field kept for whoever reads only those
    account_id = open_account(ACME, uow=units(engine), clock=FixedClock())
    before = rows(engine)

    with pytest.raises(FieldErrors) as refused:
        add_user(AddUser(account_id, "ada-at-acme", "\t"), uow=units(engine), clock=FixedClock())

    assert [(e.code, e.field) for e in refused.value.errors] == [("user.email", "email"), ("user.name", "name")]
    assert (refused.value.code, refused.value.field) == ("user.email", "email")
    assert rows(engine) == before


def test_an_email_address_the_account_has_is_refused_also_when_a_racing_writer_added_it(engine: Engine) -> None:
    account_id = open_account(ACME, uow=units(engine), clock=FixedClock())
    add_user(AddUser(account_id, "ada@acme.test", "Ada"), uow=units(engine), clock=FixedClock())
    other = open_account(OpenAccount("other", "Other", "USD", "UTC", "US"), uow=units(engine), clock=FixedClock())
    before = rows(engine)

    again = AddUser(account_id, "ada@acme.test", "Ada again")
    assert refusal(lambda: add_user(again, uow=units(engine), clock=FixedClock())) == ("user.email_taken", "email")
    racing = lambda: RacingUnitOfWork(engine, CATALOG.granularity)  # noqa: E731
    assert refusal(lambda: add_user(again, uow=racing, clock=FixedClock())) == ("user.email_taken", "email")
    assert rows(engine) == before
    # the same address in another account is another user
    add_user(AddUser(other, "ada@acme.test", "Ada"), uow=units(engine), clock=FixedClock())
