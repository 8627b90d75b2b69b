"""One delivery attempt of an outgoing webhook over HTTP, and the rules for which addresses a webhook may reach.

What is sent follows the Standard Webhooks specification: a POST of the JSON body with ``webhook-id``,
``webhook-timestamp`` (integer seconds) and ``webhook-signature`` (``v1,<base64>`` for each secret, space-separated,
so that a receiver checking either the old or the new secret accepts it during a rotation).

An attempt never raises for trouble on the network: it ends as an ``Attempt`` whose ``error`` is one of

- ``bad_url``: not an ``http``/``https`` URL with a host, or with user name or password in it;
- ``refused_address``: the host is or resolves to an address webhooks may not reach (below);
- ``dns``: the host name does not resolve;
- ``connect_timeout``, ``timeout``: no connection in time; no whole answer within the attempt's deadline;
- ``connection_refused``, ``connection_reset``, ``connection_closed`` (closed without answering), ``tls``,
  ``protocol_error`` (not HTTP), ``connection_error`` (any other failure of the connection);
- ``response_too_large``: the answer's body went past the cap; its status is kept.

``error`` is ``None`` when the receiver answered in full, whatever its status. ``delivered`` looks at the status only:
a receiver that answered 2xx has accepted the message, even when the rest of its answer was too large or too slow.
Redirects are never followed: a 3xx is a failed attempt like any other status outside 2xx.

Server-side request forgery. A webhook URL is chosen by whoever registers the endpoint, and the sender runs inside the
operator's network, so a URL must not reach private, loopback, link-local (the clouds' metadata service at
169.254.169.254), multicast, reserved, unspecified or shared (100.64.0.0/10) addresses, nor IPv6 unique-local and
link-local ones, nor the IPv4-mapped, NAT64 and 6to4 forms of those, unless the operator allows the networks
(``allow_private``: CIDR strings, or ``"*"`` for every address). ``AddressPolicy`` holds these rules for both callers:
``check_url`` when an endpoint is registered, and the sender's network backend at every connection. The backend
resolves the name itself, refuses the connection if any address is refused, and connects to the checked address, so a
name that resolves elsewhere by the time of sending (DNS rebinding) is caught where it matters. TLS still checks the
certificate against the URL's host name: httpcore hands that name to the TLS layer, not the address.

Not bounded by the deadline: the system resolver (its own timeouts apply) and the wait for a free connection of the
pool (bounded separately by ``timeout``).
"""

from __future__ import annotations

import math
import socket
import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from types import TracebackType
from typing import Any, NamedTuple, Self

import httpcore
import httpx
from standardwebhooks.webhooks import Webhook

IPAddress = IPv4Address | IPv6Address

EXCERPT_CHARS = 1000
# A UTF-8 character takes at most 4 bytes, so the first 1,000 characters lie within the first 4,000 bytes.
EXCERPT_BYTES = 4 * EXCERPT_CHARS

SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")  # carrier-grade NAT: inside someone's network, not the internet
NAT64 = IPv6Network("64:ff9b::/96")  # the well-known NAT64 prefix: its last 32 bits are an IPv4 address

# Several worker threads share one pool: enough connections for all of them, kept alive between deliveries.
POOL_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=30.0)

# The end of the attempt running in this thread (time.monotonic()); every socket operation waits no longer.
_deadline: ContextVar[float | None] = ContextVar("webhook_attempt_deadline", default=None)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What became of one attempt: the HTTP status (None when no answer came), the reason when it went wrong, the
    first 1,000 characters of the answer's body, and how long it took."""

    status: int | None
    error: str | None
    excerpt: str
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class RefusedAddress(Exception):
    """The host is, or resolves to, an address webhooks may not reach."""

    def __init__(self, host: str, address: IPAddress) -> None:
        super().__init__(f"{host} resolves to {address}, which webhooks may not reach")
        self.host = host
        self.address = address


class AddressPolicy:
    """Which addresses a webhook may reach: public unicast ones, and those in the operator's ``allow_private``."""

    def __init__(self, allow_private: Sequence[str] = ()) -> None:
        self._allow_all = "*" in allow_private
        # A malformed network is the operator's mistake in the configuration: ValueError, at start-up.
        self._allowed = tuple(ip_network(cidr, strict=False) for cidr in allow_private if cidr != "*")

    def permits(self, address: IPAddress) -> bool:
        if self._allow_all:
            return True
        inner = _embedded(address)
        if any(candidate in network for candidate in (address, inner) for network in self._allowed):
            return True
        return _public(inner)

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host`` (an IP literal is its own), or RefusedAddress if any of them is refused: a name
        with one public and one private address must not reach the private one by the luck of the order."""
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses: list[IPAddress] = []
        for *_, sockaddr in found:
            address = ip_address(str(sockaddr[0]).split("%", 1)[0])  # an IPv6 scope (fe80::1%eth0) is not an address
            if not self.permits(address):
                raise RefusedAddress(host, address)
            if address not in addresses:
                addresses.append(address)
        return addresses


def _embedded(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, NAT64, 6to4), else the address itself."""
    if isinstance(address, IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return address


def _public(address: IPAddress) -> bool:
    if (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    ):
        return False
    if isinstance(address, IPv4Address) and address in SHARED_ADDRESS_SPACE:
        return False
    if isinstance(address, IPv6Address) and address.is_site_local:
        return False
    return address.is_global


class _Target(NamedTuple):
    url: httpx.URL
    host: str
    port: int


class _URLRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _target(url: str) -> _Target:
    """The URL as httpx will send it (the same parser: no room for two readings of one URL), or _URLRefused."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _URLRefused("webhook.url_host") from exc
    if parsed.scheme not in ("http", "https"):
        raise _URLRefused("webhook.url_scheme")
    if parsed.userinfo:
        raise _URLRefused("webhook.url_credentials")
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not host or not 0 < port < 65536:
        raise _URLRefused("webhook.url_host")
    return _Target(parsed, host, port)


def check_url(url: str, allow_private: Sequence[str] = ()) -> str | None:
    """Why an endpoint's URL is refused (``webhook.url_scheme``, ``webhook.url_credentials``, ``webhook.url_host``:
    no host, or one that does not resolve; ``webhook.url_private``), or None. Every send checks again."""
    try:
        target = _target(url)
        AddressPolicy(allow_private).resolve(target.host, target.port)
    except _URLRefused as refused:
        return refused.code
    except RefusedAddress:
        return "webhook.url_private"
    except (OSError, UnicodeError, ValueError):
        return "webhook.url_host"
    return None


def _within_deadline(timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the current attempt's deadline: httpx's read timeout alone
    would let a receiver that sends a byte now and then hold a worker for ever."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, except that it resolves the host itself and connects only to checked
    addresses."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        failure: httpcore.ConnectError | None = None
        for address in addresses:  # in the resolver's order of preference, as socket.create_connection does
            try:
                stream = self._backend.connect_tcp(
                    str(address),
                    port,
                    _within_deadline(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        raise failure or httpcore.ConnectError(f"{host} has no address")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks go over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _transport(policy: AddressPolicy) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(limits=POOL_LIMITS, trust_env=False)
    # httpx offers no way to hand its connection pool a network backend; httpcore's pool takes one as a documented
    # argument, so the transport gets an equal pool built with ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=POOL_LIMITS.max_connections,
        max_keepalive_connections=POOL_LIMITS.max_keepalive_connections,
        keepalive_expiry=POOL_LIMITS.keepalive_expiry,
        network_backend=_GuardedBackend(policy),
    )
    return transport


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _error(exc: Exception) -> str:
    """The short reason an attempt records for what went wrong on the way (httpx keeps the socket's error as the
    cause of its own)."""
    if isinstance(exc, RefusedAddress):
        return "refused_address"
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "bad_url"
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return "tls"
        if isinstance(cause, socket.gaierror | UnicodeError):
            return "dns"
        if isinstance(cause, ConnectionRefusedError):
            return "connection_refused"
        if isinstance(cause, ConnectionResetError | BrokenPipeError):
            return "connection_reset"
    if isinstance(exc, httpx.RemoteProtocolError):
        # httpcore's one error for a connection closed before any answer; every other one is a malformed answer.
        return "connection_closed" if "disconnected without sending a response" in str(exc) else "protocol_error"
    return "connection_error"


def _excerpt(head: bytes) -> str:
    return head.decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _milliseconds_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


class WebhookSender:
    """Sends webhooks over one pool of keep-alive connections; several threads may send at once."""

    def __init__(
        self,
        *,
        allow_private: Sequence[str] = (),
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        max_response_bytes: int = 64 * 1024,
        user_agent: str = "Prorata-Webhooks/1",
    ) -> None:
        self._timeout = timeout
        self._max_response_bytes = max_response_bytes
        self._client = httpx.Client(
            transport=_transport(AddressPolicy(allow_private)),
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would connect on the webhook's behalf, unchecked
            # Uncompressed answers only: the cap counts the bytes that arrive, and a compressed body could be
            # small on the wire and huge once decoded.
            headers={"user-agent": user_agent, "accept-encoding": "identity"},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def send(self, url: str, *, message_id: str, timestamp: datetime, body: bytes, secrets: Sequence[str]) -> Attempt:
        """POST ``body`` to ``url`` signed with every one of ``secrets`` (``whsec_<base64>``); the timestamp must
        be timezone-aware. Mistakes of the caller (no secret, a naive timestamp, a body that is not UTF-8) raise
        ValueError; nothing that happens on the network does."""
        headers = signed_headers(message_id, timestamp, body, secrets)
        started = time.monotonic()
        try:
            target = _target(url)
        except _URLRefused:
            return Attempt(status=None, error="bad_url", excerpt="", duration_ms=_milliseconds_since(started))
        token = _deadline.set(started + self._timeout)
        try:
            return self._post(target.url, headers, body, started)
        except (httpx.HTTPError, RefusedAddress) as exc:
            return Attempt(status=None, error=_error(exc), excerpt="", duration_ms=_milliseconds_since(started))
        finally:
            _deadline.reset(token)

    def _post(self, url: httpx.URL, headers: dict[str, str], body: bytes, started: float) -> Attempt:
        with self._client.stream("POST", url, content=body, headers=headers) as response:
            head = bytearray()
            received = 0
            error: str | None = None
            try:
                for chunk in response.iter_raw():
                    received += len(chunk)
                    if len(head) < EXCERPT_BYTES:
                        head += chunk[: EXCERPT_BYTES - len(head)]
                    if received > self._max_response_bytes:
                        # Leaving the block closes the connection: the rest of the body is never read.
                        error = "response_too_large"
                        break
            except httpx.HTTPError as exc:  # the status came; the body did not, in full or in time
                error = _error(exc)
            return Attempt(
                status=response.status_code,
                error=error,
                excerpt=_excerpt(bytes(head)),
                duration_ms=_milliseconds_since(started),
            )


def signed_headers(message_id: str, timestamp: datetime, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """The Standard Webhooks headers for one message: one ``v1`` signature per secret."""
    if not secrets:
        raise ValueError("a webhook is signed with at least one secret")
    if timestamp.tzinfo is None:
        raise ValueError("a webhook's timestamp must be timezone-aware")
    # The signer stamps the time with UTC as it is (replace, not convert): it must be given UTC already.
    moment = timestamp.astimezone(UTC)
    data = body.decode("utf-8")  # UnicodeDecodeError is a ValueError: a webhook's body is JSON, which is UTF-8
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(moment.timestamp())),
        "webhook-signature": " ".join(Webhook(secret).sign(message_id, moment, data) for secret in secrets),
        "content-type": "application/json",
    }
