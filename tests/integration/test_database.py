"""The database from empty, its types and its constraints, on SQLite and PostgreSQL (rules I1, I2, X1, X2, X3)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from prorata.adapters.db.bulk import array_text
from prorata.adapters.db.database import alembic_config, create_database_engine, migrate
from prorata.adapters.db.numbering import invoice_number_text, next_invoice_number
from prorata.adapters.db.schema import accounts, credit_ledger, invoices, metadata, orders, users
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.cli.main import main

NOW = datetime(2026, 11, 15, 10, 30, tzinfo=UTC)


def new_account(engine: Engine, code: str = "acme") -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(accounts)
                .values(code=code, name="Acme", currency="PLN", time_zone="Europe/Warsaw", country="PL", created_at=NOW)
                .returning(accounts.c.id)
            ).scalar_one()
        )


def test_the_migrations_build_every_table_from_an_empty_database_and_run_again_as_a_no_op(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert tables == set(metadata.tables) | {"alembic_version"}
    migrate(engine)  # again: nothing to do, nothing lost
    with engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        assert conn.execute(text("select version_num from alembic_version")).scalar_one() == head


def test_instants_are_stored_in_utc_and_read_back_aware(engine: Engine) -> None:
    # rule X2: 11:30 in Warsaw is 10:30 UTC, whatever the database does with offsets
    warsaw_time = datetime(2026, 11, 15, 11, 30, tzinfo=timezone(timedelta(hours=1)))
    with engine.begin() as conn:
        conn.execute(
            insert(accounts).values(
                code="a", name="A", currency="PLN", time_zone="Europe/Warsaw", country="PL", created_at=warsaw_time
            )
        )
        stored = conn.execute(select(accounts.c.created_at)).scalar_one()
    assert stored == NOW
    assert stored.tzinfo is UTC


def test_a_naive_instant_never_reaches_the_database(engine: Engine) -> None:
    # rule X2
    with pytest.raises(StatementError) as error, engine.begin() as conn:
        conn.execute(
            insert(accounts).values(
                code="a",
                name="A",
                currency="PLN",
                time_zone="UTC",
                country="PL",
                created_at=datetime(2026, 11, 15),  # noqa: DTZ001
            )
        )
    assert isinstance(error.value.orig, InvalidInput)
    assert error.value.orig.code == "time.naive"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(accounts)).scalar_one() == 0


def test_money_is_stored_exactly_as_integer_minor_units(engine: Engine) -> None:
    # rule X1: a REAL column would lose the last digits of this amount
    account_id = new_account(engine)
    huge = 2**62 + 1
    with engine.begin() as conn:
        conn.execute(
            insert(credit_ledger).values(
                account_id=account_id, amount=huge, currency="PLN", reason="adjustment", created_at=NOW
            )
        )
        assert conn.execute(select(credit_ledger.c.amount)).scalar_one() == huge


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(users).values(account_id=999, email="x@example.com", name="X", role="owner", created_at=NOW)
        )


def test_an_idempotency_key_is_used_once_per_account(engine: Engine) -> None:
    # rule X3: the database itself refuses a second order with the same key
    account_id = new_account(engine)
    order = {
        "account_id": account_id,
        "idempotency_key": "key-1",
        "request_hash": "h",
        "status": "placed",
        "cart": "[]",
        "quote": "{}",
        "created_at": NOW,
    }
    with engine.begin() as conn:
        conn.execute(insert(orders).values(**order))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(orders).values(**order))


def test_one_renewal_invoice_per_account_and_billing_date(engine: Engine) -> None:
    # rule I1: a billing run started again cannot bill the same date twice
    account_id = new_account(engine)
    invoice = {
        "account_id": account_id,
        "billing_date": datetime(2026, 12, 1, tzinfo=UTC),
        "status": "draft",
        "currency": "PLN",
        "subtotal": 100,
        "total": 100,
        "amount_due": 100,
        "created_at": NOW,
    }
    with engine.begin() as conn:
        conn.execute(insert(invoices).values(**invoice))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(invoices).values(**invoice))


def test_a_finalized_invoice_has_a_number(engine: Engine) -> None:
    # rule I2: an open invoice without a number is refused by the database
    account_id = new_account(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(invoices).values(
                account_id=account_id, status="open", currency="PLN", subtotal=1, total=1, amount_due=1, created_at=NOW
            )
        )


def test_invoice_numbers_are_gap_free_and_a_rolled_back_number_is_taken_again(engine: Engine) -> None:
    # rule I2
    with engine.begin() as conn:
        assert [next_invoice_number(conn, "INV", 2026) for _ in range(3)] == [1, 2, 3]
    with engine.connect() as conn, conn.begin() as transaction:
        assert next_invoice_number(conn, "INV", 2026) == 4
        transaction.rollback()
    with engine.begin() as conn:
        assert next_invoice_number(conn, "INV", 2026) == 4
        assert next_invoice_number(conn, "INV", 2027) == 1  # a new year starts a new series
    assert invoice_number_text("INV", 2026, 4) == "INV-2026-000004"


def test_invoice_numbers_stay_unique_and_gap_free_under_concurrent_transactions(engine: Engine) -> None:
    # rule I2: four writers, each taking numbers in its own transactions, real connections
    taken: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(15):
                with engine.begin() as conn:
                    number = next_invoice_number(conn, "INV", 2026)
                with lock:
                    taken.append(number)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(taken) == list(range(1, 61))


def test_prorata_init_creates_the_embedded_database_and_can_run_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    assert main(["init", "--database", url]) == 0
    assert main(["init", "--database", url]) == 0
    assert "database ready" in capsys.readouterr().out
    engine = create_database_engine(url)
    try:
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_migrations_and_the_tables_in_code_agree(engine: Engine) -> None:
    # a change to schema.py without a migration (or the reverse) fails here
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_the_migrations_go_down_to_nothing_and_up_again(engine: Engine) -> None:
    command.downgrade(alembic_config(engine), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_postgresql_sessions_never_compile_statements_with_jit_and_answer_in_utc(engine: Engine) -> None:
    # past a few hundred thousand invoices the planner's estimates made PostgreSQL spend 0.4 s compiling a 30 ms
    # statement on every batch of the billing run: every session of the engine turns JIT off, also after a commit;
    # and it answers instants in UTC whatever the server's zone, which need no conversion when read
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's session settings")
    for _ in range(2):
        with engine.begin() as conn:
            assert conn.execute(text("SHOW jit")).scalar_one() == "off"
            assert conn.execute(text("SHOW TimeZone")).scalar_one() == "UTC"
            assert conn.execute(text("SELECT now()")).scalar_one().tzinfo is UTC


def test_postgresql_connections_given_back_after_a_burst_are_kept_for_the_next_one(engine: Engine) -> None:
    # a web process serves several requests at once; each new PostgreSQL connection starts a server process, which
    # under load cost as much as the requests: connections of one burst serve the next instead of being closed
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's server processes")

    def burst() -> set[int]:
        held = [engine.connect() for _ in range(8)]
        try:
            return {int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one()) for conn in held}
        finally:
            for conn in held:
                conn.close()

    first = burst()
    assert len(first) == 8
    assert burst() == first


def test_an_array_sent_as_text_reads_back_as_its_values(engine: Engine) -> None:
    # the billing run sends its batches' columns as array literals: any text, whole numbers and instants in any zone
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's arrays")
    words = ["plain", 'a "quoted" word', "back\\slash", "{braces}, commas", "NULL", "", "zażółć"]
    warsaw = timezone(timedelta(hours=1))
    instants = [datetime(2026, 12, 1, 10, 30, tzinfo=warsaw), NOW]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT CAST(:a AS text[])"), {"a": array_text(words)}).scalar_one() == words
        assert conn.execute(text("SELECT CAST(:a AS bigint[])"), {"a": array_text([3, 1, 2])}).scalar_one() == [3, 1, 2]
        read = conn.execute(text("SELECT CAST(:a AS timestamptz[])"), {"a": array_text(instants)}).scalar_one()
        assert read == instants
        assert all(instant.tzinfo is UTC for instant in read)
    with pytest.raises(InvalidInput, match="aware"):
        array_text([datetime(2026, 12, 1, 10, 30)])  # noqa: DTZ001 - rule X2: a naive instant never reaches the database
