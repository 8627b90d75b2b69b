"""A fast webhook receiver for benchmarks, and a check that the sender is not what limits them.

``start()`` runs an HTTP/1.1 server on 127.0.0.1 in a process of its own (so that it takes no CPU time from the
process being measured) on asyncio: connections are kept alive, every POST is answered ``204 No Content`` at once,
nothing is verified, and the ``webhook-id`` of every request is kept, with the ``account_id`` of its JSON body and the
time it arrived. ``GET /stats`` answers the count, the ids and the arrivals as JSON; ``BenchReceiver.count()``,
``message_ids()`` and ``arrivals()`` read it. Requests must carry ``Content-Length`` (the sender's
do; chunked bodies are not understood).

Run as a script, it sends ``--n`` signed webhooks (``--body`` bytes each, two secrets as during a rotation) with one
``WebhookSender`` from ``--threads`` threads and prints requests per second, after checking that every one was
delivered and that the receiver counted them all: ``.venv/bin/python bench/webhook_receiver.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import platform
import threading
import time
import urllib.request
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

NO_CONTENT = b"HTTP/1.1 204 No Content\r\n\r\n"


class Arrival(NamedTuple):
    message_id: str
    account_id: int | None
    at: float


class _Counter(asyncio.Protocol):
    def __init__(self, ids: list[str], arrivals: list[tuple[str, int | None, float]]) -> None:
        self._ids = ids
        self._arrivals = arrivals
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._buffer += data
        # Several requests may have arrived at once (pipelining) or a part of one: answer every whole one.
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
            fields = {
                name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in head[1:])
            }
            whole = end + 4 + int(fields.get("content-length", "0"))
            if len(self._buffer) < whole:
                return
            request = bytes(self._buffer[end + 4 : whole])
            del self._buffer[:whole]
            if head[0].startswith("GET /stats"):
                body = json.dumps({"count": len(self._ids), "ids": self._ids, "arrivals": self._arrivals}).encode()
                self._transport.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                    % (len(body), body)
                )
            else:
                message_id = fields.get("webhook-id", "")
                self._ids.append(message_id)
                self._arrivals.append((message_id, _account(request), time.time()))
                self._transport.write(NO_CONTENT)


def _account(body: bytes) -> int | None:
    """The ``account_id`` of an event's body, None for a body that has none (or is not an event)."""
    try:
        found = json.loads(body).get("account_id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, int) else None


def _serve(host: str, port: int, report: Connection) -> None:
    async def main() -> None:
        ids: list[str] = []
        arrivals: list[tuple[str, int | None, float]] = []
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Counter(ids, arrivals), host, port, backlog=1024)
        report.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


class BenchReceiver:
    def __init__(self, process: multiprocessing.process.BaseProcess, host: str, port: int) -> None:
        self._process = process
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def _stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://{self.host}:{self.port}/stats", timeout=30) as answer:
            stats: dict[str, Any] = json.load(answer)
            return stats

    def count(self) -> int:
        return int(self._stats()["count"])

    def message_ids(self) -> list[str]:
        return list(self._stats()["ids"])

    def arrivals(self) -> list[Arrival]:
        """Every request in the order it arrived: its ``webhook-id``, the body's ``account_id`` and when it was read
        in full (``time.time()`` of the receiver's process)."""
        return [Arrival(m, a, t) for m, a, t in self._stats()["arrivals"]]

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(timeout=5)

    def __enter__(self) -> BenchReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(host: str = "127.0.0.1", port: int = 0) -> BenchReceiver:
    """A receiver listening on ``host:port`` (0: a free port) in a process of its own, once it is listening."""
    context = multiprocessing.get_context("spawn")  # no fork of a process that may already run threads
    ours, theirs = context.Pipe()
    process = context.Process(target=_serve, args=(host, port, theirs), daemon=True)
    process.start()
    if not ours.poll(30):
        process.terminate()
        raise RuntimeError("the benchmark receiver did not start")
    return BenchReceiver(process, host, ours.recv())


def main() -> None:
    from prorata.adapters.webhooks.sender import WebhookSender

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="webhooks to send (default 5000)")
    parser.add_argument("--threads", type=int, default=8, help="sending threads (default 8)")
    parser.add_argument("--body", type=int, default=1000, help="bytes of JSON per webhook (default 1000)")
    options = parser.parse_args()

    body = json.dumps({"type": "invoice.paid", "data": {"note": "x" * max(0, options.body - 40)}}).encode()
    secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"]
    failed: list[str] = []
    with start() as receiver, WebhookSender(allow_private=["127.0.0.0/8"]) as sender:

        def deliver(thread: int, count: int) -> None:
            for number in range(count):
                attempt = sender.send(
                    receiver.url,
                    message_id=f"msg_{thread}_{number}",
                    timestamp=datetime.now(UTC),
                    body=body,
                    secrets=secrets,
                )
                if not attempt.delivered:
                    failed.append(f"{attempt.status} {attempt.error}")

        deliver(-1, 50)  # connections opened and code warmed before the clock starts
        share, rest = divmod(options.n, options.threads)
        threads = [
            threading.Thread(target=deliver, args=(thread, share + (thread < rest)))
            for thread in range(options.threads)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        received = receiver.count() - 50

    if failed or received != options.n:
        raise SystemExit(f"{len(failed)} not delivered ({failed[:3]}), {received} of {options.n} received")
    print(
        f"{options.n} webhooks of {len(body)} bytes from {options.threads} threads in {elapsed:.2f} s: "
        f"{options.n / elapsed:,.0f} requests/s (Python {platform.python_version()}, "
        f"{multiprocessing.cpu_count()} CPUs, receiver in its own process)"
    )


if __name__ == "__main__":
    main()
