"""``prorata webhooks``, ``prorata events list`` and ``prorata worker`` on SQLite and PostgreSQL: the secret printed
once, each change to an endpoint, the refusals as one line with their code and exit status 1, and a worker process that
delivers the demo's events to a real receiver on 127.0.0.1, signed with the printed secret."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from prorata.adapters.db.database import create_database_engine
from prorata.adapters.db.schema import audit_log
from tests.integration.test_cli import prorata
from tests.integration.test_webhook_sender import resolver
from tests.webhook_receiver import WebhookReceiver

URL = "https://hooks.example.com/prorata"


@pytest.fixture(autouse=True)
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The installation's key in the test's own folder (never in the repository), no private network allowed, and
    ``hooks.example.com`` resolving to a public address without asking a name server (nothing is sent there)."""
    monkeypatch.delenv("PRORATA_SECRET_KEY", raising=False)
    monkeypatch.setenv("PRORATA_SECRET_FILE", str(tmp_path / "prorata.key"))
    monkeypatch.delenv("PRORATA_WEBHOOK_ALLOW_PRIVATE", raising=False)
    monkeypatch.setattr(socket, "getaddrinfo",
                        resolver(lambda host: ["93.184.215.14"] if host == "hooks.example.com" else None))  # fmt: skip


def ok(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    status, out, err = prorata(capsys, *args)
    assert (status, err) == (0, ""), err
    return out


def as_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    return json.loads(ok(capsys, *args, "--json"))


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """A refusal: exit status 1, nothing on standard output, one line on standard error."""
    status, out, err = prorata(capsys, *args)
    assert (status, out) == (1, ""), out + err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


def demo(capsys: pytest.CaptureFixture[str], database_url: str) -> None:
    """The demo accounts and their orders (which tell their events)."""
    ok(capsys, "demo", "--database", database_url)


def events(capsys: pytest.CaptureFixture[str], database_url: str, *args: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = as_json(capsys, "events", "list", "--limit", "200", *args, "--database",
                                          database_url)["events"]  # fmt: skip
    return found


def test_a_new_endpoint_prints_its_secret_once_and_the_list_never_shows_it(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an installation
    ok(capsys, "init", "--database", database_url)

    # when the operator registers two endpoints, the second with --json, and lists them
    printed = ok(capsys, "webhooks", "create", URL, "--event", "invoice.paid", "--database", database_url)
    created = as_json(capsys, "webhooks", "create", URL + "/2", "--description", "books", "--database", database_url)
    listed = ok(capsys, "webhooks", "list", "--database", database_url)
    listed_json = as_json(capsys, "webhooks", "list", "--database", database_url)

    # then each answer holds its secret once; the listing names both, without a secret
    first, secret_line = printed.strip().splitlines()
    assert first == f"endpoint 1: {URL} [enabled] invoice.paid"
    assert secret_line.startswith("secret (shown once): whsec_")
    assert created["secret"].startswith("whsec_")
    assert created["secret"] != secret_line.split(": ")[1]
    assert (created["id"], created["url"], created["event_types"], created["description"]) == (
        2, URL + "/2", [], "books",
    )  # fmt: skip
    assert listed.splitlines() == [first, f"endpoint 2: {URL}/2 [enabled] every event"]
    assert [e["id"] for e in listed_json["endpoints"]] == [1, 2]
    assert "whsec_" not in listed + json.dumps(listed_json)
    assert all("secret" not in e for e in listed_json["endpoints"])


def test_an_endpoint_is_disabled_enabled_retyped_rotated_and_deleted_each_change_an_audit_line(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an endpoint for every type
    ok(capsys, "init", "--database", database_url)
    created = as_json(capsys, "webhooks", "create", URL, "--database", database_url)

    # when the operator disables it, changes its types, enables it, rotates its secret twice and deletes it
    disabled = ok(capsys, "webhooks", "update", "1", "--disable", "--database", database_url)
    retyped = as_json(capsys, "webhooks", "update", "1", "--event", "order.placed", "--event", "invoice.paid",
                      "--database", database_url)  # fmt: skip
    enabled = ok(capsys, "webhooks", "update", "1", "--enable", "--database", database_url)
    rotated = ok(capsys, "webhooks", "rotate-secret", "1", "--database", database_url)
    rotated_json = as_json(capsys, "webhooks", "rotate-secret", "1", "--grace-hours", "2", "--database", database_url)
    deleted = ok(capsys, "webhooks", "delete", "1", "--database", database_url)

    # then each answer says the new state, each secret differs, and the endpoint is gone
    assert disabled.strip() == f"endpoint 1: {URL} [disabled (operator)] every event"
    assert (retyped["enabled"], retyped["event_types"]) == (False, ["order.placed", "invoice.paid"])
    assert enabled.strip() == f"endpoint 1: {URL} [enabled] order.placed, invoice.paid"
    new_secret = rotated.strip().splitlines()[1].removeprefix("new secret (shown once): ")
    assert len({created["secret"], new_secret, rotated_json["secret"]}) == 3
    assert all(s.startswith("whsec_") for s in (new_secret, rotated_json["secret"]))
    assert rotated_json["secret_rotated_grace_until"] is not None
    assert deleted.strip() == "endpoint 1 deleted"
    assert ok(capsys, "webhooks", "list", "--database", database_url).strip() == "none"
    assert "[webhook.unknown]" in refused(capsys, "webhooks", "delete", "1", "--database", database_url)
    engine = create_database_engine(database_url)
    try:
        with engine.connect() as conn:
            lines = conn.execute(select(audit_log.c.actor, audit_log.c.action).order_by(audit_log.c.id)).all()
    finally:
        engine.dispose()
    assert [tuple(line) for line in lines] == [
        ("operator", "webhook_endpoint.created"), *[("operator", "webhook_endpoint.updated")] * 3,
        *[("operator", "webhook_endpoint.secret_rotated")] * 2, ("operator", "webhook_endpoint.deleted"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:9/hooks", "webhook.url_private"),
        ("http://10.0.0.1/h", "webhook.url_private"),
        ("http://169.254.169.254/", "webhook.url_private"),
        ("ftp://hooks.example.com/x", "webhook.url_scheme"),
    ],
)
def test_a_refused_address_exits_1_with_one_line_naming_why(
    database_url: str, capsys: pytest.CaptureFixture[str], url: str, code: str
) -> None:
    ok(capsys, "init", "--database", database_url)

    message = refused(capsys, "webhooks", "create", url, "--database", database_url)

    assert message.startswith("prorata: url: ")
    assert message.endswith(f"[{code}]")
    assert ok(capsys, "webhooks", "list", "--database", database_url).strip() == "none"


def test_a_private_address_is_registered_when_the_operator_allows_its_network(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(capsys, "init", "--database", database_url)
    monkeypatch.setenv("PRORATA_WEBHOOK_ALLOW_PRIVATE", "127.0.0.0/8")

    created = as_json(capsys, "webhooks", "create", "http://127.0.0.1:9/hooks", "--database", database_url)

    assert (created["id"], created["url"]) == (1, "http://127.0.0.1:9/hooks")
    assert "[webhook.url_private]" in refused(capsys, "webhooks", "create", "http://10.0.0.1/h", "--database",
                                              database_url)  # fmt: skip


def test_an_unknown_endpoint_exits_1_naming_webhook_unknown(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(capsys, "init", "--database", database_url)

    for args in (["update", "999", "--disable"], ["update", "999"], ["rotate-secret", "999"],
                 ["replay", "999", "--since", "2026-01-01T00:00:00Z"]):  # fmt: skip
        message = refused(capsys, "webhooks", *args, "--database", database_url)
        assert message.endswith("[webhook.unknown]"), args
        assert "999" in message


def test_events_list_shows_the_demo_orders_events_oldest_first(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the demo's orders
    demo(capsys, database_url)

    # when the operator lists the events, all of them, then the payments only, then two at a time
    everything = events(capsys, database_url)
    paid = events(capsys, database_url, "--type", "invoice.paid")
    two = as_json(capsys, "events", "list", "--limit", "2", "--database", database_url)
    rest = as_json(capsys, "events", "list", "--after", two["events"][-1]["id"], "--limit", "200", "--database",
                   database_url)  # fmt: skip
    text = ok(capsys, "events", "list", "--database", database_url)

    # then each paid order tells its order, invoice, payment and subscription in that order, and the pages join up
    kinds = [e["type"] for e in everything]
    start = kinds.index("order.placed")
    assert kinds[start : start + 4] == ["order.placed", "invoice.issued", "invoice.paid", "subscription.created"]
    assert len(paid) == kinds.count("invoice.paid") >= 2
    assert [e["data"]["number"] for e in paid] == [
        e["data"]["invoice_number"] for e in everything if e["type"] == "order.placed" and e["data"]["invoice_number"]
    ]
    assert two["has_more"] is True
    assert [e["id"] for e in two["events"] + rest["events"]] == [e["id"] for e in everything]
    assert rest["has_more"] is False
    assert len(text.strip().splitlines()) == len(everything)
    assert everything[0]["id"] in text.splitlines()[0]
    message = refused(capsys, "events", "list", "--after", "evt_" + "0" * 32, "--database", database_url)
    assert message.endswith("[event.unknown]")


def worker(database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``prorata worker --once`` in a process of its own, as an operator starts it, private addresses allowed on
    127.0.0.0/8 where the receiver listens."""
    env = {**os.environ, "PRORATA_WEBHOOK_ALLOW_PRIVATE": "127.0.0.0/8"}
    return subprocess.run([sys.executable, "-m", "prorata", "worker", "--once", "--database", database_url],
                          capture_output=True, text=True, timeout=120, env=env, cwd=cwd)  # fmt: skip


def test_a_worker_delivers_each_event_signed_and_a_replay_since_a_time_sends_them_again(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:  # fmt: skip
    # given the receiver registered for payments, then the demo's orders
    monkeypatch.setenv("PRORATA_WEBHOOK_ALLOW_PRIVATE", "127.0.0.0/8")
    ok(capsys, "init", "--database", database_url)
    created = as_json(capsys, "webhooks", "create", receiver.url, "--event", "invoice.paid", "--database",
                      database_url)  # fmt: skip
    monkeypatch.delenv("PRORATA_WEBHOOK_ALLOW_PRIVATE")  # the worker's own environment allows it
    demo(capsys, database_url)
    paid = events(capsys, database_url, "--type", "invoice.paid")

    # when a worker process runs one round
    done = worker(database_url, tmp_path)

    # then the receiver got each payment once (each account's in order; accounts side by side), signed with the
    # printed secret, its body the event as listed
    got = receiver.requests
    for request in got:
        Webhook(created["secret"]).verify(request.body, request.headers)  # at once: it carries the wall clock
    assert done.returncode == 0, done.stderr
    by_id = {e["id"]: e for e in paid}
    assert sorted(r.headers["webhook-id"] for r in got) == sorted(by_id)
    assert [json.loads(r.body) for r in got] == [by_id[r.headers["webhook-id"]] for r in got]
    log = as_json(capsys, "webhooks", "deliveries", "1", "--database", database_url)["deliveries"]
    assert sorted((d["event_id"], d["status"]) for d in log) == sorted((i, "delivered") for i in by_id)
    assert all([(a["attempt"], a["status_code"]) for a in d["attempts"]] == [(1, 204)] for d in log)
    assert " delivered; #1 " in ok(capsys, "webhooks", "deliveries", "1", "--database", database_url)

    # and when the operator replays everything since long ago, a second round sends each payment again
    queued = ok(capsys, "webhooks", "replay", "1", "--since", "2000-01-01T00:00:00Z", "--database", database_url)
    again = worker(database_url, tmp_path)

    assert queued.strip() == f"{len(paid)} deliveries queued"
    assert again.returncode == 0, again.stderr
    assert sorted(r.headers["webhook-id"] for r in receiver.requests[len(got) :]) == sorted(by_id)
    assert (tmp_path / "prorata.key").exists()  # the key the secrets come from, where PRORATA_SECRET_FILE says


def test_a_replay_since_a_time_without_its_offset_exits_1(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(capsys, "init", "--database", database_url)
    ok(capsys, "webhooks", "create", URL, "--database", database_url)

    message = refused(capsys, "webhooks", "replay", "1", "--since", "2026-01-01T00:00:00", "--database", database_url)

    assert message.startswith("prorata: since: ")
    assert message.endswith("[time.not_a_datetime]")


@pytest.mark.parametrize(
    ("command", "own", "not_the_parent_s"),
    [
        (["worker"], ["--once", "--lease", "--interval", "--collect-every", "--collectors"], ["{", "webhooks"]),
        (["webhooks", "create"], ["--event", "--description", "url"], ["rotate-secret", "--grace-hours", "--once"]),
    ],
)
def test_a_command_s_help_shows_its_own_options(
    capsys: pytest.CaptureFixture[str], command: list[str], own: list[str], not_the_parent_s: list[str]
) -> None:
    status, out, _ = prorata(capsys, *command, "--help")

    assert status == 0
    assert out.startswith(f"usage: prorata {' '.join(command)} ")
    for option in own:
        assert option in out
    for other in not_the_parent_s:
        assert other not in out
