"""``prorata discounts`` on SQLite and PostgreSQL (rules DC1, DC2): codes created, listed, shown and retired, a code
applied to an account from its next billing date and taken away again; refusals on one line with their code and
rule (or as JSON with --json), exit status 1, nothing changed; each subcommand with its own --help."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from prorata.adapters.db.clock import start_simulation
from prorata.adapters.db.database import create_database_engine
from prorata.adapters.db.schema import discount_code_amounts, discount_codes, discount_redemptions
from prorata.domain.cart import ChangePlan
from prorata.entrypoints.cli.main import main
from tests.integration.shop import NOW, Shop


def cli(database_url: str, *argv: str) -> int:
    return main([*argv, "--database", database_url])


def installed(database_url: str) -> Engine:
    """A new installation on a simulation clock at the shop's instant: expiries and billing dates are its, not the
    day the test runs."""
    assert main(["init", "--database", database_url]) == 0
    engine = create_database_engine(database_url)
    assert start_simulation(engine, NOW)
    return engine


def said(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    captured = capsys.readouterr()
    return captured.out, captured.err


def as_json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def test_the_cli_creates_lists_shows_and_retires_codes(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # rule DC2: a percentage for three periods, and fixed amounts per currency on chosen products
    installed(database_url).dispose()
    said(capsys)

    percent = cli(database_url, "discounts", "create", "save20", "--percent", "20", "--duration", "repeating",
                  "--periods", "3")  # fmt: skip
    line, _ = said(capsys)
    fixed = cli(database_url, "discounts", "create", "FIVE-OFF", "--amount", "USD=500", "pln=2000", "--duration",
                "forever", "--products", "pro,business", "--expires", "2027-01-31", "--max-redemptions", "10",
                "--json")  # fmt: skip
    created = as_json(capsys)
    listed = cli(database_url, "discounts", "list", "--json")
    codes = as_json(capsys)["discount_codes"]

    assert (percent, fixed, listed) == (0, 0, 0)
    assert line == "SAVE20: 20 % off the whole order for 3 billing periods; redeemed 0 (created)\n"
    assert {k: created[k] for k in ("code", "duration", "percent", "amounts", "products", "expires_at",
                                    "max_redemptions", "active")} == {
        "code": "FIVE-OFF", "duration": "forever", "percent": None, "amounts": {"USD": 500, "PLN": 2000},
        "products": ["business", "pro"], "expires_at": "2027-01-31T00:00:00+00:00", "max_redemptions": 10,
        "active": True,
    }  # fmt: skip
    assert [c["code"] for c in codes] == ["FIVE-OFF", "SAVE20"]  # newest first

    assert cli(database_url, "discounts", "list") == 0
    out, _ = said(capsys)
    assert "FIVE-OFF: 20.00 PLN / 5.00 USD off each license of business, pro for ever; redeemed 0/10" in out
    assert cli(database_url, "discounts", "retire", "save20") == 0
    assert said(capsys)[0].endswith("redeemed 0, retired (retired)\n")
    assert cli(database_url, "discounts", "show", "SAVE20", "--json") == 0
    shown = as_json(capsys)
    assert (shown["active"], shown["redemptions"]) == (False, [])
    assert shown["retired_at"] is not None


def test_the_cli_applies_a_code_from_the_next_billing_date_and_takes_it_away(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule DC1: entered without an order, the code covers the periods from the account's next billing date
    engine = installed(database_url)
    shop = Shop(engine, code="acme")
    shop.order(ChangePlan("business", 10), key="start")
    assert cli(database_url, "discounts", "create", "HALF", "--percent", "50", "--duration", "once") == 0
    said(capsys)

    applied = cli(database_url, "discounts", "apply", "acme", "half", "--json")
    held = as_json(capsys)
    shown = cli(database_url, "discounts", "show", "HALF")
    listing, _ = said(capsys)

    assert (applied, shown) == (0, 0)
    assert held["account"] == "acme"
    discount = held["discount"]
    assert (discount["code"], discount["status"], discount["percent"], discount["order_id"]) == (
        "HALF", "scheduled", "50", None
    )  # fmt: skip
    # the order started the plan on Nov 15 (UTC, by the day): the next billing date is Dec 15, for one period
    assert (discount["starts_at"], discount["ends_at"]) == ("2026-12-15T00:00:00+00:00", "2027-01-15T00:00:00+00:00")
    assert (
        "  acme                    applied  from 2026-12-15T00:00:00+00:00 until 2027-01-15T00:00:00+00:00" in listing
    )

    assert cli(database_url, "discounts", "remove", "acme") == 0
    assert said(capsys)[0] == "acme: discount HALF removed; charges from now on are at full price\n"
    with engine.connect() as conn:
        assert conn.execute(select(discount_redemptions.c.status)).scalars().all() == ["removed"]
    engine.dispose()


def test_the_cli_refuses_bad_terms_and_unusable_codes_naming_the_field_and_changes_nothing(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rules DC1, DC2, X4: one line with the code and the rule (JSON with --json), exit status 1, no row written
    engine = installed(database_url)
    Shop(engine, code="acme")  # no plan: nothing to discount yet
    assert cli(database_url, "discounts", "create", "SAVE20", "--percent", "20", "--duration", "once") == 0
    said(capsys)

    def refused(*argv: str) -> str:
        assert cli(database_url, "discounts", *argv) == 1
        return said(capsys)[1]

    assert refused("create", "OTHER", "--percent", "12.555", "--duration", "once") == (
        'prorata: percent: a percentage from 0.01 to 100, written as "20" or "12.5" [discount.percent, rule DC2]\n'
    )
    assert "[currency.unknown, rule X1]" in refused("create", "OTHER", "--amount", "XYZ=500", "--duration", "once")
    unwritten = json.loads(refused("create", "OTHER", "--amount", "USD=5.00", "--duration", "once", "--json"))
    assert unwritten["error"] == {"code": "discount.amount", "rule": "DC2", "field": "amounts",
                                  "message": "amounts: 'USD=5.00' is not CUR=MINOR_UNITS, e.g. USD=500"}  # fmt: skip
    assert "[discount.periods, rule DC2]" in refused("create", "OTHER", "--percent", "5", "--duration", "repeating")
    assert "[discount.max_redemptions, rule DC2]" in refused("create", "OTHER", "--percent", "5", "--duration",
                                                             "once", "--max-redemptions", str(2**40))  # fmt: skip
    assert "codes are never reused [discount.code_taken, rule DC2]" in refused("create", "save20", "--percent", "5",
                                                                                "--duration", "once")  # fmt: skip
    assert refused("show", "NOPE") == "prorata: code: there is no such discount code [discount.unknown, rule DC1]\n"
    assert "[discount.unknown, rule DC1]" in refused("apply", "acme", "NOPE")
    assert "a discount needs a paid plan [plan.none, rule DC1]" in refused("apply", "acme", "SAVE20")
    assert "[account.unknown]" in refused("apply", "nobody", "SAVE20")
    assert "[discount.none, rule DC2]" in refused("remove", "acme")
    with engine.connect() as conn:
        counts = [conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (discount_codes, discount_code_amounts, discount_redemptions)]  # fmt: skip
        redeemed = conn.execute(select(discount_codes.c.redeemed)).scalar_one()
    assert (counts, redeemed) == ([1, 0, 0], 0)
    engine.dispose()


@pytest.mark.parametrize(
    ("action", "words"),
    [("create", "--max-redemptions"), ("list", "--json"), ("show", "CODE"), ("retire", "CODE"),
     ("apply", "ACCOUNT CODE"), ("remove", "ACCOUNT")],
)  # fmt: skip
def test_each_discounts_subcommand_has_its_own_help(
    action: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["discounts", action, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: prorata discounts {action}" in out
    assert words in out
