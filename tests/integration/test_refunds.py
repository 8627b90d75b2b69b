"""Refunds of credit notes to the original payment method, on SQLite and PostgreSQL (rules R1, R2, X3).

A credit note of a paid invoice gives back what was paid, to the card through the gateway or to the credit balance;
never more than was paid, never twice, and outside the 30 days of rule R1 only with an operator's audited override.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from prorata.adapters.db.schema import audit_log, credit_ledger, invoice_lines, invoices, outbox, refunds
from prorata.adapters.documents.pdf import render_pdf
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.domain.cart import AddAddon, ChangePlan
from prorata.domain.errors import ProrataError
from prorata.domain.payments import RefundResult
from prorata.services.credit_notes import CreditInvoice, CreditNoteResult, credit_invoice
from prorata.services.outbox import send_outbox
from prorata.services.ports import OutgoingMail
from prorata.services.reconcile import reconcile
from prorata.services.refunds import retry_refund, settle_refund
from tests.helpers import CATALOG
from tests.integration.shop import Shop
from tests.races import together


class RefundCounter(SandboxGateway):
    """The sandbox, remembering every refund it was asked for (by key); ``answer`` may stand in for its answer."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.asked: list[str] = []
        self.answer: str | None = None  # pending: the gateway answers later; lost: it refunds but the answer is lost

    def refund(self, charge_reference: str, amount: int, currency: str, idempotency_key: str) -> RefundResult:
        with self.lock:
            self.asked.append(idempotency_key)
        done = super().refund(charge_reference, amount, currency, idempotency_key)
        if self.answer == "pending":
            return RefundResult("pending", done.reference)
        if self.answer == "lost":
            raise ConnectionError("the gateway's answer never came")
        return done

    def refunds_made(self) -> int:
        """Money actually sent back: one refund per distinct key (the same key again is the gateway's replay)."""
        return len(set(self.asked))


def paid_shop(engine: Engine, card: str = "4242424242424242") -> tuple[Shop, RefundCounter, dict[str, Any]]:
    """An account that bought Business with an add-on, paid by ``card``: a paid invoice of two charge lines."""
    shop = Shop(engine, card=card)
    shop.add_user("owner@acme.test", role="owner")  # the e-mails have someone to write to
    gateway = RefundCounter()
    shop.gateway = gateway
    shop.order(ChangePlan("business", 10), AddAddon("large_meetings_500", 2))
    with engine.connect() as conn:
        (invoice,) = conn.execute(select(invoices).where(invoices.c.series == "INV")).mappings().all()
    return shop, gateway, dict(invoice)


def number(row: dict[str, Any]) -> str:
    return f"{row['series']}-{row['year']}-{row['number']:06d}"


def credit(shop: Shop, invoice: str, lines: tuple[int, ...] | None = None, **options: Any) -> CreditNoteResult:
    command = CreditInvoice(invoice, "operator@vendor.test", "customer asked", lines, **options)
    return credit_invoice(command, uow=shop.uow, clock=shop.clock, gateway=shop.gateway)


def line_total(engine: Engine, invoice_id: int, position: int) -> int:
    with engine.connect() as conn:
        row = conn.execute(
            select(invoice_lines.c.amount, invoice_lines.c.tax).where(
                invoice_lines.c.invoice_id == invoice_id, invoice_lines.c.position == position
            )
        ).one()
    return int(row.amount + row.tax)


def actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars())


def refunded(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.coalesce(func.sum(refunds.c.amount), 0)).where(refunds.c.status == "succeeded")
            ).scalar_one()
        )


def test_voiding_a_paid_invoice_refunds_what_was_paid_to_the_card_and_tells_the_customer(engine: Engine) -> None:
    # rule R2: the whole payment back to the card it came from, through the gateway, once
    shop, gateway, invoice = paid_shop(engine)
    paid = shop.paid_for(invoice["id"])

    result = credit(shop, number(invoice), refund="original_method", requested_by="customer")

    assert result.refund is not None
    assert (result.refund.status, result.refund.amount, result.refund.method) == ("succeeded", paid, "Visa •••• 4242")
    assert result.refund.requested_by == "customer"
    assert result.to_balance == 0
    assert (refunded(engine), shop.balance()) == (paid, 0)
    assert gateway.asked == [f"refund-{result.refund.id}-attempt-1"]
    assert {"invoice.voided", "refund.requested", "refund.succeeded"} <= set(actions(engine))
    with engine.connect() as conn:
        mail = conn.execute(select(outbox.c.kind, outbox.c.data).where(outbox.c.kind == "refund_succeeded")).one()
    assert json.loads(mail.data)["amount"] == paid
    sent = Sent()
    send_outbox(uow=shop.uow, clock=shop.clock, mailer=sent, render=render_pdf, catalog=CATALOG,
                sender="billing@prorata.example")  # fmt: skip
    (told,) = [m for m in sent.mails if m.subject.startswith("Refund made")]
    assert told.subject == f"Refund made – credit note {result.number}"
    assert [a.filename for a in told.attachments] == [f"{result.number}.pdf"]  # the credit note, attached
    shop.assert_books_balance()


class Sent:
    """A mailer that keeps what it was given."""

    def __init__(self) -> None:
        self.mails: list[OutgoingMail] = []

    def send(self, mail: OutgoingMail) -> None:
        self.mails.append(mail)


def test_a_partial_credit_refunds_its_lines_and_a_later_void_refunds_only_the_rest(engine: Engine) -> None:
    # rule R2: never more than was paid for the lines corrected, less earlier refunds of them
    shop, gateway, invoice = paid_shop(engine)
    paid = shop.paid_for(invoice["id"])
    addon = line_total(engine, invoice["id"], 2)

    first = credit(shop, number(invoice), (2,), refund="original_method")
    second = credit(shop, number(invoice), refund="original_method")

    assert first.refund is not None
    assert second.refund is not None
    assert (first.refund.amount, second.refund.amount) == (addon, paid - addon)
    assert (first.refund.status, second.refund.status) == ("succeeded", "succeeded")
    assert refunded(engine) == paid
    assert shop.balance() == 0
    assert gateway.refunds_made() == 2
    shop.assert_books_balance()


def test_a_refund_to_the_credit_balance_moves_no_money_at_the_gateway(engine: Engine) -> None:
    # rule R2: the customer or the operator may choose the credit balance instead
    shop, gateway, invoice = paid_shop(engine)

    result = credit(shop, number(invoice), refund="credit_balance", requested_by="customer")

    assert result.refund is None
    assert result.to_balance == shop.balance() == shop.paid_for(invoice["id"])
    assert gateway.asked == []
    assert shop.count(refunds) == 0


def test_an_upgrade_invoice_refunds_at_most_what_it_took_when_only_its_charge_is_credited(engine: Engine) -> None:
    # rule R2: the charge line of an upgrade is partly paid by the unused time of the old plan, not by money
    shop = Shop(engine)
    shop.gateway = RefundCounter()
    shop.order(ChangePlan("pro", 3))
    shop.clock.at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    shop.order(ChangePlan("business", 10), key="k2")
    with engine.connect() as conn:
        upgrade = dict(conn.execute(select(invoices).order_by(invoices.c.id.desc())).mappings().first() or {})
        charge = conn.execute(
            select(invoice_lines.c.position, invoice_lines.c.amount, invoice_lines.c.tax)
            .where(invoice_lines.c.invoice_id == upgrade["id"], invoice_lines.c.kind == "charge")
        ).one()  # fmt: skip
    paid = shop.paid_for(upgrade["id"])
    assert 0 < paid < charge.amount + charge.tax

    result = credit(shop, number(upgrade), (charge.position,), refund="original_method")

    assert result.refund is not None
    assert result.refund.amount + result.to_balance == paid + upgrade["credit_applied"]
    assert refunded(engine) == result.refund.amount <= paid
    shop.assert_books_balance()


def test_a_refund_to_the_card_after_30_days_is_refused_naming_rule_r1(engine: Engine) -> None:
    # rule R1: later requests are refused with the rule named, and nothing is changed
    shop, gateway, invoice = paid_shop(engine)
    shop.clock.at = invoice["issued_at"] + timedelta(days=31)

    with pytest.raises(ProrataError) as error:
        credit(shop, number(invoice), refund="original_method", requested_by="customer")

    assert (error.value.code, error.value.rule, error.value.field) == ("refund.window_closed", "R1", "refund")
    assert shop.count(invoices, invoices.c.series == "CN") == 0
    assert gateway.asked == []
    # the credit balance is not limited by the window
    to_balance = credit(shop, number(invoice), (2,), refund="credit_balance")
    assert to_balance.to_balance == shop.balance() > 0


def test_an_operator_overrides_the_30_days_with_a_reason_that_is_kept_and_audited(engine: Engine) -> None:
    # rule R1: an operator may override, and the override is audited
    shop, _, invoice = paid_shop(engine)
    shop.clock.at = invoice["issued_at"] + timedelta(days=45)

    result = credit(shop, number(invoice), refund="original_method", override_reason="Outage in week 3")

    assert result.refund is not None
    assert (result.refund.status, result.refund.override_reason) == ("succeeded", "Outage in week 3")
    with engine.connect() as conn:
        detail = conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "refund.window_overridden")
        ).scalar_one()
    assert json.loads(detail)["reason"] == "Outage in week 3"
    shop.assert_books_balance()


def test_a_failed_refund_stays_visible_is_retried_with_a_new_key_and_then_sent_to_the_balance(engine: Engine) -> None:
    # rule R2: the sandbox card 4000 0000 0000 5126 pays but cannot be refunded
    shop, gateway, invoice = paid_shop(engine, card="4000000000005126")
    paid = shop.paid_for(invoice["id"])

    result = credit(shop, number(invoice), refund="original_method")

    assert result.refund is not None
    refund_id = result.refund.id
    assert (result.refund.status, result.refund.failure_code) == ("failed", "refund_failed")
    assert shop.count(invoices, invoices.c.series == "CN") == 1  # the credit note stays issued
    again = retry_refund(refund_id, actor="operator", uow=shop.uow, clock=shop.clock, gateway=gateway)
    assert (again.status, again.attempt) == ("failed", 2)
    assert gateway.asked == [f"refund-{refund_id}-attempt-1", f"refund-{refund_id}-attempt-2"]
    # a failed refund still holds its amount: nothing more can be given back meanwhile
    assert refunded(engine) == 0
    assert shop.balance() == 0

    moved = retry_refund(refund_id, to="credit_balance", actor="operator", uow=shop.uow, clock=shop.clock,
                         gateway=gateway)  # fmt: skip

    assert moved.status == "credited"
    assert shop.balance() == paid
    with pytest.raises(ProrataError) as error:
        retry_refund(refund_id, actor="operator", uow=shop.uow, clock=shop.clock, gateway=gateway)
    assert (error.value.code, error.value.field) == ("refund.not_failed", "refund_id")
    assert len(gateway.asked) == 2
    assert {"refund.failed", "refund.retried", "refund.sent_to_balance"} <= set(actions(engine))
    shop.assert_books_balance()


def test_a_refund_whose_answer_was_lost_is_asked_again_with_the_same_key_and_made_once(engine: Engine) -> None:
    # rule X3: the gateway refunded but the answer never came; reconciliation asks again with the same key
    shop, gateway, invoice = paid_shop(engine)
    gateway.answer = "lost"

    result = credit(shop, number(invoice), refund="original_method")

    assert result.refund is not None
    assert result.refund.status == "pending"
    with pytest.raises(ProrataError) as error:  # never two refunds in flight for one credit note
        retry_refund(result.refund.id, actor="operator", uow=shop.uow, clock=shop.clock, gateway=gateway)
    assert error.value.code == "refund.in_flight"
    gateway.answer = None
    shop.clock.at += timedelta(minutes=5)

    report = reconcile(uow=shop.uow, clock=shop.clock, gateway=gateway, catalog=CATALOG)
    report_again = reconcile(uow=shop.uow, clock=shop.clock, gateway=gateway, catalog=CATALOG)

    assert (report.refunds_settled, report_again.refunds_settled) == ([result.refund.id], [])
    assert gateway.asked == [result.refund.idempotency_key] * 2
    assert gateway.refunds_made() == 1
    assert refunded(engine) == shop.paid_for(invoice["id"])
    shop.assert_books_balance()


def test_a_pending_refund_is_settled_later_by_the_gateways_answer_once(engine: Engine) -> None:
    # rules R2, X3: the gateway answers later (a webhook names the refund's reference)
    shop, gateway, invoice = paid_shop(engine)
    gateway.answer = "pending"

    result = credit(shop, number(invoice), refund="original_method")

    assert result.refund is not None
    pending = result.refund
    assert (pending.status, pending.gateway_reference is not None) == ("pending", True)
    assert pending.gateway_reference is not None
    settled = settle_refund(pending.gateway_reference, RefundResult("succeeded", pending.gateway_reference),
                            uow=shop.uow, clock=shop.clock)  # fmt: skip
    late = settle_refund(pending.id, RefundResult("failed", pending.gateway_reference, "late"), uow=shop.uow,
                         clock=shop.clock)  # fmt: skip

    assert settled is not None
    assert late is not None
    assert (settled.status, late.status, late.failure_code) == ("succeeded", "succeeded", None)
    assert actions(engine).count("refund.succeeded") == 1
    assert settle_refund("re_unknown", RefundResult("succeeded", "re_unknown"), uow=shop.uow, clock=shop.clock) is None
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(outbox.c.kind == "refund_succeeded")).scalar_one() == 1
    shop.assert_books_balance()


def test_two_refund_requests_released_together_refund_what_was_paid_once(engine: Engine) -> None:
    """Rule R2 under concurrency: a refund of one line and a void to the card, each on its own connection, released
    together through a barrier. Whichever runs second reads, under the account's lock, what the first refunded: in
    all never more than was paid, and exactly one gateway refund per credit note."""
    shop, gateway, invoice = paid_shop(engine)
    paid = shop.paid_for(invoice["id"])

    results = together([
        lambda: credit(shop, number(invoice), (2,), refund="original_method"),
        lambda: credit(shop, number(invoice), refund="original_method"),
        lambda: credit(shop, number(invoice), refund="original_method"),
    ])  # fmt: skip

    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, ProrataError) and e.code in ("credit_note.not_creditable", "credit_note.nothing_left")
               for e in errors), errors  # fmt: skip
    notes = [r for r in results if isinstance(r, CreditNoteResult)]
    assert notes
    assert all(n.refund is not None for n in notes)
    with engine.connect() as conn:
        rows = conn.execute(select(refunds.c.credit_note_id, refunds.c.idempotency_key)).all()
        in_balance = conn.execute(select(func.coalesce(func.sum(credit_ledger.c.amount), 0))).scalar_one()
    assert len(rows) == len({r.credit_note_id for r in rows}) == len(notes)
    assert sorted(gateway.asked) == sorted(r.idempotency_key for r in rows)  # one gateway refund per credit note
    assert refunded(engine) == paid  # the void takes what the line's credit did not
    assert in_balance == 0
    shop.assert_books_balance()


def test_two_retries_of_a_failed_refund_released_together_make_one_attempt_each_at_most(engine: Engine) -> None:
    """Rule R2 under concurrency: never two attempts of one refund in flight. Two retries released together: the
    second, under the locks, sees the first's attempt pending (refused) or already failed again (its own attempt
    after it); every attempt has its own key and is asked of the gateway once."""
    shop, gateway, invoice = paid_shop(engine, card="4000000000005126")
    made = credit(shop, number(invoice), refund="original_method")
    assert made.refund is not None
    refund_id = made.refund.id

    results = together([
        lambda: retry_refund(refund_id, actor="operator", uow=shop.uow, clock=shop.clock, gateway=gateway),
        lambda: retry_refund(refund_id, actor="operator", uow=shop.uow, clock=shop.clock, gateway=gateway),
    ])  # fmt: skip

    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, ProrataError) and e.code == "refund.in_flight" for e in errors), errors
    retried = len(results) - len(errors)
    assert retried >= 1
    assert gateway.asked == [f"refund-{refund_id}-attempt-{n}" for n in range(1, retried + 2)]
    with engine.connect() as conn:
        assert conn.execute(select(refunds.c.attempt).where(refunds.c.id == refund_id)).scalar_one() == retried + 1
    shop.assert_books_balance()
