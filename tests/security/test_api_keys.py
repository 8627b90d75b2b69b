"""API keys: listed and revoked from the CLI and by an operator key, refused at once when revoked, read-only keys that
change nothing, rate limits per key, and every key change in the audit trail (rule X4: each refusal names its code
and field). On SQLite and PostgreSQL (the ``api`` fixture)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from prorata.adapters.db.api_keys import create_api_key
from prorata.adapters.db.schema import api_keys, audit_log
from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.cli.main import main
from prorata.entrypoints.web import create_app
from prorata.services.api_keys import RevokeApiKey, revoke_api_key
from tests.e2e.api_client import NOW, Api
from tests.e2e.test_api_access import assert_problem, furnished

STATELESS_QUOTE = {
    "account": {"currency": "USD", "time_zone": "UTC"},
    "subscriptions": [{"id": "plan", "product": "pro", "interval": "month", "quantity": 3,
                       "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-12-01T00:00:00Z"}],
    "at": "2026-11-15T10:00:00Z",
    "changes": [{"type": "change_plan", "product": "business", "licenses": 10}],
}  # fmt: skip
ACCOUNT_QUOTE = {"changes": [{"type": "set_licenses", "total": 5}]}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def prefix_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split("_")[1]


def prorata(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def audit_lines(app: App, action: str) -> list[tuple[int | None, str, dict[str, Any]]]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.account_id, audit_log.c.actor, audit_log.c.detail)
            .where(audit_log.c.action == action)
            .order_by(audit_log.c.id)
        ).all()
    return [(account, actor, json.loads(detail)) for account, actor, detail in rows]


# ------------------------------------------------------------------------------------------------ listing, revoking
def test_an_operator_key_makes_lists_and_revokes_keys_and_the_listing_shows_what_tells_them_apart(api: Api) -> None:
    acme = api.open_account("acme")
    made = api.client.post("/api/v1/operator/api-keys", headers=api.operator,
                           json={"account_id": acme.id, "name": "reports", "scope": "read_only"})  # fmt: skip
    assert made.status_code == 201, made.text
    secret = made.json()["key"]
    assert secret.startswith(f"prk_{made.json()['prefix']}_")
    assert api.client.get(f"{acme.url}/invoices", headers=bearer(secret)).status_code == 200

    listed = api.client.get("/api/v1/operator/api-keys", headers=api.operator)
    assert listed.status_code == 200, listed.text
    reports = next(key for key in listed.json() if key["name"] == "reports")
    assert reports == {
        "prefix": made.json()["prefix"], "name": "reports", "scope": "read_only", "account_id": acme.id,
        "account_code": "acme", "created_at": "2026-11-15T10:00:00Z", "last_used_at": "2026-11-15T10:00:00Z",
        "revoked_at": None,
    }  # fmt: skip
    assert secret not in listed.text
    assert "hash" not in listed.text
    only_acme = api.client.get(f"/api/v1/operator/api-keys?account_id={acme.id}", headers=api.operator).json()
    assert {key["account_id"] for key in only_acme} == {acme.id}
    assert len(only_acme) == 2  # the test client's own key of the account and "reports"

    revoked = api.client.post(f"/api/v1/operator/api-keys/{reports['prefix']}/revoke", headers=api.operator)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] == "2026-11-15T10:00:00Z"
    assert_problem(api.client.get(f"{acme.url}/invoices", headers=bearer(secret)), 401, "auth.invalid_key")


def test_revoking_an_unknown_or_revoked_key_is_a_refusal_naming_the_prefix(api: Api) -> None:
    # rule X4: a refusal with its code and field, never a crash
    unknown = assert_problem(api.client.post("/api/v1/operator/api-keys/0123456789ab/revoke", headers=api.operator),
                             404, "api_key.unknown")  # fmt: skip
    assert unknown["field"] == "prefix"
    other = api.key(None)
    url = f"/api/v1/operator/api-keys/{prefix_of(other)}/revoke"
    assert api.client.post(url, headers=api.operator).status_code == 200
    again = assert_problem(api.client.post(url, headers=api.operator), 409, "api_key.revoked")
    assert again["field"] == "prefix"
    with pytest.raises(InvalidInput) as refused:
        revoke_api_key(RevokeApiKey("not a prefix"), uow=api.app.uow, clock=api.app.clock)
    assert (refused.value.code, refused.value.field) == ("api_key.unknown", "prefix")


def test_an_account_key_cannot_reach_the_key_routes(api: Api) -> None:
    acme = api.open_account("acme")
    for method, path in (("GET", "/api-keys"), ("POST", "/api-keys"), ("POST", f"/api-keys/{prefix_of(acme.headers)}"
                                                                                 "/revoke")):  # fmt: skip
        refused = api.client.request(method, "/api/v1/operator" + path, headers=acme.headers, json={})
        assert_problem(refused, 403, "auth.operator_only")
    assert api.client.get("/api/v1/key", headers=acme.headers).status_code == 200  # the key was not revoked


def test_a_key_revoked_from_the_command_line_is_refused_on_the_very_next_request(
    api: Api, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the server keeps running while another process (the CLI) revokes the key: no cache lets it through
    acme = api.open_account("acme")
    assert acme.get().status_code == 200
    status, out, _ = prorata(capsys, "apikey", "revoke", prefix_of(acme.headers), "--database", database_url)
    assert status == 0, out
    assert_problem(acme.get(), 401, "auth.invalid_key")
    assert_problem(api.client.get("/api/v1/catalog", headers=acme.headers), 401, "auth.invalid_key")


def test_a_key_revoked_through_the_use_case_is_refused_at_once_by_a_server_that_just_accepted_it(api: Api) -> None:
    operator = api.key(None)
    assert api.client.get("/api/v1/catalog", headers=operator).status_code == 200
    revoke_api_key(RevokeApiKey(prefix_of(operator)), uow=api.app.uow, clock=api.app.clock)
    assert_problem(api.client.get("/api/v1/catalog", headers=operator), 401, "auth.invalid_key")


def test_last_used_is_written_at_most_once_a_minute(api: Api) -> None:
    def last_used() -> Any:
        with api.app.engine.connect() as conn:
            return conn.execute(
                select(api_keys.c.last_used_at).where(api_keys.c.prefix == prefix_of(api.operator))
            ).scalar_one()  # fmt: skip

    def used_at(moved: timedelta) -> None:
        api.at(NOW + moved)
        api.app.clock.refresh()
        assert api.client.get("/api/v1/catalog", headers=api.operator).status_code == 200

    used_at(timedelta(0))
    assert last_used() == NOW
    used_at(timedelta(seconds=59))
    assert last_used() == NOW  # no write for a use within the minute
    used_at(timedelta(seconds=60))
    assert last_used() == NOW + timedelta(seconds=60)


# ------------------------------------------------------------------------------------------------ read-only keys
COMPUTING = {("post", "/quote"), ("post", "/accounts/{account_id}/quote")}  # they price and write nothing


def operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    paths = api.client.get("/api/v1/openapi.json", headers=api.operator).json()["paths"]
    return [(method, path, operation) for path, item in paths.items() for method, operation in item.items()]


def test_a_read_only_key_is_refused_by_every_route_that_writes_and_nothing_changes(api: Api) -> None:
    mine, rows = furnished(api, "mine")
    with api.app.engine.begin() as conn:
        _, account_secret = create_api_key(conn, account_id=mine.id, name="ro", now=NOW, scope="read_only")
        _, operator_secret = create_api_key(conn, account_id=None, name="ro-ops", now=NOW, scope="read_only")
    account_key, operator_key = bearer(account_secret), bearer(operator_secret)
    rows["prefix"] = prefix_of(operator_key)  # a real key to revoke
    rows["endpoint_id"] = 1  # refused before it is looked up
    for key in (account_key, operator_key):
        assert api.client.get("/api/v1/key", headers=key).json()["scope"] == "read_only"
    before = api.snapshot()

    walked = []
    for method, path, operation in operations(api):
        if path.startswith(("/webhooks/", "/express-pay/")):
            continue  # signed by the gateway, or (express pay, rule EP1) public: not reached with an API key
        if method == "get" or (method, path) in COMPUTING:
            assert operation["x-read-only-key"] is True, (method, path)
            continue
        assert operation["x-read-only-key"] is False, (method, path)
        url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(rows[m.group(1)]), path)
        key = account_key if "{account_id}" in path else operator_key
        refused = api.client.request(method.upper(), url, headers={**key, "Idempotency-Key": "walk"}, json={})
        body = assert_problem(refused, 403, "auth.read_only_key")
        assert body["field"] == "Authorization", (method, path)
        walked.append((method.upper(), path))

    assert len(walked) >= 13
    assert {("POST", "/accounts/{account_id}/orders"), ("POST", "/accounts/{account_id}/payments"),
            ("POST", "/operator/billing-runs"), ("POST", "/operator/api-keys/{prefix}/revoke"),
            ("POST", "/operator/webhook-endpoints"), ("PATCH", "/operator/webhook-endpoints/{endpoint_id}"),
            ("DELETE", "/accounts/{account_id}/payment-methods/{payment_method_id}"), ("POST", "/discount-codes"),
            ("POST", "/discount-codes/{code}/retire"), ("POST", "/accounts/{account_id}/discount"),
            ("DELETE", "/accounts/{account_id}/discount")} <= set(walked)  # fmt: skip
    assert api.snapshot() == before  # nothing was written


def test_a_read_only_key_reads_and_quotes(api: Api) -> None:
    mine, rows = furnished(api, "mine")
    with api.app.engine.begin() as conn:
        _, secret = create_api_key(conn, account_id=mine.id, name="ro", now=NOW, scope="read_only")
    key = bearer(secret)
    for method, path, _ in operations(api):
        if method != "get" or "{account_id}" not in path:
            continue
        url = "/api/v1" + re.sub(r"\{(\w+)\}", lambda m: str(rows[m.group(1)]), path)
        answer = api.client.get(url, headers=key)
        if answer.status_code == 403 and answer.json()["code"] == "auth.operator_only":
            continue  # an operator's reading of the account (its invoice terms, rule NT1): no account key reads it
        if path.endswith("/trial"):  # an account that never had a free trial has none to read (rule TR1)
            assert (answer.status_code, answer.json()["code"]) == (404, "trial.not_found"), path
            continue
        assert answer.status_code == 200, path
    assert api.client.post("/api/v1/quote", headers=key, json=STATELESS_QUOTE).status_code == 200
    quoted = api.client.post(f"{mine.url}/quote", headers=key, json=ACCOUNT_QUOTE)
    assert quoted.status_code == 200, quoted.text


# ------------------------------------------------------------------------------------------------ rate limits
def test_each_key_is_rate_limited_with_429_retry_after_and_headers_that_count_down(
    api_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRORATA_API_RATE_LIMIT", "3/minute")
    with TestClient(create_app(api_app)) as client:
        api = Api(api_app, client)
        other = api.key(None)
        answers = [client.get("/api/v1/catalog", headers=api.operator) for _ in range(4)]
        assert [a.status_code for a in answers[:3]] == [200, 200, 200]
        assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
        for answer in answers:
            assert answer.headers["RateLimit-Limit"] == "3"
            assert answer.headers["RateLimit-Policy"] == "3;w=60"
            assert 1 <= int(answer.headers["RateLimit-Reset"]) <= 60
            assert answer.headers["X-Content-Type-Options"] == "nosniff"  # the security headers stay
        refused = assert_problem(answers[3], 429, "auth.rate_limited")
        assert refused["field"] == "Authorization"
        assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
        assert answers[3].headers["RateLimit-Remaining"] == "0"
        # another key has its own count; a refusal of the limited key still carries its headers
        assert client.get("/api/v1/catalog", headers=other).headers["RateLimit-Remaining"] == "2"
        assert client.post("/api/v1/accounts", headers=api.operator, json={}).status_code == 429


def test_rate_limits_are_on_by_default_and_can_be_turned_off(api_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRORATA_API_RATE_LIMIT", raising=False)
    with TestClient(create_app(api_app)) as client:
        answer = client.get("/api/v1/catalog", headers=Api(api_app, client).operator)
        assert (answer.headers["RateLimit-Limit"], answer.headers["RateLimit-Policy"]) == ("600", "600;w=60")
        assert "RateLimit-Limit" not in client.get("/api/v1/health").headers  # no key, nothing counted
    monkeypatch.setenv("PRORATA_API_RATE_LIMIT", "off")
    with TestClient(create_app(api_app)) as client:
        answer = client.get("/api/v1/catalog", headers=Api(api_app, client).operator)
        assert answer.status_code == 200
        assert "RateLimit-Limit" not in answer.headers
    monkeypatch.setenv("PRORATA_API_RATE_LIMIT", "lots")
    with pytest.raises(InvalidInput) as refused:
        create_app(api_app)
    assert (refused.value.code, refused.value.field) == ("config.api_rate_limit", "PRORATA_API_RATE_LIMIT")


# ------------------------------------------------------------------------------------------------ the CLI and audit
def test_the_cli_makes_lists_and_revokes_keys_and_each_change_is_audited(
    api: Api, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    acme = api.open_account("acme")
    db = ("--database", database_url)
    status, secret, err = prorata(capsys, "apikey", "create", "--account", "acme", "--read-only", "--name", "bi", *db)
    assert status == 0, err
    secret = secret.strip()
    prefix = secret.split("_")[1]
    assert f"key {prefix} (bi, read_only) for acme" in err
    assert api.client.get("/api/v1/key", headers=bearer(secret)).json()["scope"] == "read_only"
    assert prorata(capsys, "apikey", "create", "--operator", *db)[0] == 0

    status, out, _ = prorata(capsys, "apikey", "list", "--account", "acme", "--json", *db)
    assert status == 0
    listed = json.loads(out)["api_keys"]
    assert [(k["name"], k["scope"], k["account"]) for k in listed] == [("test", "full", "acme"), ("bi", "read_only",
                                                                                                   "acme")]  # fmt: skip
    assert listed[1]["prefix"] == prefix
    assert listed[1]["last_used_at"] is not None
    assert listed[1]["revoked_at"] is None
    status, out, _ = prorata(capsys, "apikey", "list", *db)
    assert status == 0
    assert prefix in out
    assert "(operator)" in out
    assert secret not in out

    assert prorata(capsys, "apikey", "revoke", prefix, *db)[0] == 0
    status, _, err = prorata(capsys, "apikey", "revoke", prefix, *db)
    assert status == 1
    assert "[api_key.revoked]" in err
    status, _, err = prorata(capsys, "apikey", "revoke", "0123456789ab", *db)
    assert status == 1
    assert "[api_key.unknown]" in err
    revoked = json.loads(prorata(capsys, "apikey", "list", "--account", "acme", "--json", *db)[1])["api_keys"][1]
    assert revoked["revoked_at"] is not None

    created = audit_lines(api.app, "api_key.created")
    assert created[0] == (acme.id, "prorata apikey", {"prefix": prefix, "name": "bi", "scope": "read_only",
                                                      "account": "acme"})  # fmt: skip
    assert created[1][0] is None
    assert created[1][2]["account"] is None
    assert created[1][2]["name"] == "operator"
    assert audit_lines(api.app, "api_key.revoked") == [(acme.id, "prorata apikey", {
        "prefix": prefix, "name": "bi", "scope": "read_only", "account": "acme"})]  # fmt: skip
    with api.app.engine.connect() as conn:
        details = " ".join(conn.execute(select(audit_log.c.detail)).scalars())
    assert secret not in details
    assert secret.split("_", 2)[2] not in details  # the random part, which may itself hold "_"


def test_key_changes_through_the_api_are_audited_with_the_operator_key_as_actor(api: Api) -> None:
    made = api.client.post("/api/v1/operator/api-keys", headers=api.operator, json={"name": "ci"}).json()
    api.client.post(f"/api/v1/operator/api-keys/{made['prefix']}/revoke", headers=api.operator)
    actor = f"api-key:{prefix_of(api.operator)}"
    detail = {"prefix": made["prefix"], "name": "ci", "scope": "full", "account": None}
    assert audit_lines(api.app, "api_key.created") == [(None, actor, detail)]
    assert audit_lines(api.app, "api_key.revoked") == [(None, actor, detail)]


def test_each_apikey_subcommand_has_its_own_help(capsys: pytest.CaptureFixture[str]) -> None:
    for action, words in (("create", "--read-only"), ("list", "--json"), ("revoke", "prefix")):
        with pytest.raises(SystemExit) as done:
            main(["apikey", action, "--help"])
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert f"usage: prorata apikey {action}" in out
        assert words in out
