"""Invoice terms and bank transfer (rule NT1), on SQLite and PostgreSQL: who may be put on terms, what orders and
renewals issue on terms, when such an account is overdue, and bank payments booked exactly once."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from prorata.adapters.db.schema import accounts, audit_log, bank_payments, credit_ledger, invoices, payments
from prorata.adapters.documents.pdf import render_pdf
from prorata.domain.bank_statement import parse_camt053
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.payment_terms import TermsThresholds
from prorata.domain.seller import BankAccount, Seller
from prorata.domain.tax import TaxRules
from prorata.services.bank_payments import RecordBankPayment, Recorded, import_statement, record_bank_payment
from prorata.services.invoice_documents import invoice_document
from prorata.services.payment_terms import SetPaymentTerms, set_payment_terms
from prorata.services.renew_due import BillingRunReport, collect_due, follow_up, invoice_due
from tests.helpers import CATALOG
from tests.integration.shop import NOW, Shop
from tests.integration.test_seller_branding import text_of as pdf_text
from tests.races import together

USD_250 = TermsThresholds({"USD": 25000})


def on_terms(shop: Shop, days: int | None = 30, thresholds: TermsThresholds = USD_250) -> None:
    set_payment_terms(SetPaymentTerms(shop.account_id, days, "ops@vendor.test"), uow=shop.uow, clock=shop.clock,
                      catalog=CATALOG, thresholds=thresholds)  # fmt: skip


def eligible(engine: Engine, **kwargs: object) -> Shop:
    """An account holding Business x 12 monthly (12 x 21.99 = 263.88 USD a month, over the 250 threshold)."""
    shop = Shop(engine, **kwargs)  # type: ignore[arg-type]
    shop.order(ChangePlan("business", 12), key="start")
    return shop


def latest_invoice(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(conn.execute(select(invoices).order_by(invoices.c.id.desc()).limit(1)).mappings().one())


def number(row: dict[str, object]) -> str:
    return f"{row['series']}-{row['year']}-{row['number']:06d}"


def pay(shop: Shop, invoice: str, amount: int, reference: str, received: date = date(2026, 11, 15)) -> Recorded:
    return record_bank_payment(RecordBankPayment(invoice, amount, "USD", received, reference, "ops@vendor.test"),
                               uow=shop.uow, clock=shop.clock)  # fmt: skip


def status(engine: Engine, account_id: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(accounts.c.status).where(accounts.c.id == account_id)).scalar_one())


def test_an_account_below_the_monthly_threshold_is_refused_terms_and_nothing_changes(engine: Engine) -> None:
    # rule NT1: Business x 10 is 219.90 USD a month, under 250
    shop = Shop(engine)
    shop.order(ChangePlan("business", 10), key="start")

    with pytest.raises(RuleViolation) as refused:
        on_terms(shop)

    assert refused.value.code == "terms.below_threshold"
    assert refused.value.data["monthly"] == 21990
    with engine.connect() as conn:
        assert conn.execute(select(accounts.c.terms_days)).scalar_one() is None


def test_a_currency_without_a_configured_threshold_is_refused_by_name(engine: Engine) -> None:
    # rule NT1: no equivalent is guessed for a currency the operator did not configure
    shop = eligible(engine)

    with pytest.raises(RuleViolation) as refused:
        on_terms(shop, thresholds=TermsThresholds({"PLN": 100000}))

    assert refused.value.code == "terms.no_threshold"
    assert refused.value.data["currency"] == "USD"


def test_terms_outside_one_to_120_days_are_refused_naming_the_field(engine: Engine) -> None:
    # rule NT1: net terms are bounded
    shop = eligible(engine)

    with pytest.raises(InvalidInput) as refused:
        on_terms(shop, days=365)

    assert (refused.value.code, refused.value.field) == ("terms.days", "days")


def test_an_order_on_terms_is_applied_at_once_with_an_open_invoice_due_in_30_days_and_no_card_charged(
    engine: Engine,
) -> None:
    # rule NT1 (and its reading of K8): the buyer pays by transfer, so the order does not wait for a card
    shop = eligible(engine)
    on_terms(shop)
    charges_before = shop.count(payments)

    result = shop.order(SetLicenses(15), key="more")

    assert result.status == "placed"
    assert result.amount_due > 0
    assert ("business", 15) in shop.held()
    invoice = latest_invoice(engine)
    assert invoice["status"] == "open"
    assert invoice["amount_due"] == result.amount_due
    assert invoice["terms_days"] == 30
    assert invoice["due_at"] == NOW + timedelta(days=30)
    assert shop.count(payments) == charges_before


def test_collection_leaves_an_invoice_on_terms_alone_until_its_due_date_then_the_account_is_overdue_from_it(
    engine: Engine,
) -> None:
    # rule NT1 with I6 and I8: no card attempt at all; overdue only once the due date passed, cancelled counting
    # from the due date
    shop = eligible(engine)
    on_terms(shop, days=10)
    shop.order(SetLicenses(14), key="more")
    due = NOW + timedelta(days=10)

    shop.clock.at = due - timedelta(hours=1)
    collect_due(shop.uow, shop.clock, shop.gateway, BillingRunReport(), dunning=shop.dunning)
    assert status(engine, shop.account_id) == "active"

    shop.clock.at = due + timedelta(days=3)
    report = BillingRunReport()
    collect_due(shop.uow, shop.clock, shop.gateway, report, dunning=shop.dunning)
    assert status(engine, shop.account_id) == "overdue"
    assert report.accounts_overdue == [shop.account_id]
    invoice_id = latest_invoice(engine)["id"]
    with engine.connect() as conn:
        assert conn.execute(select(accounts.c.overdue_since)).scalar_one() == due
        assert conn.execute(select(payments.c.id).where(payments.c.invoice_id == invoice_id)).all() == []

    shop.clock.at = due + timedelta(days=30, minutes=1)
    follow_up(shop.uow, shop.clock, report := BillingRunReport(), dunning=shop.dunning)
    assert report.accounts_cancelled == [shop.account_id]


def test_an_underpayment_leaves_the_rest_open_and_the_rest_paid_later_pays_it(engine: Engine) -> None:
    # rule NT1: bank payments recorded against the invoice number
    shop = eligible(engine)
    on_terms(shop)
    owed = shop.order(SetLicenses(15), key="more").amount_due
    invoice = number(latest_invoice(engine))

    pay(shop, invoice, owed - 1000, "BANK-1")
    assert (latest_invoice(engine)["status"], latest_invoice(engine)["amount_due"]) == ("open", 1000)

    pay(shop, invoice, 1000, "BANK-2")
    assert (latest_invoice(engine)["status"], latest_invoice(engine)["amount_due"]) == ("paid", 0)


def test_an_overpayment_goes_to_the_credit_balance_and_an_overdue_account_is_enabled_again(engine: Engine) -> None:
    # rule NT1 with I6: paying the last open invoice re-enables the account; the excess is the customer's credit
    shop = eligible(engine)
    on_terms(shop, days=5)
    owed = shop.order(SetLicenses(15), key="more").amount_due
    invoice = number(latest_invoice(engine))
    shop.clock.at = NOW + timedelta(days=6)
    collect_due(shop.uow, shop.clock, shop.gateway, BillingRunReport(), dunning=shop.dunning)
    assert status(engine, shop.account_id) == "overdue"
    balance = shop.balance()

    recorded = pay(shop, invoice, owed + 500, "BANK-OVER")

    assert (recorded.payment.applied, recorded.payment.excess, recorded.reenabled) == (owed, 500, True)
    assert shop.balance() == balance + 500
    assert status(engine, shop.account_id) == "active"
    with engine.connect() as conn:
        reasons = conn.execute(select(credit_ledger.c.reason).where(credit_ledger.c.amount == 500)).scalars().all()
        actions = conn.execute(select(audit_log.c.action)).scalars().all()
    assert reasons == ["bank_overpayment"]
    assert "bank_payment.recorded" in actions


def test_the_same_bank_reference_again_is_replayed_and_with_other_details_refused(engine: Engine) -> None:
    # rule NT1: a transfer is booked once
    shop = eligible(engine)
    on_terms(shop)
    owed = shop.order(SetLicenses(15), key="more").amount_due
    invoice = number(latest_invoice(engine))
    pay(shop, invoice, 1000, "BANK-9")

    again = pay(shop, invoice, 1000, "BANK-9")
    with pytest.raises(RuleViolation) as refused:
        pay(shop, invoice, 2000, "BANK-9")

    assert again.replayed
    assert refused.value.code == "bank_payment.reference_used"
    assert shop.count(bank_payments) == 1
    assert latest_invoice(engine)["amount_due"] == owed - 1000


def test_a_payment_for_an_unknown_invoice_or_in_another_currency_is_refused_and_books_nothing(
    engine: Engine,
) -> None:
    # rules NT1, X4
    shop = eligible(engine)
    on_terms(shop)
    shop.order(SetLicenses(15), key="more")
    invoice = number(latest_invoice(engine))

    with pytest.raises(RuleViolation) as unknown:
        pay(shop, "INV-2026-999999", 1000, "BANK-X")
    with pytest.raises(RuleViolation) as currency:
        record_bank_payment(RecordBankPayment(invoice, 1000, "PLN", date(2026, 11, 15), "BANK-Y", "ops"),
                            uow=shop.uow, clock=shop.clock)  # fmt: skip

    assert (unknown.value.code, currency.value.code) == ("bank_payment.invoice_unknown", "bank_payment.currency")
    assert shop.count(bank_payments) == 0


def test_an_account_put_back_on_card_pays_its_next_order_by_card(engine: Engine) -> None:
    # rule NT1: switched back by the operator; the audit trail names both switches
    shop = eligible(engine)
    on_terms(shop)
    on_terms(shop, days=None)

    result = shop.order(SetLicenses(15), key="more")

    assert latest_invoice(engine)["status"] == "paid"
    assert latest_invoice(engine)["terms_days"] is None
    assert result.status == "placed"
    with engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action).order_by(audit_log.c.id)).scalars().all()
    assert [a for a in actions if a.startswith("payment_terms")] == ["payment_terms.set", "payment_terms.ended"]


def test_one_transfer_recorded_by_two_operators_at_once_is_booked_once(engine: Engine) -> None:
    # rule NT1 under concurrency (X3): released together, one books it, the other is answered as a replay
    shop = eligible(engine)
    on_terms(shop)
    owed = shop.order(SetLicenses(15), key="more").amount_due
    invoice = number(latest_invoice(engine))

    results = together([lambda: pay(shop, invoice, 1500, "BANK-RACE") for _ in range(4)])

    assert all(isinstance(r, Recorded) for r in results), results
    assert sorted(r.replayed for r in results) == [False, True, True, True]
    assert shop.count(bank_payments) == 1
    assert latest_invoice(engine)["amount_due"] == owed - 1500
    shop.assert_books_balance()


SAMPLE = Path(__file__).parents[1] / "fixtures" / "camt" / "statement-2026-11-16.xml"


def test_a_bank_statement_books_the_entry_naming_an_invoice_on_terms_and_lists_the_others_unmatched(
    engine: Engine,
) -> None:
    # rule NT1: the sample statement pays INV-2026-000002 (the order on terms) in full; imported again, nothing more
    shop = eligible(engine)
    on_terms(shop)
    shop.order(SetLicenses(15), key="more")
    assert number(latest_invoice(engine)) == "INV-2026-000002"
    entries = parse_camt053(SAMPLE.read_bytes())

    first = import_statement(entries, actor="ops@vendor.test", uow=shop.uow, clock=shop.clock)
    again = import_statement(entries, actor="ops@vendor.test", uow=shop.uow, clock=shop.clock)

    assert [e.outcome for e in first.entries] == ["matched", "unmatched", "unmatched"]
    assert [e.reason for e in first.of("unmatched")] == ["bank_payment.invoice_unknown"] * 2
    assert [e.outcome for e in again.entries] == ["already", "unmatched", "unmatched"]
    assert latest_invoice(engine)["status"] == "paid"
    assert shop.count(bank_payments) == 1


def test_a_statement_entry_for_an_account_not_on_terms_is_unmatched_and_books_nothing(engine: Engine) -> None:
    # rule NT1: the import credits invoices of accounts on terms only
    shop = eligible(engine)
    shop.order(SetLicenses(15), key="more")  # paid by card

    report = import_statement(parse_camt053(SAMPLE.read_bytes()), actor="ops", uow=shop.uow, clock=shop.clock)

    assert report.entries[0].reason == "bank_payment.not_on_terms"
    assert shop.count(bank_payments) == 0


def test_a_renewal_on_terms_is_issued_due_after_the_terms_and_is_never_charged(engine: Engine) -> None:
    # rule NT1: renewals as orders
    shop = eligible(engine)
    on_terms(shop, days=45)
    shop.clock.at = renewal = NOW.replace(month=12) + timedelta(hours=1)
    charges = shop.count(payments)

    invoice_due(renewal, shop.uow, shop.clock, CATALOG, BillingRunReport())
    collect_due(shop.uow, shop.clock, shop.gateway, BillingRunReport(), dunning=shop.dunning)

    invoice = latest_invoice(engine)
    assert invoice["billing_date"] is not None
    assert (invoice["status"], invoice["terms_days"]) == ("open", 45)
    assert invoice["due_at"] == renewal + timedelta(days=45)
    assert shop.count(payments) == charges


def test_the_books_balance_after_transfers_under_over_and_exactly_paid(engine: Engine) -> None:
    # rule NT1 with the books' invariants: what paid an invoice and what went to the credit balance are explained
    shop = eligible(engine)
    on_terms(shop)
    owed = shop.order(SetLicenses(15), key="more").amount_due
    invoice = number(latest_invoice(engine))

    pay(shop, invoice, owed - 100, "BANK-A")
    pay(shop, invoice, 600, "BANK-B")

    shop.assert_books_balance()


def test_the_pdf_of_an_invoice_on_terms_names_its_payment_title_and_terms_in_each_language(engine: Engine) -> None:
    # rules NT1, I5, X5: the invoice number as the transfer's title, with the seller's bank account
    seller = Seller("PL", "Seller sp. z o.o.", ("ul. Bankowa 1", "00-001 Warszawa"), "1234563218",
                    bank=BankAccount("PL61109010140000071219812874", "BPKOPLPW"))  # fmt: skip
    shop = Shop(engine, seller=seller)
    shop.order(ChangePlan("business", 12), key="start")
    on_terms(shop, days=21)
    shop.order(SetLicenses(15), key="more")
    invoice = number(latest_invoice(engine))
    document = invoice_document(invoice, uow=shop.uow, catalog=CATALOG, tax=TaxRules(seller, {}))

    english, polish = (" ".join(pdf_text(render_pdf(document, language)).split()) for language in ("en", "pl"))

    assert f"Payment reference: {invoice}" in english
    assert "payment term in days: 21" in english
    assert f"Tytuł przelewu: {invoice}" in polish
    assert "PL61 1090 1014 0000 0712 1981 2874" in polish
