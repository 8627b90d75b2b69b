"""The operator's commands on an installation, on SQLite and PostgreSQL (rules C7, I1, I8, X2)."""

from __future__ import annotations

import json

import pytest

from prorata.entrypoints.cli.main import main


def prorata(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_demo_then_a_simulated_month_renews_and_invoices_each_account(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = prorata(capsys, "demo", "--database", database_url)
    assert status == 0
    assert "demo-pro: placed, invoice INV-" in out
    assert "owner owner@demo-business.test" in out
    assert "already there" in prorata(capsys, "demo", "--database", database_url)[1]  # loading twice is harmless

    status, out, _ = prorata(capsys, "clock", "advance", "--days", "31", "--database", database_url)
    assert status == 0
    assert "accounts renewed: 2" in out
    assert "payments: 2 succeeded, 0 failed" in out
    assert "e-mails sent: 4," in out  # the demo orders' confirmations and the renewals' receipts (rule I4)

    status, out, _ = prorata(capsys, "invoices", "list", "--account", "demo-business", "--database", database_url)
    lines = [line for line in out.splitlines() if line.startswith("INV-")]
    assert status == 0
    assert len(lines) == 2
    assert all(line.rstrip().endswith("paid") for line in lines)
    assert "PLN" in lines[0]

    assert "invoices: 0" in prorata(capsys, "bill", "--database", database_url)[1]  # nothing is due twice
    assert prorata(capsys, "reconcile", "--database", database_url)[0] == 0


def test_the_clock_only_moves_forward_and_only_in_simulation(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert prorata(capsys, "init", "--database", database_url)[0] == 0
    status, _, err = prorata(capsys, "clock", "advance", "--days", "3", "--database", database_url)
    assert (status, json.loads(err)["error"]["code"]) == (1, "clock.not_simulated")

    assert prorata(capsys, "init", "--simulation", "--database", database_url)[0] == 0
    assert "(simulation clock)" in prorata(capsys, "clock", "show", "--database", database_url)[1]
    status, _, err = prorata(capsys, "clock", "advance", "--to", "2001-01-01", "--database", database_url)
    assert (status, json.loads(err)["error"]["code"]) == (1, "clock.backwards")


def test_an_unknown_account_is_named(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    prorata(capsys, "init", "--database", database_url)
    status, _, err = prorata(capsys, "invoices", "list", "--account", "nobody", "--database", database_url)
    assert (status, json.loads(err)["error"]["field"]) == (1, "account")


def test_bill_refuses_a_date_that_is_not_one(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    prorata(capsys, "init", "--database", database_url)
    status, _, err = prorata(capsys, "bill", "--until", "2026-13-45", "--database", database_url)
    assert (status, json.loads(err)["error"]["field"]) == (1, "until")


def test_bill_draws_its_progress_and_takes_a_number_of_collectors(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prorata(capsys, "demo", "--database", database_url)
    status, out, err = prorata(capsys, "bill", "--until", "2027-01-15", "--collectors", "2", "--database", database_url)
    assert status == 0
    assert "accounts renewed: 2" in out
    assert "billing [##############################] 2/2 accounts" in err  # not a terminal: a line per tenth
    status, _, err = prorata(capsys, "bill", "--collectors", "0", "--database", database_url)
    assert status == 1
    assert '"field": "collectors"' in err


def test_serve_refuses_a_negative_mail_interval_before_it_starts(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = prorata(capsys, "serve", "--mail-interval", "-1", "--database", database_url)
    assert status == 1
    assert '"field": "mail_interval"' in err
