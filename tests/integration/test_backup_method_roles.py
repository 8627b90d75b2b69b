"""Which saved method is the backup (rule BM1), on SQLite and PostgreSQL: set, cleared, swapped with the default,
and what removing a method does to the roles; every refusal changes nothing, every change is an event."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from prorata.adapters.db.schema import audit_log, events, payment_methods
from prorata.domain.errors import ProrataError
from prorata.services.backup_method import SetBackupMethod, SwapWithBackup, set_backup_method, swap_with_backup
from prorata.services.billing_information import AddCard, add_card, remove_payment_method
from tests.integration.shop import NOW, Shop


def wallet(engine: Engine) -> tuple[Shop, int, int, int]:
    """An account with three saved cards: Visa 4242 (default), Mastercard 4444 and Amex 0005."""
    shop = Shop(engine, card="378282246310005")
    amex = default_id(engine)
    mastercard = add_card(AddCard(shop.account_id, "5555555555554444", 4, 2031), uow=shop.uow, clock=shop.clock,
                          gateway=shop.gateway)  # fmt: skip
    visa = add_card(AddCard(shop.account_id, "4242424242424242", 4, 2031), uow=shop.uow, clock=shop.clock,
                    gateway=shop.gateway)  # fmt: skip
    return shop, visa, mastercard, amex


def default_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(payment_methods.c.id).where(payment_methods.c.is_default)).scalar_one())


def roles(engine: Engine) -> dict[int, str]:
    """Each saved method's role: default, backup or ''."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(payment_methods.c.id, payment_methods.c.is_default, payment_methods.c.is_backup)
            .where(payment_methods.c.removed_at.is_(None))
            .order_by(payment_methods.c.id)
        ).all()
    return {int(r[0]): "default" if r[1] else "backup" if r[2] else "" for r in rows}


def told(engine: Engine) -> list[tuple[str, int, bool, bool]]:
    """The ``payment_method.updated`` events: (type, method, is_default, is_backup as the event carries it)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.type, events.c.data).where(events.c.type == "payment_method.updated").order_by(events.c.id)
        ).all()
    return [(t, json.loads(d)["id"], json.loads(d)["is_default"], json.loads(d)["is_backup"]) for t, d in rows]


def test_a_saved_method_becomes_the_backup_and_swaps_with_the_default(engine: Engine) -> None:
    # rule BM1: one backup; the customer swaps it with the default, and asking again changes nothing
    shop, visa, mastercard, amex = wallet(engine)

    assert set_backup_method(SetBackupMethod(shop.account_id, mastercard), uow=shop.uow, clock=shop.clock)
    assert roles(engine) == {amex: "", mastercard: "backup", visa: "default"}
    assert set_backup_method(SetBackupMethod(shop.account_id, amex), uow=shop.uow, clock=shop.clock)
    assert roles(engine) == {amex: "backup", mastercard: "", visa: "default"}  # one backup: it replaced the other

    assert swap_with_backup(SwapWithBackup(shop.account_id, amex), uow=shop.uow, clock=shop.clock)
    assert roles(engine) == {amex: "default", mastercard: "", visa: "backup"}
    assert not swap_with_backup(SwapWithBackup(shop.account_id, amex), uow=shop.uow, clock=shop.clock)  # a retry
    assert roles(engine) == {amex: "default", mastercard: "", visa: "backup"}

    assert set_backup_method(SetBackupMethod(shop.account_id, None), uow=shop.uow, clock=shop.clock)
    assert not set_backup_method(SetBackupMethod(shop.account_id, None), uow=shop.uow, clock=shop.clock)
    assert roles(engine) == {amex: "default", mastercard: "", visa: ""}
    assert told(engine) == [
        ("payment_method.updated", mastercard, False, True),  # the backup
        ("payment_method.updated", amex, False, True), ("payment_method.updated", mastercard, False, False),
        ("payment_method.updated", amex, True, False), ("payment_method.updated", visa, False, True),  # the swap
        ("payment_method.updated", visa, False, False),  # no backup
    ]  # fmt: skip
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action).where(audit_log.c.action.like("payment_method.%"))
                               .order_by(audit_log.c.id)).scalars().all()  # fmt: skip
    assert actions[-4:] == ["payment_method.backup_set", "payment_method.backup_set", "payment_method.swapped",
                            "payment_method.backup_cleared"]  # fmt: skip
    shop.assert_books_balance()


@pytest.mark.parametrize(
    ("act", "code"),
    [
        (lambda shop, visa, other: set_backup_method(SetBackupMethod(shop.account_id, visa), uow=shop.uow,
                                                     clock=shop.clock), "payment_method.backup_is_default"),
        (lambda shop, visa, other: set_backup_method(SetBackupMethod(shop.account_id, 10**9), uow=shop.uow,
                                                     clock=shop.clock), "payment_method.unknown"),
        (lambda shop, visa, other: swap_with_backup(SwapWithBackup(shop.account_id, other), uow=shop.uow,
                                                    clock=shop.clock), "payment_method.not_backup"),
    ],
    ids=["the-default-as-backup", "a-method-not-saved", "a-swap-with-a-method-not-the-backup"],
)  # fmt: skip
def test_the_backup_is_never_the_default_nor_a_method_not_saved_and_a_refusal_changes_nothing(
    engine: Engine, act: object, code: str
) -> None:
    # rules BM1, X4: the refusal names the field and the rule
    shop, visa, mastercard, amex = wallet(engine)
    set_backup_method(SetBackupMethod(shop.account_id, amex), uow=shop.uow, clock=shop.clock)
    before = roles(engine)

    with pytest.raises(ProrataError) as error:
        act(shop, visa, mastercard)  # type: ignore[operator]

    assert (error.value.code, error.value.field) == (code, "payment_method_id")
    assert error.value.rule == (None if code == "payment_method.unknown" else "BM1")
    assert roles(engine) == before


def test_removing_the_backup_just_clears_it(engine: Engine) -> None:
    # rule BM1
    shop, visa, mastercard, amex = wallet(engine)
    set_backup_method(SetBackupMethod(shop.account_id, mastercard), uow=shop.uow, clock=shop.clock)

    remove_payment_method(shop.account_id, mastercard, uow=shop.uow, clock=shop.clock)

    assert roles(engine) == {amex: "", visa: "default"}


def test_removing_the_default_makes_the_backup_the_default(engine: Engine) -> None:
    # rule BM1: the customer's own second choice, rather than the newest card; then there is no backup
    shop, visa, mastercard, amex = wallet(engine)
    set_backup_method(SetBackupMethod(shop.account_id, amex), uow=shop.uow, clock=shop.clock)

    remove_payment_method(shop.account_id, visa, uow=shop.uow, clock=shop.clock)

    assert roles(engine) == {amex: "default", mastercard: ""}
    assert told(engine)[-1] == ("payment_method.updated", amex, True, False)


def test_a_new_card_becomes_the_default_and_the_backup_stays(engine: Engine) -> None:
    # rules BM1, Y3
    shop, visa, mastercard, amex = wallet(engine)
    set_backup_method(SetBackupMethod(shop.account_id, amex), uow=shop.uow, clock=shop.clock)

    jcb = add_card(AddCard(shop.account_id, "3566002020360505", 4, 2031), uow=shop.uow, clock=shop.clock,
                   gateway=shop.gateway)  # fmt: skip

    assert roles(engine) == {amex: "backup", mastercard: "", visa: "", jcb: "default"}


def test_the_database_refuses_a_method_that_is_both_default_and_backup_and_a_second_backup(engine: Engine) -> None:
    # rule BM1 held by the database itself, whatever a caller does
    shop, visa, mastercard, amex = wallet(engine)
    set_backup_method(SetBackupMethod(shop.account_id, amex), uow=shop.uow, clock=shop.clock)
    values = {"account_id": shop.account_id, "kind": "card", "gateway": "sandbox", "token": "tok_sandbox_x",
              "created_at": NOW}  # fmt: skip
    for wrong in ({"is_default": True, "is_backup": True}, {"is_default": False, "is_backup": True}):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(payment_methods).values(**values, **wrong))
    assert roles(engine) == {amex: "backup", mastercard: "", visa: "default"}
