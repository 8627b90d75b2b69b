"""The operator's commands on an installation, on SQLite and PostgreSQL (rules C7, I1, I8, X2, X4): what they do,
what they refuse and the exit status that says which (0 done, 1 refused, 2 done in part, 3 database not usable)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from prorata.adapters.db.database import create_database_engine
from prorata.adapters.db.schema import accounts, invoices, payment_methods, payments, subscriptions
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.domain.dunning import DunningPolicy
from prorata.entrypoints.cli.billing import Names, print_report
from prorata.entrypoints.cli.main import main
from prorata.services.renew_due import BillingRunReport


def prorata(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        status = main(list(args))
    except SystemExit as stop:  # argparse's own refusals
        status = int(stop.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """The installation's database as the test looks into it (the commands open their own)."""
    engine = create_database_engine(database_url)
    yield engine
    engine.dispose()


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


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
    # rule X2
    assert prorata(capsys, "init", "--database", database_url)[0] == 0
    status, _, err = prorata(capsys, "clock", "advance", "--days", "3", "--json", "--database", database_url)
    assert (status, json.loads(err)["error"]["code"]) == (1, "clock.not_simulated")

    assert prorata(capsys, "init", "--simulation", "--database", database_url)[0] == 0  # still empty: allowed
    assert "(simulation clock)" in prorata(capsys, "clock", "show", "--database", database_url)[1]
    status, _, err = prorata(capsys, "clock", "advance", "--to", "2001-01-01", "--database", database_url)
    assert status == 1
    assert "the clock only moves forward" in err
    assert err.strip().endswith("[clock.backwards, rule X2]")


def test_an_unknown_account_is_named(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    prorata(capsys, "init", "--database", database_url)
    status, _, err = prorata(capsys, "invoices", "list", "--account", "nobody", "--json", "--database", database_url)
    assert (status, json.loads(err)["error"]["field"]) == (1, "account")


# --------------------------------------------------------------------------- the configured dunning schedule (I8)
def test_clock_advance_follows_the_configured_dunning_schedule_to_the_cancellation(
    database_url: str, db: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # rule I8 configured: the demo's Pro account's card declines from its first renewal on; retried 2 and 4 days
    # after the issue date, overdue then, cancelled 10 days later, each on its simulated day
    monkeypatch.setenv("PRORATA_DUNNING_RETRY_DAYS", "2,4")
    monkeypatch.setenv("PRORATA_DUNNING_CANCEL_AFTER_DAYS", "10")
    assert prorata(capsys, "demo", "--database", database_url)[0] == 0
    token, _ = SandboxGateway().tokenize_card("4000000000000002", 12, 2035, date(2026, 1, 1))
    with db.begin() as conn:
        pro = conn.execute(select(accounts.c.id).where(accounts.c.code == "demo-pro")).scalar_one()
        conn.execute(update(payment_methods).where(payment_methods.c.account_id == pro).values(token=token))

    status, out, _ = prorata(capsys, "clock", "advance", "--days", "60", "--json", "--database", database_url)

    billed = json.loads(out)["billing"]
    assert status == 0
    assert (billed["accounts_overdue"], billed["accounts_cancelled"]) == ([pro], [pro])
    with db.connect() as conn:
        renewal = conn.execute(select(invoices.c.id, invoices.c.issued_at).where(
            invoices.c.account_id == pro, invoices.c.billing_date.is_not(None))).one()  # fmt: skip
        tried = conn.execute(select(payments.c.created_at).where(payments.c.invoice_id == renewal.id)
                             .order_by(payments.c.id)).scalars().all()  # fmt: skip
        overdue_since, status_now = conn.execute(
            select(accounts.c.overdue_since, accounts.c.status).where(accounts.c.id == pro)).one()  # fmt: skip
        ended_at = set(
            conn.execute(select(subscriptions.c.ended_at).where(subscriptions.c.account_id == pro)).scalars()
        )
    assert [(at - renewal.issued_at).days for at in tried] == [0, 2, 4]
    assert overdue_since == tried[-1]
    assert status_now == "cancelled"
    assert ended_at == {overdue_since + timedelta(days=10)}  # each simulated day is billed at its midnight


def test_the_billing_report_names_the_days_overdue_of_the_configured_schedule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # rule I8: the line of accounts cancelled says after how many days, as configured
    report = BillingRunReport(accounts_cancelled=[7, 9])
    print_report(report, Names({}, {}), DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10))
    assert "accounts cancelled after 10 days overdue: 7, 9" in capsys.readouterr().out


def test_a_dunning_schedule_that_cannot_be_used_is_refused_before_any_command_runs(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # rules I8, X4: one line naming the variable and the rule, exit status 1, and nothing done
    assert prorata(capsys, "init", "--simulation", "--database", database_url)[0] == 0
    before = json.loads(prorata(capsys, "clock", "show", "--json", "--database", database_url)[1])
    monkeypatch.setenv("PRORATA_DUNNING_RETRY_DAYS", "5,3")

    status, out, err = prorata(capsys, "clock", "advance", "--days", "3", "--database", database_url)

    assert (status, out) == (1, "")
    assert err.startswith("prorata: PRORATA_DUNNING_RETRY_DAYS: strictly increasing days")
    assert err.strip().endswith("[config.dunning_retry_days, rule I8]")
    status, _, err = prorata(capsys, "serve", "--database", database_url)  # refused before a port is opened
    assert status == 1
    assert "PRORATA_DUNNING_RETRY_DAYS" in err
    monkeypatch.delenv("PRORATA_DUNNING_RETRY_DAYS")
    assert json.loads(prorata(capsys, "clock", "show", "--json", "--database", database_url)[1]) == before


# --------------------------------------------------------------------------- a real installation stays real (X2)
def open_real_account(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A production installation: the real clock and one customer with an invoice."""
    assert prorata(capsys, "init", "--database", database_url)[0] == 0
    engine = create_database_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(accounts.insert().values(code="acme", name="Acme", currency="USD", time_zone="UTC",
                                                  country="US", created_at=datetime.now(UTC)))  # fmt: skip
    finally:
        engine.dispose()


@pytest.mark.parametrize("command", [("demo",), ("init", "--simulation")], ids=["demo", "init --simulation"])
def test_a_real_clock_installation_with_accounts_never_becomes_a_simulation(
    database_url: str, db: Engine, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    # rule X2: its periods and payments happened at real instants; a simulated clock would move them
    open_real_account(database_url, capsys)

    status, out, err = prorata(capsys, *command, "--database", database_url)

    assert status == 1
    assert len(err.strip().splitlines()) == 1  # one line, saying why
    assert "runs on the real clock and holds 1 account" in err
    assert "new, empty database" in err
    assert "[clock.real_installation, rule X2]" in err
    assert "demo-pro" not in out
    shown = json.loads(prorata(capsys, "clock", "show", "--json", "--database", database_url)[1])
    assert shown["simulation"] is False
    assert count(db, accounts) == 1  # the demo loaded nothing


def test_an_empty_database_may_become_a_simulation_and_a_simulation_stays_one(
    database_url: str, db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule X2: `prorata init` first (real clock, no accounts), then the demo: allowed
    assert prorata(capsys, "init", "--database", database_url)[0] == 0
    assert prorata(capsys, "demo", "--database", database_url)[0] == 0
    assert prorata(capsys, "clock", "advance", "--days", "2", "--database", database_url)[0] == 0
    moved = json.loads(prorata(capsys, "clock", "show", "--json", "--database", database_url)[1])

    assert prorata(capsys, "demo", "--database", database_url)[0] == 0  # loads into the simulation again
    assert prorata(capsys, "init", "--simulation", "--database", database_url)[0] == 0

    again = json.loads(prorata(capsys, "clock", "show", "--json", "--database", database_url)[1])
    assert again == moved  # still a simulation, and its time where the operator put it
    assert again["simulation"] is True
    assert count(db, accounts) == 3


# ------------------------------------------------------------------------------ billing up to a date (C7, X2)
def test_bill_refuses_a_date_after_the_installations_time_unless_asked_to_bill_in_advance(
    database_url: str, db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule C7: subscriptions renew when their period ends; renewing earlier is asked for by name
    prorata(capsys, "demo", "--database", database_url)
    ahead = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    before = count(db, invoices)

    status, out, err = prorata(capsys, "bill", "--until", ahead, "--database", database_url)

    assert (status, out) == (1, "")
    assert "--bill-in-advance" in err
    assert "[billing_run.in_advance, rule C7]" in err
    assert count(db, invoices) == before  # nothing billed

    status, out, _ = prorata(capsys, "bill", "--until", ahead, "--bill-in-advance", "--database", database_url)
    assert status == 0
    assert "accounts renewed: 2" in out
    assert count(db, invoices) == before + 2


def test_bill_takes_a_date_or_an_instant_with_its_offset_and_refuses_anything_else(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # rules X2, X4: the date forms of `--until` are the API's (one function reads both)
    prorata(capsys, "init", "--database", database_url)
    for until, code in (("2026-13-45", "time.not_a_datetime"), ("2026-11-01T10:00:00", "time.naive"),
                        ("next tuesday", "time.not_a_datetime")):  # fmt: skip
        status, _, err = prorata(capsys, "bill", "--until", until, "--json", "--database", database_url)
        assert (status, json.loads(err)["error"]["code"], json.loads(err)["error"]["field"]) == (1, code, "until")
    for until in ("2026-11-01", "2026-11-01T10:00:00+01:00", "2026-11-01T09:00:00Z"):
        status, out, _ = prorata(capsys, "bill", "--until", until, "--json", "--database", database_url)
        assert status == 0
        assert json.loads(out)["until"] in ("2026-11-01T00:00:00+00:00", "2026-11-01T09:00:00+00:00")
    status, _, err = prorata(capsys, "bill", "--until", "2099-01-01", "--bill-in-advance", "--database", database_url)
    assert status == 1
    assert "[billing_run.too_far]" in err  # a mistyped year never renews decades at once


def retire_product(db: Engine, account_code: str) -> None:
    """The account's plan is a product the catalog no longer has: the engine refuses to renew it."""
    with db.begin() as conn:
        account_id = conn.execute(select(accounts.c.id).where(accounts.c.code == account_code)).scalar_one()
        conn.execute(update(subscriptions).where(subscriptions.c.account_id == account_id).values(product="legacy"))


def test_an_account_the_billing_run_refuses_is_listed_with_its_reason_and_the_exit_status_says_so(
    database_url: str, db: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # rules C7, X4: the refused account is named with the refusal's code and message; the others are renewed
    prorata(capsys, "demo", "--database", database_url)
    retire_product(db, "demo-pro")
    ahead = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()

    status, out, _ = prorata(capsys, "bill", "--until", ahead, "--bill-in-advance", "--database", database_url)

    assert status == 2  # done in part
    assert "accounts renewed: 1" in out
    assert "accounts not renewed: 1" in out
    listed = next(line for line in out.splitlines() if "demo-pro" in line)
    assert "'legacy' is not a product of catalog" in listed
    assert "[product.unknown]" in listed

    # the same account, still not renewed, in the rehearsal and in JSON
    status, out, _ = prorata(capsys, "clock", "advance", "--days", "41", "--json", "--database", database_url)
    assert status == 2
    refused = json.loads(out)["billing"]["accounts_refused"]
    assert [(r["account_code"], r["code"]) for r in refused] == [("demo-pro", "product.unknown")] * len(refused)
    assert len(refused) >= 1
    assert json.loads(out)["billing"]["complete"] is False


# --------------------------------------------------------------------------- commands with their own options
@pytest.mark.parametrize(
    "args",
    [
        ("clock", "show", "--days", "3"),  # show moves nothing
        ("clock", "advance"),  # exactly one of --days and --to
        ("clock", "advance", "--days", "1", "--to", "2030-01-01"),
        ("clock", "rewind"),
        ("apikey", "create"),  # --account or --operator
        ("outbox", "send", "--days", "1"),
        ("bill", "--until"),
    ],
    ids=lambda args: " ".join(args),
)
def test_a_command_line_argparse_refuses_exits_with_the_refusal_status(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    status, out, err = prorata(capsys, *args)
    assert (status, out) == (1, "")
    assert "error:" in err


@pytest.mark.parametrize(
    ("args", "present", "absent"),
    [
        (("clock", "show"), "--json", "--days"),
        (("clock", "advance"), "--to", "--lease"),
        (("apikey", "create"), "--operator", "--days"),
        (("outbox", "send"), "--lease", "--account"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value,
)
def test_each_subcommand_has_its_own_help(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], present: str, absent: str
) -> None:
    status, out, _ = prorata(capsys, *args, "--help")
    assert status == 0
    assert f"usage: prorata {' '.join(args)}" in out
    assert present in out
    assert absent not in out


def test_bill_draws_its_progress_and_takes_a_number_of_collectors(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prorata(capsys, "demo", "--database", database_url)
    ahead = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()
    status, out, err = prorata(capsys, "bill", "--until", ahead, "--bill-in-advance", "--collectors", "2",
                               "--database", database_url)  # fmt: skip
    assert status == 0
    assert "accounts renewed: 2" in out
    assert "billing [##############################] 2/2 accounts" in err  # not a terminal: a line per tenth
    status, _, err = prorata(capsys, "bill", "--collectors", "0", "--json", "--database", database_url)
    assert status == 1
    assert json.loads(err)["error"]["field"] == "collectors"


def test_serve_refuses_a_negative_mail_interval_before_it_starts(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = prorata(capsys, "serve", "--mail-interval", "-1", "--database", database_url)
    assert status == 1
    assert "[serve.mail_interval]" in err
