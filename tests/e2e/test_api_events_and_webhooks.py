"""Events and webhook endpoints through the REST API, on SQLite and PostgreSQL: what an order tells, read a page at a
time, by type and by time; what an account's key may see; the operator's endpoints, their refusals and their audit
lines; and a delivery end to end to a real receiver on 127.0.0.1, verified as any Standard Webhooks receiver would."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from prorata.adapters.db.api_keys import find_api_key
from prorata.adapters.db.schema import audit_log
from prorata.bootstrap import App, build
from prorata.config import WebhookSettings
from prorata.entrypoints.cli.worker import work_round
from prorata.entrypoints.web import create_app
from tests.e2e.api_client import NOW, Account, Api
from tests.e2e.test_api_access import assert_problem
from tests.integration.test_webhook_sender import resolver
from tests.webhook_receiver import WebhookReceiver

PRO_2 = {"type": "change_plan", "product": "pro", "licenses": 2}
TOLD_BY_AN_ORDER = ["order.placed", "invoice.issued", "invoice.paid", "subscription.created", "entitlements.updated"]
ENDPOINTS = "/api/v1/operator/webhook-endpoints"
PUBLIC = "93.184.215.14"
PRIVATE = ["http://10.0.0.1/h", "http://169.254.169.254/", "http://127.0.0.1:9/"]


@pytest.fixture(autouse=True)
def secret_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The installation's key, from which the signing secrets are derived, in the test's own folder."""
    monkeypatch.delenv("PRORATA_SECRET_KEY", raising=False)
    monkeypatch.setenv("PRORATA_SECRET_FILE", str(tmp_path / "prorata.key"))


@pytest.fixture(autouse=True)
def public_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """``hooks.example.com`` resolves to a public address without asking any name server (nothing is sent there)."""
    monkeypatch.setattr(socket, "getaddrinfo", resolver(lambda host: [PUBLIC] if host == "hooks.example.com" else None))


@pytest.fixture
def loopback(api_app: App) -> Iterator[Api]:
    """The API of an installation whose operator allowed webhooks to 127.0.0.0/8, where the receiver listens."""
    api_app.webhooks = WebhookSettings(allow_private=("127.0.0.0/8",))
    with TestClient(create_app(api_app)) as client:
        yield Api(api_app, client)


def events(api: Api, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = api.client.get("/api/v1/events", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def every_event(api: Api, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
    page = events(api, headers or api.operator, limit=200, **params)
    assert page["has_more"] is False
    found: list[dict[str, Any]] = page["data"]
    return found


def ordered(api: Api, code: str = "acme") -> tuple[Account, dict[str, Any]]:
    """An account with a card (which tells ``payment_method.added``) and an order placed through the API."""
    account = api.open_account(code)
    placed = account.order(PRO_2, key=f"buy-{code}")
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return account, order


def create_endpoint(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    created = api.client.post(ENDPOINTS, json=body, headers=api.operator)
    assert created.status_code == 201, created.text
    endpoint: dict[str, Any] = created.json()
    return endpoint


def audit_lines(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    with api.app.engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.actor, audit_log.c.action, audit_log.c.detail).order_by(audit_log.c.id))
        return [(actor, action, json.loads(detail)) for actor, action, detail in rows]


def operator_actor(api: Api) -> str:
    with api.app.engine.connect() as conn:
        key = find_api_key(conn, api.operator["Authorization"].removeprefix("Bearer "))
    assert key is not None
    return f"api-key:{key.prefix}"


# ------------------------------------------------------------------------------------------------------ events


def test_an_order_tells_its_order_invoice_payment_subscription_and_entitlements_in_that_order(api: Api) -> None:
    # given an account with a card, then an order placed through the API
    acme, order = ordered(api)

    # when the operator lists the events
    everything = every_event(api)
    told = everything[1:]

    # then after the card's, they are the order's five, oldest first, each with its object as the API shows it
    assert everything[0]["type"] == "payment_method.added"
    assert [e["type"] for e in told] == TOLD_BY_AN_ORDER
    assert {e["account_id"] for e in told} == {acme.id}
    assert [e["object"] for e in told] == ["order", "invoice", "invoice", "subscription", "entitlements"]
    by_type = {e["type"]: e for e in told}
    assert by_type["invoice.issued"]["data"]["number"] == order["invoice_number"]
    assert by_type["invoice.paid"]["data"]["number"] == order["invoice_number"]
    assert by_type["invoice.paid"]["data"]["status"] == "paid"
    assert by_type["order.placed"]["data"]["id"] == order["order_id"]
    assert by_type["subscription.created"]["data"]["product"] == "pro"
    assert all(e["id"].startswith("evt_") for e in told)
    assert len({e["id"] for e in told}) == len(told)


def test_one_event_read_by_its_id_is_the_event_listed(api: Api) -> None:
    ordered(api)
    listed = every_event(api)

    for event in listed:
        found = api.client.get(f"/api/v1/events/{event['id']}", headers=api.operator)
        assert found.status_code == 200, found.text
        assert found.json() == event


def test_pages_of_two_walk_every_event_once_and_the_last_says_there_is_no_more(api: Api) -> None:
    # given seven events: two accounts' cards, then one order
    ordered(api)
    api.open_account("other")
    everything = every_event(api)
    assert len(everything) == 7

    # when they are read two at a time, each page after the last event of the one before
    walked: list[str] = []
    pages: list[dict[str, Any]] = [events(api, api.operator, limit=2)]
    while pages[-1]["has_more"]:
        walked.extend(e["id"] for e in pages[-1]["data"])
        pages.append(events(api, api.operator, limit=2, after=pages[-1]["next_after"]))
    walked.extend(e["id"] for e in pages[-1]["data"])

    # then every event came once, in order, in four pages, the last of one event saying there is no more
    assert walked == [e["id"] for e in everything]
    assert [len(p["data"]) for p in pages] == [2, 2, 2, 1]
    assert [p["has_more"] for p in pages] == [True, True, True, False]
    assert pages[-1]["next_after"] == everything[-1]["id"]
    after_the_last = events(api, api.operator, after=everything[-1]["id"])
    assert (after_the_last["data"], after_the_last["has_more"]) == ([], False)


def test_events_are_filtered_by_two_types_at_once(api: Api) -> None:
    ordered(api)

    found = every_event(api, type=["invoice.paid", "subscription.created"])

    assert [e["type"] for e in found] == ["invoice.paid", "subscription.created"]


def test_events_are_filtered_by_when_they_were_created_from_included_and_before_excluded(api: Api) -> None:
    # given the order's events at NOW and another account's card a day later
    ordered(api)
    later = NOW + timedelta(days=1)
    api.at(later)
    other = api.open_account("other")

    # when the events are read from that day on, and before it
    since = every_event(api, created_from=later.isoformat())
    until = every_event(api, created_before=later.isoformat())
    inside = every_event(api, created_from=NOW.isoformat(), created_before=(NOW + timedelta(seconds=1)).isoformat())

    # then the later card alone is from that day; everything else is before it, all of it at NOW
    assert [(e["type"], e["account_id"]) for e in since] == [("payment_method.added", other.id)]
    assert [e["type"] for e in until] == ["payment_method.added", *TOLD_BY_AN_ORDER]
    assert inside == until
    assert every_event(api, created_from=later.astimezone(timezone(timedelta(hours=1))).isoformat()) == since


@pytest.mark.parametrize("name", ["created_from", "created_before"])
def test_a_time_without_its_offset_is_refused_at_its_field(api: Api, name: str) -> None:
    ordered(api)

    refused = assert_problem(api.client.get("/api/v1/events", params={name: "2026-11-15T10:00:00"},
                                            headers=api.operator), 422, "time.naive")  # fmt: skip

    assert refused["field"] == name
    assert name in refused["detail"]


def test_an_account_key_sees_only_its_own_account_s_events(api: Api) -> None:
    # given two accounts with an order each
    acme, _ = ordered(api, "acme")
    other, _ = ordered(api, "other")
    theirs = every_event(api, account_id=other.id)

    # when acme's key reads the events, and one of the other account's by its id
    mine = every_event(api, acme.headers)
    by_id = api.client.get(f"/api/v1/events/{theirs[0]['id']}", headers=acme.headers)
    named = api.client.get("/api/v1/events", params={"account_id": other.id}, headers=acme.headers)

    # then it sees its own six, not the other account's, which is not found for it
    assert [e["type"] for e in mine] == ["payment_method.added", *TOLD_BY_AN_ORDER]
    assert {e["account_id"] for e in mine} == {acme.id}
    assert [e["account_id"] for e in theirs] == [other.id] * 6
    assert assert_problem(by_id, 404, "event.not_found")["field"] == "event_id"
    assert assert_problem(named, 404, "account.not_found")["field"] == "account_id"
    assert every_event(api, acme.headers, account_id=acme.id) == mine
    own = api.client.get(f"/api/v1/events/{mine[0]['id']}", headers=acme.headers)
    assert (own.status_code, own.json()) == (200, mine[0])


def test_an_unknown_cursor_or_event_is_a_404_naming_it(api: Api) -> None:
    ordered(api)
    unknown = "evt_" + "0" * 32

    after = assert_problem(api.client.get("/api/v1/events", params={"after": unknown}, headers=api.operator), 404,
                           "event.not_found")  # fmt: skip
    one = assert_problem(api.client.get(f"/api/v1/events/{unknown}", headers=api.operator), 404, "event.not_found")

    assert after["field"] == "after"
    assert one["field"] == "event_id"


# ------------------------------------------------------------------------------------------- webhook endpoints


def test_an_account_key_may_not_touch_webhook_endpoints(api: Api) -> None:
    acme = api.open_account("acme", card=None)
    endpoint = create_endpoint(api, {"url": "https://hooks.example.com/prorata"})
    one = f"{ENDPOINTS}/{endpoint['id']}"

    refusals = [
        api.client.get(ENDPOINTS, headers=acme.headers),
        api.client.post(ENDPOINTS, json={"url": "https://hooks.example.com/other"}, headers=acme.headers),
        api.client.get(one, headers=acme.headers),
        api.client.patch(one, json={"enabled": False}, headers=acme.headers),
        api.client.post(f"{one}/rotate-secret", json={}, headers=acme.headers),
        api.client.post(f"{one}/replay", json={"since": NOW.isoformat()}, headers=acme.headers),
        api.client.get(f"{one}/deliveries", headers=acme.headers),
        api.client.delete(one, headers=acme.headers),
    ]

    for refused in refusals:
        assert_problem(refused, 403, "auth.operator_only")
    listed = api.client.get(ENDPOINTS, headers=api.operator).json()
    assert [(e["id"], e["enabled"]) for e in listed] == [(endpoint["id"], True)]


def test_a_new_endpoint_shows_its_secret_once(api: Api) -> None:
    # when the operator registers an endpoint for two types
    body = {"url": "https://hooks.example.com/prorata", "event_types": ["invoice.paid", "order.placed"],
            "description": "billing"}  # fmt: skip
    created = create_endpoint(api, body)

    # then the answer holds the secret; reading the endpoint later never does
    assert created["secret"].startswith("whsec_")
    assert len(created["secret"]) > len("whsec_") + 20
    assert (created["url"], created["event_types"], created["description"], created["enabled"]) == (
        "https://hooks.example.com/prorata", ["invoice.paid", "order.placed"], "billing", True,
    )  # fmt: skip
    one = api.client.get(f"{ENDPOINTS}/{created['id']}", headers=api.operator)
    listed = api.client.get(ENDPOINTS, headers=api.operator)
    assert one.status_code == 200, one.text
    assert one.json() == {k: v for k, v in created.items() if k != "secret"}
    assert listed.json() == [one.json()]
    assert "whsec_" not in one.text + listed.text


@pytest.mark.parametrize("url", PRIVATE)
def test_an_address_in_a_private_network_is_refused_at_url(api: Api, url: str) -> None:
    refused = assert_problem(api.client.post(ENDPOINTS, json={"url": url}, headers=api.operator), 422,
                             "webhook.url_private")  # fmt: skip

    assert refused["field"] == "url"
    assert api.client.get(ENDPOINTS, headers=api.operator).json() == []


@pytest.mark.parametrize("url", PRIVATE)
def test_an_address_in_a_private_network_the_operator_allowed_is_registered(
    api_app: App, database_url: str, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    # given an operator who allowed every network, before the installation was built
    monkeypatch.setenv("PRORATA_WEBHOOK_ALLOW_PRIVATE", "10.0.0.0/8, 169.254.0.0/16,127.0.0.0/8")
    allowing = build(database_url)  # the same database as api_app's
    try:
        with TestClient(create_app(allowing)) as client:
            api = Api(allowing, client)

            # when the operator registers the private address
            created = api.client.post(ENDPOINTS, json={"url": url}, headers=api.operator)

            # then it is registered
            assert created.status_code == 201, created.text
            assert created.json()["url"] == url
    finally:
        allowing.close()


def test_an_address_that_is_not_http_or_an_unknown_event_type_is_refused_at_its_field(api: Api) -> None:
    ftp = api.client.post(ENDPOINTS, json={"url": "ftp://hooks.example.com/x"}, headers=api.operator)
    kind = api.client.post(ENDPOINTS, json={"url": "https://hooks.example.com/x", "event_types": ["invoice.eaten"]},
                           headers=api.operator)  # fmt: skip

    assert assert_problem(ftp, 422, "request.invalid")["field"] == "url"
    refused = assert_problem(kind, 422, "webhook.event_type")
    assert refused["field"] == "event_types"
    assert api.client.get(ENDPOINTS, headers=api.operator).json() == []


def test_patch_disables_enables_and_changes_the_event_types(api: Api) -> None:
    endpoint = create_endpoint(api, {"url": "https://hooks.example.com/prorata"})
    one = f"{ENDPOINTS}/{endpoint['id']}"

    disabled = api.client.patch(one, json={"enabled": False}, headers=api.operator)
    retyped = api.client.patch(one, json={"event_types": ["invoice.paid"]}, headers=api.operator)
    enabled = api.client.patch(one, json={"enabled": True}, headers=api.operator)

    assert disabled.status_code == 200, disabled.text
    assert (disabled.json()["enabled"], disabled.json()["disabled_reason"], disabled.json()["event_types"]) == (
        False, "operator", [],
    )  # fmt: skip
    assert disabled.json()["disabled_at"] is not None
    assert (retyped.json()["enabled"], retyped.json()["event_types"]) == (False, ["invoice.paid"])
    assert (enabled.json()["enabled"], enabled.json()["disabled_reason"], enabled.json()["disabled_at"]) == (
        True, None, None,
    )  # fmt: skip
    assert api.client.get(one, headers=api.operator).json() == enabled.json()
    assert "secret" not in enabled.json()


def test_a_rotated_secret_differs_and_the_previous_signs_for_24_hours_or_the_grace_asked(api: Api) -> None:
    endpoint = create_endpoint(api, {"url": "https://hooks.example.com/prorata"})
    one = f"{ENDPOINTS}/{endpoint['id']}"

    first = api.client.post(f"{one}/rotate-secret", json={}, headers=api.operator)
    second = api.client.post(f"{one}/rotate-secret", json={"grace_hours": 2}, headers=api.operator)

    assert first.status_code == second.status_code == 200, first.text + second.text
    secrets = [endpoint["secret"], first.json()["secret"], second.json()["secret"]]
    assert all(s.startswith("whsec_") for s in secrets)
    assert len(set(secrets)) == 3
    assert endpoint["secret_rotated_grace_until"] is None
    assert datetime.fromisoformat(first.json()["secret_rotated_grace_until"]) == NOW + timedelta(hours=24)
    assert datetime.fromisoformat(second.json()["secret_rotated_grace_until"]) == NOW + timedelta(hours=2)
    shown = api.client.get(one, headers=api.operator).json()
    assert "secret" not in shown
    assert shown["secret_rotated_grace_until"] == second.json()["secret_rotated_grace_until"]


def test_a_deleted_endpoint_is_gone(api: Api) -> None:
    endpoint = create_endpoint(api, {"url": "https://hooks.example.com/prorata"})
    one = f"{ENDPOINTS}/{endpoint['id']}"

    deleted = api.client.delete(one, headers=api.operator)

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert assert_problem(api.client.get(one, headers=api.operator), 404, "webhook.not_found")["field"] == "endpoint_id"
    assert api.client.get(ENDPOINTS, headers=api.operator).json() == []
    assert_problem(api.client.delete(one, headers=api.operator), 404, "webhook.not_found")
    assert_problem(api.client.patch(one, json={"enabled": True}, headers=api.operator), 404, "webhook.not_found")


def test_every_change_to_an_endpoint_is_an_audit_line_naming_the_operator_s_key(api: Api) -> None:
    ordered(api)
    before = len(audit_lines(api))
    endpoint = create_endpoint(api, {"url": "https://hooks.example.com/prorata"})
    one = f"{ENDPOINTS}/{endpoint['id']}"

    for answer in (
        api.client.patch(one, json={"enabled": False}, headers=api.operator),
        api.client.post(f"{one}/rotate-secret", json={}, headers=api.operator),
        api.client.post(f"{one}/replay", json={"since": NOW.isoformat()}, headers=api.operator),
        api.client.delete(one, headers=api.operator),
    ):
        assert answer.status_code < 300, answer.text

    lines = audit_lines(api)[before:]
    assert [action for _, action, _ in lines] == [
        "webhook_endpoint.created", "webhook_endpoint.updated", "webhook_endpoint.secret_rotated",
        "webhook_endpoint.replayed", "webhook_endpoint.deleted",
    ]  # fmt: skip
    assert {actor for actor, _, _ in lines} == {operator_actor(api)}
    assert all(detail["endpoint"] == endpoint["id"] for _, _, detail in lines)
    assert lines[0][2]["url"] == "https://hooks.example.com/prorata"
    assert lines[1][2]["enabled"] is False
    assert lines[3][2]["deliveries"] == 6
    assert all(endpoint["secret"] not in json.dumps(detail) for _, _, detail in lines)


# ---------------------------------------------------------------------------------------------------- delivering


def deliver(api: Api) -> int:
    """One round of ``prorata worker``, in this process; how many deliveries it made."""
    with api.app.webhook_sender() as sender:
        return work_round(api.app, sender, purge=False).delivered


def deliveries(api: Api, endpoint_id: int) -> list[dict[str, Any]]:
    answer = api.client.get(f"{ENDPOINTS}/{endpoint_id}/deliveries", headers=api.operator)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def test_each_event_reaches_the_receiver_once_signed_with_the_secret_and_as_the_api_shows_it(
    loopback: Api, receiver: WebhookReceiver
) -> None:
    # given the receiver registered for every type, then an order
    api = loopback
    endpoint = create_endpoint(api, {"url": receiver.url})
    ordered(api)
    told = every_event(api)

    # when a worker runs one round
    delivered = deliver(api)

    # then the receiver got each event once, in order, signed with the endpoint's secret (checked at once: the
    # signature carries the wall clock's time), its body the event as GET /events/{id} answers it
    got = receiver.requests
    signed = Webhook(endpoint["secret"])
    for request in got:
        signed.verify(request.body, request.headers)
    assert delivered == len(told) == 6
    assert [r.headers["webhook-id"] for r in got] == [e["id"] for e in told]
    for request in got:
        one = api.client.get(f"/api/v1/events/{request.headers['webhook-id']}", headers=api.operator)
        assert json.loads(request.body) == one.json()
    assert {r.method for r in got} == {"POST"}
    log = deliveries(api, endpoint["id"])
    assert [d["event_id"] for d in log] == [e["id"] for e in reversed(told)]  # newest first
    assert {d["status"] for d in log} == {"delivered"}
    assert [[(a["attempt"], a["status_code"], a["error"]) for a in d["attempts"]] for d in log] == [
        [(1, 204, None)]
    ] * 6
    assert deliver(api) == 0  # nothing is sent twice
    assert len(receiver.requests) == 6


def test_an_endpoint_gets_only_the_types_it_wants(loopback: Api, receiver: WebhookReceiver) -> None:
    api = loopback
    endpoint = create_endpoint(api, {"url": receiver.url, "event_types": ["invoice.paid"]})
    ordered(api)

    deliver(api)

    paid = every_event(api, type=["invoice.paid"])
    assert [r.headers["webhook-id"] for r in receiver.requests] == [paid[0]["id"]]
    assert [d["event_type"] for d in deliveries(api, endpoint["id"])] == ["invoice.paid"]


def test_a_replayed_event_is_sent_again_with_its_own_id(loopback: Api, receiver: WebhookReceiver) -> None:
    # given every event of an order delivered
    api = loopback
    endpoint = create_endpoint(api, {"url": receiver.url})
    ordered(api)
    deliver(api)
    paid = every_event(api, type=["invoice.paid"])[0]
    one = f"{ENDPOINTS}/{endpoint['id']}"

    # when the operator replays the payment and a worker runs a round
    replayed = api.client.post(f"{one}/replay", json={"event_id": paid["id"]}, headers=api.operator)
    delivered = deliver(api)

    # then one delivery was queued and the receiver got the payment again, with the same id and body, signed
    assert (replayed.status_code, replayed.json()) == (200, {"deliveries": 1})
    assert delivered == 1
    again = receiver.requests[6:]
    assert [r.headers["webhook-id"] for r in again] == [paid["id"]]
    Webhook(endpoint["secret"]).verify(again[0].body, again[0].headers)
    assert json.loads(again[0].body) == paid
    log = deliveries(api, endpoint["id"])
    assert (len(log), log[0]["event_id"], log[0]["status"]) == (7, paid["id"], "delivered")
    assert [len(d["attempts"]) for d in log if d["event_id"] == paid["id"]] == [1, 1]  # a delivery of its own


def test_replaying_since_a_time_queues_every_event_since_then(loopback: Api, receiver: WebhookReceiver) -> None:
    # given the order's events at NOW delivered, and another account's card a day later
    api = loopback
    endpoint = create_endpoint(api, {"url": receiver.url})
    ordered(api)
    later = NOW + timedelta(days=1)
    api.at(later)
    api.open_account("other")
    deliver(api)
    assert len(receiver.requests) == 7
    one = f"{ENDPOINTS}/{endpoint['id']}"

    # when the operator replays everything since NOW, then since the later day (as +01:00)
    everything = api.client.post(f"{one}/replay", json={"since": NOW.isoformat()}, headers=api.operator)
    since_later = api.client.post(f"{one}/replay", json={"since": "2026-11-16T11:00:00+01:00"}, headers=api.operator)
    deliver(api)

    # then seven were queued, then one, and the receiver got them again in order with their own ids
    assert (everything.status_code, everything.json()) == (200, {"deliveries": 7})
    assert (since_later.status_code, since_later.json()) == (200, {"deliveries": 1})
    ids = [e["id"] for e in every_event(api)]
    assert sorted(r.headers["webhook-id"] for r in receiver.requests[7:]) == sorted([*ids, ids[-1]])


@pytest.mark.parametrize(
    "body",
    [{}, {"event_id": "evt_" + "0" * 32, "since": NOW.isoformat()}],
    ids=["neither", "both"],
)
def test_a_replay_names_one_event_or_a_time_not_neither_nor_both(api: Api, body: dict[str, Any]) -> None:
    endpoint = create_endpoint(api, {"url": "https://hooks.example.com/prorata"})

    refused = api.client.post(f"{ENDPOINTS}/{endpoint['id']}/replay", json=body, headers=api.operator)

    assert assert_problem(refused, 422, "webhook.replay_what")["field"] == "event_id"


def test_a_replay_since_a_time_without_its_offset_or_of_an_unknown_event_is_refused(api: Api) -> None:
    endpoint = create_endpoint(api, {"url": "https://hooks.example.com/prorata"})
    replay = f"{ENDPOINTS}/{endpoint['id']}/replay"

    naive = api.client.post(replay, json={"since": "2026-11-15T10:00:00"}, headers=api.operator)
    number = api.client.post(replay, json={"since": 1763200800}, headers=api.operator)
    unknown = api.client.post(replay, json={"event_id": "evt_" + "0" * 32}, headers=api.operator)

    assert assert_problem(naive, 422, "time.naive")["field"] == "since"
    assert assert_problem(number, 422, "request.invalid")["field"] == "since"
    assert assert_problem(unknown, 404, "event.unknown")["field"] == "event_id"
    assert audit_lines(api)[-1][1] == "webhook_endpoint.created"  # nothing was replayed
