"""Discounts as they are written (rules DC1, DC2): a percentage typed as text, read exactly into basis points and
written back the same; and the quote document's account discount, priced as the installation prices it, checked
field by field, and given back in the answer in the request's shape so that the next quote can be chained."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from prorata.domain.discounts import percent_points, percent_text
from prorata.domain.errors import ProrataError
from prorata.entrypoints import quote_document
from prorata.entrypoints.quote_document import price_document
from tests.helpers import price
from tests.unit.test_quote_document import ERROR_DOCUMENT, REQUEST, REQUEST_SCHEMA, RESPONSE, schema_errors

HELD = {"code": "SAVE20", "percent": "20", "start": "2026-11-01T00:00:00Z", "end": "2027-02-01T00:00:00Z"}


def document(discount: dict[str, Any] | None = None, **rest: Any) -> dict[str, Any]:
    """Business x 10 for November, with the account's discount."""
    account: dict[str, Any] = {"currency": "USD"}
    if discount is not None:
        account["discount"] = discount
    return {
        "account": account,
        "subscriptions": [{"id": "plan", "product": "business", "interval": "month", "quantity": 10,
                           "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-12-01T00:00:00Z"}],
        "at": "2026-11-16T00:00:00Z",
        "changes": [{"type": "set_licenses", "total": 12}],
        **rest,
    }  # fmt: skip


# -------------------------------------------------------------------------------------------- percentages as text
@pytest.mark.parametrize(("text", "points"), [("20", 2000), ("12.5", 1250), ("0.25", 25), ("100", 10000),
                                              ("7.05", 705), ("0.01", 1)])  # fmt: skip
def test_a_percentage_typed_as_text_is_read_exactly_and_written_back_the_same(text: str, points: int) -> None:
    # rule DC2: basis points without a float on the way, so 7.05 % is 705, never 704.999...
    assert percent_points(text) == points
    assert percent_text(points) == text


@pytest.mark.parametrize("text", ["0", "0.00", "100.01", "12.555", "-5", "1e2", "20%", " 20", "NaN", "", "١٢", 20])
def test_a_percentage_that_is_not_one_is_refused_at_its_field(text: object) -> None:
    # rule DC2: out of range, more precise than a basis point, or not written as a decimal number in text
    with pytest.raises(ProrataError) as refused:
        percent_points(text, field="percent")

    assert (refused.value.code, refused.value.field, refused.value.rule) == ("discount.percent", "percent", "DC2")


# --------------------------------------------------------------------------------------------- the quote document
def test_the_request_schema_names_exactly_the_discount_fields_the_reader_accepts() -> None:
    # rule X4: the reader refuses unknown fields, and the schema refuses the same
    assert set(REQUEST_SCHEMA["$defs"]["discount"]["properties"]) == quote_document._DISCOUNT_KEYS
    assert REQUEST_SCHEMA["$defs"]["discount"]["additionalProperties"] is False
    assert "discount" in REQUEST_SCHEMA["$defs"]["account"]["properties"]


def test_an_account_s_discount_takes_its_share_of_each_charge_on_a_line_of_its_own() -> None:
    # rules DC1, DC2: 2 licenses added for 15 of 30 days, 20 % of it taken off right after the charge
    request = document(HELD)
    before = copy.deepcopy(request)

    answer = price_document(request)

    charge = 2 * price("business") * 15 // 30  # 2199 exactly
    assert [(line["kind"], line["amount"], line["discount_code"]) for line in answer["lines"]] == [
        ("charge", charge, None),
        ("discount", -440, "SAVE20"),  # 2199 x 20 % = 439.8, rounded once, half up
    ]
    discount = answer["lines"][1]
    assert (discount["unit_amount"], discount["basis"], discount["used"], discount["whole"]) == (None, None, 15, 30)
    assert answer["subtotal"] == charge - 440
    assert schema_errors(RESPONSE, answer) == []
    assert request == before


def test_a_fixed_discount_on_other_products_leaves_the_charge_whole() -> None:
    # rule DC2: the products named are the ones discounted; Business is not among them
    fixed = {"code": "FIVE-OFF", "amount": 500, "products": ["pro"], "start": "2026-11-01T00:00:00Z"}

    answer = price_document(document(fixed))

    assert [line["kind"] for line in answer["lines"]] == ["charge"]
    assert answer["discount"] == fixed  # for ever: no end, given back as it was given


def test_the_answer_gives_the_discount_back_and_the_next_renewal_is_discounted_with_it() -> None:
    # rules DC1, DC2, C7: chained, the renewal the discount still covers has its line; the one after it has none
    request = document(HELD)
    answer = price_document(request)
    account = {**request["account"], "discount": answer["discount"]}
    follow = {"account": account, "subscriptions": answer["subscriptions"], "at": "2026-12-01T00:00:00Z",
              "mode": "renewal"}  # fmt: skip

    renewal = price_document(follow)
    later = copy.deepcopy(follow)
    later["subscriptions"] = renewal["subscriptions"]
    later["account"]["discount"] = renewal["discount"]
    later["at"] = "2027-02-01T00:00:00Z"
    later["subscriptions"][0]["period_start"], later["subscriptions"][0]["period_end"] = (
        "2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z"
    )  # fmt: skip
    del later["subscriptions"][0]["charges"]
    after_it = price_document(later)

    assert answer["discount"] == {**HELD, "products": []}  # every product, said so
    assert schema_errors(REQUEST, follow) == []
    assert [(line["kind"], line["amount"]) for line in renewal["lines"]] == [
        ("charge", 12 * price("business")), ("discount", -5278)  # 12 x 21.99 x 20 % = 52.776
    ]  # fmt: skip
    assert [line["kind"] for line in after_it["lines"]] == ["charge"]
    assert after_it["discount"] is None  # its time has run out


REFUSED = [
    ("both a percentage and an amount", {**HELD, "amount": 500}, "discount.terms", "account.discount.percent", "DC2"),
    ("neither", {"code": "SAVE20", "start": "2026-11-01T00:00:00Z"}, "discount.terms", "account.discount.percent",
     "DC2"),
    ("a percentage that is a number", {**HELD, "percent": 20}, "discount.percent", "account.discount.percent", "DC2"),
    ("a percentage too precise", {**HELD, "percent": "12.555"}, "discount.percent", "account.discount.percent",
     "DC2"),
    ("an amount of zero", {**{k: v for k, v in HELD.items() if k != "percent"}, "amount": 0}, "discount.amount",
     "account.discount.amount", "DC2"),
    ("a code that cannot be typed", {**HELD, "code": "a b"}, "discount.invalid_code", "account.discount.code", "DC1"),
    ("an unknown product", {**HELD, "products": ["platinum"]}, "product.unknown", "account.discount.products[0]",
     None),
    ("an end before its start", {**HELD, "end": "2026-10-01T00:00:00Z"}, "period.empty", "account.discount.end",
     None),
    ("a naive start", {**HELD, "start": "2026-11-01T00:00:00"}, "time.naive", "account.discount.start", "X2"),
    ("an unknown field", {**HELD, "periods": 3}, "document.unknown_field", "account.discount.periods", None),
]  # fmt: skip


@pytest.mark.parametrize(("discount", "code", "field", "rule"), [pytest.param(*case[1:], id=case[0])
                                                                  for case in REFUSED])  # fmt: skip
def test_a_discount_written_wrong_is_refused_at_its_field_by_the_reader_and_the_schema(
    discount: dict[str, Any], code: str, field: str, rule: str | None
) -> None:
    # rules DC2, X4: the error names the field's path, and the published schema refuses the same document
    request = document(discount)

    with pytest.raises(ProrataError) as refused:
        price_document(request)

    error = refused.value
    assert (error.code, error.field, error.rule) == (code, field, rule)
    assert error.message.startswith(f"{field}: ")
    assert schema_errors(ERROR_DOCUMENT, {"error": error.to_dict()}) == []
    if code not in ("product.unknown", "period.empty"):  # the catalog's and the calendar's, not the schema's
        assert schema_errors(REQUEST, request) != []
