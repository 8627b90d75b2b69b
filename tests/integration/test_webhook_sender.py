"""Outgoing webhooks against a real receiver on 127.0.0.1: what goes on the wire (Standard Webhooks headers and
signatures), every way an attempt can go wrong ending as an Attempt, and the addresses a webhook may not reach, also
when a name resolves elsewhere at the time of sending. Nothing here leaves the machine: a public address is only
ever given by a stand-in resolver to ``check_url``, which connects nowhere."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from prorata.adapters.webhooks.sender import Attempt, WebhookSender, check_url
from tests.webhook_receiver import WebhookReceiver

OLD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
BODY = json.dumps({"type": "invoice.paid", "data": {"invoice": "INV-2026-0001", "total": "123.00"}}).encode()
LOOPBACK = ["127.0.0.0/8", "::1/128"]

REFUSED_LITERALS = [
    "http://127.0.0.1/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 form of the metadata address
    "http://[2002:7f00:1::]/",  # 6to4 form of 127.0.0.1
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://2130706433/",  # 127.0.0.1 written as one number, which the resolver accepts
]


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    with WebhookSender(allow_private=LOOPBACK, timeout=1.0, connect_timeout=1.0) as made:
        yield made


def send(sender: WebhookSender, url: str, *, at: datetime | None = None, message_id: str = "msg_1") -> Attempt:
    return sender.send(
        url, message_id=message_id, timestamp=at or datetime.now(UTC), body=BODY, secrets=[OLD_SECRET, NEW_SECRET]
    )


def resolver(answers: Callable[[str], list[str] | None]) -> Callable[..., Any]:
    """A stand-in for socket.getaddrinfo: ``answers(host)`` gives the addresses of a name, None leaves it to the
    real resolver (IP literals)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        addresses = answers(host)
        if addresses is None:
            return real(host, port, *args, **kwargs)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
            for address in addresses
        ]

    return getaddrinfo


# What goes on the wire


def test_a_2xx_answer_is_delivered_with_the_standard_webhooks_headers(
    sender: WebhookSender, receiver: WebhookReceiver
) -> None:
    at = datetime(2026, 12, 1, 9, 30, 15, 700000, tzinfo=UTC)

    attempt = send(sender, receiver.url, at=at, message_id="msg_2Hx")

    assert attempt.delivered
    assert (attempt.status, attempt.error) == (204, None)
    [received] = receiver.requests
    assert received.method == "POST"
    assert received.body == BODY
    assert received.headers["webhook-id"] == "msg_2Hx"
    assert received.headers["webhook-timestamp"] == str(int(at.timestamp()))
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == "Prorata-Webhooks/1"
    signatures = received.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(signature.startswith("v1,") for signature in signatures)


@pytest.mark.parametrize("secret", [OLD_SECRET, NEW_SECRET])
def test_either_secret_of_a_rotation_verifies_the_signature(
    sender: WebhookSender, receiver: WebhookReceiver, secret: str
) -> None:
    send(sender, receiver.url)

    [received] = receiver.requests
    assert Webhook(secret).verify(received.body, received.headers) == json.loads(BODY)


def test_a_secret_the_message_was_not_signed_with_does_not_verify_it(
    sender: WebhookSender, receiver: WebhookReceiver
) -> None:
    send(sender, receiver.url)

    [received] = receiver.requests
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY").verify(received.body, received.headers)


def test_a_tampered_body_does_not_verify(sender: WebhookSender, receiver: WebhookReceiver) -> None:
    send(sender, receiver.url)

    [received] = receiver.requests
    tampered = received.body.replace(b"123.00", b"1.00")
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(NEW_SECRET).verify(tampered, received.headers)


def test_a_message_stamped_more_than_five_minutes_ago_does_not_verify(
    sender: WebhookSender, receiver: WebhookReceiver
) -> None:
    send(sender, receiver.url, at=datetime.now(UTC) - timedelta(minutes=6))

    [received] = receiver.requests
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(OLD_SECRET).verify(received.body, received.headers)


def test_a_timestamp_in_another_time_zone_is_stamped_and_signed_as_the_same_instant(
    sender: WebhookSender, receiver: WebhookReceiver
) -> None:
    at = datetime.now(timezone(timedelta(hours=-5)))

    send(sender, receiver.url, at=at)

    [received] = receiver.requests
    assert received.headers["webhook-timestamp"] == str(int(at.timestamp()))
    assert Webhook(OLD_SECRET).verify(received.body, received.headers) == json.loads(BODY)


def test_a_naive_timestamp_or_no_secret_is_the_callers_mistake(
    sender: WebhookSender, receiver: WebhookReceiver
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sender.send(receiver.url, message_id="m", timestamp=datetime(2026, 1, 1), body=BODY, secrets=[OLD_SECRET])  # noqa: DTZ001
    with pytest.raises(ValueError, match="at least one secret"):
        sender.send(receiver.url, message_id="m", timestamp=datetime.now(UTC), body=BODY, secrets=[])
    assert receiver.requests == []


def test_several_threads_share_one_sender(receiver: WebhookReceiver) -> None:
    # thread safety, not timing: a deadline generous enough for a loaded machine
    attempts: list[Attempt] = []

    def deliver(shared: WebhookSender, thread: int) -> None:
        for number in range(10):
            attempts.append(send(shared, receiver.url, message_id=f"msg_{thread}_{number}"))

    with WebhookSender(allow_private=LOOPBACK, timeout=30.0, connect_timeout=30.0) as shared:
        threads = [threading.Thread(target=deliver, args=(shared, thread)) for thread in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(attempts) == 80
    assert [a for a in attempts if not a.delivered] == []
    assert len({received.headers["webhook-id"] for received in receiver.requests}) == 80


# Answers that are not a delivery


def test_a_500_is_recorded_with_the_start_of_its_body(sender: WebhookSender, receiver: WebhookReceiver) -> None:
    receiver.answer(500, "Ошибка: ".encode() + b"\xff" + b"e" * 5000)

    attempt = send(sender, receiver.url)

    assert not attempt.delivered
    assert (attempt.status, attempt.error) == (500, None)
    assert attempt.excerpt.startswith("Ошибка: \ufffdeee")
    assert len(attempt.excerpt) == 1000


def test_a_redirect_is_not_followed(sender: WebhookSender, receiver: WebhookReceiver) -> None:
    receiver.answer(307, headers={"location": receiver.url + "/elsewhere"})

    attempt = send(sender, receiver.url)

    assert not attempt.delivered
    assert attempt.status == 307
    assert [received.path for received in receiver.requests] == ["/hooks"]


def test_a_receiver_that_answers_too_late_times_out_at_the_timeout(receiver: WebhookReceiver) -> None:
    receiver.answer_slowly(10)

    with WebhookSender(allow_private=LOOPBACK, timeout=0.5) as sender:
        attempt = send(sender, receiver.url)

    assert (attempt.status, attempt.error) == (None, "timeout")
    assert 450 <= attempt.duration_ms < 1500


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline_of_the_whole_attempt(
    receiver: WebhookReceiver,
) -> None:
    # A byte every 0.1 s: no single read waits as long as the timeout, only the whole answer would.
    receiver.trickle(0.1, size=1000)

    with WebhookSender(allow_private=LOOPBACK, timeout=0.6) as sender:
        attempt = send(sender, receiver.url)

    assert (attempt.status, attempt.error) == (200, "timeout")
    assert 550 <= attempt.duration_ms < 1500


@pytest.mark.parametrize(("reset", "error"), [(True, "connection_reset"), (False, "connection_closed")])
def test_a_receiver_that_drops_the_connection_without_answering_is_a_connection_error(
    sender: WebhookSender, receiver: WebhookReceiver, reset: bool, error: str
) -> None:
    receiver.drop(reset=reset)

    attempt = send(sender, receiver.url)

    assert (attempt.status, attempt.error, attempt.delivered) == (None, error, False)
    assert len(receiver.requests) == 1


def test_a_receiver_that_is_down_refuses_the_connection(sender: WebhookSender, receiver: WebhookReceiver) -> None:
    assert send(sender, receiver.url).delivered  # a kept-alive connection, which going down drops
    receiver.go_down()

    attempt = send(sender, receiver.url)

    assert (attempt.status, attempt.error) == (None, "connection_refused")
    receiver.come_back()
    assert send(sender, receiver.url).delivered


def test_an_https_url_to_a_receiver_that_speaks_no_tls_is_a_tls_error(
    sender: WebhookSender, receiver: WebhookReceiver
) -> None:
    attempt = send(sender, receiver.url.replace("http://", "https://"))

    assert (attempt.status, attempt.error) == (None, "tls")


def test_a_huge_answer_is_read_no_further_than_the_cap(receiver: WebhookReceiver) -> None:
    receiver.answer_huge(1024**3)

    with WebhookSender(allow_private=LOOPBACK, max_response_bytes=64 * 1024) as sender:
        attempt = send(sender, receiver.url)

    # The receiver accepted the message before its body grew too large: a delivery, with the reason recorded.
    assert attempt.delivered
    assert (attempt.status, attempt.error) == (200, "response_too_large")
    assert attempt.excerpt == "x" * 1000
    assert attempt.duration_ms < 2000
    # What went out fills no more than the sockets' buffers: the sender closed the connection, the receiver stopped.
    sent = -1
    while sent != receiver.bytes_sent:
        sent = receiver.bytes_sent
        time.sleep(0.2)
    assert sent < 64 * 1024**2


# Addresses a webhook may not reach


@pytest.mark.parametrize("url", REFUSED_LITERALS)
def test_an_endpoint_at_a_private_address_is_refused_at_registration(url: str) -> None:
    assert check_url(url) == "webhook.url_private"


@pytest.mark.parametrize("url", REFUSED_LITERALS)
def test_a_webhook_to_a_private_address_is_refused_before_connecting(url: str) -> None:
    with WebhookSender() as sender:
        attempt = send(sender, url)

    assert (attempt.status, attempt.error, attempt.delivered) == (None, "refused_address", False)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://hooks.example.com/", "webhook.url_scheme"),
        ("file:///etc/passwd", "webhook.url_scheme"),
        ("http://user:pass@hooks.example.com/", "webhook.url_credentials"),
        ("http://user@hooks.example.com/", "webhook.url_credentials"),
        ("http:///hooks", "webhook.url_host"),
        ("http://hooks.example.com:99999/", "webhook.url_host"),
    ],
)
def test_a_url_that_is_not_a_plain_web_address_is_refused(url: str, code: str) -> None:
    with WebhookSender() as sender:
        attempt = send(sender, url)

    assert check_url(url) == code
    assert (attempt.status, attempt.error) == (None, "bad_url")


def test_the_loopback_receiver_is_refused_until_the_operator_allows_its_network(receiver: WebhookReceiver) -> None:
    with WebhookSender() as guarded:
        refused = send(guarded, receiver.url)
    with WebhookSender(allow_private=["127.0.0.0/8"]) as allowing:
        allowed = send(allowing, receiver.url)

    assert refused.error == "refused_address"
    assert check_url(receiver.url) == "webhook.url_private"
    assert allowed.delivered
    assert check_url(receiver.url, ["127.0.0.0/8"]) is None
    assert len(receiver.requests) == 1


def test_a_name_that_resolves_to_loopback_is_refused_unless_allowed(receiver: WebhookReceiver) -> None:
    url = f"http://localhost:{receiver.port}/hooks"

    with WebhookSender() as guarded:
        refused = send(guarded, url)
    with WebhookSender(allow_private=LOOPBACK) as allowing:
        allowed = send(allowing, url)

    assert check_url(url) == "webhook.url_private"
    assert refused.error == "refused_address"
    assert check_url(url, LOOPBACK) is None
    assert allowed.delivered


def test_every_address_is_allowed_with_a_star() -> None:
    assert check_url("http://169.254.169.254/", ["*"]) is None
    assert check_url("http://[::1]/", ["*"]) is None


def test_an_allowed_network_allows_nothing_beyond_itself() -> None:
    assert check_url("http://10.1.2.3/", ["10.1.0.0/16"]) is None
    assert check_url("http://10.2.0.1/", ["10.1.0.0/16"]) == "webhook.url_private"


def test_a_public_name_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        resolver(
            lambda host: (
                ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"] if host == "hooks.example.com" else None
            )
        ),
    )

    assert check_url("https://hooks.example.com/prorata") is None


def test_public_addresses_in_ipv6_clothing_are_accepted() -> None:
    assert check_url("http://[::ffff:93.184.215.14]/") is None
    assert check_url("http://[64:ff9b::5db8:d70e]/") is None  # NAT64 form of 93.184.215.14


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        resolver(lambda host: ["93.184.215.14", "10.0.0.7"] if host == "hooks.example.com" else None),
    )

    assert check_url("https://hooks.example.com/") == "webhook.url_private"


def test_a_name_that_does_not_resolve_is_refused_at_registration_and_fails_to_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolver(lambda host: [] if host == "nowhere.example" else None))

    with WebhookSender() as sender:
        attempt = send(sender, "https://nowhere.example/hooks")

    assert check_url("https://nowhere.example/hooks") == "webhook.url_host"
    assert (attempt.status, attempt.error) == (None, "dns")


def test_a_name_that_resolves_to_loopback_by_the_time_of_sending_is_refused_at_connection(
    monkeypatch: pytest.MonkeyPatch, receiver: WebhookReceiver
) -> None:
    # DNS rebinding: a public address while the endpoint is registered, the receiver on 127.0.0.1 when it is used.
    answers = iter([["93.184.215.14"]])
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        resolver(lambda host: next(answers, ["127.0.0.1"]) if host == "rebound.example" else None),
    )
    url = f"http://rebound.example:{receiver.port}/hooks"
    assert check_url(url) is None

    with WebhookSender() as sender:
        attempt = send(sender, url)

    assert (attempt.status, attempt.error) == (None, "refused_address")
    assert receiver.requests == []
