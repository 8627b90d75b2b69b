"""How much of a request body the API reads, and of what type: a larger body is refused while it is read, as 413
problem+json (``request.too_large``, field ``body``), before a parser or a service spends anything on it (rule X4).
A body that is not declared JSON (``application/json`` or ``application/*+json``: a form, text, no Content-Type) is
refused as 415 (``request.unsupported_media_type``, field ``Content-Type``) before it is read, rather than parsed
as something it does not say it is.

The limit is far above any body the API takes (a quote document with an inline catalog and fifty subscriptions is a
few kilobytes). The refusal is raised from the body's ``receive``, inside the route, so the API's one error mapper
answers it like every other refusal.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1 << 20


class BodyTooLarge(HTTPException):
    code = "request.too_large"
    field = "body"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: larger than the {limit} bytes the API reads")


class NotJson(HTTPException):
    code = "request.unsupported_media_type"
    field = "Content-Type"

    def __init__(self, sent: str) -> None:
        said = f"{sent!r}" if sent else "none"
        super().__init__(415, f"Content-Type: the API reads JSON bodies (application/json); this one said {said}")


def is_json(content_type: str) -> bool:
    """``application/json`` or a JSON-based type such as ``application/problem+json``, whatever its parameters."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


# the routes that take a file (base64 in JSON) and their larger limit: a tax exemption certificate of at most 5 MB
# (rule TE1) is 6.7 MB of base64
# and a CAMT.053 bank statement of at most 5 MB (rule NT1)
LARGER = {"/tax-exemption/certificate": 7 << 20, "/bank-statements": 7 << 20}


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        content_type = _header(scope, b"content-type")
        path = str(scope.get("path", ""))
        limit = next((larger for suffix, larger in LARGER.items() if path.endswith(suffix)), self.limit)
        read = 0

        async def limited() -> Message:
            nonlocal read
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)  # said so before a byte of it is read
            message = await receive()
            if message["type"] == "http.request":
                chunk = len(message.get("body", b""))
                if chunk and not read and not is_json(content_type):
                    raise NotJson(content_type)
                read += chunk
                if read > limit:  # a chunked body, or one longer than its Content-Length said
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


def _header(scope: Scope, wanted: bytes) -> str:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return str(value.decode("latin-1"))
    return ""


def _content_length(scope: Scope) -> int | None:
    text = _header(scope, b"content-length").strip()
    return int(text) if text and text.isascii() and text.isdigit() else None
