"""Discount codes through the database, on SQLite and PostgreSQL (rules DC1, DC2): created by an operator, redeemed
with an order or for the next period, counted against their limit exactly once, and written on the invoice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import discount_codes, discount_redemptions, invoice_lines
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.domain.errors import ProrataError
from prorata.services import discounts
from prorata.services.discounts import CreateDiscountCode, RedeemDiscount
from prorata.services.renew_due import RenewDue, renew_due
from tests.helpers import CATALOG, price
from tests.integration.shop import NOW, Shop
from tests.races import together


def make_code(shop: Shop, code: str = "SAVE20", **terms: object) -> None:
    values: dict[str, object] = {"duration": "repeating", "periods": 3, "percent": 2000}
    values.update(terms)
    command = CreateDiscountCode(code=code, actor="operator@prorata.test", **values)  # type: ignore[arg-type]
    discounts.create_discount_code(command, uow=shop.uow, clock=shop.clock, catalog=CATALOG)


def lines(shop: Shop) -> list[tuple[str, int, str | None]]:
    with shop.engine.connect() as conn:
        rows = conn.execute(
            select(invoice_lines.c.kind, invoice_lines.c.amount, invoice_lines.c.discount_code).order_by(
                invoice_lines.c.id
            )
        )
        return [(r.kind, r.amount, r.discount_code) for r in rows]


def redeemed(shop: Shop, code: str = "SAVE20") -> int:
    with shop.engine.connect() as conn:
        return int(conn.execute(select(discount_codes.c.redeemed).where(discount_codes.c.code == code)).scalar_one())


def order_with(shop: Shop, code: str | None, *changes: object, key: str = "k1") -> object:
    from prorata.services.place_order import PlaceOrder, place_order

    command = PlaceOrder(shop.account_id, tuple(changes), key, actor="owner@acme.test", terms_version="2026-01",  # type: ignore[arg-type]
                         terms_accepted=True, discount_code=code)  # fmt: skip
    return place_order(command, uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG)


def test_a_code_entered_with_the_first_order_discounts_its_invoice_and_the_renewals_it_covers(engine: Engine) -> None:
    # rules DC1, DC2: the first purchase and two renewals at 20 % off, the fourth period at full price
    shop = Shop(engine)
    make_code(shop)
    result = order_with(shop, "save20", ChangePlan("business", 10))
    assert result.status == "placed"  # type: ignore[attr-defined]
    full = 10 * price("business")
    assert lines(shop) == [("charge", full, None), ("discount", -full // 5, "SAVE20")]
    assert redeemed(shop) == 1

    for month in (1, 2, 3):
        shop.clock.at = NOW + timedelta(days=31 * month)
        renew_due(RenewDue(until=shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway,
                  catalog=CATALOG, dunning=shop.dunning)  # fmt: skip
    kinds = [kind for kind, _, _ in lines(shop)]
    assert kinds == ["charge", "discount", "charge", "discount", "charge", "discount", "charge"]
    shop.assert_books_balance()


def test_a_code_entered_later_applies_from_the_next_billing_date(engine: Engine) -> None:
    # rule DC1
    shop = Shop(engine)
    make_code(shop, percent=5000)
    order_with(shop, None, ChangePlan("business", 10))
    discounts.redeem_discount(RedeemDiscount(shop.account_id, "SAVE20", "owner@acme.test"), uow=shop.uow,
                              clock=shop.clock, catalog=CATALOG)  # fmt: skip
    order_with(shop, None, SetLicenses(12), key="k2")
    assert [kind for kind, _, _ in lines(shop)] == ["charge", "charge"]  # nothing of this period is discounted

    shop.clock.at = NOW + timedelta(days=31)
    renew_due(RenewDue(until=shop.clock.at), uow=shop.uow, clock=shop.clock, gateway=shop.gateway, catalog=CATALOG,
              dunning=shop.dunning)  # fmt: skip
    assert lines(shop)[-2:] == [
        ("charge", 12 * price("business"), None),
        ("discount", -6 * price("business"), "SAVE20"),
    ]
    shop.assert_books_balance()


def test_a_code_is_used_once_per_account_and_one_at_a_time(engine: Engine) -> None:
    # rule DC2
    shop = Shop(engine)
    make_code(shop)
    make_code(shop, "OTHER", duration="forever", periods=None)
    order_with(shop, "SAVE20", ChangePlan("business", 10))
    with pytest.raises(ProrataError) as caught:
        order_with(shop, "OTHER", SetLicenses(12), key="k2")
    assert caught.value.code == "discount.one_at_a_time"
    with pytest.raises(ProrataError) as caught:
        discounts.redeem_discount(RedeemDiscount(shop.account_id, "SAVE20", "owner"), uow=shop.uow, clock=shop.clock,
                                  catalog=CATALOG)  # fmt: skip
    assert caught.value.code == "discount.already_redeemed"
    assert redeemed(shop, "OTHER") == 0


def test_a_declined_payment_gives_the_redemption_back_and_applies_nothing(engine: Engine) -> None:
    # rules DC2, K8: the last redemption was reserved while the card was charged, and is free again
    shop = Shop(engine, card="4000000000000002")
    make_code(shop, max_redemptions=1)
    result = order_with(shop, "SAVE20", ChangePlan("business", 10))
    assert result.status == "failed"  # type: ignore[attr-defined]
    assert redeemed(shop) == 0
    assert shop.count(discount_redemptions) == 0


def test_an_unknown_expired_or_exhausted_code_refuses_the_order_and_changes_nothing(engine: Engine) -> None:
    # rule DC2
    shop = Shop(engine)
    make_code(shop, "SHORT", expires_at=NOW + timedelta(hours=1))
    shop.clock.at = NOW + timedelta(hours=2)
    for code, expected in (
        ("NOPE1", "discount.unknown"),
        ("SHORT", "discount.expired"),
        ("a b", "discount.invalid_code"),
    ):
        with pytest.raises(ProrataError) as caught:
            order_with(shop, code, ChangePlan("business", 10))
        assert (caught.value.code, caught.value.field) == (expected, "discount_code")
    assert shop.held() == []


def test_the_last_redemption_goes_to_one_of_the_accounts_racing_for_it(engine: Engine) -> None:
    # rule DC2: six accounts place orders with a code that has two redemptions left, released together at a barrier
    # (real concurrent connections on PostgreSQL): two get it, four are refused and nothing of theirs changes
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent connections: PostgreSQL")
    shops = [Shop(engine, code=f"racer{i}") for i in range(6)]
    make_code(shops[0], max_redemptions=2)

    def attempt(shop: Shop) -> str:
        try:
            return str(order_with(shop, "SAVE20", ChangePlan("business", 10)).status)  # type: ignore[attr-defined]
        except ProrataError as error:
            return error.code

    outcomes = together([lambda shop=shop: attempt(shop) for shop in shops])

    assert sorted(outcomes) == ["discount.exhausted"] * 4 + ["placed"] * 2
    assert redeemed(shops[0]) == 2
    assert shops[0].count(discount_redemptions, discount_redemptions.c.status == "applied") == 2
    refused = [shop for shop, outcome in zip(shops, outcomes, strict=True) if outcome != "placed"]
    assert all(shop.held() == [] for shop in refused)
