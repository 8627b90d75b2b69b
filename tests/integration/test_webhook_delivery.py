"""Webhook delivery against a real HTTP receiver on 127.0.0.1, on SQLite and PostgreSQL: every event delivered, none
lost, repeats with the same webhook-id, signatures per the Standard Webhooks specification, order per account, and
the schedule of retries, giving up, disabling and secret rotation."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from prorata.adapters.db.clock import SystemClock
from prorata.adapters.db.schema import (
    audit_log,
    events,
    outbox,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)
from prorata.adapters.webhooks.secrets import DerivedSecrets
from prorata.adapters.webhooks.sender import Attempt, WebhookSender
from prorata.domain.cart import ChangePlan, SetLicenses
from prorata.services import webhooks
from prorata.services.webhooks import RETRY_AFTER, DeliveryReport, EndpointIn
from tests.integration.shop import Shop
from tests.races import together
from tests.webhook_receiver import Received, WebhookReceiver

LOOPBACK = ("127.0.0.0/8",)
SECRETS = DerivedSecrets(b"a test installation key of enough length")


class Hooks:
    """One endpoint at the receiver, and a worker's delivery round."""

    def __init__(self, shop: Shop, receiver: WebhookReceiver, *, types: tuple[str, ...] = (), timeout: float = 10.0):
        self.shop = shop
        self.receiver = receiver
        self.sender = WebhookSender(allow_private=LOOPBACK, timeout=timeout, connect_timeout=timeout)
        record, self.secret = webhooks.create_endpoint(
            EndpointIn(receiver.url, types), actor="operator", uow=shop.uow, clock=shop.clock, secrets=SECRETS,
            check_url=lambda url: None,
        )  # fmt: skip
        self.endpoint_id = record.id

    def deliver(self, **options: Any) -> DeliveryReport:
        return webhooks.deliver_webhooks(uow=self.shop.uow, clock=self.shop.clock, wall=SystemClock(),
                                         sender=self.sender, secrets=SECRETS, **options)  # fmt: skip

    def later(self, delay: timedelta) -> None:
        self.shop.clock.at += delay

    def statuses(self) -> list[str]:
        with self.shop.engine.connect() as conn:
            return list(conn.execute(select(webhook_deliveries.c.status).order_by(webhook_deliveries.c.id)).scalars())

    def attempts(self) -> list[tuple[int | None, str | None]]:
        with self.shop.engine.connect() as conn:
            rows = conn.execute(select(webhook_attempts.c.status_code, webhook_attempts.c.error)
                                .order_by(webhook_attempts.c.id))  # fmt: skip
            return [(r.status_code, r.error) for r in rows]


def event_ids(engine: Engine, account_id: int | None = None) -> list[str]:
    query = select(events.c.public_id).order_by(events.c.id)
    if account_id is not None:
        query = query.where(events.c.account_id == account_id)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def ids(received: Sequence[Received]) -> list[str]:
    return [r.headers["webhook-id"] for r in received]


@pytest.fixture
def hooks(engine: Engine, receiver: WebhookReceiver) -> Hooks:
    shop = Shop(engine)
    shop.clock.at = datetime.now(UTC).replace(microsecond=0)
    return Hooks(shop, receiver)


def test_every_event_is_delivered_once_in_order_and_signed_per_the_standard(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    shops = [Shop(engine, code=code) for code in ("acme", "bolt")]
    hooks = Hooks(shops[0], receiver)
    for shop in shops:
        shop.order(ChangePlan("pro", 2), key="buy")
        shop.order(SetLicenses(3), key="more")

    report = hooks.deliver()

    assert report.delivered == len(event_ids(engine)) == len(receiver.requests)
    assert sorted(ids(receiver.requests)) == sorted(event_ids(engine))  # each once
    for shop in shops:  # in order per account
        mine = set(event_ids(engine, shop.account_id))
        assert [i for i in ids(receiver.requests) if i in mine] == event_ids(engine, shop.account_id)
    for request in receiver.requests:
        sent = Webhook(hooks.secret).verify(request.body, request.headers)
        assert sent["id"] == request.headers["webhook-id"]
        assert request.headers["content-type"] == "application/json"
    first = json.loads(receiver.requests[0].body)
    assert (first["type"], first["object"], first["data"]["status"]) == ("order.placed", "order", "placed")
    assert set(hooks.statuses()) == {"delivered"}


def test_a_tampered_body_or_an_old_timestamp_does_not_verify(hooks: Hooks, receiver: WebhookReceiver) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    hooks.deliver()
    request = receiver.requests[0]
    verifier = Webhook(hooks.secret)

    tampered = request.body.replace(b'"placed"', b'"failed"')
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered, request.headers)
    old = {**request.headers, "webhook-timestamp": str(int(request.headers["webhook-timestamp"]) - 600)}
    with pytest.raises(WebhookVerificationError):
        verifier.verify(request.body, old)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRETS.secret(hooks.endpoint_id + 1, 1)).verify(request.body, request.headers)  # another's secret
    assert verifier.verify(request.body, request.headers)["id"] == request.headers["webhook-id"]


def test_a_receiver_that_is_down_gets_everything_in_order_once_it_is_back(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    receiver.go_down()

    report = hooks.deliver()

    # the first of the lane failed and waits 5 s; the rest of the lane waits behind it, not attempted
    assert (report.delivered, report.failed) == (0, 1)
    assert hooks.attempts() == [(None, "connection_refused")]
    assert hooks.deliver().failed == 0  # nothing is due before the pause ends
    receiver.come_back()
    hooks.later(RETRY_AFTER[0])

    assert hooks.deliver().delivered == len(event_ids(hooks.shop.engine))
    assert ids(receiver.requests) == event_ids(hooks.shop.engine)
    assert hooks.attempts()[:2] == [(None, "connection_refused"), (204, None)]


def test_a_500_is_retried_with_growing_pauses_then_given_up_and_the_endpoint_disabled(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    receiver.answer(500, b"upstream exploded")

    pauses = []
    for pause in RETRY_AFTER:
        assert hooks.deliver().failed == 1
        hooks.later(pause - timedelta(seconds=1))
        assert hooks.deliver().failed == 0  # not yet
        hooks.later(timedelta(seconds=1))
        pauses.append(pause)
    last = hooks.deliver()

    assert (last.given_up, last.disabled) == (1, [hooks.endpoint_id])
    assert sum(pauses, timedelta()) >= timedelta(days=2, hours=23)  # about 3 days of retries
    assert hooks.attempts() == [(500, None)] * (len(RETRY_AFTER) + 1)
    with hooks.shop.engine.connect() as conn:
        excerpts = set(conn.execute(select(webhook_attempts.c.excerpt)).scalars())
        disabled = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "webhook_endpoint.disabled"))
        assert json.loads(disabled.scalar_one())["last_status"] == 500
    assert excerpts == {"upstream exploded"}
    assert hooks.statuses()[0] == "failed"
    assert hooks.deliver().delivered == 0  # a disabled endpoint is sent nothing


def test_a_disabled_endpoint_enabled_again_resumes_its_waiting_deliveries_in_order(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    webhooks.update_endpoint(hooks.endpoint_id, EndpointIn(receiver.url, enabled=False), actor="operator",
                             uow=hooks.shop.uow, clock=hooks.shop.clock, check_url=lambda url: None)  # fmt: skip
    assert hooks.deliver().delivered == 0

    webhooks.update_endpoint(hooks.endpoint_id, EndpointIn(receiver.url, enabled=True), actor="operator",
                             uow=hooks.shop.uow, clock=hooks.shop.clock, check_url=lambda url: None)  # fmt: skip

    assert hooks.deliver().delivered == len(event_ids(hooks.shop.engine))
    assert ids(receiver.requests) == event_ids(hooks.shop.engine)


def test_a_slow_receiver_times_out_and_the_repeat_carries_the_same_webhook_id(
    engine: Engine, receiver: WebhookReceiver
) -> None:
    shop = Shop(engine)
    shop.clock.at = datetime.now(UTC)
    hooks = Hooks(shop, receiver, timeout=0.5)
    shop.order(ChangePlan("pro", 2), key="buy")
    receiver.answer_slowly(1.5)

    assert hooks.deliver().failed == 1
    receiver.answer()
    hooks.later(RETRY_AFTER[0])
    assert hooks.deliver().delivered == len(event_ids(engine))

    assert hooks.attempts()[0] == (None, "timeout")
    first = event_ids(engine)[0]
    assert ids(receiver.requests).count(first) == 2  # the slow receiver read it too: the repeat is recognisable
    assert list(dict.fromkeys(ids(receiver.requests))) == event_ids(engine)


def test_a_receiver_that_drops_the_connection_mid_request_gets_it_again(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    receiver.drop()

    assert hooks.deliver().failed == 1
    receiver.answer()
    hooks.later(RETRY_AFTER[0])
    hooks.deliver()

    assert hooks.attempts()[0][1] in ("connection_reset", "connection_closed")
    assert list(dict.fromkeys(ids(receiver.requests))) == event_ids(hooks.shop.engine)
    assert set(hooks.statuses()) == {"delivered"}


def test_a_worker_that_dies_mid_lane_leaves_the_rest_to_the_next_after_the_lease(
    hooks: Hooks, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    send = hooks.sender.send
    sent: list[str] = []

    def dies_on_the_second(url: str, **kwargs: Any) -> Attempt:
        if sent:
            raise SystemExit("killed while sending")
        sent.append(kwargs["message_id"])
        return send(url, **kwargs)

    monkeypatch.setattr(hooks.sender, "send", dies_on_the_second)
    with pytest.raises(SystemExit):
        hooks.deliver()
    monkeypatch.undo()

    assert set(hooks.statuses()) == {"sending"}  # claimed by the dead worker: nobody else takes them yet
    assert hooks.deliver().delivered == 0
    hooks.later(timedelta(seconds=webhooks.LEASE_SECONDS + 1))
    assert hooks.deliver().delivered == len(event_ids(hooks.shop.engine))

    # the first was received, then sent again with the same id; nothing is lost and the order holds
    assert ids(receiver.requests) == [event_ids(hooks.shop.engine)[0], *event_ids(hooks.shop.engine)]


def test_after_a_rotation_both_secrets_sign_until_the_grace_ends(hooks: Hooks, receiver: WebhookReceiver) -> None:
    old = hooks.secret
    _, new = webhooks.rotate_secret(hooks.endpoint_id, actor="operator", uow=hooks.shop.uow, clock=hooks.shop.clock,
                                    secrets=SECRETS, grace=timedelta(hours=1))  # fmt: skip
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    hooks.deliver()
    during = receiver.requests[-1]

    hooks.later(timedelta(hours=1, seconds=1))
    hooks.shop.order(SetLicenses(3), key="more")
    hooks.deliver()
    after = receiver.requests[-1]

    assert new != old
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(during.body, during.headers)
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


def test_replaying_everything_since_a_time_sends_the_same_ids_again_after_what_waits(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    hooks.deliver()
    first = list(ids(receiver.requests))

    count = webhooks.replay(hooks.endpoint_id, since=hooks.shop.clock.at - timedelta(minutes=1), actor="operator",
                            uow=hooks.shop.uow, clock=hooks.shop.clock)  # fmt: skip
    hooks.deliver()

    assert count == len(first)
    assert ids(receiver.requests) == first + first


def test_an_endpoint_is_sent_only_the_types_it_wants(engine: Engine, receiver: WebhookReceiver) -> None:
    shop = Shop(engine)
    shop.clock.at = datetime.now(UTC)
    hooks = Hooks(shop, receiver, types=("invoice.paid", "subscription.created"))
    shop.order(ChangePlan("pro", 2), key="buy")

    hooks.deliver()

    assert [json.loads(r.body)["type"] for r in receiver.requests] == ["invoice.paid", "subscription.created"]


def test_two_workers_released_together_send_each_event_once(engine: Engine, receiver: WebhookReceiver) -> None:
    # PostgreSQL: the claims skip what the other holds; SQLite: one writer at a time; both exactly once per success
    shops = [Shop(engine, code=f"acct-{n}") for n in range(8)]
    hooks = Hooks(shops[0], receiver)
    for shop in shops:
        shop.clock.at = hooks.shop.clock.at
        shop.order(ChangePlan("pro", 2), key="buy")
        shop.order(SetLicenses(3), key="more")
    second = Hooks.__new__(Hooks)
    second.__dict__.update(hooks.__dict__, sender=WebhookSender(allow_private=LOOPBACK, timeout=10.0))

    reports = together([lambda: hooks.deliver(lanes=4, per_lane=3), lambda: second.deliver(lanes=4, per_lane=3)])

    assert all(isinstance(r, DeliveryReport) for r in reports), reports
    assert sum(r.delivered for r in reports) == len(event_ids(engine))
    assert sorted(ids(receiver.requests)) == sorted(event_ids(engine))  # each exactly once
    assert len(hooks.attempts()) == len(event_ids(engine))
    for shop in shops:
        mine = set(event_ids(engine, shop.account_id))
        assert [i for i in ids(receiver.requests) if i in mine] == event_ids(engine, shop.account_id)


def test_the_operator_is_emailed_when_an_endpoint_is_disabled(hooks: Hooks, receiver: WebhookReceiver) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    receiver.answer(503)
    with hooks.shop.engine.begin() as conn:  # failing for 3 days already
        conn.execute(update(webhook_endpoints).values(failing_since=hooks.shop.clock.at - timedelta(days=3)))

    report = hooks.deliver(operator_email="ops@vendor.test")

    assert report.disabled == [hooks.endpoint_id]
    with hooks.shop.engine.connect() as conn:
        recipients, data = conn.execute(select(outbox.c.recipients, outbox.c.data)
                                              .where(outbox.c.kind == "webhook_endpoint_disabled")).one()  # fmt: skip
    assert json.loads(recipients) == ["ops@vendor.test"]
    assert json.loads(data)["endpoint"] == hooks.endpoint_id


def test_events_past_their_retention_are_purged_once_nothing_waits_to_deliver_them(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    receiver.go_down()
    hooks.deliver()
    told = len(event_ids(hooks.shop.engine))
    hooks.later(timedelta(days=31))

    kept = webhooks.purge_events(uow=hooks.shop.uow, clock=hooks.shop.clock, retention_days=30)
    assert (kept, len(event_ids(hooks.shop.engine))) == (0, told)  # still to be delivered: kept

    receiver.come_back()
    hooks.deliver()
    purged = webhooks.purge_events(uow=hooks.shop.uow, clock=hooks.shop.clock, retention_days=30)

    assert (purged, event_ids(hooks.shop.engine), hooks.statuses(), hooks.attempts()) == (told, [], [], [])


def test_a_receiver_killed_while_it_holds_a_request_gets_it_again_once_it_is_back(
    hooks: Hooks, receiver: WebhookReceiver
) -> None:
    hooks.shop.order(ChangePlan("pro", 2), key="buy")
    receiver.answer_slowly(1.5)

    def kill_once_it_holds_one() -> None:
        while not receiver.requests:
            time.sleep(0.01)
        receiver.go_down()  # the process dies with the request read but not answered

    killer = threading.Thread(target=kill_once_it_holds_one)
    killer.start()
    report = hooks.deliver()
    killer.join()

    assert (report.delivered, report.failed) == (0, 1)
    assert hooks.attempts()[0][0] is None  # no answer: a connection error, never a success
    receiver.come_back()
    receiver.answer()
    hooks.later(RETRY_AFTER[0])
    hooks.deliver()

    first = event_ids(hooks.shop.engine)[0]
    assert ids(receiver.requests) == [first, *event_ids(hooks.shop.engine)]  # the same id again, then the rest
    assert set(hooks.statuses()) == {"delivered"}
