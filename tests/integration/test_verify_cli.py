"""``prorata verify [--account CODE] [--since DATE] [--json]`` on the demo after a month of billing, on SQLite and
PostgreSQL: exit status 0 when the books hold, 1 naming each violation (code, what is wrong, the rows), the refusals
and database errors of every command."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from prorata.adapters.db.database import create_database_engine
from prorata.domain.invariants import INVARIANTS
from prorata.entrypoints.cli.main import main


def demo_month(database_url: str, capsys: pytest.CaptureFixture[str]) -> datetime:
    """The demo, then a month of billing; returns when the demo began (today: its clock starts at the real time)."""
    assert main(["demo", "--database", database_url]) == 0
    capsys.readouterr()
    assert main(["clock", "show", "--json", "--database", database_url]) == 0
    began = datetime.fromisoformat(json.loads(capsys.readouterr().out)["now"])
    assert main(["clock", "advance", "--days", "31", "--database", database_url]) == 0
    capsys.readouterr()
    return began


def break_books(database_url: str) -> int:
    """The first invoice's confirmation e-mail lost, and its first line charged a cent more; returns its id."""
    engine = create_database_engine(database_url)
    with engine.begin() as conn:
        invoice_id = int(conn.execute(text("SELECT min(id) FROM invoices WHERE number IS NOT NULL")).scalar_one())
        conn.execute(text("DELETE FROM outbox WHERE invoice_id = :id"), {"id": invoice_id})
        conn.execute(text("UPDATE invoice_lines SET amount = amount + 1 WHERE invoice_id = :id"), {"id": invoice_id})
    engine.dispose()
    return invoice_id


def test_verify_says_the_books_hold_and_exits_0(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    demo_month(database_url, capsys)

    status = main(["verify", "--database", database_url])

    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert len(out) == 1
    assert out[0].startswith(f"verified {len(INVARIANTS)} invariants over every account in ")
    assert out[0].endswith(" s: the books hold")


def test_verify_names_each_violation_with_its_rows_and_exits_1(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_month(database_url, capsys)
    invoice_id = break_books(database_url)

    status = main(["verify", "--database", database_url])

    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    codes = [line.split("  ")[0] for line in lines[:-1]]
    assert set(codes) == {"inv.lines_sum", "inv.unchanged", "inv.proration", "inv.invoice_email"}
    assert all(f"[invoices {invoice_id}" in line for line in lines[:-1])
    email = next(line for line in lines if line.startswith("inv.invoice_email"))
    assert "INV-2026-000001 (paid) has no e-mail in the outbox: order 1's confirmation was never written" in email
    assert lines[-1].endswith(
        "s: 4 violations (inv.invoice_email 1, inv.lines_sum 1, inv.proration 1, inv.unchanged 1)"
    )


def test_verify_json_is_the_apis_answer(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    demo_month(database_url, capsys)
    invoice_id = break_books(database_url)

    status = main(["verify", "--json", "--database", database_url])

    answer = json.loads(capsys.readouterr().out)
    assert status == 1
    assert set(answer) == {"id", "ok", "started_at", "finished_at", "seconds", "scope", "checks", "violation_count",
                           "counts", "violations"}  # fmt: skip
    assert (answer["ok"], answer["violation_count"]) == (False, 4)
    assert answer["scope"] == {"account": None, "since": None}
    lines_sum = next(v for v in answer["violations"] if v["code"] == "inv.lines_sum")
    assert lines_sum["rules"] == ["C4", "T3", "I5"]
    assert lines_sum["rows"][0] == {"table": "invoices", "id": invoice_id, "label": "INV-2026-000001"}
    assert all(set(check) == {"code", "seconds", "violations"} for check in answer["checks"])


def test_verify_of_one_account_or_from_a_date_checks_only_those_rows(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    began = demo_month(database_url, capsys)
    break_books(database_url)  # the first invoice: demo-pro's order, on the demo's first day
    after = (began + timedelta(days=1)).date().isoformat()

    assert main(["verify", "--account", "demo-business", "--database", database_url]) == 0
    # every invariant but the numbering, which spans every account
    scoped = sum(invariant.scoped_by_account for invariant in INVARIANTS)
    assert capsys.readouterr().out.startswith(f"verified {scoped} invariants over account demo-business in ")
    assert main(["verify", "--account", "demo-pro", "--database", database_url]) == 1
    capsys.readouterr()
    assert main(["verify", "--since", after, "--database", database_url]) == 0
    assert f"since {after}T00:00:00+00:00" in capsys.readouterr().out


def test_verify_refuses_what_it_cannot_read_in_one_line(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    demo_month(database_url, capsys)

    assert main(["verify", "--account", "nobody", "--database", database_url]) == 1
    refused = capsys.readouterr()
    assert (refused.out, refused.err) == ("", "prorata: account: there is no account 'nobody' [account.unknown]\n")
    assert main(["verify", "--since", "last week", "--database", database_url]) == 1
    assert capsys.readouterr().err.startswith("prorata: since: 'last week' is not an ISO 8601 instant")


def test_verify_on_a_database_that_cannot_be_used_says_so_in_one_line(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", "--database", f"sqlite:///{tmp_path}/missing.sqlite3"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "does not exist: run `prorata init`" in err
