"""The operator console through the web application, on SQLite and PostgreSQL, with the demo accounts: who gets in,
finding an account, the account's page, and each action confirmed, audited and done once (rules I2, I6, I7, X4, X5).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from prorata.adapters.db.clock import move_clock
from prorata.adapters.db.queries import account_id_by_code, invoice_views
from prorata.adapters.db.schema import audit_log, credit_ledger
from prorata.bootstrap import App
from prorata.services.backup_method import SetBackupMethod, set_backup_method
from prorata.services.billing_information import AddCard, Contact, add_card, set_contacts
from prorata.services.notice_addresses import SetNoticeAddresses, set_notice_addresses
from prorata.services.open_account import OpenAccount, open_account
from prorata.services.operators import CreateOperator, create_operator
from prorata.services.renew_due import RenewDue, renew_due
from tests.e2e.conftest import Visitor, make_overdue
from tests.e2e.language_leaks import leaks

PASSWORD = "correct horse battery staple"
ERROR = re.compile(r'class="error"[^>]*>([^<]+)<')


def operator(app: App, language: str = "en") -> Visitor:
    create_operator(CreateOperator("ops@example.test", "Olga Operator", PASSWORD, language), uow=app.uow,
                    hasher=app.hasher, now=datetime.now(UTC))  # fmt: skip
    desk = Visitor(app)
    desk.get("/operator/signin")
    signed = desk.post("/operator/signin", {"email": "ops@example.test", "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return desk


def account(app: App, code: str) -> int:
    with app.engine.connect() as conn:
        found = account_id_by_code(conn, code)
    assert found is not None
    return found


def ledger_rows(app: App) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(credit_ledger)).scalar_one())


def audited(app: App, action: str) -> list[str]:
    with app.engine.connect() as conn:
        return [str(a) for a in conn.execute(select(audit_log.c.actor).where(audit_log.c.action == action)).scalars()]


# ------------------------------------------------------------------------------------------------ getting in
def test_every_console_page_needs_an_operator_and_a_customer_session_is_not_one(app: App) -> None:
    visitor = Visitor(app)
    for path in ("/operator/", "/operator/accounts", f"/operator/accounts/{account(app, 'demo-pro')}"):
        answer = visitor.client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/operator/signin"), path
    visitor.sign_in("owner@demo-pro.test")  # a customer, signed in to the portal
    assert visitor.client.get("/operator/accounts", follow_redirects=False).status_code == 303


def test_the_sign_in_page_carries_the_security_headers_and_refuses_a_wrong_password(app: App) -> None:
    operator(app)
    stranger = Visitor(app)
    page = stranger.get("/operator/signin")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    wrong = stranger.post("/operator/signin", {"email": "ops@example.test", "password": "not it at all"})
    assert wrong.status_code == 400
    assert ERROR.findall(wrong.text) == ["Wrong e-mail or password."]
    no_token = stranger.post("/operator/signin", {"email": "ops@example.test", "password": PASSWORD}, csrf=False)
    assert no_token.status_code == 403


def test_the_sixth_attempt_in_a_row_is_throttled_with_retry_after(app: App) -> None:
    operator(app)
    stranger = Visitor(app)
    stranger.get("/operator/signin")
    answers = [stranger.post("/operator/signin", {"email": "ops@example.test", "password": "wrong password here"})
               for _ in range(6)]  # fmt: skip
    assert [a.status_code for a in answers] == [400] * 5 + [429]
    assert int(answers[-1].headers["retry-after"]) > 0


def test_the_operators_cookie_is_sent_to_the_console_only_and_sign_out_ends_it(app: App) -> None:
    desk = operator(app)
    cookie = next(c for c in desk.client.cookies.jar if c.name == "prorata_operator")
    assert cookie.path == "/operator"
    assert desk.client.get("/billing", follow_redirects=False).status_code == 303  # no portal session
    desk.get("/operator/accounts")
    assert desk.post("/operator/signout").status_code == 200
    assert desk.client.get("/operator/accounts", follow_redirects=False).status_code == 303


# ------------------------------------------------------------------------------------------------ finding accounts
def codes(html: str) -> list[str]:
    return re.findall(r'<td><a href="/operator/accounts/\d+">([a-z0-9-]+)</a></td>', html)


def test_accounts_are_found_by_code_company_email_and_nip_and_filtered(app: App) -> None:
    desk = operator(app)
    business = account(app, "demo-business")
    set_contacts(business, Contact("Demo Owner", "owner@demo-business.test", "1 Demo Street", "Warsaw", "00-001", "PL",
                                   company="Demo Business Sp. z o.o.", tax_id="PL5260250995"), None, uow=app.uow,
                 clock=app.clock)  # fmt: skip
    assert codes(desk.get("/operator/accounts").text) == ["demo-basic", "demo-business", "demo-pro"]
    assert codes(desk.get("/operator/accounts?q=demo-pro").text) == ["demo-pro"]
    assert codes(desk.get("/operator/accounts?q=Business+Sp").text) == ["demo-business"]
    assert codes(desk.get("/operator/accounts?q=OWNER%40demo-basic.test").text) == ["demo-basic"]
    assert codes(desk.get("/operator/accounts?q=526-025-09-95").text) == ["demo-business"]
    assert codes(desk.get("/operator/accounts?q=PL5260250995").text) == ["demo-business"]
    assert codes(desk.get("/operator/accounts?currency=USD").text) == ["demo-pro"]
    assert codes(desk.get("/operator/accounts?plan=business").text) == ["demo-business"]
    assert codes(desk.get("/operator/accounts?status=overdue").text) == []
    assert "No account matches." in desk.get("/operator/accounts?q=%25").text  # a wildcard is a character
    odd = desk.get("/operator/accounts?q=%00%ff&plan=nope&status=nope&currency=XXX&after=-1&overdue=2")
    assert odd.status_code == 200  # nonsense filters filter nothing, never a crash
    assert codes(odd.text) == []


def test_the_list_pages_by_keyset_through_every_account_once(app: App) -> None:
    for n in range(60):
        open_account(OpenAccount(f"bulk-{n:02d}", f"Bulk {n}", "EUR", "Europe/Berlin", "DE", actor="test"),
                     uow=app.uow, clock=app.clock)  # fmt: skip
    desk = operator(app)
    seen: list[str] = []
    page = desk.get("/operator/accounts?currency=EUR")
    while True:
        seen += codes(page.text)
        following = re.search(r'<a class="button" href="([^"]+)" rel="next">', page.text)
        if following is None:
            break
        page = desk.get(following.group(1).replace("&amp;", "&"))
    assert len(seen) == 60
    assert len(set(seen)) == 60
    assert seen[0] == "bulk-59"  # newest first


# ------------------------------------------------------------------------------------------------ one account
def test_the_account_page_tells_the_whole_story(app: App) -> None:
    desk = operator(app)
    business = account(app, "demo-business")
    page = desk.get(f"/operator/accounts/{business}")
    assert page.status_code == 200
    text = page.text
    for shown in ("Demo Business Sp. z o.o.", "Business", "Large Meetings 500", "owner@demo-business.test",
                  "INV-", "Visa •••• 4242", "order.placed", "license.assigned", "1 Demo Street"):  # fmt: skip
        assert shown in text, shown
    assert desk.get("/operator/accounts/999999").status_code == 404
    assert desk.get("/operator/accounts/abc").status_code == 404


def test_the_account_page_marks_the_backup_method_and_its_charge_and_lists_the_notice_addresses(app: App) -> None:
    # rules BM1, N1: the default card declines on the renewal, the backup pays it; both attempts are listed
    pro = account(app, "demo-pro")
    backup = add_card(AddCard(pro, "5555555555554444", 11, 2031), uow=app.uow, clock=app.clock, gateway=app.gateway)
    add_card(AddCard(pro, "4000000000000002", 11, 2031), uow=app.uow, clock=app.clock, gateway=app.gateway)
    set_backup_method(SetBackupMethod(pro, backup), uow=app.uow, clock=app.clock)
    set_notice_addresses(SetNoticeAddresses(pro, ("ksiegowosc@demo-pro.test",)), uow=app.uow, clock=app.clock)
    renewal = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
    move_clock(app.engine, renewal)
    app.clock.refresh()
    renew_due(
        RenewDue(renewal), uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, dunning=app.dunning
    )

    page = operator(app).get(f"/operator/accounts/{pro}")

    assert page.status_code == 200
    methods = page.text.split('id="payments-heading"')[1]
    assert re.search(r"Mastercard •••• 4444 · 11/2031 <span class=\"badge\">Backup</span>", methods)
    attempts = re.findall(r"<td class=\"num\">1( <span class=\"badge\">Backup</span>)?</td><td><span [^>]*>[^<]*"
                          r"</span></td><td>([a-z_]*)</td>", methods)  # fmt: skip
    assert attempts[:2] == [(' <span class="badge">Backup</span>', ""), ("", "card_declined")]  # newest first
    assert "ksiegowosc@demo-pro.test" in page.text.split('id="contacts-heading"')[1]


# ------------------------------------------------------------------------------------------------ actions
def test_credit_added_by_hand_is_booked_once_even_when_the_form_is_sent_twice(app: App) -> None:
    desk = operator(app)
    pro = account(app, "demo-pro")
    form = desk.get(f"/operator/accounts/{pro}/credit")
    key = re.search(r'name="key" value="([^"]+)"', form.text)
    assert key is not None
    before = ledger_rows(app)
    sent = {"amount": "12,50", "reason": "Goodwill after the outage", "key": key.group(1)}
    first = desk.post(f"/operator/accounts/{pro}/credit", sent)
    second = desk.post(f"/operator/accounts/{pro}/credit", sent)
    assert first.status_code == second.status_code == 200
    assert "The credit was added to the balance." in first.text
    assert ledger_rows(app) == before + 1
    assert "$12.50" in first.text
    assert audited(app, "credit.granted") == ["operator:ops@example.test"]


@pytest.mark.parametrize(
    ("amount", "reason", "message"),
    [
        ("abc", "why", "Enter an amount as a number, e.g. 12.50."),
        ("0", "why", "Enter an amount more than zero and no larger than one grant may add."),
        ("100000000000", "why", "Enter an amount more than zero and no larger than one grant may add."),
        ("1.005", "why", "The amount has more decimals than its currency allows."),
        ("9" * 30, "why", "Enter an amount as a number, e.g. 12.50."),
        ("5", "", "Say why the credit is added (at most 500 characters)."),
    ],
)
def test_a_bad_credit_is_refused_on_its_field_and_books_nothing(
    app: App, amount: str, reason: str, message: str
) -> None:
    desk = operator(app)
    pro = account(app, "demo-pro")
    desk.get(f"/operator/accounts/{pro}/credit")
    before = ledger_rows(app)
    refused = desk.post(f"/operator/accounts/{pro}/credit", {"amount": amount, "reason": reason, "key": "k-1"})
    assert refused.status_code == 400
    assert ERROR.findall(refused.text) == [message]
    assert ledger_rows(app) == before


def test_a_form_without_its_token_changes_nothing(app: App) -> None:
    desk = operator(app)
    pro = account(app, "demo-pro")
    before = ledger_rows(app)
    refused = desk.post(f"/operator/accounts/{pro}/credit", {"amount": "5", "reason": "x", "key": "k"}, csrf=False)
    assert refused.status_code == 403
    assert ledger_rows(app) == before


def test_an_account_is_marked_managed_by_sales_and_the_portal_says_so(app: App) -> None:
    desk = operator(app)
    pro = account(app, "demo-pro")
    desk.get(f"/operator/accounts/{pro}/sales")
    done = desk.post(f"/operator/accounts/{pro}/sales", {"managed": "1", "reason": "Enterprise contract"})
    assert "Managed by sales" in done.text
    assert audited(app, "account.managed_by_sales") == ["operator:ops@example.test"]
    customer = Visitor(app)
    customer.sign_in("owner@demo-pro.test")
    assert "account manager" in customer.get("/billing").text  # rule I7


def test_an_invoice_is_voided_and_lines_credited_from_the_account_page(app: App) -> None:
    desk = operator(app)
    business = account(app, "demo-business")
    with app.engine.connect() as conn:
        number = next(v.number for v in invoice_views(conn, business) if v.kind == "invoice")
    form = desk.get(f"/operator/accounts/{business}/invoices/{number}/credit")
    lines = re.findall(r'name="line" value="(\d+)"', form.text)
    assert len(lines) == 2
    nothing = desk.post(f"/operator/accounts/{business}/invoices/{number}/credit", {"reason": "x"})
    assert ERROR.findall(nothing.text) == ["Choose the lines to credit."]
    credited = desk.post(f"/operator/accounts/{business}/invoices/{number}/credit",
                         {"line": lines[1], "reason": "Seats not used", "destination": "credit_balance"})  # fmt: skip
    assert "The credit note was issued." in credited.text
    desk.get(f"/operator/accounts/{business}/invoices/{number}/void")
    voided = desk.post(f"/operator/accounts/{business}/invoices/{number}/void", {"reason": "Ordered by mistake"})
    assert "The invoice was voided with a credit note." in voided.text
    with app.engine.connect() as conn:
        notes = [v for v in invoice_views(conn, business) if v.kind == "credit_note"]
    assert len(notes) == 2
    assert audited(app, "invoice.credited") + audited(app, "invoice.voided") == [
        "operator:ops@example.test", "operator:ops@example.test"]  # fmt: skip
    other = account(app, "demo-pro")  # the invoice is not the other account's
    assert desk.get(f"/operator/accounts/{other}/invoices/{number}/void").status_code == 404


def test_charging_an_overdue_account_again_says_why_it_failed(app: App) -> None:
    make_overdue(app, "demo-pro")
    desk = operator(app)
    pro = account(app, "demo-pro")
    page = desk.get(f"/operator/accounts/{pro}")
    assert "Overdue" in page.text
    form = desk.get(f"/operator/accounts/{pro}/pay")
    assert "INV-" in form.text
    failed = desk.post(f"/operator/accounts/{pro}/pay", {"key": "k-retry"})
    assert failed.status_code == 402
    assert ERROR.findall(failed.text) == ["The charge failed: The card was declined."]


# ------------------------------------------------------------------------------------------------ languages
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("language", ["pl", "en"])
def test_every_console_page_reads_in_one_language(app: App, language: str) -> None:
    desk = operator(app, language)
    business = account(app, "demo-business")
    with app.engine.connect() as conn:
        number = next(v.number for v in invoice_views(conn, business) if v.kind == "invoice")
    data = ("Demo Business Sp. z o.o.", "Demo Pro Studio", "Demo Basic Sp. z o.o.", "Olga Operator", "Demo Owner",
            "Owner", "Demo sp. z o.o.",
            "1 Demo Street", "Warsaw", "New York", *(f"User{n}" for n in range(1, 9)))  # fmt: skip
    pages = ["/operator/accounts", f"/operator/accounts/{business}", f"/operator/accounts/{business}/credit",
             f"/operator/accounts/{business}/sales", f"/operator/accounts/{business}/invoices/{number}/void",
             f"/operator/accounts/{business}/invoices/{number}/credit", f"/operator/accounts/{business}/pay",
             f"/operator/accounts/{business}/cancel", "/operator/clock", "/operator/catalog", "/operator/billing-runs",
             "/operator/", "/operator/nothing-here"]  # fmt: skip
    found = {}
    for path in pages:
        answer = desk.get(path)
        assert answer.status_code in (200, 404), path
        # the audit trail's actions and details are the log's own codes (``invoice.voided``), not prose
        shown = leaks(re.sub(r"<code>.*?</code>", "", answer.text), language, data)
        if shown:
            found[path] = shown
    signed_out = Visitor(app)
    signed_out.get(f"/operator/language/{language}?next=/operator/signin")
    shown = leaks(signed_out.get("/operator/signin").text, language, data)
    if shown:
        found["/operator/signin"] = shown
    assert not found, found


def test_the_plan_is_cancelled_at_the_periods_end_and_the_cancellation_withdrawn(app: App) -> None:
    desk = operator(app)
    business = account(app, "demo-business")
    page = desk.get(f"/operator/accounts/{business}/cancel")
    assert "Large Meetings 500" in page.text  # its add-ons end with it (rule D2)
    cancelled = desk.post(f"/operator/accounts/{business}/cancel",
                          {"key": re.search(r'name="key" value="([^"]+)"', page.text).group(1)})  # type: ignore[union-attr]  # fmt: skip
    assert "The plan and its add-ons are cancelled at the end of the billing period." in cancelled.text
    assert cancelled.text.count("Cancels on") == 2  # the plan and its add-on (rule D1)
    again = desk.get(f"/operator/accounts/{business}/cancel")
    assert "Withdraw the cancellation of" in again.text
    withdrawn = desk.post(f"/operator/accounts/{business}/cancel",
                          {"key": re.search(r'name="key" value="([^"]+)"', again.text).group(1)})  # type: ignore[union-attr]  # fmt: skip
    assert "The cancellation was withdrawn" in withdrawn.text
    assert "Cancels on" not in withdrawn.text
    with app.engine.connect() as conn:
        mine = select(audit_log.c.actor).where(audit_log.c.action == "order.placed", audit_log.c.account_id == business)
        placed = conn.execute(mine).scalars().all()
    assert placed[-2:] == ["operator:ops@example.test", "operator:ops@example.test"]


def test_the_simulation_clock_moves_a_month_and_bills_each_day(app: App) -> None:
    desk = operator(app)
    before = app.clock.now()
    desk.get("/operator/clock")
    refused = desk.post("/operator/clock", {"days": "0"})
    assert refused.status_code == 400
    assert ERROR.findall(refused.text) == ["Enter a whole number of days, 1 to 366."]
    moved = desk.post("/operator/clock", {"days": "31"})
    assert "The clock moved forward 31 days" in moved.text
    app.clock.refresh()
    assert app.clock.now() - before == timedelta(days=31)
    runs = desk.get("/operator/billing-runs").text
    assert runs.count("<code>prorata clock advance</code>") == 31  # one run a day, told in the log
    assert "Accounts renewed" in desk.get("/operator/billing-runs/15").text


def test_refused_actions_name_their_field_and_change_nothing(app: App) -> None:
    desk = operator(app)
    business = account(app, "demo-business")
    with app.engine.connect() as conn:
        number = next(v.number for v in invoice_views(conn, business) if v.kind == "invoice")
    desk.get(f"/operator/accounts/{business}/invoices/{number}/void")
    unexplained = desk.post(f"/operator/accounts/{business}/invoices/{number}/void", {"reason": "   "})
    assert unexplained.status_code == 400
    assert ERROR.findall(unexplained.text) == ["Say why (at most 500 characters): it is printed on the credit note."]
    desk.get(f"/operator/accounts/{business}/sales")
    rambling = desk.post(f"/operator/accounts/{business}/sales", {"managed": "1", "reason": "x" * 550})
    assert rambling.status_code == 400
    assert ERROR.findall(rambling.text) == ["The reason may have at most 500 characters."]
    with app.engine.connect() as conn:
        assert [v.kind for v in invoice_views(conn, business)] == ["invoice"]  # no credit note was issued
    assert audited(app, "account.managed_by_sales") == []
    for wrong in ("NOT-A-NUMBER", "INV-1999-000001", number.replace("INV", "CN")):
        assert desk.get(f"/operator/accounts/{business}/invoices/{wrong}/void").status_code == 404
