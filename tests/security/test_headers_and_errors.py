"""Every answer carries the security headers, whatever route, method or error produced it; the portal's pages hold no
inline script or style for the Content-Security-Policy to allow; an unexpected error is answered in the caller's
format with a request id and logged with its traceback; the pool survives lost connections; ``/api/v1/health``
says when the database cannot be used. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from prorata.adapters.db.database import migrate
from prorata.bootstrap import build
from prorata.entrypoints.web import create_app
from tests.conftest import postgres_admin, postgres_database
from tests.e2e.api_client import Api
from tests.e2e.conftest import Visitor

PATH_VALUES = {"code": "business", "language": "pl"}
INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script element without a file
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),  # onclick= and the like
    re.compile(r"javascript:", re.I),
]


def every_route(visitor: Visitor) -> list[tuple[str, str]]:
    """(method, path) of every portal page and API operation, path parameters filled in."""
    found: list[tuple[str, str]] = []

    def add(routes: list[object], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount) and route.path != "/static":
                add(list(route.routes), prefix + route.path)
            elif hasattr(route, "original_router"):  # a router FastAPI includes as a branch of its own
                add(list(route.original_router.routes), prefix + route.include_context.prefix)
            elif isinstance(route, APIRoute):
                path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "1"), prefix + route.path)
                found.extend((method, path) for method in sorted(route.methods))

    add(list(visitor.client.app.routes), "")  # type: ignore[attr-defined]
    return found


def assert_guarded(answer: object, *, static: bool = False) -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    where = f"{answer.request.method} {answer.request.url.path} -> {answer.status_code}"  # type: ignore[attr-defined]
    policy = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, where
    assert "script-src 'self'" in policy, where
    assert "unsafe-inline" not in policy, where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") == "same-origin", where
    assert re.fullmatch(r"[0-9a-f]{32}", headers.get("x-request-id", "")), where
    assert "strict-transport-security" not in headers, where  # plain http: no HSTS
    if not static:
        assert headers.get("cache-control") == "no-store", where


def test_every_route_answers_with_the_security_headers_signed_in_or_not(visitor: Visitor, api: Api) -> None:
    routes = every_route(visitor)
    operations = visitor.client.get("/api/v1/openapi.json").json()["paths"]
    documented = {(method.upper(), "/api/v1" + path) for path, item in operations.items() for method in item}
    # a path's parameters as every_route filled them in: ids, and codes (a discount code's routes, rule DC2)
    filled = r"/(1|business)(?=/|$)"
    walked = {(method, re.sub(filled, "/{}", path)) for method, path in routes if path.startswith("/api/v1/")}
    assert len(documented) >= 25
    assert {(m, re.sub(r"\{\w+\}", "{}", p)) for m, p in documented} <= walked  # every API operation is walked
    assert sum(1 for _, path in routes if not path.startswith("/api/v1/")) >= 35  # and every portal page
    anonymous = TestClient(visitor.client.app)
    visitor.sign_in("owner@demo-business.test")
    for method, path in routes:
        for client, headers in ((visitor.client, {}), (anonymous, {}), (api.client, api.operator)):
            answer = client.request(method, path, headers=headers, follow_redirects=False)
            assert answer.status_code < 500, f"{method} {path}: {answer.status_code}"
            assert_guarded(answer)
    for path in ("/no-such-page", "/api/v1/no-such-operation", "/billing/invoices/not-a-number"):
        assert_guarded(visitor.client.get(path))
    assert_guarded(visitor.client.get("/static/portal.css"), static=True)


def test_the_portals_pages_and_the_api_docs_hold_no_inline_script_or_style(visitor: Visitor) -> None:
    visitor.sign_in("owner@demo-business.test")
    pages = [path for method, path in every_route(visitor) if method == "GET" and not path.startswith("/api/v1/")]
    pages += ["/api/v1/docs", "/signin"]
    shown = 0
    for path in pages:
        answer = visitor.client.get(path)
        if answer.status_code != 200 or not answer.headers["content-type"].startswith("text/html"):
            continue
        shown += 1
        for pattern in INLINE:
            assert not pattern.search(answer.text), f"{path}: {pattern.pattern}"
    assert shown >= 12
    assert visitor.client.get("/api/v1/docs.js").headers["content-type"].startswith("text/javascript")
    assert visitor.client.get("/api/v1/docs.css").headers["content-type"].startswith("text/css")


def test_https_answers_add_strict_transport_security(visitor: Visitor) -> None:
    secure = TestClient(visitor.client.app, base_url="https://testserver")
    answer = secure.get("/signin")
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in visitor.client.get("/signin").headers


def test_a_callers_request_id_is_kept_and_a_malformed_one_replaced(visitor: Visitor) -> None:
    assert visitor.client.get("/signin", headers={"X-Request-Id": "trace-0001.abc"}).headers["x-request-id"] == (
        "trace-0001.abc"
    )
    replaced = visitor.client.get("/signin", headers={"X-Request-Id": "<script>"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)


def broken(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("a fault of the server itself")


def test_an_unexpected_error_is_problem_json_on_the_api_and_a_page_on_the_portal_with_its_request_id(
    visitor: Visitor, api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import prorata.entrypoints.api.routers.catalog as catalog_router
    import prorata.entrypoints.portal.routes.invoices as invoices_page

    visitor.sign_in("owner@demo-business.test")
    monkeypatch.setattr(catalog_router, "catalog_out", broken, raising=True)
    monkeypatch.setattr(invoices_page, "invoice_views", broken, raising=True)
    client = TestClient(visitor.client.app, raise_server_exceptions=False)
    caplog.set_level(logging.ERROR)

    problem = client.get("/api/v1/catalog", headers=api.operator)
    assert problem.status_code == 500
    assert problem.headers["content-type"] == "application/problem+json"
    rid = problem.headers["x-request-id"]
    assert problem.json()["code"] == "server.unexpected"
    assert problem.json()["request_id"] == rid
    assert_guarded(problem)

    visitor.client.cookies.set("prorata_language", "pl")
    page = visitor.client.get("/billing/invoices")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Coś poszło nie tak po naszej stronie" in page.text
    assert page.headers["x-request-id"] in page.text
    assert_guarded(page)

    logged = [r for r in caplog.records if r.exc_info is not None]
    assert any(rid in r.getMessage() for r in logged)
    assert any(page.headers["x-request-id"] in r.getMessage() for r in logged)
    assert all(isinstance(r.exc_info[1], RuntimeError) for r in logged if r.exc_info)


def test_health_answers_200_when_ready_and_503_when_the_database_is_not_migrated_or_unreachable(
    api: Api, tmp_path: object
) -> None:
    assert api.client.get("/api/v1/health").status_code == 200
    for url in (f"sqlite:///{tmp_path}/empty.sqlite3", "postgresql://prorata@127.0.0.1:1/prorata"):
        app = build(url)
        try:
            answer = TestClient(create_app(app)).get("/api/v1/health")
        finally:
            app.close()
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "server.database_not_ready"
        assert "127.0.0.1" not in answer.text  # the reason goes to the log, not to an anonymous caller


def test_the_next_request_after_the_servers_connections_are_killed_succeeds() -> None:
    """PostgreSQL only: its server can end the pool's connections under it (a restart, a failover)."""
    for url in postgres_database():
        app = build(url)
        try:
            migrate(app.engine)
            client = TestClient(create_app(app))
            assert client.get("/api/v1/health").status_code == 200
            database = url.rsplit("/", 1)[1]
            with postgres_admin() as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s", (database,)
                ).fetchone()
            assert killed is not None
            assert killed[0] >= 1  # the pool's idle connection was there, and is gone
            assert client.get("/api/v1/health").status_code == 200
        finally:
            app.close()
