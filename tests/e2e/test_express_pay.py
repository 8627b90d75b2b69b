"""Express pay: an open invoice paid by card without signing in, given its account's number and its own (rule EP1).

The portal's three steps and the API's two operations, on SQLite and on PostgreSQL: what the payer sees (the
invoice's number, amount and due date; nothing else of the account), one answer for any wrong pair, the throttle,
a failed card, and one charge per key even when the same payment arrives many times at once (rule X3).
"""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select

from prorata.adapters.db.schema import audit_log, payment_methods, payments, sign_in_throttle
from prorata.bootstrap import App
from prorata.domain import throttle
from tests.e2e.api_client import GOOD_CARD, Account, Api
from tests.e2e.conftest import Visitor
from tests.e2e.test_paying_once import answered, invoice_status, open_renewal_invoice, succeeded_payments
from tests.live_server import Server
from tests.races import CountingGateway
from tests.verified import assert_books_balance

KEY = re.compile(r'name="key" value="([^"]+)"')
DONE = re.compile(r'id="express-done"[^>]*>([^<]+)<')


def numbers(account: Account, invoice_id: int) -> tuple[str, str]:
    invoice = account.get(f"/invoices/{invoice_id}").json()
    return "racer", invoice["number"]


def find(visitor: Visitor, account_number: str, invoice_number: str) -> httpx.Response:
    visitor.get("/pay")
    return visitor.post("/pay", {"account_number": account_number, "invoice_number": invoice_number})


def pay_by_card(visitor: Visitor, page: httpx.Response, account_number: str, invoice_number: str,
                card: str = GOOD_CARD) -> httpx.Response:  # fmt: skip
    key = KEY.search(page.text)
    assert key is not None, page.text
    return visitor.post("/pay/card", {"account_number": account_number, "invoice_number": invoice_number,
                                      "key": key.group(1), "card_number": card, "exp_month": "12",
                                      "exp_year": "2030"})  # fmt: skip


def default_method(app: App, account_id: int) -> int | None:
    with app.engine.connect() as conn:
        return conn.execute(
            select(payment_methods.c.id).where(payment_methods.c.account_id == account_id,
                                               payment_methods.c.is_default.is_(True))
        ).scalar_one_or_none()  # fmt: skip


def test_an_open_invoice_is_paid_by_card_without_signing_in_and_nothing_else_is_shown(api: Api) -> None:
    # rule EP1: the account's number and the invoice's lead to the invoice alone; the card pays it and is not kept
    account, invoice_id = open_renewal_invoice(api)
    account_number, invoice_number = numbers(account, invoice_id)
    amount = account.get(f"/invoices/{invoice_id}").json()["amount_due"]
    kept_default = default_method(api.app, account.id)
    visitor = Visitor(api.app)

    page = find(visitor, account_number.upper(), invoice_number.lower())  # either number in any letter case

    assert page.status_code == 200, page.text
    assert invoice_number in page.text
    assert f"{amount / 100:,.2f}" in page.text  # what it owes (USD, English)
    for private in ("Racer", "owner@racer.test", "Pro", "•••• 4242"):  # the account's name, people, plan, cards
        assert re.search(rf"\b{re.escape(private)}\b", page.text) is None, private
    paid = pay_by_card(visitor, page, account_number, invoice_number)
    assert paid.status_code == 200, paid.text
    done = DONE.search(paid.text)
    assert done is not None
    assert invoice_number in done.group(1)
    assert "paid" in done.group(1)
    assert invoice_status(api.app, invoice_id) == ("paid", 0)
    assert succeeded_payments(api.app, invoice_id) == 1
    with api.app.engine.connect() as conn:
        used = conn.execute(
            select(payment_methods.c.is_default, payment_methods.c.removed_at, payment_methods.c.last4)
            .join(payments, payments.c.payment_method_id == payment_methods.c.id)
            .where(payments.c.invoice_id == invoice_id, payments.c.status == "succeeded")
        ).one()  # fmt: skip
        actors = set(conn.execute(select(audit_log.c.actor).where(audit_log.c.account_id == account.id)).scalars())
    assert (used.is_default, used.removed_at is not None, used.last4) == (False, True, "4242")  # for this payment only
    assert default_method(api.app, account.id) == kept_default  # the account's own card is still the one it had
    assert "express-pay" in actors
    assert_books_balance(api.app.engine, api.app.clock, catalog=api.app.catalog)


@pytest.mark.parametrize("language", ["en", "pl"])
def test_any_wrong_pair_of_numbers_gets_the_same_answer_in_the_payers_language(api: Api, language: str) -> None:
    # rule EP1: an invoice number alone (or an account number alone) tells nothing, not even that it exists
    account, invoice_id = open_renewal_invoice(api)
    account_number, invoice_number = numbers(account, invoice_id)
    other = api.open_account("other")
    other_invoice = other.order({"type": "change_plan", "product": "pro", "licenses": 1}, key="buy").json()
    visitor = Visitor(api.app)
    visitor.get(f"/language/{language}?next=/pay")

    answers = [
        find(visitor, "other", invoice_number),  # a real invoice, another (real) account
        find(visitor, "nobody", invoice_number),  # an account that does not exist
        find(visitor, account_number, "INV-2026-999999"),  # an invoice that does not exist
        find(visitor, "other", other_invoice["invoice_number"]),  # both right, but the invoice is paid
        find(visitor, account_number, "not a number"),
    ]

    errors = {re.search(r'id="error-invoice_number"[^>]*>([^<]+)<', a.text).group(1) for a in answers}  # type: ignore[union-attr]
    assert {a.status_code for a in answers} == {400}
    assert len(errors) == 1
    expected = "Żadna otwarta faktura" if language == "pl" else "No open invoice has this number"
    assert next(iter(errors)).startswith(expected)
    for answer in answers:
        assert "Other" not in answer.text
        assert "Racer" not in answer.text


def test_the_api_answers_any_wrong_pair_with_one_404(api: Api) -> None:
    # rule EP1 through the API: no key needed, and the same problem whichever number is wrong
    account, invoice_id = open_renewal_invoice(api)
    account_number, invoice_number = numbers(account, invoice_id)
    client = api.client
    found = client.post("/api/v1/express-pay/invoice",
                        json={"account_number": account_number, "invoice_number": invoice_number})  # fmt: skip
    wrong = [
        client.post("/api/v1/express-pay/invoice", json={"account_number": a, "invoice_number": i})
        for a, i in (("nobody", invoice_number), (account_number, "INV-2026-999999"))
    ]

    assert found.status_code == 200, found.text
    assert set(found.json()) == {"invoice_number", "amount_due", "currency", "due_at"}
    assert found.json()["invoice_number"] == invoice_number
    assert [w.status_code for w in wrong] == [404, 404]
    assert {w.json()["code"] for w in wrong} == {"express_pay.not_found"}
    assert wrong[0].json()["detail"] == wrong[1].json()["detail"]
    missing = client.post("/api/v1/express-pay/invoice", json={"account_number": "", "invoice_number": "x"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "account_number"


def test_tries_are_counted_per_account_number_and_with_sign_in_per_client_address(api: Api) -> None:
    # rule EP1: throttled like sign-in; the right numbers do not get through a locked account number
    account, invoice_id = open_renewal_invoice(api)
    account_number, invoice_number = numbers(account, invoice_id)
    visitor = Visitor(api.app)
    for serial in range(throttle.EXPRESS_PER_ACCOUNT.limit):
        assert find(visitor, account_number, f"INV-2026-{900000 + serial}").status_code == 400

    locked = find(visitor, account_number, invoice_number)

    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many tries" in locked.text
    assert invoice_number not in locked.text.split("<form")[0]
    api_locked = api.client.post("/api/v1/express-pay/invoice",
                                 json={"account_number": account_number, "invoice_number": invoice_number})  # fmt: skip
    assert api_locked.status_code == 429
    assert api_locked.json()["code"] == "express_pay.throttled"
    # the client address has spent 12 of sign-in's 20 tries (the portal's and the API's): 8 more, of any kind, and
    # it is locked for both
    for serial in range(throttle.PER_ADDRESS.limit - throttle.EXPRESS_PER_ACCOUNT.limit - 2):
        assert find(visitor, f"guess-{serial}", invoice_number).status_code == 400
    visitor.get("/signin")
    signed = visitor.post("/signin", {"email": "owner@racer.test", "password": "wrong"})
    assert signed.status_code == 429
    with api.app.engine.connect() as conn:
        keys = set(conn.execute(select(sign_in_throttle.c.key)).scalars())
    assert not any(account_number in key or invoice_number in key for key in keys)  # the table names nobody


def test_a_declined_card_pays_nothing_and_the_next_try_has_a_new_key(api: Api) -> None:
    # rules EP1, K7: the gateway's reason is shown on the card; another card then pays the invoice
    account, invoice_id = open_renewal_invoice(api)
    account_number, invoice_number = numbers(account, invoice_id)
    visitor = Visitor(api.app)
    page = find(visitor, account_number, invoice_number)

    declined = pay_by_card(visitor, page, account_number, invoice_number, card="4000000000000002")

    assert declined.status_code == 402
    assert "The card was declined." in declined.text
    assert KEY.search(declined.text).group(1) != KEY.search(page.text).group(1)  # type: ignore[union-attr]
    assert invoice_status(api.app, invoice_id)[0] == "open"
    paid = pay_by_card(visitor, declined, account_number, invoice_number)
    assert paid.status_code == 200
    assert invoice_status(api.app, invoice_id) == ("paid", 0)


def test_a_card_that_asks_its_bank_to_confirm_is_given_up_and_holds_the_invoice_no_longer(api: Api) -> None:
    # rule EP1: the bank's confirmation (3-D Secure) is a signed-in page; the payer is told to sign in instead
    account, invoice_id = open_renewal_invoice(api)
    account_number, invoice_number = numbers(account, invoice_id)
    visitor = Visitor(api.app)
    page = find(visitor, account_number, invoice_number)

    asked = pay_by_card(visitor, page, account_number, invoice_number, card="4000002760003184")

    assert asked.status_code == 402
    assert "Sign in to pay the invoice" in asked.text
    with api.app.engine.connect() as conn:
        live = conn.execute(
            select(func.count()).where(payments.c.invoice_id == invoice_id,
                                       payments.c.status.in_(("pending", "action_required")))
        ).scalar_one()  # fmt: skip
    assert live == 0
    assert pay_by_card(visitor, asked, account_number, invoice_number).status_code == 200


@pytest.fixture
def counting(api_app: App) -> CountingGateway:
    gateway = CountingGateway()
    api_app.gateway = gateway
    return gateway


def express_body(account_number: str, invoice_number: str) -> dict[str, object]:
    card = {"kind": "card", "card_number": GOOD_CARD, "exp_month": 12, "exp_year": 2030}
    return {"account_number": account_number, "invoice_number": invoice_number, "payment_method": card}


def test_the_same_payment_sent_eight_times_at_once_charges_once_and_all_answer_alike(
    api: Api, counting: CountingGateway
) -> None:
    # rules EP1, X3: one Idempotency-Key released from 8 connections together: one charge, every answer the first's
    account, invoice_id = open_renewal_invoice(api)
    account_number, invoice_number = numbers(account, invoice_id)
    before = counting.charges()
    body = express_body(account_number, invoice_number)
    with Server(api.app) as server:
        clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(8)]
        for client in clients:
            assert client.get("/api/v1/health").status_code == 200
        answers = answered([
            lambda c=c: c.post("/api/v1/express-pay/payments", json=body, headers={"Idempotency-Key": "same"})
            for c in clients
        ])  # fmt: skip
        for client in clients:
            client.close()

    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    assert {a.json()["status"] for a in answers} == {"succeeded"}
    assert sorted(a.headers["Idempotent-Replayed"] for a in answers) == ["false"] + ["true"] * 7
    assert counting.charges() - before == 1
    assert succeeded_payments(api.app, invoice_id) == 1
    assert invoice_status(api.app, invoice_id) == ("paid", 0)
    assert_books_balance(api.app.engine, api.app.clock, catalog=api.app.catalog)


def test_eight_payers_with_their_own_keys_at_once_pay_the_invoice_once(api: Api, counting: CountingGateway) -> None:
    # rules EP1, X3: different keys released together: one pays, the others are told the invoice is not open
    account, invoice_id = open_renewal_invoice(api)
    account_number, invoice_number = numbers(account, invoice_id)
    before = counting.charges()
    body = express_body(account_number, invoice_number)
    with Server(api.app) as server:
        clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(8)]
        for client in clients:
            assert client.get("/api/v1/health").status_code == 200
        answers = answered([
            lambda c=c, i=i: c.post("/api/v1/express-pay/payments", json=body, headers={"Idempotency-Key": f"k{i}"})
            for i, c in enumerate(clients)
        ])  # fmt: skip
        for client in clients:
            client.close()

    assert sorted(a.status_code for a in answers).count(200) == 1, [a.text for a in answers]
    refused = {a.json()["code"] for a in answers if a.status_code != 200}
    assert refused <= {"express_pay.not_found", "invoice.payment_in_progress"}
    assert counting.charges() - before == 1
    assert succeeded_payments(api.app, invoice_id) == 1
    assert_books_balance(api.app.engine, api.app.clock, catalog=api.app.catalog)


def test_a_failed_api_payment_answers_402_and_the_same_key_replays_it(api: Api) -> None:
    # rules EP1, K7, X3: the reason, and a replay that charges nothing more
    account, invoice_id = open_renewal_invoice(api)
    account_number, invoice_number = numbers(account, invoice_id)
    body = express_body(account_number, invoice_number)
    body["payment_method"] = {"kind": "card", "card_number": "4000000000000002", "exp_month": 12, "exp_year": 2030}

    first = api.client.post("/api/v1/express-pay/payments", json=body, headers={"Idempotency-Key": "d"})
    again = api.client.post("/api/v1/express-pay/payments", json=body, headers={"Idempotency-Key": "d"})

    assert (first.status_code, first.json()["code"]) == (402, "payment.card_declined")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (402, "true")
    with api.app.engine.connect() as conn:
        express = payments.c.idempotency_key.like("express:%")
        tried = conn.execute(select(func.count()).where(payments.c.invoice_id == invoice_id, express)).scalar_one()
    assert tried == 1
    assert invoice_status(api.app, invoice_id)[0] == "open"
