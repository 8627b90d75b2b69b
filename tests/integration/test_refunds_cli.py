"""``prorata invoices void|credit --refund`` and ``prorata refunds list|retry`` on SQLite and PostgreSQL (rules R1,
R2)."""

from __future__ import annotations

import json

import pytest

from prorata.entrypoints.cli.main import main


def demo_invoice(database_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["demo", "--database", database_url]) == 0
    return capsys.readouterr().out.split("demo-pro: placed, invoice ")[1].split(",")[0]


def test_the_cli_voids_an_invoice_to_the_card_lists_the_refund_and_refuses_to_retry_it(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    number = demo_invoice(database_url, capsys)

    assert main(["invoices", "void", number, "--refund", "original_method", "--requested-by", "customer",
                 "--json", "--database", database_url]) == 0  # fmt: skip
    made = json.loads(capsys.readouterr().out)
    assert main(["refunds", "list", "--account", "demo-pro", "--json", "--database", database_url]) == 0
    listed = json.loads(capsys.readouterr().out)["refunds"]
    assert main(["refunds", "list", "--database", database_url]) == 0
    text = capsys.readouterr().out
    retried = main(["refunds", "retry", str(made["refund"]["id"]), "--database", database_url])

    refund = made["refund"]
    assert (made["corrects"], made["invoice_status"]) == (number, "void")
    assert (refund["status"], refund["requested_by"], refund["method"]) == ("succeeded", "customer", "Visa •••• 4242")
    assert refund["amount"] > 0
    assert listed == [refund]
    assert f"refund {refund['id']}: {made['number']} corrects {number}" in text
    assert "succeeded" in text
    assert retried == 1
    assert "only a failed refund" in capsys.readouterr().err


def test_the_cli_refuses_a_refund_to_the_card_after_30_days_unless_overridden(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule R1
    number = demo_invoice(database_url, capsys)
    assert main(["clock", "advance", "--days", "40", "--database", database_url]) == 0
    capsys.readouterr()

    refused = main(["invoices", "credit", number, "--lines", "1", "--refund", "original_method", "--database",
                    database_url])  # fmt: skip
    error = capsys.readouterr().err
    overridden = main(["invoices", "credit", number, "--lines", "1", "--refund", "original_method", "--override",
                       "outage", "--database", database_url])  # fmt: skip

    assert refused == 1
    assert "within 30 days" in error
    assert overridden == 0
    assert "succeeded" in capsys.readouterr().out


def test_the_refunds_commands_have_their_own_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["refunds", "list"], ["refunds", "retry"], ["invoices", "void"]):
        with pytest.raises(SystemExit) as done:
            main([*command, "--help"])
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: prorata {' '.join(command)}")
    assert "--to {original_method,credit_balance}" in _help(["refunds", "retry"], capsys)
    assert "--refund {credit_balance,original_method}" in _help(["invoices", "credit"], capsys)


def _help(command: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return " ".join(capsys.readouterr().out.split())
