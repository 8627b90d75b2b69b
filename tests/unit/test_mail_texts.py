"""The words of billing e-mails that carry an amount of their own (rules X3, X5)."""

from __future__ import annotations

from datetime import UTC, datetime

from prorata.domain.documents import InvoiceDocument
from prorata.domain.seller import Seller
from prorata.services.mail_texts import compose, invoice_summary


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


def test_the_changes_an_order_leaves_for_the_term_end_are_told_by_name_kind_and_date() -> None:
    # rules L3, P5, D1, L6: a reduction, a downgrade, a cancellation and a withdrawal, in each language's words
    at = "2026-12-15T05:00:00+00:00"
    changes = [
        {"action": "scheduled", "product": "business", "kind": "quantity", "quantity": 12, "target": None,
         "effective": at},
        {"action": "scheduled", "product": "business", "kind": "product", "quantity": 2, "target": "pro",
         "effective": at},
        {"action": "scheduled", "product": "webinar_500", "kind": "cancel", "quantity": None, "target": None,
         "effective": at},
        {"action": "withdrawn", "product": "business", "kind": "quantity", "quantity": 10, "target": None,
         "effective": at},
    ]  # fmt: skip
    names = {"business": {"en": "Business", "pl": "Dla firm"}, "pro": {"en": "Pro", "pl": "Dla profesjonalistów"},
             "webinar_500": {"en": "Webinar 500", "pl": "Webinar 500"}}  # fmt: skip
    _, english = compose("reduction_scheduled", "en", None, {"changes": changes}, time_zone="America/New_York",
                         names=names)  # fmt: skip
    _, polish = compose("reduction_scheduled", "pl", None, {"changes": changes}, time_zone="Europe/Warsaw",
                        names=names)  # fmt: skip
    assert english.splitlines()[1:] == [
        "- Business: 12 licenses from Dec 15, 2026",
        "- Business: to Pro with 2 licenses from Dec 15, 2026",
        "- Webinar 500: cancelled on Dec 15, 2026 (you can reactivate it until then)",
        "- Business: the change planned for Dec 15, 2026 is withdrawn",
    ]
    assert polish.splitlines()[1:] == [
        "- Dla firm: 12 licencji od 15 gru 2026",
        "- Dla firm: zmiana na Dla profesjonalistów, 2 licencje, od 15 gru 2026",
        "- Webinar 500: anulowanie z dniem 15 gru 2026 (do tego dnia możesz je reaktywować)",
        "- Dla firm: wycofano zmianę zaplanowaną na 15 gru 2026",
    ]


def test_users_a_renewal_unassigned_are_named_by_product_with_the_renewal_s_date() -> None:
    # rules C7, L4, U1: never silent; the account's date (Dec 15, 04:00 UTC is still Dec 14 in New York)
    data = {"effective": "2026-12-15T04:00:00+00:00", "unassigned": [
        {"product": "pro", "users": ["ann@acme.test", "bob@acme.test"]},
        {"product": "large_meetings_500", "users": ["bob@acme.test"]},
    ]}  # fmt: skip
    names = {"pro": {"en": "Pro", "pl": "Dla profesjonalistów"},
             "large_meetings_500": {"en": "Large Meetings 500", "pl": "Duże spotkania 500"}}  # fmt: skip
    subject_en, english = compose("licenses_unassigned", "en", None, data, time_zone="America/New_York", names=names)
    subject_pl, polish = compose("licenses_unassigned", "pl", None, data, time_zone="Europe/Warsaw", names=names)

    assert subject_en == "Licenses unassigned at the renewal"
    assert english.splitlines()[:3] == [
        "Your subscriptions renewed on Dec 14, 2026 with fewer licenses than were assigned, so the users assigned "
        "most recently were unassigned:",
        "- Pro: ann@acme.test, bob@acme.test",
        "- Large Meetings 500: bob@acme.test",
    ]
    assert subject_pl == "Cofnięte przypisania licencji przy odnowieniu"
    assert polish.splitlines()[1:3] == ["- Dla profesjonalistów: ann@acme.test, bob@acme.test",
                                        "- Duże spotkania 500: bob@acme.test"]  # fmt: skip
    assert "15 gru 2026" in polish


def test_the_order_confirmation_counts_licenses_and_add_on_seats_apart_in_each_language() -> None:
    # rules L5, X5: "Dla profesjonalistów: 5 licencji; Duże spotkania 500: 2 miejsca", never "7 licenses" in all
    data = {"to_assign": 7, "bought": [["pro", 5], ["large_meetings_500", 2]]}
    names = {"pro": {"en": "Pro", "pl": "Dla profesjonalistów"},
             "large_meetings_500": {"en": "Large Meetings 500", "pl": "Duże spotkania 500"}}  # fmt: skip
    units = {"pro": "license", "large_meetings_500": "seat"}
    _, english = compose("order_confirmation", "en", "INV-2026-000003", data, names=names, units=units)
    _, polish = compose("order_confirmation", "pl", "INV-2026-000003", data, names=names, units=units)
    assert english == (
        "Thank you for your order. Invoice INV-2026-000003 is attached.\n\nAssign what you bought to users in User "
        "Management -> Users. To assign: Pro: 5 licenses; Large Meetings 500: 2 seats."
    )
    assert polish == (
        "Dziękujemy za zamówienie. W załączniku faktura INV-2026-000003.\n\nPrzypisz zakupione pozycje użytkownikom "
        "w obszarze Zarządzanie użytkownikami -> Użytkownicy. Do przypisania: Dla profesjonalistów: 5 licencji; "
        "Duże spotkania 500: 2 miejsca."
    )
    _, one = compose("order_confirmation", "pl", "INV-2026-000003", {"bought": [["large_meetings_500", 1]]},
                     names=names, units=units)  # fmt: skip
    assert one.endswith("Do przypisania: Duże spotkania 500: 1 miejsce.")


def test_an_invoices_summary_names_a_polish_sellers_tax_vat_and_another_sellers_the_generic_word() -> None:
    # rule T1: "VAT: 23,00 zł" from a Polish seller; "Podatek: ..." / "Tax: ..." from a seller elsewhere
    start, end = datetime(2026, 11, 15, tzinfo=UTC), datetime(2026, 12, 15, tzinfo=UTC)

    def summary(country: str, language: str) -> str:
        document = InvoiceDocument("INV-2026-000001", "invoice", "open", start, end, "PLN", Seller(country), None,
                                   None, (), 10000, 2300, 12300, 0, 12300)  # fmt: skip
        return invoice_summary(document, language).replace("\xa0", " ")

    assert "\nVAT: 23,00 zł\n" in summary("PL", "pl")
    assert "\nPodatek: 23,00 zł\n" in summary("DE", "pl")
    assert "\nTax: PLN 23.00\n" in summary("DE", "en")
    assert "\nVAT: PLN 23.00\n" in summary("PL", "en")


def test_an_add_ons_scheduled_reduction_is_counted_in_seats() -> None:
    # rules A4, L3, X5: "Duże spotkania 500: 2 miejsca od 15 gru 2026", not "2 licencje"
    at = "2026-12-15T05:00:00+00:00"
    changes = [{"action": "scheduled", "product": "large_meetings_500", "kind": "quantity", "quantity": 2,
                "target": None, "effective": at}]  # fmt: skip
    names = {"large_meetings_500": {"en": "Large Meetings 500", "pl": "Duże spotkania 500"}}
    units = {"large_meetings_500": "seat"}
    _, english = compose("reduction_scheduled", "en", None, {"changes": changes}, time_zone="Europe/Warsaw",
                         names=names, units=units)  # fmt: skip
    _, polish = compose("reduction_scheduled", "pl", None, {"changes": changes}, time_zone="Europe/Warsaw",
                        names=names, units=units)  # fmt: skip
    assert english.splitlines()[-1] == "- Large Meetings 500: 2 seats from Dec 15, 2026"
    assert polish.splitlines()[-1] == "- Duże spotkania 500: 2 miejsca od 15 gru 2026"


def test_a_refund_to_the_card_is_told_with_its_amount_and_where_it_went_in_the_readers_language() -> None:
    # rules R2, X5: the customer is e-mailed when the money is back on the card
    data = {"amount": 123456, "currency": "PLN", "method": "Visa •••• 4242"}
    subject_pl, body_pl = compose("refund_succeeded", "pl", "CN-2026-000003", data)
    subject_en, body_en = compose("refund_succeeded", "en", "CN-2026-000003", data)
    assert subject_pl == "Zwrot wykonany – faktura korygująca CN-2026-000003"
    assert "Zwróciliśmy 1\xa0234,56\xa0zł na metodę płatności Visa •••• 4242" in body_pl
    assert subject_en == "Refund made – credit note CN-2026-000003"
    assert "We refunded PLN\xa01,234.56 to Visa •••• 4242" in body_en


def test_an_overdue_notice_names_the_day_the_subscriptions_end_and_the_days_of_the_schedule() -> None:
    # rule I8: the date and the days the notice was written with, the Polish plural forms; rule X5: the account's date
    cancels = "2026-12-29T09:00:00+00:00"
    _, polish = compose("overdue", "pl", "INV-2026-000003", {"days": 1, "cancels": cancels}, time_zone="Europe/Warsaw")
    _, english = compose("overdue", "en", "INV-2026-000003", {"days": 10, "cancels": cancels})
    _, cancelled = compose("cancelled", "pl", None, {"days": 2})

    assert "Jeśli 29 gru 2026 (1 dzień zaległości) nadal nie będzie opłacona" in polish
    assert "If it is still unpaid on Dec 29, 2026 (10 days overdue), your subscriptions are cancelled." in english
    assert "przez 2 dni" in cancelled


def test_an_overdue_notice_written_before_the_schedule_was_kept_with_it_says_what_was_then_true() -> None:
    # rule I8: an outbox row from before the days were configurable was written when they were always 30
    _, overdue = compose("overdue", "en", "INV-2026-000003", {})
    _, cancelled = compose("cancelled", "pl", None, {})
    assert "after 30 days overdue your subscriptions are cancelled" in overdue
    assert "przez 30 dni" in cancelled


def test_every_e_mail_ends_with_the_sellers_name_and_footer_in_the_readers_language() -> None:
    seller = Seller(
        "PL", "Acme sp. z o.o.", footer={"en": "Registered in Warsaw.", "pl": "Zarejestrowana w Warszawie."}
    )
    _, polish = compose("receipt", "pl", "INV-2026-000001", {}, seller=seller)
    _, english = compose("password_changed", "en", None, {"email": "ada@acme.test"}, seller=seller)
    _, unnamed = compose("receipt", "en", "INV-2026-000001", {}, seller=Seller("PL"))

    assert polish.endswith("\n\n-- \nAcme sp. z o.o.\nZarejestrowana w Warszawie.")
    assert english.endswith("\n\n-- \nAcme sp. z o.o.\nRegistered in Warsaw.")
    assert "-- " not in unnamed  # nothing to sign with
