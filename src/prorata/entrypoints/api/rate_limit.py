"""Rate limits per API key (``PRORATA_API_RATE_LIMIT``, default ``600/minute``; ``off`` turns them off).

Each key may make so many requests per window, counted with the ``limits`` library's sliding-window counter in this
process's memory: the limit applies per server process, so ``prorata serve --workers 4`` lets a key make up to four
times as many requests in all. A request over the limit is answered 429, problem+json ``auth.rate_limited`` with
``Retry-After``; every answer to an authenticated key carries the draft IETF ``RateLimit-Limit``,
``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds) and ``RateLimit-Policy`` headers (``RateLimitHeaders``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse, storage, strategies
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from prorata.domain.errors import InvalidInput

QUOTA = "prorata.rate_limit"  # the scope key where the authenticated request's quota waits for the headers


@dataclass(frozen=True, slots=True)
class Quota:
    limit: int
    remaining: int
    reset: int  # seconds until the window frees a request
    policy: str  # e.g. 600;w=60

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset).encode()),
            (b"ratelimit-policy", self.policy.encode()),
        ]


class KeyRateLimiter:
    """The requests of each key in this process, against one limit such as ``600/minute``."""

    def __init__(self, setting: str) -> None:
        item: RateLimitItem | None
        try:
            item = parse(setting)
        except ValueError:
            item = None
        if item is None or item.amount < 1:
            raise InvalidInput(
                "config.api_rate_limit",
                f"PRORATA_API_RATE_LIMIT: {setting!r} is not a limit; write e.g. 600/minute, 20/second or off",
                field="PRORATA_API_RATE_LIMIT",
            )
        self.item = item
        self.policy = f"{self.item.amount};w={self.item.get_expiry()}"
        self._limiter = strategies.SlidingWindowCounterRateLimiter(storage.MemoryStorage())

    def hit(self, key_id: int) -> tuple[bool, Quota]:
        """Count one request of the key: whether it is within the limit, and what is left."""
        allowed = self._limiter.hit(self.item, str(key_id))
        stats = self._limiter.get_window_stats(self.item, str(key_id))
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        return allowed, Quota(self.item.amount, max(0, stats.remaining), reset, self.policy)


class RateLimitHeaders:
    """Adds the ``RateLimit-*`` headers to the answer of a request whose key was counted (``QUOTA`` in its scope),
    whatever answered it: the route, a refusal, or the rate limit itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            quota = scope.get(QUOTA)
            if message["type"] == "http.response.start" and isinstance(quota, Quota):
                message = {**message, "headers": [*message.get("headers", []), *quota.headers()]}
            await send(message)

        await self.app(scope, receive, send_with_quota)
