"""The portal end to end through its forms: sign-in, CSRF, roles, the K1 and K2 checkouts to a placed order, the
refusals at their fields, the overdue lock and its end, and the Polish pages (rules K1, K2, C6, L4, P6, I6, X4, X5).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import httpx
from pypdf import PdfReader
from sqlalchemy import func, select, update

from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.queries import invoice_views, payment_method_views, subscription_views
from prorata.adapters.db.schema import accounts, invoices, web_sessions
from prorata.bootstrap import App
from prorata.domain.dunning import DunningPolicy
from prorata.entrypoints.portal.i18n import money, ngettext_, use_language
from tests.e2e.conftest import START, Visitor, account_id, make_overdue, member_with_password

CONTACT = {"name": "Anna Nowak", "company": "Demo", "email": "anna@example.test", "address_line1": "ul. Prosta 1",
           "city": "Warszawa", "postal_code": "00-001", "country": "PL"}  # fmt: skip


def text_of(response: httpx.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', response.text, re.S)
    assert found is not None, f"no #{element_id} on {response.url}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def checkout(visitor: Visitor) -> tuple[httpx.Response, httpx.Response]:
    """From the "Interested in other products?" step to the confirmation: contacts, payment, terms, summary."""
    contacts = {f"{kind}.{name}": value for kind in ("sold_to", "bill_to") for name, value in CONTACT.items()}
    assert visitor.post("/billing/contacts", {**contacts, "next": "/checkout/payment"}).url.path == "/checkout/payment"
    assert visitor.post("/billing/payment", {"method": "current", "next": "/checkout/terms"}).url.path == (
        "/checkout/terms"
    )
    summary = visitor.post("/checkout/terms", {"terms": "on"})
    assert summary.url.path == "/checkout/summary"
    key = re.search(r'name="key" value="([^"]+)"', summary.text)
    assert key is not None
    placed = visitor.post("/checkout/place", {"key": key.group(1)})
    return summary, placed


def review(visitor: Visitor) -> tuple[httpx.Response, httpx.Response]:
    """A returning buyer's checkout (rule K2): the order summary, then the order placed with its key."""
    summary = visitor.get("/checkout/summary")
    assert summary.url.path == "/checkout/summary"
    key = re.search(r'name="key" value="([^"]+)"', summary.text)
    assert key is not None
    return summary, visitor.post("/checkout/place", {"key": key.group(1)})


def newest_invoice(visitor: Visitor, code: str) -> httpx.Response:
    with visitor.app.engine.connect() as conn:
        newest = invoice_views(conn, account_id(visitor.app, code))[0]
    return visitor.get(f"/billing/invoices/{newest.id}")


def held(app: App, code: str) -> list[tuple[str, int, str]]:
    with app.engine.connect() as conn:
        return [(s.product, s.quantity, s.interval) for s in subscription_views(conn, account_id(app, code))]


def cart_of(app: App) -> list[str]:
    with app.engine.connect() as conn:
        return list(conn.execute(select(web_sessions.c.state)).scalars())


def test_an_owner_signs_in_and_sees_the_plan_card_with_licenses_held_and_assigned(visitor: Visitor) -> None:
    page = visitor.sign_in("owner@demo-business.test")
    assert page.url.path == "/billing"
    assert text_of(page, "plan-licenses") == "12 licenses · 7 assigned"
    assert "Edit current plan" in page.text
    assert "Interested in other plans?" in page.text


def test_a_wrong_password_opens_no_session(visitor: Visitor) -> None:
    page = visitor.sign_in("owner@demo-business.test", "wrong")
    assert page.status_code == 400
    assert "Wrong e-mail or password." in page.text
    assert visitor.get("/billing").url.path == "/signin"


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(visitor: Visitor) -> None:
    # rule X4; a forged form from another site carries no token
    visitor.sign_in("owner@demo-business.test")
    refused = visitor.post("/billing/edit", {"licenses": "14", "interval": "month"}, csrf=False)
    assert refused.status_code == 403
    assert cart_of(visitor.app) == ["{}"]
    assert visitor.post("/signout", csrf=False).status_code == 403


def test_a_member_sees_the_plan_but_reaches_no_purchase(visitor: Visitor) -> None:
    # rule P6
    member_with_password(visitor.app, "user1@demo-business.test")
    page = visitor.sign_in("user1@demo-business.test")
    assert "12 licenses" in page.text
    assert "Edit current plan" not in page.text
    assert visitor.get("/billing/upgrade").status_code == 403
    assert visitor.post("/billing/edit", {"licenses": "14", "interval": "month"}).status_code == 403
    assert held(visitor.app, "demo-business")[0] == ("business", 12, "month")


def test_k1_upgrades_basic_to_business_and_the_invoice_shows_the_amounts_of_the_summary(visitor: Visitor) -> None:
    # rules K1, P3, C6, L5
    visitor.sign_in("owner@demo-basic.test")
    upgrade = visitor.get("/billing/upgrade")
    assert 'href="/billing/upgrade/business"' in upgrade.text
    assert "Contact Sales" in upgrade.text
    form = visitor.get("/billing/upgrade/business")
    assert 'min="10"' in form.text  # rule P3 in the form
    too_few = visitor.post("/billing/upgrade/business", {"licenses": "5", "interval": "month"})
    assert too_few.status_code == 400
    assert "at least 10 licenses" in text_of(too_few, "error-licenses")
    products = visitor.post("/billing/upgrade/business", {"licenses": "10", "interval": "month"})
    assert products.url.path == "/checkout/products"
    assert "Skip this step and go to checkout" in products.text
    assert text_of(products, "cart-count") == "1"

    summary, placed = checkout(visitor)

    assert "Confirm" in summary.text
    assert text_of(placed, "assign-link")
    invoice = newest_invoice(visitor, "demo-basic")
    # rules C6, I3: what the summary said was due is what paid the invoice, which owes nothing now
    assert text_of(invoice, "payment-1") == text_of(summary, "amount-due") != money(0, "PLN")
    assert text_of(invoice, "amount-due") == money(0, "PLN")
    assert text_of(invoice, "subtotal") == text_of(summary, "subtotal")
    assert held(visitor.app, "demo-basic") == [("business", 10, "month")]


def test_a_polish_buyer_sees_23_percent_tax_in_the_summary_and_on_the_invoice_and_its_pdf(visitor: Visitor) -> None:
    # rules T1, T3, C6, I3, I5: the Sold-To contact is in Poland, so the seller's 23 % applies
    visitor.sign_in("owner@demo-basic.test")
    visitor.post("/billing/upgrade/business", {"licenses": "10", "interval": "month"})

    summary, _ = checkout(visitor)

    with visitor.app.engine.connect() as conn:
        issued = invoice_views(conn, account_id(visitor.app, "demo-basic"))[0]
    assert issued.tax > 0
    assert issued.total == issued.subtotal + issued.tax
    assert "(23%)" in summary.text
    assert text_of(summary, "tax") == money(issued.tax, "PLN")
    assert text_of(summary, "total") == money(issued.total, "PLN")
    invoice = visitor.get(f"/billing/invoices/{issued.id}")
    assert text_of(invoice, "tax") == text_of(summary, "tax")
    pdf = visitor.get(f"/billing/invoices/{issued.id}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert issued.number in text
    assert money(issued.total, "PLN", "en").replace("\xa0", " ") in text.replace("\xa0", " ")


def test_another_accounts_invoice_pdf_is_not_found(visitor: Visitor) -> None:
    # rule I3: an invoice is downloaded by its own account only
    with visitor.app.engine.connect() as conn:
        foreign = invoice_views(conn, account_id(visitor.app, "demo-pro"))[0]
    visitor.sign_in("owner@demo-business.test")
    assert visitor.get(f"/billing/invoices/{foreign.id}/pdf").status_code == 404


def test_k2_adds_two_licenses_as_the_new_total_and_a_double_submit_charges_once(visitor: Visitor) -> None:
    # rules K2, L1, L2, X3
    visitor.sign_in("owner@demo-business.test")
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    summary, placed = checkout(visitor)
    key = re.search(r'name="key" value="([^"]+)"', summary.text)
    assert key is not None
    again = visitor.post("/checkout/place", {"key": key.group(1)})

    assert placed.url.path == again.url.path
    assert "Business: 2 licenses, " in summary.text
    assert "of 30 days" in summary.text
    with visitor.app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(invoices)).scalar_one() == 3  # two demo orders and this
    assert text_of(newest_invoice(visitor, "demo-business"), "payment-1") == text_of(summary, "amount-due")
    assert held(visitor.app, "demo-business")[0] == ("business", 14, "month")


def test_business_moves_to_pro_from_the_upgrade_page_at_the_end_of_the_term(visitor: Visitor) -> None:
    # the article: Business -> Pro through the web portal; rule P5: scheduled for the term end, nothing charged
    visitor.sign_in("owner@demo-business.test")
    plans = visitor.get("/billing/upgrade")
    assert 'id="downgrade-pro"' in plans.text
    assert "takes effect at the end of the current billing period" in plans.text
    assert visitor.post("/billing/upgrade/pro", {"licenses": "9", "interval": "month"}).url.path == (
        "/checkout/products"
    )
    visitor.post("/checkout/products", {})

    summary, placed = checkout(visitor)

    assert text_of(summary, "amount-due") == money(0, "PLN")
    assert placed.status_code == 200
    with visitor.app.engine.connect() as conn:
        plan = subscription_views(conn, account_id(visitor.app, "demo-business"))[0]
    assert (plan.product, plan.quantity) == ("business", 12)  # until the term end
    assert [(p.kind, p.product, p.quantity, p.effective) for p in plan.pending] == [
        ("product", "pro", 9, plan.period_end)
    ]
    shown = text_of(visitor.get("/billing"), f"pending-{plan.id}-product")  # on the plan card with its date
    assert "Pro" in shown


def test_a_plan_with_add_ons_is_cancelled_at_the_period_end_only_with_them_and_may_be_reactivated(
    visitor: Visitor,
) -> None:
    # rules D1, D2: demo-business holds Large Meetings beside its plan
    visitor.sign_in("owner@demo-business.test")
    refused = visitor.post("/billing/cancel", {})
    assert refused.status_code == 400
    assert text_of(refused, "error-with_addons")  # the add-ons need the explicit tick
    assert all("Cancel" not in state for state in cart_of(visitor.app))  # nothing went to the cart (X4)

    assert (
        visitor.post("/billing/cancel", {"with_addons": "1"}).url.path == "/checkout/terms"
    )  # contacts and card as they were (K2)
    summary, placed = checkout(visitor)
    assert placed.status_code == 200

    assert text_of(summary, "amount-due") == money(0, "PLN")  # rule D1: nothing refunded, nothing charged
    with visitor.app.engine.connect() as conn:
        held_now = subscription_views(conn, account_id(visitor.app, "demo-business"))
    assert [(s.product, [p.kind for p in s.pending]) for s in held_now] == [
        ("business", ["cancel"]),
        ("large_meetings_500", ["cancel"]),
    ]
    card = visitor.get("/billing")
    assert 'id="reactivate"' in card.text

    # the account placed an order under these Terms: it reviews rather than walks the steps (rule K2)
    assert visitor.post("/billing/reactivate", {}).url.path == "/checkout/summary"
    review(visitor)
    with visitor.app.engine.connect() as conn:
        held_now = subscription_views(conn, account_id(visitor.app, "demo-business"))
    assert [(s.product, s.pending) for s in held_now] == [("business", ()), ("large_meetings_500", ())]


def test_a_reduction_below_the_assigned_licenses_is_refused_at_the_field_and_changes_nothing(visitor: Visitor) -> None:
    # rules L4, X4: demo-pro holds 3 licenses, 2 assigned
    visitor.sign_in("owner@demo-pro.test")
    refused = visitor.post("/billing/edit", {"licenses": "1", "interval": "month"})
    assert refused.status_code == 400
    assert text_of(refused, "error-licenses") == (  # "enter 12. Assigned: 7.": the total entered, then what is assigned
        "You entered 1. Assigned: 2. Unassign 1 user in User Management → Users before reducing."
    )
    assert 'id="unassign-link" href="/users"' in refused.text
    assert cart_of(visitor.app) == ["{}"]
    assert held(visitor.app, "demo-pro") == [("pro", 3, "month")]


def test_an_annual_add_on_on_a_monthly_plan_is_refused_beside_the_interval(visitor: Visitor) -> None:
    # rules A6, X4
    visitor.sign_in("owner@demo-business.test")
    refused = visitor.post("/billing/addons/add/webinar_500", {"quantity": "1", "interval": "year"})
    assert refused.status_code == 400
    assert "annual add-on needs a yearly plan" in refused.text
    assert cart_of(visitor.app) == ["{}"]


def test_an_overdue_account_has_the_editor_disabled_with_its_reason_until_the_invoice_is_paid(
    visitor: Visitor,
) -> None:
    # rule I6
    make_overdue(visitor.app, "demo-pro")
    visitor.sign_in("owner@demo-pro.test")
    locked = visitor.get("/billing")
    assert re.search(r'<button type="button" disabled id="edit-plan">', locked.text)
    assert re.search(r'id="locked-reason".*overdue invoices.*href="/billing/invoices"', locked.text, re.S)
    assert visitor.get("/billing/edit").url.path == "/billing"

    visitor.post("/billing/payment", {"method": "card", "card_number": "4242424242424242", "exp_month": "12",
                                      "exp_year": "2030", "same_as_bill_to": "on"})  # fmt: skip
    paid = visitor.pay({"action": "all"})

    assert "Editing the plan is enabled again." in paid.text
    assert 'href="/billing/edit"' in visitor.get("/billing").text


def test_an_overdue_account_is_told_the_day_its_configured_schedule_ends_its_subscriptions(visitor: Visitor) -> None:
    # rule I8 configured: retried 2 and 4 days after the Dec 15 renewal, cancelled 10 days overdue; rule X5
    visitor.app.dunning = DunningPolicy(retry_after_days=(2, 4), cancel_after_overdue_days=10)
    make_overdue(visitor.app, "demo-pro")  # the runs of days 3 and 5 make the retries due on days 2 and 4
    with visitor.app.engine.connect() as conn:
        since = conn.execute(select(accounts.c.overdue_since).where(accounts.c.code == "demo-pro")).scalar_one()
    assert since == datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # the run of Dec 20 made the last retry
    visitor.sign_in("owner@demo-pro.test")

    english = [text_of(visitor.get(page), "cancels-at") for page in ("/billing", "/billing/invoices")]
    visitor.language("pl")
    polish = [text_of(visitor.get(page), "cancels-at") for page in ("/billing", "/billing/invoices")]

    assert english == ["Unless the overdue invoices are paid, your subscriptions end on Dec 30, 2026."] * 2
    assert polish == ["Jeśli zaległe faktury nie zostaną opłacone, subskrypcje zostaną anulowane 30 gru 2026."] * 2
    history = visitor.get("/billing/invoices").text
    assert "Konto ma zaległe faktury: zmiany i zakupy są zablokowane" in history
    assert "changes and purchases are disabled" not in history


def test_the_polish_pages_use_the_article_labels_and_polish_amounts(visitor: Visitor) -> None:
    # rule X5 and the glossary
    visitor.sign_in("owner@demo-business.test")
    visitor.language("pl")
    billing = visitor.get("/billing")
    for label in ("Zarządzanie kontem", "Rozliczenia", "Bieżące plany", "Historia faktur", "Edytuj bieżący plan",
                  "Uaktualnij konto", "Czy interesują Cię inne dostępne plany", "Dodaj do koszyka", "Dla firm",
                  "Duże spotkania 500", "12 licencji", "miesięcznie"):  # fmt: skip
        assert label in billing.text, label
    assert text_of(billing, "plan-price") == "1\xa0079,88\xa0zł"  # 12 x 89,99 zł
    upgrade = visitor.get("/billing/upgrade")
    assert "Skontaktuj się z działem sprzedaży" in upgrade.text
    assert "Dla przedsiębiorstw" in upgrade.text
    products = visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    assert "Czy interesują Cię inne dostępne produkty" in products.text
    assert "Pomiń ten krok i przejdź do kasy" in products.text
    assert "Licencje: łącznie 14 licencji" in products.text
    payment = visitor.get("/checkout/payment")
    assert "Karta kredytowa" in payment.text
    assert "Taki sam jak dane kontaktowe do rozliczeń" in payment.text
    contacts = visitor.get("/checkout/contacts")
    assert "Dane kontaktowe nabywcy" in contacts.text
    assert "Kontakt do rozliczeń" in contacts.text
    terms = visitor.post("/checkout/terms", {})
    assert "Warunki świadczenia usług" in terms.text
    summary = visitor.post("/checkout/terms", {"terms": "on"})
    assert "Złóż zamówienie" in summary.text
    assert "Edytuj" in summary.text
    assert "z 30 dni" in summary.text


def test_polish_plural_forms_of_licenses_and_invoices() -> None:
    use_language("pl")
    forms = [ngettext_("%(num)d license", "%(num)d licenses", n) for n in (1, 2, 5, 22, 25)]
    invoices_ = [ngettext_("%(num)d open invoice", "%(num)d open invoices", n) for n in (1, 3, 12)]
    use_language("en")
    assert forms == ["1 licencja", "2 licencje", "5 licencji", "22 licencje", "25 licencji"]
    assert invoices_ == ["1 otwarta faktura", "3 otwarte faktury", "12 otwartych faktur"]
    assert money(123450, "PLN", "pl") == "1\xa0234,50\xa0zł"


def test_a_sales_managed_account_is_told_to_contact_its_account_manager(visitor: Visitor) -> None:
    # rule I7
    with visitor.app.engine.begin() as conn:
        conn.execute(update(accounts).where(accounts.c.code == "demo-pro").values(managed_by_sales=True))
    visitor.sign_in("owner@demo-pro.test")
    page = visitor.get("/billing")
    assert re.search(r'id="locked-reason".*contact your account manager', page.text, re.S)
    assert '<button type="button" disabled id="edit-plan">' in page.text


def test_a_declined_card_places_nothing_and_says_to_update_billing_information_then_the_payment_method(
    visitor: Visitor,
) -> None:
    # rules K7, K8
    visitor.sign_in("owner@demo-business.test")
    visitor.post("/billing/payment", {"method": "card", "card_number": "4000000000000002", "exp_month": "12",
                                      "exp_year": "2030", "same_as_bill_to": "on"})  # fmt: skip
    visitor.post("/billing/edit", {"licenses": "14", "interval": "month"})
    _summary, failed = checkout(visitor)
    assert failed.status_code == 402
    assert "The card was declined." in failed.text
    assert "Update your billing information, then your payment method" in failed.text
    assert held(visitor.app, "demo-business")[0] == ("business", 14 - 2, "month")


def test_a_card_keeps_its_own_billing_address_when_it_is_not_the_bill_to_contacts(visitor: Visitor) -> None:
    # rule K4: unticked "Same as Bill-To contact" asks for the card's address, which is kept with the card
    visitor.sign_in("owner@demo-business.test")
    card = {"method": "card", "card_number": "5555555555554444", "exp_month": "11", "exp_year": "2031",
            "next": "/billing/information"}  # fmt: skip
    missing = visitor.post("/billing/payment", card)
    assert missing.status_code == 400
    assert text_of(missing, "error-card-address_line1")
    own = {"card.address_line1": "ul. Prosta 1", "card.city": "Warszawa", "card.postal_code": "00-001",
           "card.country": "PL", "address_checked": "1"}  # fmt: skip

    saved = visitor.post("/billing/payment", {**card, **own})

    assert saved.url.path == "/billing/information"
    with visitor.app.engine.connect() as conn:
        methods = payment_method_views(conn, account_id(visitor.app, "demo-business"))
    assert [(m.last4, m.billing_address) for m in methods] == [
        ("4242", ()),  # the demo's card: the Bill-To contact's address
        ("4444", ("ul. Prosta 1", "00-001 Warszawa", "PL")),
    ]
    assert text_of(saved, f"card-address-{methods[1].id}") == "ul. Prosta 1, 00-001 Warszawa, PL"


def test_a_suggested_address_may_be_kept_or_taken_and_both_continue(visitor: Visitor) -> None:
    # rule K5
    visitor.sign_in("owner@demo-business.test")
    contacts = {f"{kind}.{name}": value for kind in ("sold_to", "bill_to") for name, value in CONTACT.items()}
    contacts["bill_to.postal_code"] = "00950"
    offered = visitor.post("/billing/contacts", {**contacts, "next": "/billing/information"})
    assert 'name="suggested.bill_to.postal_code" value="00-950"' in offered.text

    choice = {"address_checked": "1", "choice.bill_to": "take", "suggested.bill_to.postal_code": "00-950"}
    taken = visitor.post("/billing/contacts", {**contacts, **choice, "next": "/billing/information"})

    assert taken.url.path == "/billing/information"
    assert "00-950 Warszawa" in taken.text


def test_a_bad_e_mail_in_a_contact_is_shown_at_its_field_and_nothing_is_saved(visitor: Visitor) -> None:
    # rule X4
    visitor.sign_in("owner@demo-business.test")
    contacts = {f"{kind}.{name}": value for kind in ("sold_to", "bill_to") for name, value in CONTACT.items()}
    contacts["sold_to.email"] = "not-an-address"
    refused = visitor.post("/billing/contacts", {**contacts, "next": "/billing/information"})
    assert refused.status_code == 400
    assert text_of(refused, "error-sold_to-email") == "E-mail: this is not an e-mail address."  # named in words
    assert "Anna Nowak" not in visitor.get("/billing/information").text


def test_an_invalid_nip_is_refused_at_the_bill_to_field_and_nothing_is_saved(visitor: Visitor) -> None:
    # rules T2, X4: a Polish tax ID with a wrong check digit
    visitor.sign_in("owner@demo-business.test")
    contacts = {f"{kind}.{name}": value for kind in ("sold_to", "bill_to") for name, value in CONTACT.items()}
    contacts["bill_to.tax_id"] = "1234563219"
    refused = visitor.post("/billing/contacts", {**contacts, "next": "/billing/information"})
    assert refused.status_code == 400
    assert "NIP" in text_of(refused, "error-bill_to-tax_id")
    assert "Anna Nowak" not in visitor.get("/billing/information").text
    contacts["bill_to.tax_id"] = "1234563218"  # the same number with its right check digit
    assert visitor.post("/billing/contacts", {**contacts, "next": "/billing/information"}).status_code == 200
    assert "Anna Nowak" in visitor.get("/billing/information").text


def test_one_chosen_open_invoice_is_paid_and_the_history_shows_it_paid(visitor: Visitor) -> None:
    # rules I3, I6
    make_overdue(visitor.app, "demo-pro")
    visitor.sign_in("owner@demo-pro.test")
    visitor.post("/billing/payment", {"method": "paypal", "paypal_email": "buyer@sandbox.prorata.test"})
    with visitor.app.engine.connect() as conn:
        owed = [i.id for i in invoice_views(conn, account_id(visitor.app, "demo-pro")) if i.status == "open"]
    assert len(owed) == 1

    paid = visitor.pay({"invoice": [str(owed[0])], "action": "selected"})

    assert text_of(paid, "paid-message").startswith("1 invoice paid.")
    assert "open invoice" not in paid.text


def test_an_add_on_held_monthly_is_refused_yearly_beside_the_interval_and_the_cart_stays_empty(
    visitor: Visitor,
) -> None:
    # rules A2, X4: demo-business holds Large Meetings 500 monthly
    visitor.sign_in("owner@demo-business.test")
    refused = visitor.post("/billing/addons/add/large_meetings_500", {"quantity": "1", "interval": "year"})
    assert refused.status_code == 400
    assert text_of(refused, "error-interval").startswith("The same add-on cannot be held with two billing intervals")
    assert cart_of(visitor.app) == ["{}"]


def test_a_session_outlives_a_move_of_the_simulation_clock_and_ends_at_sign_out(visitor: Visitor) -> None:
    visitor.sign_in("owner@demo-business.test")
    move_clock(visitor.app.engine, START + timedelta(days=40))
    assert visitor.get("/billing").url.path == "/billing"
    visitor.post("/signout")
    assert visitor.get("/billing").url.path == "/signin"


def test_a_pro_account_is_offered_large_meetings_beside_business_and_enterprise_is_contact_sales(
    visitor: Visitor,
) -> None:
    # rules P1, P4
    visitor.sign_in("owner@demo-pro.test")
    page = visitor.get("/billing/upgrade")
    business = page.text[page.text.index('id="plan-business"') : page.text.index('id="plan-business_plus"')]
    assert 'id="large-meetings-suggestion"' in business
    assert 'href="/billing/addons/add/large_meetings_500"' in business
    assert 'href="/billing/upgrade/enterprise"' not in page.text
    assert visitor.get("/billing/upgrade/enterprise").status_code == 404


def test_payment_methods_are_named_by_their_brand_as_written_on_the_card(visitor: Visitor) -> None:
    # Billing information, the payment step and the order summary name a card "Mastercard •••• 4444", never by the
    # key it is stored under ("mastercard")
    visitor.sign_in("owner@demo-business.test")
    card = {"method": "card", "card_number": "5555555555554444", "exp_month": "11", "exp_year": "2031",
            "same_as_bill_to": "on", "next": "/billing/information"}  # fmt: skip
    saved = visitor.post("/billing/payment", card)
    assert saved.url.path == "/billing/information", saved.text

    information = visitor.get("/billing/information").text
    assert "Visa •••• 4242, " in information
    assert "Mastercard •••• 4444, 11/2031" in information
    assert "visa ••••" not in information
    assert "mastercard ••••" not in information
    assert "Mastercard •••• 4444" in visitor.get("/billing/payment").text
