"""Contacts and payment methods, on SQLite and PostgreSQL (rules K4, K7, Y1, Y2, Y3)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import contacts, payment_methods
from prorata.domain.cart import ChangePlan
from prorata.domain.errors import ProrataError
from prorata.services.billing_information import (
    AddCard,
    AddPayPal,
    Contact,
    add_card,
    add_paypal,
    remove_payment_method,
    set_contacts,
)
from tests.integration.shop import Shop

SOLD_TO = Contact("Anna Nowak", "anna@acme.pl", "ul. Długa 1", "Gdańsk", "80-001", "PL", company="Acme Sp. z o.o.")


def methods(engine: Engine) -> list[tuple[str | None, str | None, bool, bool]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(payment_methods.c.brand, payment_methods.c.last4, payment_methods.c.is_default,
                   payment_methods.c.removed_at.is_not(None)).order_by(payment_methods.c.id)
        )  # fmt: skip
        return [(r[0], r[1], bool(r[2]), bool(r[3])) for r in rows]


def test_a_new_card_keeps_only_token_brand_last_four_and_expiry_and_becomes_the_default(engine: Engine) -> None:
    # rules Y2, Y3: a changed card is a new card; the number is nowhere in the database
    shop = Shop(engine)
    add_card(AddCard(shop.account_id, "5555 5555 5555 4444", 4, 2031), uow=shop.uow, clock=shop.clock,
             gateway=shop.gateway)  # fmt: skip
    assert methods(engine)[-1] == ("mastercard", "4444", True, False)
    assert [m[2] for m in methods(engine)] == [False, True]
    with engine.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(select(payment_methods)) for v in row)
    assert "5555555555554444" not in stored


def test_a_card_that_cannot_be_used_is_refused_before_anything_is_stored(engine: Engine) -> None:
    # rule Y2
    shop = Shop(engine)
    with pytest.raises(ProrataError) as error:
        add_card(AddCard(shop.account_id, "4242 4242 4242 4241", 4, 2031), uow=shop.uow, clock=shop.clock,
                 gateway=shop.gateway)  # fmt: skip
    assert (error.value.code, error.value.field) == ("card.number_invalid", "card_number")
    assert len(methods(engine)) == 1


def test_paypal_then_removing_the_default_falls_back_to_the_newest_remaining(engine: Engine) -> None:
    # rule Y1
    shop = Shop(engine)
    paypal = add_paypal(AddPayPal(shop.account_id, "buyer@sandbox.prorata.test"), uow=shop.uow, clock=shop.clock,
                        gateway=shop.gateway)  # fmt: skip
    assert shop.order(ChangePlan("pro", 1), key="with-paypal").status == "placed"
    remove_payment_method(shop.account_id, paypal, uow=shop.uow, clock=shop.clock)
    assert [m[2:] for m in methods(engine)] == [(True, False), (False, True)]  # the card is the default again
    with pytest.raises(ProrataError) as error:
        remove_payment_method(shop.account_id, paypal, uow=shop.uow, clock=shop.clock)
    assert error.value.code == "payment_method.unknown"


def test_without_a_payment_method_the_buyer_is_told_what_to_do(engine: Engine) -> None:
    # rule K7
    shop = Shop(engine)
    with engine.connect() as conn:
        first = conn.execute(select(payment_methods.c.id)).scalar_one()
    remove_payment_method(shop.account_id, first, uow=shop.uow, clock=shop.clock)
    with pytest.raises(ProrataError) as error:
        shop.order(ChangePlan("pro", 1), key="no-card")
    assert (error.value.code, error.value.rule) == ("payment.method_missing", "K7")
    assert "Update your billing information" in error.value.message


def test_sold_to_and_bill_to_contacts_are_kept_with_polish_characters(engine: Engine) -> None:
    # rule K4 (a separate Bill-To), X4 (the field named)
    shop = Shop(engine)
    bill_to = Contact("Jan Kowalski", "faktury@acme.pl", "ul. Żółta 5", "Łódź", "90-001", "PL")
    set_contacts(shop.account_id, SOLD_TO, bill_to, uow=shop.uow, clock=shop.clock)
    set_contacts(shop.account_id, SOLD_TO, bill_to, uow=shop.uow, clock=shop.clock)  # replaced, not doubled
    with engine.connect() as conn:
        rows = dict(conn.execute(select(contacts.c.kind, contacts.c.city)).all())
    assert rows == {"sold_to": "Gdańsk", "bill_to": "Łódź"}


@pytest.mark.parametrize(
    ("change", "field"),
    [({"email": "not-an-address"}, "sold_to.email"), ({"country": "Poland"}, "sold_to.country"),
     ({"city": " "}, "sold_to.city")],
)  # fmt: skip
def test_a_wrong_contact_field_is_named_and_nothing_is_written(
    engine: Engine, change: dict[str, str], field: str
) -> None:
    shop = Shop(engine)
    wrong = replace(SOLD_TO, **change)
    with pytest.raises(ProrataError) as error:
        set_contacts(shop.account_id, wrong, None, uow=shop.uow, clock=shop.clock)
    assert error.value.field == field
    assert shop.count(contacts) == 0
