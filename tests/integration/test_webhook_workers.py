"""Workers sharing the webhook queue, and a worker that dies in the middle of a delivery.

Two deliveries at once (threads of one process, or ``prorata worker`` processes) on PostgreSQL, where their claims
pass each other by (``FOR UPDATE SKIP LOCKED``): every event reaches the receiver exactly once, each account's in
the order they were written, one attempt each. A worker killed (SIGKILL) while the receiver holds its requests leaves
them claimed; once the lease has run out another worker sends them again with the same ``webhook-id`` (so the
receiver can tell the repeat), then the rest of each account's events in order: none is lost. On SQLite (one file
shared by the processes) and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from prorata.adapters.db.clock import SystemClock
from prorata.adapters.db.schema import events, webhook_attempts, webhook_deliveries
from prorata.adapters.webhooks.secrets import DerivedSecrets
from prorata.adapters.webhooks.sender import WebhookSender, check_url
from prorata.domain.cart import ChangePlan
from prorata.services.webhooks import DeliveryReport, EndpointIn, create_endpoint, deliver_webhooks
from tests.integration.shop import Shop
from tests.races import together
from tests.webhook_receiver import Received, WebhookReceiver

PRIVATE = ("127.0.0.0/8",)
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def endpoint_at(shop: Shop, url: str, key_file: Path) -> int:
    endpoint, _secret = create_endpoint(EndpointIn(url), actor="test", uow=shop.uow, clock=shop.clock,
                                        secrets=DerivedSecrets(path=str(key_file)),
                                        check_url=lambda u: check_url(u, PRIVATE))  # fmt: skip
    return endpoint.id


def shops_with_orders(engine: Engine, receiver: WebhookReceiver, key_file: Path, count: int) -> list[Shop]:
    """``count`` accounts, the first with the endpoint registered before its order, each with a paid order (an
    order, its invoice issued and paid, the subscription, the entitlements: five events)."""
    shops = [Shop(engine, code=f"shop{n}") for n in range(count)]
    endpoint_at(shops[0], receiver.url, key_file)
    for shop in shops:
        shop.order(ChangePlan("pro", 2), key=f"buy-{shop.account_id}")
    return shops


def written(engine: Engine) -> dict[int, list[str]]:
    """Each account's events, in the order they were written."""
    found: dict[int, list[str]] = defaultdict(list)
    with engine.connect() as conn:
        for public_id, account in conn.execute(select(events.c.public_id, events.c.account_id).order_by(events.c.id)):
            found[int(account)].append(public_id)
    return found


def arrived(requests: list[Received]) -> dict[int, list[str]]:
    """Each account's requests, in the order the receiver read them (their ``webhook-id``)."""
    found: dict[int, list[str]] = defaultdict(list)
    for request in requests:
        found[json.loads(request.body)["account_id"]].append(request.headers["webhook-id"])
    return found


def ids(requests: list[Received]) -> list[str]:
    return [request.headers["webhook-id"] for request in requests]


def deliveries_by_status(engine: Engine) -> dict[str, int]:
    d = webhook_deliveries
    with engine.connect() as conn:
        return {status: int(n) for status, n in conn.execute(select(d.c.status, func.count()).group_by(d.c.status))}


def attempts_per_delivery(engine: Engine) -> dict[int, list[int]]:
    """Each delivery's recorded attempts (their numbers)."""
    found: dict[int, list[int]] = defaultdict(list)
    with engine.connect() as conn:
        query = select(webhook_attempts.c.delivery_id, webhook_attempts.c.attempt).order_by(webhook_attempts.c.id)
        for delivery, attempt in conn.execute(query):
            found[int(delivery)].append(int(attempt))
    return found


def delivery_ids(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        return {int(i) for i in conn.execute(select(webhook_deliveries.c.id)).scalars()}


def events_of_deliveries(engine: Engine) -> dict[int, str]:
    """Each delivery's event (its public id)."""
    d = webhook_deliveries
    with engine.connect() as conn:
        rows = conn.execute(select(d.c.id, events.c.public_id).join(events, events.c.id == d.c.event_id))
        return {int(delivery): public_id for delivery, public_id in rows}


def worker(database_url: str, key_file: Path, *options: str) -> subprocess.Popen[str]:
    """``prorata worker`` in a process of its own, on the test's database, allowed to call 127.0.0.1."""
    env = {**os.environ, "PRORATA_DATABASE_URL": database_url, "PRORATA_WEBHOOK_ALLOW_PRIVATE": ",".join(PRIVATE),
           "PRORATA_SECRET_FILE": str(key_file)}  # fmt: skip
    env.pop("PRORATA_SECRET_KEY", None)
    return subprocess.Popen([sys.executable, "-m", "prorata", "worker", "--interval", "0.1", *options], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def stopped(process: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM, then its exit status and standard error."""
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return process.returncode, err


def wait_until(done: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(0.05)


@postgresql_only
def test_two_deliveries_at_once_send_every_event_once_in_order_per_account(
    engine: Engine, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    # given 20 accounts with five events each, and two deliveries that claim a few lanes at a time
    key_file = tmp_path / "prorata.key"
    shops = shops_with_orders(engine, receiver, key_file, 20)
    expected = written(engine)
    total = sum(map(len, expected.values()))
    clock = SystemClock()

    def delivery() -> DeliveryReport:
        with WebhookSender(allow_private=PRIVATE) as sender:
            return deliver_webhooks(uow=shops[0].uow, clock=clock, wall=clock, sender=sender,
                                    secrets=DerivedSecrets(path=str(key_file)), lanes=4, per_lane=2)  # fmt: skip

    # when both are released together
    reports = together([delivery, delivery])

    # then each event arrived exactly once, each account's in order, after one attempt
    assert all(isinstance(report, DeliveryReport) for report in reports), reports
    assert total == 100
    assert sum(report.delivered for report in reports) == total
    received = ids(receiver.requests)
    assert len(received) == len(set(received)) == total
    assert arrived(receiver.requests) == expected
    assert deliveries_by_status(engine) == {"delivered": total}
    attempts = attempts_per_delivery(engine)
    assert set(attempts) == delivery_ids(engine)
    assert all(numbers == [1] for numbers in attempts.values())


@postgresql_only
def test_two_worker_processes_share_the_queue_and_deliver_every_event_once(
    engine: Engine, database_url: str, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    # given 20 accounts with five events each
    key_file = tmp_path / "prorata.key"
    shops_with_orders(engine, receiver, key_file, 20)
    expected = written(engine)
    total = sum(map(len, expected.values()))

    # when two workers run on the queue until every event has arrived
    workers = [worker(database_url, key_file), worker(database_url, key_file)]
    try:
        wait_until(lambda: len(receiver.requests) >= total)
        time.sleep(0.5)  # a few more rounds of both, in which a repeat would show
    finally:
        ends = [stopped(process) for process in workers]

    # then each event arrived once, in order per account, and both workers stopped cleanly on SIGTERM
    assert ends == [(0, ""), (0, "")]
    received = ids(receiver.requests)
    assert len(received) == len(set(received)) == total
    assert arrived(receiver.requests) == expected
    assert deliveries_by_status(engine) == {"delivered": total}
    assert all(numbers == [1] for numbers in attempts_per_delivery(engine).values())


def test_a_worker_killed_mid_delivery_leaves_nothing_lost_and_the_next_one_repeats_it_with_the_same_id(
    engine: Engine, database_url: str, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    # given three accounts with five events each, and a receiver that holds every request for five seconds
    key_file = tmp_path / "prorata.key"
    shops_with_orders(engine, receiver, key_file, 3)
    expected = written(engine)
    receiver.answer_slowly(5)

    # when a worker is killed while the receiver holds the first request of each account
    first = worker(database_url, key_file)
    wait_until(lambda: len(receiver.requests) == 3)
    first.kill()
    first.wait(timeout=30)
    killed_at = time.monotonic()
    interrupted = arrived(receiver.requests)
    receiver.answer()
    # and another worker, for which a claim older than one second is a dead worker's, starts after that second
    time.sleep(max(0.0, killed_at + 1.5 - time.monotonic()))
    second = worker(database_url, key_file, "--lease", "1")
    try:
        wait_until(lambda: len(receiver.requests) == 3 + sum(map(len, expected.values())))
        time.sleep(0.5)
    finally:
        end = stopped(second)

    # then the interrupted request was sent again with the same webhook-id, and every account's events followed in
    # order: the same id twice for the repeat, every other once
    assert end == (0, "")
    assert {account: [head] for account, (head, *_) in expected.items()} == interrupted
    assert arrived(receiver.requests) == {account: [order[0], *order] for account, order in expected.items()}
    repeats = Counter(ids(receiver.requests))
    assert {i for i, n in repeats.items() if n > 1} == {order[0] for order in expected.values()}
    assert deliveries_by_status(engine) == {"delivered": sum(map(len, expected.values()))}
    # one attempt recorded per delivery: the interrupted one never was (the worker died before it could record it),
    # and a claim uses up no attempt by itself, so no delivery lost one of its retries to the dead worker
    attempts = attempts_per_delivery(engine)
    assert set(attempts) == delivery_ids(engine)
    assert all(numbers == [1] for numbers in attempts.values())
