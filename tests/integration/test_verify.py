"""`prorata verify` names every way the books can be broken (domain/invariants.py), on SQLite and PostgreSQL.

Each test takes correct books (``books.py``: three months of orders, upgrades, credit notes, renewals, a void, a
failed order, a payment overtaken by a void), breaks them in exactly one way through SQL, as a bug, a bad migration
or a hand edit would, and checks that the verification names it with the rows involved. On the books as they are,
it reports nothing. What the use cases refuse (an assignment too many, seats without a license) is written here
directly: that is what the check is for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Row, event, select, text, update

from prorata.adapters.db.database import READ_ONLY, alembic_config, migrate
from prorata.adapters.db.schema import invoice_lines, subscriptions
from prorata.adapters.db.verify import CHECKS, SqlBooks
from prorata.adapters.db.verify.common import Context
from prorata.bootstrap import App, build
from prorata.domain.cart import SetLicenses
from prorata.domain.invariants import BY_CODE, Violation
from prorata.domain.money import round_half_up
from prorata.services.verify_books import VerifyBooks, verify_books
from tests.integration.books import order, verify


@pytest.fixture
def books(database_url: str) -> Iterator[App]:
    """A copy of the correct books of ``books.py`` (prepared once per test session, ``PREPARED["books"]``)."""
    app = build(database_url)
    yield app
    app.close()


def one(app: App, sql: str, **params: Any) -> Row[Any]:
    with app.engine.connect() as conn:
        return conn.execute(text(sql), params).one()


def change(app: App, *statements: str, **params: Any) -> None:
    with app.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})


def found(app: App, code: str) -> list[Violation]:
    """The violations of ``code`` the verification finds; every violation found is of a known invariant."""
    result = verify(app)
    assert all(v.code in BY_CODE for v in result.violations)
    assert result.violation_count == len(result.violations) > 0
    return [v for v in result.violations if v.code == code]


def involved(violations: list[Violation], table: str, row_id: int) -> bool:
    return any((ref.table, ref.id) == (table, row_id) for v in violations for ref in v.rows)


def order_invoice(app: App, key: str) -> int:
    return int(one(app, "SELECT i.id FROM invoices i JOIN orders o ON o.id = i.order_id "
                   "WHERE o.idempotency_key = :key", key=key).id)  # fmt: skip


def invoice(app: App, number: str) -> int:
    series, year, serial = number.split("-")
    return int(one(app, "SELECT id FROM invoices WHERE series = :s AND year = :y AND number = :n", s=series,
                   y=int(year), n=int(serial)).id)  # fmt: skip


def code_of(app: App, code: str) -> int:
    return int(one(app, "SELECT id FROM accounts WHERE code = :code", code=code).id)


# ------------------------------------------------------------------------------------------------ correct books


def test_correct_books_hold_every_invariant(books: App) -> None:
    result = verify(books)

    assert [v.message for v in result.violations] == []
    assert result.ok
    assert {t.code for t in result.checks} == set(BY_CODE)  # every invariant was checked
    # the books hold what the checks are about: the clean result is not a result on empty tables
    kinds = one(
        books,
        "SELECT (SELECT count(*) FROM invoices WHERE series = 'CN') AS notes, "
        "(SELECT count(*) FROM invoices WHERE status = 'void') AS voided, "
        "(SELECT count(*) FROM payments WHERE status = 'credited') AS credited, "
        "(SELECT count(*) FROM invoices WHERE number IS NULL) AS drafts, "
        "(SELECT count(*) FROM invoice_lines WHERE kind = 'credit') AS credit_lines, "
        "(SELECT count(*) FROM invoices WHERE credit_applied > 0) AS from_balance, "
        "(SELECT count(*) FROM invoice_lines WHERE used < whole) AS prorated, "
        "(SELECT count(*) FROM license_assignments) AS assigned",
    )
    assert all(value > 0 for value in kinds), kinds._asdict()


def test_the_last_verification_is_kept_with_what_it_checked_and_found(books: App) -> None:
    change(books, "UPDATE invoices SET currency = 'EUR' WHERE id = :id", id=invoice(books, "INV-2026-000001"))
    first = verify(books)
    latest = books.verification_log().latest()

    assert latest is not None
    assert first.counts["inv.account"] >= 1
    assert (latest.id, latest.violation_count, dict(latest.counts)) == (first.id, first.violation_count, first.counts)
    assert [v.to_dict() for v in latest.violations] == [v.to_dict() for v in first.violations]
    assert [t.code for t in latest.checks] == [t.code for t in first.checks]
    assert latest.started_at == first.started_at


# ------------------------------------------------------------------------------------------------ 1. documents


def test_a_changed_line_amount_is_named(books: App) -> None:
    # rules C4, I5, I2: the line no longer adds up to the totals, and the document is not what was issued
    target = order_invoice(books, "more")
    change(books, "UPDATE invoice_lines SET amount = amount + 100 WHERE invoice_id = :id AND position = 1", id=target)

    assert involved(found(books, "inv.lines_sum"), "invoices", target)
    assert involved(found(books, "inv.unchanged"), "invoices", target)


def test_a_line_tax_not_computed_on_its_amount_is_named(books: App) -> None:
    # rule T3: the totals still add up, but one line's 23 % is a grosz off
    target = invoice(books, "INV-2026-000008")
    line = int(one(books, "SELECT id FROM invoice_lines WHERE invoice_id = :id AND position = 1", id=target).id)
    change(books, "UPDATE invoice_lines SET tax = tax + 1 WHERE id = :line",
           "UPDATE invoices SET tax = tax + 1, total = total + 1 WHERE id = :id", line=line, id=target)  # fmt: skip

    violations = found(books, "inv.line_tax")
    assert involved(violations, "invoice_lines", line)
    assert found(books, "inv.lines_sum") == []


def test_a_document_in_another_currency_than_its_account_is_named(books: App) -> None:
    target = invoice(books, "INV-2026-000001")
    change(books, "UPDATE invoices SET currency = 'EUR' WHERE id = :id", id=target)

    assert involved(found(books, "inv.account"), "invoices", target)


def test_an_edit_after_issue_shows_only_in_the_seal(books: App) -> None:
    # rule I2: the Sold-To address printed on an issued invoice, changed afterwards: no figure moves
    target = invoice(books, "INV-2026-000003")
    change(books, "UPDATE invoice_parties SET city = 'Elsewhere' WHERE invoice_id = :id", id=target)

    result = verify(books)

    assert {v.code for v in result.violations} == {"inv.unchanged"}
    assert involved(list(result.violations), "invoices", target)


def test_a_credit_note_that_no_longer_mirrors_the_line_it_reverses_is_named(books: App) -> None:
    note = invoice(books, "CN-2026-000001")
    change(books, "UPDATE credit_notes SET positions = '[1]' WHERE invoice_id = :id", id=note)

    assert involved(found(books, "inv.credit_note"), "invoices", note)


# ------------------------------------------------------------------------------------------------ 2. numbering


def test_a_deleted_number_is_named(books: App) -> None:
    # rule I2: a renewal invoice removed with everything that points at it leaves a hole in the series
    target = invoice(books, "INV-2026-000007")
    change(
        books,
        "DELETE FROM outbox WHERE invoice_id = :id",
        "DELETE FROM payments WHERE invoice_id = :id",
        "DELETE FROM invoice_lines WHERE invoice_id = :id",
        "DELETE FROM invoice_parties WHERE invoice_id = :id",
        "DELETE FROM invoices WHERE id = :id",
        id=target,
    )

    violations = found(books, "inv.numbering")
    assert [v.message for v in violations] == [
        "INV-2026-000007 missing: no document has it (between INV-2026-000006 and INV-2026-000008)"
    ]


def test_a_counter_behind_the_highest_number_is_named(books: App) -> None:
    change(books, "UPDATE invoice_counters SET last_number = last_number - 1 WHERE series = 'INV' AND year = 2027")

    assert ["would repeat INV-2027-000005" in v.message for v in found(books, "inv.numbering")] == [True]


# ------------------------------------------------------------------------------------------------ 3. payments


def test_a_double_payment_is_named(books: App) -> None:
    # rule X3: the unique index that forbids it lost (a bad migration), and the invoice paid a second time
    target = invoice(books, "INV-2027-000001")
    change(
        books,
        "DROP INDEX ux_payments_live_invoice",
        "INSERT INTO payments (account_id, invoice_id, payment_method_id, amount, currency, status, gateway, "
        "idempotency_key, attempt, created_at, settled_at) SELECT account_id, invoice_id, payment_method_id, amount, "
        "currency, status, gateway, 'twice', attempt, created_at, settled_at FROM payments "
        "WHERE invoice_id = :id AND status = 'succeeded'",
        id=target,
    )

    violations = found(books, "inv.overpaid")
    assert involved(violations, "invoices", target)
    assert sum(ref.table == "payments" for ref in violations[0].rows) == 2


def test_a_payment_credited_to_the_balance_but_not_booked_is_named(books: App) -> None:
    payment = int(one(books, "SELECT id FROM payments WHERE status = 'credited'").id)
    change(books, "UPDATE credit_ledger SET amount = amount - 100 WHERE payment_id = :id", id=payment)

    assert involved(found(books, "inv.payment_booking"), "payments", payment)


def test_money_taken_for_an_order_that_was_never_applied_is_named(books: App) -> None:
    # rule K8: the declined order's payment said to have succeeded, its invoice still a draft
    draft = order_invoice(books, "declined")
    change(books, "UPDATE payments SET status = 'succeeded' WHERE invoice_id = :id", id=draft)

    assert involved(found(books, "inv.payment_without_invoice"), "invoices", draft)


def test_a_paid_invoice_shown_as_still_owed_is_named(books: App) -> None:
    # rule I3: paid by card, yet open for its whole total
    target = invoice(books, "INV-2027-000001")
    change(books, "UPDATE invoices SET status = 'open', amount_due = total WHERE id = :id", id=target)

    assert involved(found(books, "inv.settlement"), "invoices", target)


def test_a_refund_beyond_what_was_paid_is_named(books: App) -> None:
    # rule R2: the credit note's refund to the balance tripled
    note = invoice(books, "CN-2026-000001")
    change(books, "UPDATE credit_ledger SET amount = amount * 3 WHERE invoice_id = :id", id=note)

    violations = found(books, "inv.refund_exceeds_paid")
    assert involved(violations, "invoices", invoice(books, "INV-2026-000004"))


# ------------------------------------------------------------------------------------------------ 4. credit ledger


def test_credit_spent_that_the_account_did_not_have_is_named(books: App) -> None:
    account = code_of(books, "demo-business")
    change(books, "UPDATE credit_ledger SET amount = amount * 10 WHERE reason = 'applied_to_invoice' "
           "AND account_id = :account", account=account)  # fmt: skip

    assert involved(found(books, "inv.ledger_negative"), "accounts", account)


def test_a_ledger_entry_without_a_document_is_named(books: App) -> None:
    change(
        books,
        "INSERT INTO credit_ledger (account_id, amount, currency, reason, created_at) "
        "SELECT id, 5000, currency, 'unused_time', created_at FROM accounts WHERE code = 'demo-pro'",
    )
    entry = int(one(books, "SELECT max(id) AS id FROM credit_ledger").id)

    result = verify(books)

    assert {v.code for v in result.violations} == {"inv.ledger_without_document"}
    assert involved(list(result.violations), "credit_ledger", entry)


def test_credit_used_without_its_ledger_entry_is_named(books: App) -> None:
    # the ledger is append-only: an entry deleted shows as a document whose credit is not in it
    target = invoice(books, "INV-2026-000009")
    change(books, "DELETE FROM credit_ledger WHERE invoice_id = :id AND reason = 'applied_to_invoice'", id=target)

    assert involved(found(books, "inv.ledger_document"), "invoices", target)


# ------------------------------------------------------------------------------------------------ 5. conservation


@pytest.mark.parametrize("how", ["amount", "used", "end", "start"])
def test_a_charge_for_one_day_too_many_is_named(books: App, how: str) -> None:
    # rules C3, C4: the added licenses charged for one day more, as the amount alone, as a fraction that agrees
    # with it, or as a service period a day longer at either end that agrees with both
    target = order_invoice(books, "more")
    with books.engine.begin() as conn:
        line = conn.execute(select(invoice_lines).where(invoice_lines.c.invoice_id == target)).mappings().one()
        q, unit, used, whole = line["quantity"], line["unit_amount"], line["used"], line["whole"]
        changes: dict[str, Any] = {"amount": round_half_up(q * unit * (used + 1), whole), "used": used + 1}
        if how == "amount":
            changes = {"amount": line["amount"] + round_half_up(q * unit, whole)}
        elif how == "end":
            changes["period_end"] = line["period_end"] + timedelta(days=1)
        elif how == "start":
            changes["period_start"] = line["period_start"] - timedelta(days=1)
        conn.execute(update(invoice_lines).where(invoice_lines.c.id == line["id"]).values(**changes))

    assert involved(found(books, "inv.proration"), "invoice_lines", int(line["id"]))


def test_a_charge_for_a_period_the_subscription_does_not_hold_is_named(books: App) -> None:
    # rule C7: the plan's current period moved back one, as if its last renewal had not happened
    account = code_of(books, "demo-pro")
    with books.engine.begin() as conn:
        sub = conn.execute(select(subscriptions).where(subscriptions.c.account_id == account)).mappings().one()
        last = conn.execute(
            select(invoice_lines.c.id, invoice_lines.c.period_start)
            .where(
                invoice_lines.c.subscription_id == sub["id"],
                invoice_lines.c.period_end == sub["period_end"],
                invoice_lines.c.kind == "charge",
            )
            .order_by(invoice_lines.c.id.desc())
        ).first()
        assert last is not None
        previous = conn.execute(
            select(invoice_lines.c.period_start).where(
                invoice_lines.c.subscription_id == sub["id"], invoice_lines.c.period_end == last.period_start
            )
        ).first()
        assert previous is not None
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == sub["id"])
            .values(period_start=previous.period_start, period_end=last.period_start)
        )

    assert involved(found(books, "inv.charged_not_held"), "invoice_lines", int(last.id))


def test_a_credit_larger_than_the_charges_it_reverses_is_named(books: App) -> None:
    # rule C5
    line = int(one(books, "SELECT l.id FROM invoice_lines l WHERE l.kind = 'credit' AND l.invoice_id = :id",
                   id=order_invoice(books, "upgrade")).id)  # fmt: skip
    change(books, "UPDATE invoice_lines SET amount = -(basis + 100) WHERE id = :id", id=line)

    assert involved(found(books, "inv.credit_exceeds_charges"), "invoice_lines", line)


# ------------------------------------------------------------------------------------------------ 6. licenses


def plan_of(app: App, code: str) -> Row[Any]:
    return one(app, "SELECT s.id, s.quantity, s.account_id FROM subscriptions s JOIN accounts a ON a.id = "
               "s.account_id WHERE a.code = :code AND s.product IN ('pro', 'business_plus')", code=code)  # fmt: skip


def test_one_assignment_too_many_is_named(books: App) -> None:
    # rules U1, L4: every license assigned, and one user more
    plan = plan_of(books, "demo-pro")
    assigned = int(one(books, "SELECT count(*) AS n FROM license_assignments WHERE subscription_id = :id",
                       id=plan.id).n)  # fmt: skip
    for n in range(plan.quantity - assigned + 1):
        change(
            books,
            "INSERT INTO users (account_id, email, name, role, type, created_at) "
            f"SELECT id, 'extra{n}@demo-pro.test', 'Extra', 'member', 'licensed', created_at FROM accounts "
            "WHERE id = :account",
            "INSERT INTO license_assignments (subscription_id, user_id, assigned_at) SELECT :sub, id, created_at "
            f"FROM users WHERE email = 'extra{n}@demo-pro.test'",
            account=plan.account_id,
            sub=plan.id,
        )

    violations = found(books, "inv.assignments_over_quantity")
    assert [v.message for v in violations] == [
        f"subscription {plan.id} (pro) holds {plan.quantity} but {plan.quantity + 1} are assigned"
    ]


def test_an_ended_subscription_that_keeps_its_licenses_is_named(books: App) -> None:
    plan = plan_of(books, "demo-pro")
    change(books, "UPDATE subscriptions SET status = 'ended', ended_at = period_end WHERE id = :id", id=plan.id)

    violations = found(books, "inv.assignments_over_quantity")
    assert involved(violations, "subscriptions", plan.id)
    assert "has ended and holds none" in violations[0].message


def test_an_add_on_seat_on_a_user_without_a_plan_license_is_named(books: App) -> None:
    # rules A7, U2: a Large Meetings seat holder's plan license taken away behind the use case's back
    plan = plan_of(books, "demo-business")
    holder = int(one(books, "SELECT la.user_id FROM license_assignments la JOIN subscriptions s ON "
                     "s.id = la.subscription_id WHERE s.product = 'large_meetings_500' ORDER BY la.user_id LIMIT 1"
                     ).user_id)  # fmt: skip
    change(books, "DELETE FROM license_assignments WHERE subscription_id = :sub AND user_id = :user",
           sub=plan.id, user=holder)  # fmt: skip

    assert involved(found(books, "inv.seat_unlicensed"), "users", holder)


def test_more_add_on_seats_than_plan_licenses_are_named(books: App) -> None:
    plan = plan_of(books, "demo-business")
    addon = int(one(books, "SELECT id FROM subscriptions WHERE product = 'large_meetings_500'").id)
    change(books, "UPDATE subscriptions SET quantity = :seats WHERE id = :id", seats=plan.quantity + 1, id=addon)

    assert involved(found(books, "inv.addon_over_plan"), "subscriptions", addon)


# ------------------------------------------------------------------------------------------------ 7. e-mail


def test_an_invoice_without_its_email_is_named(books: App) -> None:
    # rule I4: the order confirmation of an issued invoice lost
    target = order_invoice(books, "more")
    change(books, "DELETE FROM outbox WHERE invoice_id = :id", id=target)

    result = verify(books)

    assert {v.code for v in result.violations} == {"inv.invoice_email"}
    assert involved(list(result.violations), "invoices", target)


# ------------------------------------------------------------------------------------------------ how it reads


def test_a_billing_write_proceeds_while_the_books_are_read_and_the_reader_sees_one_moment(books: App) -> None:
    # the verification holds its snapshot open (a check that waits) while an order is placed and paid from the
    # credit balance: the order is not kept waiting, and the verification keeps seeing the books as they were
    inside, release = threading.Event(), threading.Event()
    seen: list[int] = []
    statements: list[str] = []

    def waiting(ctx: Context) -> list[Violation]:
        seen.append(int(ctx.conn.execute(text("SELECT count(*) FROM invoices")).scalar_one()))
        if ctx.dialect == "postgresql":
            assert ctx.conn.exec_driver_sql("SHOW transaction_read_only").scalar_one() == "on"
            assert ctx.conn.exec_driver_sql("SHOW transaction_isolation").scalar_one() == "repeatable read"
        inside.set()
        assert release.wait(30)
        seen.append(int(ctx.conn.execute(text("SELECT count(*) FROM invoices")).scalar_one()))
        return []

    def record(conn: Connection, _cursor: object, statement: str, *_: object) -> None:
        if conn.get_execution_options().get(READ_ONLY):  # the verification's own connection
            statements.append(statement)

    event.listen(books.engine, "before_cursor_execute", record)
    checks = {**CHECKS, "inv.lines_sum": waiting}
    reader = threading.Thread(
        target=lambda: verify_books(
            VerifyBooks(),
            books=lambda: SqlBooks(books.engine, books.catalog, checks),
            log=books.verification_log(),
            clock=books.clock,
        )
    )
    reader.start()
    try:
        assert inside.wait(30)
        writer = threading.Thread(target=lambda: order(books, "demo-basic", SetLicenses(3), key="while-reading"))
        started = time.monotonic()
        writer.start()
        writer.join(20)
        assert not writer.is_alive(), "the order waited for the verification"
        assert time.monotonic() - started < 20
    finally:
        release.set()
        reader.join(60)
    assert not reader.is_alive()
    # one moment of the books, whatever was written meanwhile (on PostgreSQL read by two connections sharing it)
    assert len(seen) >= 2
    assert len(set(seen)) == 1
    assert int(one(books, "SELECT count(*) AS n FROM invoices").n) == seen[0] + 1
    assert len(seen) == (4 if books.engine.dialect.name == "postgresql" else 2)  # in two parts on PostgreSQL
    assert len(statements) > len(CHECKS)  # every check read through the snapshot, and none locked a row
    assert not any("FOR UPDATE" in statement.upper() for statement in statements)


def test_documents_issued_before_seals_existed_are_sealed_by_the_migration(books: App) -> None:
    # migration 0010 on books written by the version before it: every issued document sealed, every line that
    # covers its whole period given that period, and the books hold
    command.downgrade(alembic_config(books.engine), "0009")  # the revision before 0010
    migrate(books.engine)

    counts = one(
        books,
        "SELECT (SELECT count(*) FROM invoices WHERE number IS NOT NULL AND content_hash IS NULL) AS unsealed, "
        "(SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.series = 'INV' "
        "AND l.used = l.whole AND l.whole_start IS NULL) AS whole_without_period, "
        "(SELECT count(*) FROM invoice_lines WHERE used < whole AND whole_start IS NOT NULL) AS prorated_with_period",
    )
    assert tuple(counts) == (0, 0, 0)
    assert verify(books).ok


def test_checks_shared_out_between_connections_find_what_one_connection_finds(books: App) -> None:
    # on PostgreSQL the heaviest checks run in parts on connections sharing one snapshot: no violation is lost or
    # found twice (on SQLite there is one connection whatever is asked)
    change(
        books,
        "UPDATE invoice_lines SET amount = amount + 1 WHERE id IN (SELECT min(id) FROM invoice_lines "
        "GROUP BY invoice_id)",
        "DELETE FROM outbox WHERE invoice_id IN (SELECT id FROM invoices WHERE id % 2 = 0)",
    )

    def found_with(workers: int) -> list[str]:
        result = verify_books(VerifyBooks(), books=lambda: SqlBooks(books.engine, books.catalog, workers=workers),
                              log=books.verification_log(), clock=books.clock)  # fmt: skip
        return sorted(f"{v.code} {v.message}" for v in result.violations)

    alone = found_with(1)
    assert len(alone) > 20
    assert found_with(2) == alone
    assert found_with(3) == alone
