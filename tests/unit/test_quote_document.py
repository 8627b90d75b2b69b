"""The quote document: its published JSON Schemas, the examples, chaining answers into requests, refusals and the CLI.

The schemas are read from the installed package (``prorata.schemas``), so these tests also prove they are shipped.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from prorata.domain.errors import ProrataError
from prorata.domain.money import EXPONENTS
from prorata.entrypoints import quote_document
from prorata.entrypoints.cli.main import main
from prorata.entrypoints.quote_document import parse_json, price_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
SCHEMA_NAMES = ("quote-request.schema.json", "quote-response.schema.json")


def _schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(files("prorata.schemas").joinpath(name).read_text(encoding="utf-8"))
    return data


REQUEST_SCHEMA = _schema("quote-request.schema.json")
RESPONSE_SCHEMA = _schema("quote-response.schema.json")
REGISTRY: Registry[Any] = Registry().with_resources(
    (s["$id"], Resource.from_contents(s)) for s in (REQUEST_SCHEMA, RESPONSE_SCHEMA)
)
REQUEST = Draft202012Validator(REQUEST_SCHEMA, registry=REGISTRY)
RESPONSE = Draft202012Validator(RESPONSE_SCHEMA, registry=REGISTRY)
ERROR_DOCUMENT = Draft202012Validator({"$ref": f"{RESPONSE_SCHEMA['$id']}#/$defs/error_document"}, registry=REGISTRY)


def schema_errors(validator: Draft202012Validator, instance: object) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(instance)]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def example(name: str) -> dict[str, Any]:
    return load(ROOT / "examples" / name)


def follow_up(request: dict[str, Any], response: dict[str, Any], at: str, **rest: Any) -> dict[str, Any]:
    """The next request: the same account, the answer's balance and subscriptions, a new instant and cart."""
    account = {**request["account"], "credit_balance": response["credit_balance_after"]}
    return {"account": account, "subscriptions": response["subscriptions"], "at": at, **rest}


# ----------------------------------------------------------------------------------------------------------- schemas


@pytest.mark.parametrize("schema", [REQUEST_SCHEMA, RESPONSE_SCHEMA], ids=SCHEMA_NAMES)
def test_each_published_schema_is_a_valid_draft_2020_12_schema(schema: dict[str, Any]) -> None:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_schemas_are_shipped_as_package_data() -> None:
    # loadable from the installed package, and covered by the package-data globs a wheel is built from
    shipped = files("prorata.schemas")
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]
    for name in SCHEMA_NAMES:
        assert shipped.joinpath(name).is_file()
        assert any(fnmatch(f"schemas/{name}", pattern) for pattern in globs["prorata"])
    assert (files("prorata") / "schemas" / SCHEMA_NAMES[0]).read_text(encoding="utf-8").startswith("{")


# conditional branches repeat fields only to narrow them (a credit's unit_amount is null ...); they are not fields
NARROWING = frozenset({"if", "then", "else", "allOf", "anyOf", "not"})


def _fields(node: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every field a schema defines, by path, outside the conditional branches that only narrow them."""
    if isinstance(node, list):
        for value in node:
            yield from _fields(value, (*path, "[]"))
    if not isinstance(node, dict) or NARROWING & set(path):
        return
    for key, value in node.items():
        if key == "properties":
            for name, prop in value.items():
                yield ".".join((*path, name)), prop
                yield from _fields(prop, (*path, name))
        else:
            yield from _fields(value, (*path, key))


@pytest.mark.parametrize("schema", [REQUEST_SCHEMA, RESPONSE_SCHEMA], ids=SCHEMA_NAMES)
def test_every_field_of_a_published_schema_has_a_description(schema: dict[str, Any]) -> None:
    fields = dict(_fields(schema))

    assert len(fields) > 30
    assert [path for path, prop in fields.items() if not prop.get("description")] == []


def _def_properties(name: str) -> set[str]:
    return set(REQUEST_SCHEMA["$defs"][name]["properties"])


def test_the_request_schema_names_exactly_the_fields_the_reader_accepts() -> None:
    # rule X4: the reader refuses unknown fields, and the schema says additionalProperties false for the same objects
    assert set(REQUEST_SCHEMA["properties"]) == quote_document._REQUEST_KEYS
    assert _def_properties("account") == quote_document._ACCOUNT_KEYS
    assert _def_properties("subscription") == quote_document._SUB_KEYS
    assert _def_properties("charge") == quote_document._CHARGE_KEYS
    assert _def_properties("pending") == quote_document._PENDING_KEYS
    assert set(REQUEST_SCHEMA["$defs"]["change"]["properties"]["type"]["enum"]) == set(quote_document._CHANGE_KEYS)
    for kind, keys in quote_document._CHANGE_KEYS.items():
        assert _def_properties(kind) == keys, kind
    for name in ("account", "subscription", "charge", "pending", *quote_document._CHANGE_KEYS):
        assert REQUEST_SCHEMA["$defs"][name]["additionalProperties"] is False, name
    assert REQUEST_SCHEMA["additionalProperties"] is False


def test_the_schema_currency_list_is_the_installation_s_iso_4217_list() -> None:
    # rule X1: a currency the schema allows is one the engine knows, and the reverse
    assert REQUEST_SCHEMA["$defs"]["currency"]["enum"] == sorted(EXPONENTS)


# ---------------------------------------------------------------------------------------------------------- examples


def test_the_examples_directory_holds_the_three_documented_examples() -> None:
    assert {p.name for p in EXAMPLES} >= {
        "upgrade-pro-to-business.json",
        "switch-yearly-to-monthly.json",
        "renewal-with-pending-reduction.json",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates_against_the_request_schema(path: Path) -> None:
    assert schema_errors(REQUEST, load(path)) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_quote_of_every_example_validates_against_the_response_schema_and_leaves_it_unchanged(path: Path) -> None:
    document = load(path)
    before = copy.deepcopy(document)

    answer = price_document(document)

    assert schema_errors(RESPONSE, answer) == []
    assert answer["lines"]
    assert document == before


def test_yearly_to_monthly_example_credits_the_unused_year_to_the_balance() -> None:
    # rule C2: 167 of 365 days of the 2599.60 PLN year are credited; a monthly period starts now (Sep 15, Warsaw)
    # rule A5: the monthly add-on moves to the plan's new billing date, credited and charged
    answer = price_document(example("switch-yearly-to-monthly.json"))

    assert [(line["kind"], line["product"], line["amount"]) for line in answer["lines"]] == [
        ("credit", "pro", -118941),  # 259960 x 167/365 = 118941.2
        ("charge", "pro", 25996),  # 4 x 64.99, a whole month
        ("credit", "large_meetings_500", -10613),  # 19900 x 16/30 = 10613.3
        ("charge", "large_meetings_500", 19900),
    ]
    assert answer["credit_used"] == 0
    assert answer["amount_due"] == 0
    assert answer["credit_added"] == 118941 - 25996 + 10613 - 19900
    assert answer["credit_balance_after"] == 2500 + answer["credit_added"]
    plan = answer["subscriptions"][0]
    assert (plan["interval"], plan["period_start"], plan["period_end"]) == (
        "month",
        "2026-09-14T22:00:00Z",
        "2026-10-14T22:00:00Z",
    )


def test_renewal_example_applies_the_pending_reduction_first() -> None:
    # rules C7, L3: the plan renews at 12 licenses, not 15; the anchor Jan 31 gives Apr 30 -> May 31 (New York time)
    answer = price_document(example("renewal-with-pending-reduction.json"))

    assert [(line["product"], line["quantity"], line["amount"]) for line in answer["lines"]] == [
        ("business", 12, 12 * 2199),
        ("webinar_500", 2, 2 * 7900),
    ]
    assert answer["credit_used"] == 1200
    assert answer["amount_due"] == 12 * 2199 + 2 * 7900 - 1200
    plan = answer["subscriptions"][0]
    assert (plan["quantity"], plan["pending"], plan["assigned"]) == (12, [], 11)
    assert (plan["period_start"], plan["period_end"]) == ("2026-04-30T13:00:00Z", "2026-05-31T13:00:00Z")


# ---------------------------------------------------------------------------------------------------------- chaining


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_a_response_s_subscriptions_are_a_valid_request_s_subscriptions(path: Path) -> None:
    document = load(path)
    answer = price_document(document)

    follow = follow_up(document, answer, answer["subscriptions"][0]["period_end"], mode="renewal")

    assert schema_errors(REQUEST, follow) == []
    assert schema_errors(RESPONSE, price_document(follow)) == []


def test_a_chained_upgrade_credits_exactly_what_the_previous_quote_charged() -> None:
    # rules C5, P2: the Business charge of the first answer is the whole basis of the credit on the same day
    first_request = example("upgrade-pro-to-business.json")
    first = price_document(first_request)
    business = next(line for line in first["lines"] if line["product"] == "business")

    second = price_document(
        follow_up(
            first_request, first, first_request["at"], changes=[{"type": "change_plan", "product": "business_plus"}]
        )
    )

    credit = second["lines"][0]
    assert (credit["kind"], credit["product"], credit["amount"], credit["basis"]) == (
        "credit",
        "business",
        -business["amount"],
        business["amount"],
    )
    assert second["lines"][1]["amount"] == 17274  # 12 x 26.99 x 16/30 = 172.736 -> 172.74 (rule C4)
    assert [line["subscription"] for line in second["lines"]] == ["plan", "plan"]  # the add-on is untouched
    assert [s["id"] for s in second["subscriptions"]] == ["plan", "new-1"]


def test_chained_license_increase_charges_only_the_added_licenses() -> None:
    # rules L1, L2, L5: 12 held, enter 14; 2 x 21.99 x 16/30 = 23.456 -> 23.46, and 2 licenses to assign
    first_request = example("upgrade-pro-to-business.json")
    first = price_document(first_request)

    second = price_document(
        follow_up(first_request, first, first_request["at"], changes=[{"type": "set_licenses", "total": 14}])
    )

    assert [(line["quantity"], line["amount"]) for line in second["lines"]] == [(2, 2346)]
    assert second["to_assign"] == [{"subscription": "plan", "product": "business", "licenses": 2}]
    assert second["subscriptions"][0]["quantity"] == 14
    assert [c["amount"] for c in second["subscriptions"][0]["charges"]] == [14074, 2346]


def test_the_next_renewal_after_a_yearly_to_monthly_switch_is_paid_from_the_credit_balance() -> None:
    # rules C2, C7: the credit the switch added pays the first monthly renewal before anything is due
    first_request = example("switch-yearly-to-monthly.json")
    first = price_document(first_request)

    renewal = price_document(follow_up(first_request, first, "2026-10-15T00:00:00+02:00", mode="renewal"))

    assert [line["amount"] for line in renewal["lines"]] == [25996, 19900]
    assert renewal["credit_balance_before"] == first["credit_balance_after"] == 86158
    assert (renewal["credit_used"], renewal["amount_due"]) == (25996 + 19900, 0)
    assert renewal["credit_balance_after"] == 86158 - 25996 - 19900


def test_a_scheduled_reduction_travels_in_the_response_and_is_applied_at_renewal() -> None:
    # rules L3, L6, C7: the reduction is listed as scheduled, kept as pending, and renews at the lower total
    request = example("renewal-with-pending-reduction.json")
    del request["mode"]
    request["subscriptions"][0]["pending"] = []
    request["at"] = "2026-04-10T12:00:00-04:00"
    request["changes"] = [{"type": "set_licenses", "total": 12}]

    answer = price_document(request)
    renewal = price_document(follow_up(request, answer, "2026-04-30T09:00:00-04:00", mode="renewal"))

    assert answer["lines"] == []
    assert answer["scheduled"] == [
        {
            "subscription": "plan",
            "product": "business",
            "action": "scheduled",
            "change": {"kind": "quantity", "effective": "2026-04-30T13:00:00Z", "quantity": 12},
        }
    ]
    assert answer["subscriptions"][0]["pending"] == [answer["scheduled"][0]["change"]]
    assert renewal["lines"][0]["quantity"] == 12
    assert renewal["subscriptions"][0]["pending"] == []


def test_a_scheduled_downgrade_names_the_current_product_and_the_target_apart() -> None:
    # rule P5: Business -> Pro waits for the term end; "product" is what is held, the change names the target
    request = {
        "account": {"currency": "USD"},
        "subscriptions": [
            {
                "id": "plan",
                "product": "business",
                "interval": "month",
                "quantity": 12,
                "period_start": "2026-11-01T00:00:00Z",
                "period_end": "2026-12-01T00:00:00Z",
            }
        ],
        "at": "2026-11-15T00:00:00Z",
        "changes": [{"type": "change_plan", "product": "pro", "licenses": 5}],
    }

    answer = price_document(request)

    assert schema_errors(RESPONSE, answer) == []
    assert [(s["product"], s["change"]["kind"], s["change"]["product"]) for s in answer["scheduled"]] == [
        ("business", "product", "pro")
    ]


def test_an_add_on_bought_after_a_chained_quote_does_not_replace_one_bought_before() -> None:
    # rules A3, K3: the first answer holds the Webinar 500 bought as "new-1"; buying Large Meetings keeps it
    first_request = example("upgrade-pro-to-business.json")
    first = price_document(first_request)

    second = price_document(
        follow_up(
            first_request,
            first,
            first_request["at"],
            changes=[{"type": "add_addon", "product": "large_meetings_500", "quantity": 2}],
        )
    )

    assert sorted(s["product"] for s in second["subscriptions"]) == ["business", "large_meetings_500", "webinar_500"]


# --------------------------------------------------------------------------------------------------------- refusals


def base() -> dict[str, Any]:
    return example("upgrade-pro-to-business.json")


def on_yearly_plan_with_monthly_webinar() -> dict[str, Any]:
    doc = base()
    doc["account"]["credit_balance"] = 0
    doc["subscriptions"] = [
        {
            "id": "plan",
            "product": "pro",
            "interval": "year",
            "quantity": 5,
            "period_start": "2026-03-01T00:00:00Z",
            "period_end": "2027-03-01T00:00:00Z",
        },
        {
            "id": "web",
            "product": "webinar_500",
            "interval": "month",
            "quantity": 2,
            "anchor": "2026-03-01T00:00:00Z",
            "period_start": "2026-11-01T00:00:00Z",
            "period_end": "2026-12-01T00:00:00Z",
        },
    ]
    return doc


def with_changes(*changes: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        doc = base()
        doc["changes"] = list(changes)
        return doc

    return build


def edit(change: Callable[[dict[str, Any]], None]) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        doc = base()
        change(doc)
        return doc

    return build


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """Set a value at a dotted path, e.g. ``subscriptions.0.charged``."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


# (test id, document builder, code, field, rule, whether the schema alone already refuses the document)
REFUSALS: list[tuple[str, Callable[[], dict[str, Any]], str, str, str | None, bool]] = [
    ("naive at", edit(_set("at", "2026-11-15T10:30:00")), "time.naive", "at", "X2", True),
    ("unknown currency", edit(_set("account.currency", "XYZ")), "currency.unknown", "account.currency", "X1", True),
    (
        "float credit balance",
        edit(_set("account.credit_balance", 12.5)),
        "money.not_integer_minor_units",
        "account.credit_balance",
        "X1",
        True,
    ),
    (
        # JSON Schema counts 500.0 as an integer; only the reader can tell it was written as a float
        "integral float credit balance",
        edit(_set("account.credit_balance", 500.0)),
        "money.not_integer_minor_units",
        "account.credit_balance",
        "X1",
        False,
    ),
    (
        "float charged",
        edit(_set("subscriptions.0.charged", 79.95)),
        "money.not_integer_minor_units",
        "subscriptions[0].charged",
        "X1",
        True,
    ),
    (
        "unknown product held",
        edit(_set("subscriptions.0.product", "platinum")),
        "product.unknown",
        "subscriptions[0].product",
        None,
        False,
    ),
    (
        "unknown product bought",
        with_changes({"type": "change_plan", "product": "platinum"}),
        "product.unknown",
        "changes[0].product",
        None,
        False,
    ),
    ("unknown top-level field", edit(_set("discount", 10)), "document.unknown_field", "discount", None, True),
    (
        "unknown subscription field",
        edit(_set("subscriptions.0.seats", 5)),
        "document.unknown_field",
        "subscriptions[0].seats",
        None,
        True,
    ),
    (
        "unknown change field",
        edit(_set("changes.1.colour", "red")),
        "document.unknown_field",
        "changes[1].colour",
        None,
        True,
    ),
    (
        "unknown change type",
        with_changes({"type": "upgrade", "product": "business"}),
        "change.unknown_type",
        "changes[0].type",
        None,
        True,
    ),
    (
        "change type not a string",
        with_changes({"type": ["set_licenses"]}),
        "change.unknown_type",
        "changes[0].type",
        None,
        True,
    ),
    (
        "zero licenses",
        with_changes({"type": "set_licenses", "total": 0}),
        "licenses.invalid_total",
        "changes[0].total",
        "L1",
        True,
    ),
    (
        "negative licenses",
        with_changes({"type": "set_licenses", "total": -3}),
        "licenses.invalid_total",
        "changes[0].total",
        "L1",
        True,
    ),
    (
        "fractional licenses",
        with_changes({"type": "set_licenses", "total": 7.5}),
        "licenses.invalid_total",
        "changes[0].total",
        "L1",
        True,
    ),
    (
        "licenses as text",
        with_changes({"type": "set_licenses", "total": "7"}),
        "licenses.invalid_total",
        "changes[0].total",
        "L1",
        True,
    ),
    (
        "licenses as true",
        with_changes({"type": "set_licenses", "total": True}),
        "licenses.invalid_total",
        "changes[0].total",
        "L1",
        True,
    ),
    (
        "zero licenses on a plan change",
        with_changes({"type": "change_plan", "product": "business", "licenses": 0}),
        "licenses.invalid_total",
        "changes[0].licenses",
        "L1",
        True,
    ),
    (
        "enterprise purchase",
        with_changes({"type": "change_plan", "product": "enterprise", "licenses": 20}),
        "plan.sales_only",
        "changes[0].product",
        "P1",
        False,
    ),
    (
        "business with 9 licenses",
        with_changes({"type": "change_plan", "product": "business", "licenses": 9}),
        "plan.min_licenses",
        "changes[0].licenses",
        "P3",
        False,
    ),
    (
        "annual add-on on a monthly plan",
        with_changes({"type": "add_addon", "product": "webinar_500", "quantity": 2, "interval": "year"}),
        "addon.annual_on_monthly",
        "changes[0].interval",
        "A6",
        False,
    ),
    (
        "the same add-on on two intervals",
        lambda: {
            **on_yearly_plan_with_monthly_webinar(),
            "changes": [{"type": "add_addon", "product": "webinar_500", "quantity": 2, "interval": "year"}],
        },
        "addon.interval_conflict",
        "changes[0].interval",
        "A2",
        False,
    ),
    (
        "reduction below the assigned licenses",
        with_changes({"type": "set_licenses", "total": 3}),
        "licenses.below_assigned",
        "changes[0].total",
        "L4",
        False,
    ),
    (
        "unknown time zone",
        edit(_set("account.time_zone", "Mars/Olympus")),
        "time_zone.unknown",
        "account.time_zone",
        "X2",
        False,
    ),
    (
        "negative credit balance",
        edit(_set("account.credit_balance", -1)),
        "credit_balance.negative",
        "account.credit_balance",
        None,
        True,
    ),
    (
        "pending change to an unknown product",
        edit(_set("subscriptions.0.pending", [{"kind": "product", "product": "platinum", "quantity": 5}])),
        "product.unknown",
        "subscriptions[0].pending[0].product",
        None,
        False,
    ),
    (
        "pending reduction to zero",
        edit(_set("subscriptions.0.pending", [{"kind": "quantity", "quantity": 0}])),
        "pending.invalid",
        "subscriptions[0].pending[0].quantity",
        "P3",
        True,
    ),
    (
        "pending reduction that also names a product",
        edit(_set("subscriptions.0.pending", [{"kind": "quantity", "quantity": 4, "product": "business"}])),
        "pending.invalid",
        "subscriptions[0].pending[0].product",
        None,
        True,
    ),
    (
        "changes in a renewal",
        edit(_set("mode", "renewal")),
        "document.invalid_field",
        "changes",
        None,
        True,
    ),
]


@pytest.mark.parametrize(
    ("build", "code", "field", "rule", "schema_refuses"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSALS],
)
def test_bad_input_is_refused_with_its_code_and_field_and_changes_nothing(
    build: Callable[[], dict[str, Any]], code: str, field: str, rule: str | None, schema_refuses: bool
) -> None:
    # rule X4: a clear error naming the field (and the rule), and the document as it was given
    document = build()
    before = copy.deepcopy(document)

    with pytest.raises(ProrataError) as refused:
        price_document(document)

    error = refused.value
    assert (error.code, error.field, error.rule) == (code, field, rule)
    assert error.message.startswith(f"{field}: ")
    assert document == before
    assert schema_errors(ERROR_DOCUMENT, {"error": error.to_dict()}) == []
    # the schema refuses what it can know without the catalog and the account; the engine refuses the rest
    assert bool(schema_errors(REQUEST, document)) is schema_refuses


def test_a_reduction_below_the_assigned_licenses_says_how_many_users_to_unassign() -> None:
    # rule L4: 4 licenses are assigned, the new total is 3: one user must be unassigned first
    document = with_changes({"type": "set_licenses", "total": 3})()

    with pytest.raises(ProrataError) as refused:
        price_document(document)

    assert refused.value.data == {"assigned": 4, "must_unassign": 1, "entered": 3, "change": 0}
    assert "unassign 1 user in User Management" in refused.value.message


def test_malformed_json_is_refused_with_its_line_and_column() -> None:
    # rule X4: no document dict exists yet; the text is named as the field "document"
    with pytest.raises(ProrataError) as refused:
        parse_json('{\n  "at": \n}')

    assert (refused.value.code, refused.value.field) == ("document.malformed_json", "document")
    assert "line 3, column 1" in refused.value.message


# --------------------------------------------------------------------------------------------------------------- CLI

UPGRADE = ROOT / "examples" / "upgrade-pro-to-business.json"


def test_cli_quote_prints_the_quote_of_a_file_as_indented_json(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["quote", str(UPGRADE)])

    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert json.loads(out) == price_document(load(UPGRADE))
    assert out.count("\n") > 20


def test_cli_quote_reads_standard_input_for_a_dash(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(UPGRADE.read_text(encoding="utf-8")))

    status = main(["quote", "-"])

    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert json.loads(out)["amount_due"] == 17737


def test_cli_quote_compact_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["quote", "--compact", str(UPGRADE)])

    out, _ = capsys.readouterr()
    assert status == 0
    assert out.endswith("\n")
    assert "\n" not in out[:-1]
    assert json.loads(out) == price_document(load(UPGRADE))


OPERATOR_CATALOG = """
[catalog]
name = "Operator"

[products.pro]
kind = "plan"
name = "Pro"
rank = 10
max_licenses = 9
prices.month = { USD = "10.00" }

[products.business]
kind = "plan"
name = "Business"
rank = 20
min_licenses = 10
prices.month = { USD = "20.00" }

[products.webinar_500]
kind = "addon"
name = "Webinar 500"
family = "webinar"
size = 500
prices.month = { USD = "30.00" }
"""


def test_cli_catalog_option_prices_with_the_operator_s_catalog(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # rules C4, C5: the credit reverses what was charged (79.95, not the operator's list price); charges use its prices
    catalog = tmp_path / "operator.toml"
    catalog.write_text(OPERATOR_CATALOG, encoding="utf-8")

    status = main(["quote", "--catalog", str(catalog), str(UPGRADE)])

    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    lines = json.loads(out)["lines"]
    assert [(line["unit_amount"], line["amount"]) for line in lines] == [
        (None, -4264),  # 7995 x 16/30 = 4264
        (2000, 12800),  # 12 x 20.00 x 16/30
        (3000, 3200),  # 2 x 30.00 x 16/30
    ]


def test_cli_refusal_prints_the_json_error_on_stderr_with_exit_status_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # rules P3, X4: Business needs 10 licenses; nothing on standard output
    document = load(UPGRADE)
    document["changes"] = [{"type": "change_plan", "product": "business", "licenses": 9}]
    path = tmp_path / "nine.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    status = main(["quote", str(path)])

    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    refusal = json.loads(err)
    assert schema_errors(ERROR_DOCUMENT, refusal) == []
    error = refusal["error"]
    assert (error["code"], error["rule"], error["field"]) == ("plan.min_licenses", "P3", "changes[0].licenses")
    assert error["message"] == "changes[0].licenses: Business requires at least 10 licenses (got 9)"


def test_cli_refuses_malformed_json_and_an_unreadable_file_as_json_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # rule X4: every refusal of `prorata quote` is the same JSON error, readable by a program
    broken = tmp_path / "broken.json"
    broken.write_text('{"at": ', encoding="utf-8")
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"role": "właściciel"}'.encode("iso-8859-2"))

    codes = []
    for path in (broken, tmp_path / "missing.json", latin1):
        assert main(["quote", str(path)]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert schema_errors(ERROR_DOCUMENT, json.loads(err)) == []
        codes.append((json.loads(err)["error"]["code"], json.loads(err)["error"]["field"]))

    assert codes == [
        ("document.malformed_json", "document"),
        ("document.unreadable", "document"),
        ("document.unreadable", "document"),
    ]


def test_catalog_check_names_the_file_product_and_field_of_a_broken_catalog(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # rule P3 limits live in the catalog; a wrong one is refused with where it is
    catalog = tmp_path / "broken.toml"
    catalog.write_text(OPERATOR_CATALOG.replace("min_licenses = 10", 'min_licenses = "ten"'), encoding="utf-8")

    status = main(["catalog", "check", str(catalog)])

    out, err = capsys.readouterr()
    assert (status, out) == (1, "")
    error = json.loads(err)["error"]
    assert schema_errors(ERROR_DOCUMENT, {"error": error}) == []
    assert (error["code"], error["field"]) == ("catalog.invalid", "products.business.min_licenses")
    assert error["data"] == {"file": str(catalog), "product": "business"}
    assert str(catalog) in error["message"]
    assert "'business'" in error["message"]
    assert "'min_licenses'" in error["message"]


def test_catalog_check_accepts_a_good_catalog(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    catalog = tmp_path / "operator.toml"
    catalog.write_text(OPERATOR_CATALOG, encoding="utf-8")

    status = main(["catalog", "check", str(catalog)])

    assert status == 0
    assert capsys.readouterr().out == f"{catalog}: 3 products, ok\n"


def test_catalog_show_lists_the_default_products_and_prices(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["catalog", "show"])

    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith("Prorata default catalog (catalogs/default.toml)")
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "15.99 USD/month" in rows["pro"]
    assert "sales only" in rows["enterprise"]  # rule P1
    assert rows["business"].split()[3] == "10-"  # rule P3


def test_python_m_prorata_quote_prints_json_on_stdout() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "prorata", "quote", "examples/upgrade-pro-to-business.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert (done.returncode, done.stderr) == (0, "")
    answer = json.loads(done.stdout)
    assert schema_errors(RESPONSE, answer) == []
    assert answer["amount_due"] == 17737
