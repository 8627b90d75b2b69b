"""A database the command cannot use is one clear line and exit status 3, never a traceback (rule X4): an
unsupported URL, a database that does not exist, one without Prorata's tables or with older ones; for every command
that opens the database, ``prorata serve`` included. Nothing is created on the way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from prorata.adapters.db.database import create_database_engine, migrate
from prorata.entrypoints.cli.main import main
from tests.conftest import ADMIN_URL

COMMANDS = [
    ("bill",),
    ("clock", "show"),
    ("clock", "advance", "--days", "1"),
    ("invoices", "list", "--account", "acme"),
    ("invoices", "pdf", "INV-2026-000001"),
    ("invoices", "void", "INV-2026-000001"),
    ("reconcile",),
    ("apikey", "create", "--operator"),
    ("outbox", "send"),
    ("serve", "--port", "1"),
]
EVERY_COMMAND = [("init",), ("demo",), *COMMANDS]


def prorata(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("url", ["mysql://root:secret@localhost/prorata", "nonsense", "postgresql+asyncpg://h/db"])
@pytest.mark.parametrize("command", EVERY_COMMAND, ids=" ".join)
def test_an_unsupported_database_url_is_named_with_the_forms_prorata_takes(
    capsys: pytest.CaptureFixture[str], url: str, command: tuple[str, ...]
) -> None:
    status, out, err = prorata(capsys, *command, "--database", url)

    assert (status, out) == (3, "")
    line = one_line(err)
    assert "sqlite:///FILE or postgresql://USER@HOST:5432/NAME" in line
    assert "secret" not in line  # a password is never printed


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_sqlite_file_says_to_run_init_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    path = tmp_path / "nowhere.sqlite3"

    status, _, err = prorata(capsys, *command, "--database", f"sqlite:///{path}")

    assert status == 3
    assert one_line(err) == f"prorata: the database file {path} does not exist: run `prorata init` to create it"
    assert not path.exists()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_without_prorata_tables_says_to_run_init(
    database_url: str, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    create_database_engine(database_url).dispose()
    if database_url.startswith("sqlite"):
        Path(database_url.removeprefix("sqlite:///")).touch()  # an empty file, as `sqlite3 FILE` leaves

    status, _, err = prorata(capsys, *command, "--database", database_url)

    assert status == 3
    line = one_line(err)
    assert "has no Prorata tables: run `prorata init` to create them" in line
    assert prorata(capsys, "init", "--database", database_url)[0] == 0  # which mends it


def test_a_database_at_an_older_migration_says_to_run_init(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_database_engine(database_url)
    migrate(engine, "0007")
    engine.dispose()

    status, _, err = prorata(capsys, "bill", "--database", database_url)

    assert status == 3
    assert "is at migration 0007" in one_line(err)
    assert "run `prorata init` to migrate it" in err
    assert prorata(capsys, "init", "--database", database_url)[0] == 0
    assert prorata(capsys, "bill", "--database", database_url)[0] == 0


def test_a_database_migrated_by_a_newer_prorata_is_not_touched(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_database_engine(database_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    engine.dispose()

    status, _, err = prorata(capsys, "clock", "show", "--database", database_url)

    assert status == 3
    assert "was migrated by a newer Prorata (revision 9999_from_the_future)" in one_line(err)


@pytest.mark.parametrize("command", [("init",), ("bill",), ("serve", "--port", "1")], ids=" ".join)
def test_a_postgresql_database_that_does_not_exist_says_to_create_it_first(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    url = ADMIN_URL.rsplit("/", 1)[0] + "/prorata_never_created"
    try:
        create_database_engine(ADMIN_URL).connect().close()
    except Exception as exc:  # the local server is not running: the other tests say so
        pytest.skip(f"PostgreSQL is not reachable ({exc})")

    status, _, err = prorata(capsys, *command, "--database", url)

    assert status == 3
    line = one_line(err)
    assert "prorata_never_created does not exist: create it first (createdb " in line
    assert line.endswith("prorata_never_created), then run `prorata init`")


def test_an_unreachable_postgresql_server_is_one_line_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = prorata(capsys, "bill", "--database", "postgresql://prorata:pw@127.0.0.1:1/prorata")
    assert status == 3
    line = one_line(err)
    assert line.startswith("prorata: cannot open the database postgresql://prorata:***@127.0.0.1:1/prorata: ")


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    # the console entry point as an operator runs it, not only main() in this process
    missing = tmp_path / "missing.sqlite3"
    for args in (["bill", "--database", "mysql://localhost/prorata"], ["reconcile", "--database", f"sqlite:///{missing}"],
                 ["serve", "--database", f"sqlite:///{missing}"]):  # fmt: skip
        run = subprocess.run([sys.executable, "-m", "prorata", *args], capture_output=True, text=True, timeout=60)
        assert run.returncode == 3, run.stderr
        assert run.stdout == ""
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert run.stderr.startswith("prorata: ")
