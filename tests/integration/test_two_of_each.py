"""One day's work shared by two web processes, two billing runs and two workers on one PostgreSQL (rules I1, I2, I4,
I6, I8, X3): the installation past one machine, each kind of process started twice, as a load balancer and several
hosts would run them.

The day: eight accounts renew (two of them on a card that now declines), while six accounts each send the same
order, with the same Idempotency-Key, to both web processes at once. The payments go through the Stripe adapter to
the local stand-in for Stripe's API, which records every request, so a charge made twice would show there and not
only in the books. Both billing runs invoice and collect; both workers collect, send the e-mail outbox and deliver
the webhooks. Afterwards: every renewal invoiced once with gap-free numbers, every order placed once, one
PaymentIntent per payment key and one payment per attempt, every e-mail written once, every event delivered once,
and the books balance.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from prorata.adapters.db.api_keys import create_api_key
from prorata.adapters.db.schema import invoices, orders, outbox, payments, webhook_deliveries
from prorata.domain.cart import ChangePlan
from tests.integration.shop import Shop
from tests.integration.test_webhook_workers import PRIVATE, endpoint_at, ids, stopped, wait_until
from tests.races import together
from tests.stripe_standin import StripeStandIn
from tests.webhook_receiver import WebhookReceiver

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
DEC_15 = datetime(2026, 12, 15, tzinfo=UTC)
RENEWING, DECLINING, ORDERING = 8, 2, 6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(database_url: str, standin: StripeStandIn, key_file: Path, mail: Path) -> dict[str, str]:
    env = {**os.environ, "PRORATA_DATABASE_URL": database_url, "PRORATA_GATEWAY": "stripe",
           "STRIPE_SECRET_KEY": standin.secret_key, "STRIPE_PUBLISHABLE_KEY": standin.publishable_key,
           "STRIPE_WEBHOOK_SECRET": standin.webhook_secret, "STRIPE_API_BASE": standin.url,
           "PRORATA_MAIL_DIR": str(mail), "PRORATA_SECRET_FILE": str(key_file),
           "PRORATA_WEBHOOK_ALLOW_PRIVATE": ",".join(PRIVATE)}  # fmt: skip
    for name in ("PRORATA_SECRET_KEY", "PRORATA_SMTP_HOST", "STRIPE_JS_URL"):
        env.pop(name, None)
    return env


def start(env: dict[str, str], *arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "prorata", *arguments], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def ready(port: int, process: subprocess.Popen[str], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, process.communicate()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        assert time.monotonic() < deadline, f"the server on port {port} did not start"
        time.sleep(0.1)


def post_order(port: int, account_id: int, secret: str, key: str) -> tuple[int, dict[str, Any]]:
    """The order, sent again while another order of the account is still being paid (409, the client retries as
    an integrator would): the web process's final answer."""
    body = json.dumps({"changes": [{"type": "change_plan", "product": "pro", "licenses": 3}],
                       "terms_accepted": True, "terms_version": "2026-01"}).encode()  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/accounts/{account_id}/orders", data=body, method="POST",
            headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key,
                     "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            if error.code != 409 or time.monotonic() > deadline:
                return error.code, json.loads(error.read())
        time.sleep(0.1)


def count(engine: Engine, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


@postgresql_only
def test_two_web_processes_two_billing_runs_and_two_workers_do_one_days_work_exactly_once(
    engine: Engine, database_url: str, standin: StripeStandIn, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    # given a webhook endpoint for every event, eight accounts whose plan renews on Dec 15 (the last two on a card
    # that now declines), and six accounts with a card and an API key of their own that have bought nothing yet
    key_file, mail = tmp_path / "prorata.key", tmp_path / "mail"
    renewing = [Shop(engine, code=f"renew{n}", stripe=standin) for n in range(RENEWING)]
    for shop in renewing:
        shop.add_user(f"owner@renew{shop.account_id}.test", role="owner")  # the e-mails' recipient
    endpoint_at(renewing[0], receiver.url, key_file)
    for shop in renewing:
        shop.order(ChangePlan("pro", 2), key=f"buy-{shop.account_id}")
    with engine.begin() as conn:
        for shop in renewing[-DECLINING:]:
            shop.set_card(conn, "4000000000000002")
    buyers = []
    for n in range(ORDERING):
        shop = Shop(engine, code=f"buyer{n}", stripe=standin)
        shop.add_user(f"owner@buyer{n}.test", role="owner")
        with engine.begin() as conn:
            _, secret = create_api_key(conn, account_id=shop.account_id, name="shop", now=shop.clock.now())
        buyers.append((shop, secret))
    env = environment(database_url, standin, key_file, mail)

    # when two web processes (no worker of their own), two workers that collect every round, and then two billing
    # runs start, and each buyer's order goes to both web processes at the same instant
    ports = [free_port(), free_port()]
    servers = [start(env, "serve", "--port", str(port), "--mail-interval", "0") for port in ports]
    workers = [start(env, "worker", "--interval", "0.05", "--collect-every", "0.1") for _ in range(2)]
    try:
        for port, server in zip(ports, servers, strict=True):
            ready(port, server)
        runs = [start(env, "bill", "--until", DEC_15.date().isoformat(), "--bill-in-advance") for _ in range(2)]
        answers = together([
            (lambda port=port, shop=shop, secret=secret: post_order(port, shop.account_id, secret, "the-order"))
            for shop, secret in buyers for port in ports
        ])  # fmt: skip
        finished = [run.communicate(timeout=180) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], finished
        # and the workers go on until every e-mail is sent and every event delivered
        wait_until(lambda: count(engine, select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
                   == 0, 120)  # fmt: skip
        wait_until(lambda: count(engine, select(func.count()).select_from(webhook_deliveries)
                                 .where(webhook_deliveries.c.status != "delivered")) == 0, 120)  # fmt: skip
        time.sleep(0.5)  # a few more rounds of both workers, in which a repeat would show
    finally:
        ends = [stopped(process) for process in [*workers, *servers]]

    # then every process ended cleanly (uvicorn, once shut down, raises the SIGTERM it caught again), and both web
    # processes gave each buyer the same placed order
    assert [code for code, _ in ends] == [0, 0, -signal.SIGTERM, -signal.SIGTERM], ends
    assert all(not isinstance(answer, BaseException) for answer in answers), answers
    assert [status for status, _ in answers] == [201] * (2 * ORDERING), answers
    with engine.connect() as conn:
        owners = dict(conn.execute(select(orders.c.id, orders.c.account_id)).all())
    for (shop, _), pair in zip(buyers, zip(answers[0::2], answers[1::2], strict=True), strict=True):
        first, second = (body for _, body in pair)
        assert first["order_id"] == second["order_id"]
        assert owners[first["order_id"]] == shop.account_id
        assert sorted([first["replayed"], second["replayed"]]) == [False, True]
    with engine.connect() as conn:
        placed = Counter(conn.execute(select(orders.c.account_id).where(orders.c.status == "placed")).scalars())
        renewals = Counter(conn.execute(select(invoices.c.account_id)
                                        .where(invoices.c.billing_date == DEC_15)).scalars())  # fmt: skip
        numbers = conn.execute(select(invoices.c.number).where(invoices.c.number.is_not(None))).scalars().all()
        attempts = conn.execute(select(payments.c.idempotency_key, payments.c.status, payments.c.invoice_id)).all()
        sent = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    # every renewal invoiced once, every order placed once (the first orders of the renewing accounts included)
    assert renewals == Counter(shop.account_id for shop in renewing)
    assert placed == Counter([shop.account_id for shop in renewing] + [shop.account_id for shop, _ in buyers])
    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert len(numbers) == 2 * RENEWING + ORDERING
    # one PaymentIntent at Stripe for each payment's key (the books hold a key once), and none without a payment;
    # each renewal attempted once: the declining cards failed once, the others paid once
    keys = Counter(key for key, _, _ in attempts)
    intents = Counter(o["metadata"]["prorata_key"] for o in standin.objects.values()
                      if o.get("object") == "payment_intent")  # fmt: skip
    assert intents == keys
    renewal_ids = {shop.account_id for shop in renewing}
    with engine.connect() as conn:
        renewal_invoices = dict(conn.execute(select(invoices.c.id, invoices.c.account_id)
                                             .where(invoices.c.billing_date == DEC_15)).all())  # fmt: skip
    outcome = Counter((renewal_invoices[invoice], status) for _, status, invoice in attempts
                      if invoice in renewal_invoices)  # fmt: skip
    declining = {shop.account_id for shop in renewing[-DECLINING:]}
    assert outcome == Counter({(account, "failed" if account in declining else "succeeded"): 1
                               for account in renewal_ids})  # fmt: skip
    # every e-mail written once (each order's confirmation, each renewal's receipt or failure notice, and the
    # first orders'), every event delivered once
    assert sent >= 2 * RENEWING + ORDERING
    assert len(list(mail.glob("*.eml"))) == sent
    received = ids(receiver.requests)
    assert len(received) == len(set(received)) == count(engine, select(func.count()).select_from(webhook_deliveries))
    renewing[0].assert_books_balance()
