"""A webhook receiver for tests: a real HTTP/1.1 server on 127.0.0.1 that records every request it gets and behaves
as it is told at run time.

Behaviours: answer with a status and body (``answer``, 204 by default); answer after a pause (``answer_slowly``);
send the status line and headers, then the body a byte at a time (``trickle``); read the request, then drop the
connection without answering (``drop``, a reset or a plain close); answer with a huge body (``answer_huge``, counting
the bytes that went out in ``bytes_sent``); stop listening (``go_down``: connections are refused) and
``come_back`` on the same port. Connections are kept alive between requests, as real receivers do.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One request as it arrived: header names in lower case, the time it was read in full (time.time())."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass(frozen=True)
class _Behaviour:
    kind: str = "answer"  # answer, slow, trickle, drop, huge
    status: int = 204
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    reset: bool = True
    size: int = 0


class WebhookReceiver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._behaviour = _Behaviour()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()  # cuts every pause short when the receiver stops
        self.bytes_sent = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._listen()

    # What the tests read

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    # What the tests switch

    def answer(self, status: int = 204, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self._behaviour = _Behaviour("answer", status=status, body=body, headers=headers or {})

    def answer_slowly(self, seconds: float, status: int = 204) -> None:
        self._behaviour = _Behaviour("slow", status=status, seconds=seconds)

    def trickle(self, seconds_per_byte: float, size: int = 1000, status: int = 200) -> None:
        self._behaviour = _Behaviour("trickle", status=status, seconds=seconds_per_byte, size=size)

    def drop(self, *, reset: bool = True) -> None:
        self._behaviour = _Behaviour("drop", reset=reset)

    def answer_huge(self, size: int, status: int = 200) -> None:
        self._behaviour = _Behaviour("huge", status=status, size=size)

    def go_down(self) -> None:
        """Stop listening and drop every open connection: the next attempt's connection is refused."""
        self._shut()

    def come_back(self) -> None:
        self._listen(self.port)

    def stop(self) -> None:
        self._stopping.set()
        self._shut()

    # The server

    def _listen(self, port: int = 0) -> None:
        server = _QuietServer(("127.0.0.1", port), _handler(self))
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _shut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                connection.shutdown(socket.SHUT_RDWR)

    def _record(self, received: Received) -> None:
        with self._lock:
            self._requests.append(received)

    def _count_sent(self, count: int) -> None:
        with self._lock:
            self.bytes_sent += count


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64  # several senders connecting at once are queued, not refused

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on a slow answer breaks the pipe: that is the test, not a fault


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # an idle kept-alive connection is closed after this long

        def setup(self) -> None:
            super().setup()
            with receiver._lock:
                receiver._connections.add(self.connection)

        def finish(self) -> None:
            with receiver._lock:
                receiver._connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: object) -> None:
            pass  # the tests read the records, not a log

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver._record(Received("POST", self.path, headers, body, time.time()))
            behaviour = receiver._behaviour
            if behaviour.kind == "drop":
                self._drop(behaviour.reset)
            elif behaviour.kind == "slow":
                receiver._stopping.wait(behaviour.seconds)
                self._respond(behaviour.status, b"", {})
            elif behaviour.kind == "trickle":
                self._trickle(behaviour)
            elif behaviour.kind == "huge":
                self._huge(behaviour)
            else:
                self._respond(behaviour.status, behaviour.body, behaviour.headers)

        do_GET = do_POST

        def _respond(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if status not in (204, 304):
                self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _drop(self, reset: bool) -> None:
            if reset:  # linger 0: closing sends RST, so the client reads ECONNRESET instead of a clean end
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def _trickle(self, behaviour: _Behaviour) -> None:
            self.send_response(behaviour.status)
            self.send_header("content-length", str(behaviour.size))
            self.end_headers()
            self.wfile.flush()
            try:
                for _ in range(behaviour.size):
                    if receiver._stopping.wait(behaviour.seconds):
                        break
                    self.wfile.write(b".")
                    self.wfile.flush()
            except OSError:
                pass  # the client gave up
            self.close_connection = True

        def _huge(self, behaviour: _Behaviour) -> None:
            self.send_response(behaviour.status)
            self.send_header("content-length", str(behaviour.size))
            self.end_headers()
            chunk = b"x" * 65536
            left = behaviour.size
            try:
                while left > 0 and not receiver._stopping.is_set():
                    piece = chunk[:left]
                    self.wfile.write(piece)
                    receiver._count_sent(len(piece))
                    left -= len(piece)
            except OSError:
                pass  # the client stopped reading and closed: what the cap is for
            self.close_connection = True

    return Handler


@contextmanager
def running_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()
