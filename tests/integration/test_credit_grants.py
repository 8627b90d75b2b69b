"""Credit added by hand by an operator, on SQLite and PostgreSQL: booked once in the account's currency whatever
repeats or races, with its reason kept, and refused field by field with nothing booked."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from prorata.adapters.db.schema import audit_log, credit_ledger
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.services.grant_credit import GrantCredit, grant_credit
from tests.integration.shop import Shop
from tests.races import together


def grant(shop: Shop, amount: int = 2500, key: str = "grant-1", reason: str = "Goodwill after the outage") -> object:
    command = GrantCredit(shop.account_id, amount, reason, key, "operator:ops@example.test")
    return grant_credit(command, uow=shop.uow, clock=shop.clock)


def test_a_grant_is_booked_once_with_its_reason_and_the_same_key_replays_it(engine: Engine) -> None:
    shop = Shop(engine)
    first = grant(shop)
    again = grant(shop)
    assert first.replayed is False
    assert again.replayed is True
    assert again.grant == first.grant
    assert again.balance == first.balance == 2500
    assert shop.balance() == 2500
    with engine.connect() as conn:
        entry = conn.execute(select(credit_ledger.c.reason, credit_ledger.c.note, credit_ledger.c.currency)).one()
        audited = conn.execute(select(audit_log.c.actor).where(audit_log.c.action == "credit.granted")).all()
    assert tuple(entry) == ("grant", "Goodwill after the outage", "USD")
    assert audited == [("operator:ops@example.test",)]


def test_the_same_key_with_another_amount_is_refused_and_books_nothing(engine: Engine) -> None:
    shop = Shop(engine)
    grant(shop)
    with pytest.raises(RuleViolation) as reused:
        grant(shop, amount=9900)
    assert (reused.value.code, reused.value.field) == ("credit_grant.key_reused", "idempotency_key")
    assert shop.balance() == 2500


def test_keys_belong_to_their_account(engine: Engine) -> None:
    one, two = Shop(engine, code="one"), Shop(engine, code="two")
    first, second = grant(one), grant(two)
    assert (first.replayed, second.replayed) == (False, False)  # type: ignore[attr-defined]
    assert (first.balance, second.balance) == (2500, 2500)  # type: ignore[attr-defined]
    assert one.balance() == 5000  # the whole ledger: two grants


@pytest.mark.parametrize(
    ("amount", "reason", "key", "field", "code"),
    [
        (0, "why", "k1", "amount", "credit_grant.amount"),
        (-5, "why", "k1", "amount", "credit_grant.amount"),
        (10**13, "why", "k1", "amount", "credit_grant.amount"),
        (100, "   ", "k1", "reason", "credit_grant.reason"),
        (100, "x" * 501, "k1", "reason", "credit_grant.reason"),
        (100, "why", "", "idempotency_key", "credit_grant.key"),
        (100, "why", "has space", "idempotency_key", "credit_grant.key"),
    ],
)
def test_a_bad_field_is_refused_by_name_and_nothing_is_booked(
    engine: Engine, amount: int, reason: str, key: str, field: str, code: str
) -> None:
    shop = Shop(engine)
    with pytest.raises(InvalidInput) as refused:
        grant(shop, amount, key, reason)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert shop.balance() == 0


def test_eight_requests_with_one_key_released_together_book_one_grant(engine: Engine) -> None:
    """Exactly once under concurrency: eight connections send the same grant at one instant."""
    shop = Shop(engine)
    results = together([lambda: grant(shop) for _ in range(8)])
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert sorted(r.replayed for r in results) == [False] + [True] * 7  # type: ignore[union-attr]
    with engine.connect() as conn:
        booked = conn.execute(select(func.count()).select_from(credit_ledger)).scalar_one()
    assert booked == 1
    assert shop.balance() == 2500
