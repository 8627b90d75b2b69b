"""What every answer of the web server carries, whatever route or error produced it: a request id, the security
headers, and no ``text/plain`` "Internal Server Error" ever.

``Guard`` is the outermost ASGI layer. It gives each request an id (``X-Request-Id``: the caller's when it is a short
token, otherwise a new one), adds the headers below to every response, and, should an error escape everything else,
logs it with its traceback and the request id and answers in the caller's format: problem+json under ``/api/`` and
a short page elsewhere.

- ``Content-Security-Policy``: only this server's own scripts, styles and images; no inline script or style, no
  plug-ins, forms post only here, and no page may be framed (``frame-ancestors 'none'``, with ``X-Frame-Options``
  for older browsers).
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, ``Cross-Origin-Opener-Policy``.
- ``Cache-Control: no-store`` on every answer but the static assets: the pages of a signed-in customer and the API's
  answers hold account data that must not stay in a shared or a browser cache.
- ``Strict-Transport-Security`` when the request came over https (behind a proxy, run uvicorn with
  ``--proxy-headers`` so that the scheme is the client's).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("prorata.web")

REQUEST_ID = "prorata.request_id"  # the scope key the error handlers read the id from
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def policy_with(origins: tuple[str, ...]) -> str:
    """The policy with a gateway's origins allowed for its script, its frames and its API calls, and nothing more."""
    extra = " ".join(origins)
    return (
        f"default-src 'self'; script-src 'self' {extra}; style-src 'self'; img-src 'self' data: {extra}; "
        f"font-src 'self'; connect-src 'self' {extra}; frame-src {extra}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
STATIC_PREFIXES = ("/static/", "/operator/static/")  # the portal's and the console's assets


def request_id(scope: Scope) -> str:
    """The id ``Guard`` gave this request ("-" outside it, as in a unit test of a bare sub-application)."""
    return str(scope.get(REQUEST_ID, "-"))


def _given_or_new(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _GIVEN_ID.match(text):
                return text
    return uuid.uuid4().hex


class Guard:
    """``page(scope, request_id)``: the HTML answered outside the API when an error escaped (the portal's own page in
    the visitor's language); ``UNEXPECTED_PAGE`` when it is not given or fails too."""

    def __init__(
        self, app: ASGIApp, page: Callable[[Scope, str], str] | None = None, gateway_origins: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.page = page
        # a real gateway's payment fields are its own script and frames, loaded from its origins (PCI SAQ A)
        self.headers = HEADERS if not gateway_origins else tuple(
            (b"content-security-policy", policy_with(gateway_origins).encode()) if name == b"content-security-policy"
            else (name, value)
            for name, value in HEADERS
        )  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _given_or_new(scope)
        scope[REQUEST_ID] = rid
        path: str = scope.get("path", "")
        extra = [(b"x-request-id", rid.encode())]
        if scope.get("scheme") == "https":
            extra.append(HSTS)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in (*self.headers, *extra) if h[0] not in present]
                if not path.startswith(STATIC_PREFIXES) and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if started:  # the answer (a handler's 500) is on its way; the handler has logged the error
                return
            log.exception("unexpected error answering %s %s (request %s)", scope.get("method"), path, rid)
            await self._answer_unexpected(scope, rid, send_with_headers)

    async def _answer_unexpected(self, scope: Scope, rid: str, send: Send) -> None:
        if scope.get("path", "").startswith("/api/"):
            body = json.dumps(unexpected_problem(rid)).encode()
            kind = b"application/problem+json"
        else:
            body = self._page(scope, rid).encode()
            kind = b"text/html; charset=utf-8"
        await _send_500(send, kind, body)

    def _page(self, scope: Scope, rid: str) -> str:
        if self.page is not None:
            try:
                return self.page(scope, rid)
            except Exception:
                log.exception("the error page could not be drawn (request %s)", rid)
        return UNEXPECTED_PAGE.format(request_id=rid)


async def _send_500(send: Send, kind: bytes, body: bytes) -> None:
    await send({"type": "http.response.start", "status": 500,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def unexpected_problem(rid: str) -> dict[str, Any]:
    """The API's answer to an error of its own: RFC 9457 with the id to quote to the operator."""
    return {
        "type": "urn:prorata:problem:server.unexpected",
        "title": "Internal server error",
        "status": 500,
        "detail": f"The server could not answer this request. Quote request id {rid} to the operator.",
        "code": "server.unexpected",
        "rule": None,
        "field": None,
        "request_id": rid,
    }


# The last resort, when even the portal's own error page could not be drawn: both languages, no asset but the style.
UNEXPECTED_PAGE = """<!doctype html>
<html lang="pl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prorata</title><link rel="stylesheet" href="/static/portal.css"></head>
<body><main><section class="card">
<h1>Coś poszło nie tak po naszej stronie</h1>
<p>Spróbuj ponownie za chwilę. Jeśli błąd się powtórzy, podaj administratorowi identyfikator:
<code>{request_id}</code></p>
<h1 lang="en">Something went wrong on our side</h1>
<p lang="en">Please try again in a moment. If it happens again, give the administrator this reference:
<code>{request_id}</code></p>
<p><a href="/billing">Rozliczenia / Billing</a></p>
</section></main></body></html>
"""
