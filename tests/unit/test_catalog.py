"""The catalog as data: the default catalog, an operator's own file, and broken catalogs (rules P1, P3, A3, A8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prorata.catalogs import default_catalog, load_catalog
from prorata.domain.catalog import DowngradePolicy, ProductKind, Unit, parse_catalog
from prorata.domain.errors import CatalogError, RuleViolation
from prorata.domain.periods import Granularity, Interval


def test_the_default_catalog_has_the_plans_of_the_article() -> None:
    catalog = default_catalog()
    plans = [p.code for p in catalog.plans()]
    assert plans == ["basic", "pro", "business", "business_plus", "enterprise"]
    assert catalog.products["basic"].free
    assert catalog.products["enterprise"].sales_only  # rule P1
    assert catalog.granularity is Granularity.DAY
    assert catalog.downgrade_policy is DowngradePolicy.END_OF_TERM
    assert "sample" in catalog.note.lower()


def test_license_limits_live_in_the_catalog() -> None:
    # rule P3: Pro 1-9, Business and Business Plus 10 or more
    products = default_catalog().products
    assert (products["pro"].min_quantity, products["pro"].max_quantity) == (1, 9)
    assert (products["business"].min_quantity, products["business"].max_quantity) == (10, None)
    assert (products["business_plus"].min_quantity, products["business_plus"].max_quantity) == (10, None)


def test_add_on_families_sizes_and_units() -> None:
    # rule A3: sizes of one family are distinct products; storage is per account; rule A8: a one-month product
    products = default_catalog().products
    assert {p.code for p in products.values() if p.family == "webinar"} == {"webinar_500", "webinar_1000"}
    assert {p.code for p in products.values() if p.family == "large_meetings"} == {
        "large_meetings_500",
        "large_meetings_1000",
    }
    assert products["webinar_500"].unit is Unit.PER_USER
    assert products["cloud_recording_1tb"].unit is Unit.PER_ACCOUNT
    assert products["webinar_500_one_month"].kind is ProductKind.ONE_TIME_MONTH
    assert products["webinar_500_one_month"].intervals() == (Interval.MONTH,)


def test_paid_products_have_monthly_and_yearly_prices_in_usd_and_pln() -> None:
    for product in default_catalog().products.values():
        if product.free or product.sales_only or product.kind is ProductKind.ONE_TIME_MONTH:
            continue
        assert set(product.prices) == {(i, c) for i in Interval for c in ("USD", "PLN")}, product.code


def test_the_price_of_a_missing_currency_is_a_clear_refusal() -> None:
    catalog = default_catalog()
    with pytest.raises(RuleViolation) as error:
        catalog.unit_price(catalog.products["pro"], Interval.MONTH, "EUR")
    assert error.value.code == "price.missing"
    assert catalog.unit_price(catalog.products["basic"], Interval.MONTH, "EUR") == 0


def test_an_operator_can_load_their_own_catalog_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        '[catalog]\nname = "Mine"\ngranularity = "second"\n'
        '[products.solo]\nkind = "plan"\nname = "Solo"\nrank = 1\nprices.month = { EUR = "9.00" }\n',
        encoding="utf-8",
    )
    catalog = load_catalog(path)
    assert catalog.name == "Mine"
    assert catalog.granularity is Granularity.SECOND
    assert catalog.products["solo"].prices == {(Interval.MONTH, "EUR"): 900}


def _broken(products: dict[str, Any], **head: Any) -> CatalogError:
    with pytest.raises(CatalogError) as error:
        parse_catalog({"catalog": head, "products": products}, source="ops/catalog.toml")
    return error.value


GOOD = {"kind": "plan", "name": "Solo", "rank": 1, "prices": {"month": {"USD": "9.00"}}}


@pytest.mark.parametrize(
    ("product", "field", "words"),
    [
        ({**GOOD, "prices": {"month": {"USD": 9.0}}}, "prices.month.USD", "string"),
        ({**GOOD, "prices": {"month": {"USD": "9.001"}}}, "prices.month.USD", "decimals"),
        ({**GOOD, "prices": {"month": {"XXX": "9.00"}}}, "prices.month.XXX", "ISO 4217"),
        ({**GOOD, "prices": {"month": {"USD": "-1.00"}}}, "prices.month.USD", "negative"),
        ({**GOOD, "prices": {"week": {"USD": "1.00"}}}, "prices.week", "month"),
        ({**GOOD, "kind": "bundle"}, "kind", "plan, addon"),
        ({**GOOD, "min_licenses": 0}, "min_licenses", "at least 1"),
        ({**GOOD, "min_licenses": 10, "max_licenses": 9}, "max_licenses", "min_licenses"),
        ({**GOOD, "rank": "high"}, "rank", "int"),
        ({**GOOD, "colour": "blue"}, "colour", "not a product field"),
        ({k: v for k, v in GOOD.items() if k != "name"}, "name", "required"),
        ({k: v for k, v in GOOD.items() if k != "prices"}, "prices", "needs prices"),
        ({**GOOD, "downgrade_to": ["nowhere"]}, "downgrade_to", "lower-ranked plan"),
        ({**GOOD, "suggest_addons": ["nothing"]}, "suggest_addons", "add-on"),
    ],
)
def test_a_broken_catalog_is_refused_naming_the_file_the_product_and_the_field(
    product: dict[str, Any], field: str, words: str
) -> None:
    error = _broken({"solo": product})
    assert error.code == "catalog.invalid"
    assert error.field == f"products.solo.{field}"
    assert "ops/catalog.toml" in error.message
    assert "'solo'" in error.message
    assert words in error.message


def test_a_catalog_without_products_or_with_a_bad_policy_is_refused() -> None:
    assert "products" in _broken({}).message
    assert "downgrade_policy" in _broken({"solo": GOOD}, downgrade_policy="whenever").message
    assert "granularity" in _broken({"solo": GOOD}, granularity="hour").message
    assert "quote_valid_seconds" in _broken({"solo": GOOD}, quote_valid_seconds=0).message
    assert "quote_valid_seconds" in _broken({"solo": GOOD}, quote_valid_seconds="soon").message


def test_a_catalog_file_that_is_not_toml_or_not_there_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[products.solo\n", encoding="utf-8")
    with pytest.raises(CatalogError) as error:
        load_catalog(path)
    assert str(path) in error.value.message
    with pytest.raises(CatalogError) as missing:
        load_catalog(tmp_path / "absent.toml")
    assert missing.value.code == "catalog.unreadable"
