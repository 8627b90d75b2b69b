"""``prorata terms`` and ``prorata bank-payments`` on SQLite and PostgreSQL (rule NT1): the operator's terms, a
transfer recorded against an invoice number and a CAMT.053 statement imported; refusals on one line with their code
and exit status 1, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from prorata.adapters.db.database import create_database_engine
from prorata.adapters.db.schema import bank_payments, invoices
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.entrypoints.cli.main import main
from tests.integration.shop import Shop

SAMPLE = Path(__file__).parents[1] / "fixtures" / "camt" / "statement-2026-11-16.xml"


def cli(database_url: str, *argv: str) -> int:
    return main([*argv, "--database", database_url])


def test_the_cli_puts_an_account_on_terms_records_a_transfer_and_imports_a_statement(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule NT1: Business x 12 (263.88 USD a month) on Net 30; its order's invoice INV-2026-000002 is paid by transfer
    assert cli(database_url, "init") == 0
    engine = create_database_engine(database_url)
    shop = Shop(engine, code="bigco")
    shop.order(ChangePlan("business", 12), key="start")
    assert cli(database_url, "terms", "set", "--account", "bigco") == 0
    shop.order(SetLicenses(15), key="more")
    capsys.readouterr()

    recorded = cli(database_url, "bank-payments", "record", "--invoice", "INV-2026-000002", "--amount", "10.00",
                   "--currency", "USD", "--date", "2026-11-15", "--reference", "BANK-CLI-1")  # fmt: skip
    said = capsys.readouterr().out
    imported = cli(database_url, "bank-payments", "import", str(SAMPLE), "--json")
    entries = json.loads(capsys.readouterr().out)["entries"]
    shown = cli(database_url, "terms", "show", "--account", "bigco", "--json")
    terms = json.loads(capsys.readouterr().out)

    assert (recorded, imported, shown) == (0, 0, 0)
    assert "BANK-CLI-1: recorded for INV-2026-000002: 1000 USD, applied 1000" in said
    assert [e["outcome"] for e in entries] == ["matched", "unmatched", "unmatched"]
    assert terms["terms_days"] == 30
    assert [(p["amount"], p["applied"], p["excess"]) for p in terms["bank_payments"]] == [
        (6597, 5597, 1000),
        (1000, 1000, 0),
    ]
    with engine.connect() as conn:
        assert conn.execute(select(invoices.c.status).where(invoices.c.number == 2)).scalar_one() == "paid"
    engine.dispose()


def test_the_cli_refuses_a_bad_amount_and_an_ineligible_account_naming_the_rule_and_changes_nothing(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rules NT1, X4
    assert cli(database_url, "init") == 0
    engine = create_database_engine(database_url)
    shop = Shop(engine, code="small")
    shop.order(ChangePlan("pro", 2), key="start")
    capsys.readouterr()

    ineligible = cli(database_url, "terms", "set", "--account", "small")
    first = capsys.readouterr().err
    bad_amount = cli(database_url, "bank-payments", "record", "--invoice", "INV-2026-000001", "--amount", "1.234",
                     "--currency", "USD", "--date", "2026-11-15", "--reference", "R")  # fmt: skip
    second = capsys.readouterr().err

    assert (ineligible, bad_amount) == (1, 1)
    assert "terms.below_threshold" in first
    assert "NT1" in first
    assert "amount" in second
    with engine.connect() as conn:
        assert conn.execute(select(bank_payments.c.id)).all() == []
    engine.dispose()
