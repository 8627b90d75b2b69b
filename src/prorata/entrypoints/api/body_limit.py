"""How much of a request body the API reads: a larger body is refused while it is read, as 413 problem+json
(``request.too_large``, field ``body``), before a parser or a service spends anything on it (rule X4).

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


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        read = 0

        async def limited() -> Message:
            nonlocal read
            if declared is not None and declared > self.limit:
                raise BodyTooLarge(self.limit)  # said so before a byte of it is read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.limit:  # a chunked body, or one longer than its Content-Length said
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None
