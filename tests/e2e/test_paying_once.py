"""One charge per invoice whatever races, through the real server (rules X3, I3, I6, K7).

The server runs for real on a free port; the requests are sent from threads, each on its own HTTP connection, held
at a barrier and released together, so that they reach the server (and the database, each request on a connection of
its own) at the same moment. The gateway is the sandbox slowed a little, which widens every window a race could
slip through, and it counts what it was asked to charge. Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

import httpx
import pytest
from sqlalchemy import func, select

from prorata.adapters.db.schema import invoices, payments
from prorata.bootstrap import App
from prorata.services.billing_information import AddCard, add_card
from tests.e2e.api_client import DECLINED_CARD, GOOD_CARD, NOW, Account, Api
from tests.e2e.conftest import CSRF, account_id, make_overdue
from tests.live_server import Server
from tests.races import CountingGateway, together
from tests.verified import assert_books_balance


def answered(calls: Sequence[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """The requests released together (``races.together``), every one of them answered. Each should use an HTTP
    client of its own that has already made a request (its connection open, the server's key cache and database
    pool warm), so that what is released together arrives together."""
    answers = together(calls)
    for answer in answers:
        if not isinstance(answer, httpx.Response):
            raise AssertionError(f"a request did not get an answer: {answer!r}")
    return answers


@contextmanager
def api_clients(server: Server, account: Account, count: int) -> Iterator[list[httpx.Client]]:
    """``count`` clients of the account's API key, each with its connection open."""
    clients = [httpx.Client(base_url=server.url, timeout=60, headers=account.headers) for _ in range(count)]
    try:
        for client in clients:
            assert client.get(account.url).status_code == 200
        yield clients
    finally:
        for client in clients:
            client.close()


def pay_request(client: httpx.Client, account: Account, invoice_id: int, key: str) -> Callable[[], httpx.Response]:
    return lambda: client.post(f"{account.url}/payments", json={"invoice_ids": [invoice_id]},
                               headers={"Idempotency-Key": key})  # fmt: skip


def succeeded_payments(app: App, invoice_id: int) -> int:
    with app.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(payments.c.invoice_id == invoice_id, payments.c.status == "succeeded")
            ).scalar_one()
        )


def invoice_status(app: App, invoice_id: int) -> tuple[str, int]:
    with app.engine.connect() as conn:
        row = conn.execute(select(invoices.c.status, invoices.c.amount_due).where(invoices.c.id == invoice_id)).one()
    return row.status, row.amount_due


def open_renewal_invoice(api: Api) -> tuple[Account, int]:
    """An account whose Dec 15 renewal could not be charged (declined card), with a good card on file again."""
    account = api.open_account("racer")
    account.add_user("owner@racer.test", "owner")  # whom the billing e-mails reach (rule I4)
    placed = account.order({"type": "change_plan", "product": "pro", "licenses": 3}, key="buy")
    assert placed.status_code == 201, placed.text
    account.add_card(DECLINED_CARD)
    api.bill_day_by_day(NOW.replace(month=12, day=15), 0)
    account.add_card(GOOD_CARD)
    open_ones = [i for i in account.get("/invoices").json() if i["status"] == "open"]
    assert len(open_ones) == 1
    return account, int(open_ones[0]["id"])


@pytest.fixture
def counting(api_app: App) -> CountingGateway:
    gateway = CountingGateway()
    api_app.gateway = gateway
    return gateway


def test_twenty_api_payments_of_one_invoice_released_together_charge_it_once(
    api: Api, counting: CountingGateway
) -> None:
    # rule X3: each request has its own Idempotency-Key; the invoice is charged once, the others are told why
    account, invoice_id = open_renewal_invoice(api)
    before = counting.charges()
    with Server(api.app) as server, api_clients(server, account, 20) as clients:
        answers = answered([pay_request(c, account, invoice_id, f"racer-{i}") for i, c in enumerate(clients)])

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(200) == 1, [a.text for a in answers]
    refused = [answer.json()["code"] for answer in answers if answer.status_code != 200]
    assert set(refused) <= {"invoice.payment_in_progress", "invoice.not_open"}
    assert all(answer.status_code in (409, 422) for answer in answers if answer.status_code != 200)
    assert counting.charges() - before == 1
    assert succeeded_payments(api.app, invoice_id) == 1
    assert invoice_status(api.app, invoice_id) == ("paid", 0)
    assert_books_balance(api.app.engine, api.app.clock, catalog=api.app.catalog)


def test_twenty_api_retries_with_one_key_charge_once_and_all_answer_the_same(
    api: Api, counting: CountingGateway
) -> None:
    # rule X3: a retried request (the same Idempotency-Key) waits for the first one and answers what it did
    account, invoice_id = open_renewal_invoice(api)
    before = counting.charges()
    with Server(api.app) as server, api_clients(server, account, 20) as clients:
        answers = answered([pay_request(c, account, invoice_id, "one-key") for c in clients])

    assert [answer.status_code for answer in answers] == [200] * 20, [a.text for a in answers]
    assert {tuple(answer.json()["paid"]) for answer in answers} == {(invoice_id,)}
    assert sorted(answer.headers["Idempotent-Replayed"] for answer in answers) == ["false"] + ["true"] * 19
    assert counting.charges() - before == 1
    assert succeeded_payments(api.app, invoice_id) == 1
    assert_books_balance(api.app.engine, api.app.clock, catalog=api.app.catalog)


class Browser:
    """A signed-in portal visitor over real HTTP: the session cookie, and the form fields of the last page."""

    def __init__(self, server: Server, email: str) -> None:
        self.client = httpx.Client(base_url=server.url, timeout=60, follow_redirects=True)
        page = self.client.get("/signin")
        token = CSRF.search(page.text)
        assert token is not None
        signed = self.client.post("/signin", data={"email": email, "password": "prorata-demo", "csrf": token.group(1)})
        assert signed.status_code == 200, signed.text

    def history(self) -> tuple[str, str]:
        """Invoice History's CSRF token and the key its pay forms carry."""
        page = self.client.get("/billing/invoices")
        csrf, key = CSRF.search(page.text), re.search(r'name="key" value="([^"]+)"', page.text)
        assert csrf is not None
        assert key is not None
        return csrf.group(1), key.group(1)

    def pay(self, invoice_id: int, csrf: str, key: str) -> httpx.Response:
        return self.client.post("/billing/invoices/pay", data={"csrf": csrf, "key": key, "pay_one": str(invoice_id)})


def overdue_portal_invoice(app: App) -> int:
    """demo-pro's renewal, unpaid after every retry, with a good card on file again."""
    make_overdue(app, "demo-pro")
    add_card(AddCard(account_id(app, "demo-pro"), GOOD_CARD, 12, 2030), uow=app.uow, clock=app.clock,
             gateway=app.gateway)  # fmt: skip
    with app.engine.connect() as conn:
        return int(
            conn.execute(
                select(invoices.c.id).where(
                    invoices.c.account_id == account_id(app, "demo-pro"), invoices.c.status == "open"
                )
            ).scalar_one()
        )


@pytest.mark.parametrize("same_page", [False, True], ids=["eight-pages", "one-page-eight-clicks"])
def test_eight_portal_pays_of_one_invoice_charge_it_once(app: App, same_page: bool) -> None:
    # rule X3: eight tabs (each page its own key) or eight clicks of one page (one key): one charge either way
    gateway = CountingGateway()
    app.gateway = gateway
    invoice_id = overdue_portal_invoice(app)
    before = gateway.charges()  # the failed renewal attempts
    with Server(app) as server:
        browsers = [Browser(server, "owner@demo-pro.test") for _ in range(8)]
        if same_page:  # one browser: its session and the one page it shows, submitted eight times
            for browser in browsers[1:]:
                browser.client.cookies = browsers[0].client.cookies
        pages = [browsers[0].history()] * 8 if same_page else [b.history() for b in browsers]
        answers = answered([partial(b.pay, invoice_id, *page) for b, page in zip(browsers, pages, strict=True)])
        for browser in browsers:
            browser.client.close()

    assert gateway.charges() - before == 1
    assert succeeded_payments(app, invoice_id) == 1
    assert invoice_status(app, invoice_id) == ("paid", 0)
    if same_page:
        # the same request eight times: every answer is the first one's
        assert [answer.status_code for answer in answers] == [200] * 8
        assert all('id="paid-message"' in answer.text for answer in answers)
    else:
        assert sorted(answer.status_code for answer in answers)[0] == 200
        assert sum('id="paid-message"' in answer.text for answer in answers) == 1
        assert all(answer.status_code in (200, 400, 409) for answer in answers)
    assert_books_balance(app.engine, app.clock, catalog=app.catalog)


def test_a_payment_page_without_its_key_is_shown_again_and_charges_nothing(app: App) -> None:
    # rule X4: a stale form (no key) changes nothing and says what to do
    gateway = CountingGateway(delay=0)
    app.gateway = gateway
    invoice_id = overdue_portal_invoice(app)
    before = gateway.charges()
    with Server(app) as server:
        browser = Browser(server, "owner@demo-pro.test")
        csrf, _key = browser.history()
        answer = browser.pay(invoice_id, csrf, "")
        browser.client.close()
    assert answer.status_code == 400
    assert "The page was out of date; choose again." in answer.text
    assert gateway.charges() == before
    assert invoice_status(app, invoice_id)[0] == "open"


def test_the_api_answers_a_payment_with_another_key_while_one_is_in_flight_with_a_conflict(
    api: Api, counting: CountingGateway
) -> None:
    # rule X3: while one payment of the invoice is in flight, another is refused with 409 and nothing is charged
    account, invoice_id = open_renewal_invoice(api)
    counting.delay = 2.0
    with Server(api.app) as server, api_clients(server, account, 2) as (one, other):
        second_pay = pay_request(other, account, invoice_id, "k2")

        charged_before = len(counting.keys)

        def later() -> httpx.Response:
            deadline = time.monotonic() + 30
            while len(counting.keys) == charged_before and time.monotonic() < deadline:  # the first at the gateway
                time.sleep(0.01)
            return second_pay()

        first, second = answered([pay_request(one, account, invoice_id, "k1"), later])
    assert first.status_code == 200, first.text
    assert (second.status_code, second.json()["code"], second.json()["rule"]) == (
        409, "invoice.payment_in_progress", "X3"
    )  # fmt: skip
    assert succeeded_payments(api.app, invoice_id) == 1
    assert invoice_status(api.app, invoice_id) == ("paid", 0)
    assert_books_balance(api.app.engine, api.app.clock, catalog=api.app.catalog)
