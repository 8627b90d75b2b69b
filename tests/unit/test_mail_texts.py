"""The words of billing e-mails that carry an amount of their own (rules X3, X5)."""

from __future__ import annotations

from prorata.services.mail_texts import compose


def test_a_payment_credited_to_the_balance_is_told_with_its_amount_in_the_readers_language() -> None:
    # rule X3: money received for an invoice no longer owed is never silent; rule X5: written as the language writes it
    data = {"amount": 123456, "currency": "PLN"}
    subject_pl, body_pl = compose("excess_credited", "pl", "INV-2026-000007", data)
    subject_en, body_en = compose("excess_credited", "en", "INV-2026-000007", data)
    assert "INV-2026-000007" in subject_pl
    assert "1\xa0234,56\xa0zł" in body_pl
    assert "saldo kredytu" in body_pl
    assert "PLN\xa01,234.56" in body_en
    assert "credit balance" in body_en
    assert "INV-2026-000007" in subject_en
