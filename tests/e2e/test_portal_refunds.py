"""Where a credit note's money went, in Invoice History and on the note's page, in English and Polish (rules R1, R2,
X5): back to the card (done, in progress, failed) or to the credit balance."""

from __future__ import annotations

from prorata.adapters.db.queries import invoice_views
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.bootstrap import App
from prorata.domain.payments import RefundResult
from prorata.entrypoints.portal.i18n import current_language, money, use_language
from prorata.services.credit_notes import CreditInvoice, CreditNoteResult, credit_invoice
from tests.e2e.conftest import Visitor, account_id
from tests.e2e.order_page import norm, text_by_id


class AnsweringGateway(SandboxGateway):
    """The sandbox, answering every refund with ``status`` (the gateway's answer comes later, or it fails)."""

    def __init__(self, status: str) -> None:
        super().__init__()
        self.answer = status

    def refund(self, charge_reference: str, amount: int, currency: str, idempotency_key: str) -> RefundResult:
        done = super().refund(charge_reference, amount, currency, idempotency_key)
        return RefundResult(self.answer, done.reference, "refund_failed" if self.answer == "failed" else None)


def first_invoice(app: App, code: str) -> str:
    with app.engine.connect() as conn:
        return invoice_views(conn, account_id(app, code))[-1].number


def note_id(app: App, code: str, note: CreditNoteResult) -> int:
    with app.engine.connect() as conn:
        return next(v.id for v in invoice_views(conn, account_id(app, code)) if v.number == note.number)


def refund(app: App, code: str, lines: tuple[int, ...] | None, destination: str,
           gateway: SandboxGateway | None = None) -> tuple[int, CreditNoteResult]:  # fmt: skip
    command = CreditInvoice(first_invoice(app, code), "operator", "", lines, refund=destination,
                            requested_by="customer")  # fmt: skip
    note = credit_invoice(command, uow=app.uow, clock=app.clock, gateway=gateway or app.gateway)
    return note_id(app, code, note), note


def shown(amount: int, currency: str, language: str) -> str:
    """The amount as the page in ``language`` writes it; the test's own language is left as it was."""
    before = current_language()
    use_language(language)
    try:
        return norm(money(amount, currency))
    finally:
        use_language(before)


def test_a_refund_to_the_card_reads_so_in_both_languages(visitor: Visitor) -> None:
    # rule R2: the whole payment went back to the card it came from
    app = visitor.app
    note_id_, note = refund(app, "demo-business", None, "original_method")
    assert note.refund is not None
    amount = note.refund.amount
    visitor.sign_in("owner@demo-business.test")

    english = visitor.get("/billing/invoices").text
    page = visitor.get(f"/billing/invoices/{note_id_}").text
    visitor.language("pl")
    polish = visitor.get("/billing/invoices").text

    assert text_by_id(english, f"refund-{note_id_}") == f"Refunded to Visa •••• 4242: {shown(amount, 'PLN', 'en')}"
    assert text_by_id(page, f"refund-{note_id_}") == f"Refunded to Visa •••• 4242: {shown(amount, 'PLN', 'en')}"
    assert text_by_id(polish, f"refund-{note_id_}") == (
        f"Zwrócono na kartę Visa •••• 4242: {shown(amount, 'PLN', 'pl')}"
    )
    assert text_by_id(polish, f"to-balance-{note_id_}") is None  # nothing went to the balance


def test_refunds_in_progress_failed_and_to_the_balance_read_so_in_both_languages(visitor: Visitor) -> None:
    # rules R2, X5: demo-pro's note waits for the gateway; demo-business's failed; a third note went to the balance
    app = visitor.app
    waiting_id, waiting = refund(app, "demo-pro", None, "original_method", AnsweringGateway("pending"))
    failed_id, failed = refund(app, "demo-business", (1,), "original_method", AnsweringGateway("failed"))
    balance_id, balance = refund(app, "demo-business", None, "credit_balance")
    assert waiting.refund is not None
    assert failed.refund is not None
    assert (waiting.refund.status, failed.refund.status) == ("pending", "failed")

    visitor.sign_in("owner@demo-pro.test")
    pro_en = visitor.get("/billing/invoices").text
    visitor.language("pl")
    pro_pl = visitor.get("/billing/invoices").text
    visitor.sign_in("owner@demo-business.test")
    visitor.language("en")
    business_en = visitor.get("/billing/invoices").text
    visitor.language("pl")
    business_pl = visitor.get("/billing/invoices").text

    assert (
        text_by_id(pro_en, f"refund-{waiting_id}") == f"Refund in progress: {shown(waiting.refund.amount, 'USD', 'en')}"
    )
    assert text_by_id(pro_pl, f"refund-{waiting_id}") == f"Zwrot w toku: {shown(waiting.refund.amount, 'USD', 'pl')}"
    assert (
        text_by_id(business_en, f"refund-{failed_id}") == f"Refund failed: {shown(failed.refund.amount, 'PLN', 'en')}"
    )
    assert text_by_id(business_pl, f"refund-{failed_id}") == (
        f"Zwrot nieudany: {shown(failed.refund.amount, 'PLN', 'pl')}"
    )
    assert balance.to_balance > 0
    assert text_by_id(business_en, f"to-balance-{balance_id}") == (
        f"Added to the credit balance: {shown(balance.to_balance, 'PLN', 'en')}"
    )
    assert text_by_id(business_pl, f"to-balance-{balance_id}") == (
        f"Dopisano do kredytu (saldo konta): {shown(balance.to_balance, 'PLN', 'pl')}"
    )
