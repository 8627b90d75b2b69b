"""Benchmark: the REST API served by ``prorata serve --workers 2`` on PostgreSQL, under load on 127.0.0.1.

What it measures. A fresh database (``prorata_bench_api`` on the local PostgreSQL, user postgres; dropped and made
again) is migrated and loaded with the demo accounts (``prorata demo``) and set to the real clock as a production
installation runs (``--simulation`` keeps the demo's simulation clock), an account key is made for ``demo-pro``
(``prorata apikey create``), and the server is started with two worker processes. Then each target is loaded for
``--seconds`` (default 10, after a one-second warm-up) by ``--connections`` (default 8) keep-alive HTTP/1.1
connections, each sending its next request as soon as the previous answer is read (the API's rate limit is set out of
reach, ``PRORATA_API_RATE_LIMIT`` unless given, so that its cost is measured but nothing is refused):

- ``POST /api/v1/quote``: the stateless quote of a Pro account with three licenses upgraded to Business with 10;
- ``POST /api/v1/accounts/{demo-pro}/quote``: a cart (five licenses) priced on the account as it stands, which
  reads the account from PostgreSQL on every request;
- the portal's Current Plans page (``--portal-path``, default ``/billing``) as the demo owner, signed in through the
  portal's form; skipped with a message when there is no portal or the page does not answer 200.

Every answer is checked (status 200) and counted; the latency of each request is taken from the write of the request
to the last byte of the answer. Printed per target: requests per second, p50 and p99 latency, errors, and each
target (``TARGETS``: the account quote 1,500/s with p99 under 10 ms, the Current Plans page 800/s with p99 under
20 ms and at most 5 SQL statements, the stateless quote 2,500/s with p99 under 10 ms) with the ratio to it. The SQL
statements one request takes are counted too, for the two targets that read the database: the same request (the
same key, the same signed-in session) answered once more by the application in this process, on the same database,
with SQLAlchemy's ``before_cursor_execute`` event (transaction control not counted). The load generator is asyncio
with raw sockets in this process, so it shares the machine's CPUs with the two server workers: on a two-core machine
the figures are a floor.

Run: ``.venv/bin/python bench/api.py [--seconds 10] [--connections 8] [--database URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NAME = "prorata_bench_api"
PRORATA = [sys.executable, "-m", "prorata"]
STATELESS = {
    "account": {"currency": "USD", "time_zone": "America/New_York"},
    "subscriptions": [{"id": "plan", "product": "pro", "interval": "month", "quantity": 3,
                       "period_start": "2026-11-01T04:00:00Z", "period_end": "2026-12-01T05:00:00Z"}],
    "at": "2026-11-15T15:00:00Z",
    "changes": [{"type": "change_plan", "product": "business", "licenses": 10}],
}  # fmt: skip
# requests per second, p99 in ms, SQL statements per request (None: not a target)
TARGETS: dict[str, tuple[int, float, int | None]] = {
    "stateless quote": (2500, 10.0, None),
    "account quote": (1500, 10.0, None),
    "current plans page": (800, 20.0, 5),
}


@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{NAME}"')
    yield ADMIN.rsplit("/", 1)[0] + "/" + NAME


def run(*args: str) -> str:
    done = subprocess.run([*PRORATA, *args], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(database: str, port: int, workers: int) -> Iterator[None]:
    # the bench's one key makes thousands of requests a second: a limit it never reaches, so that the rate limiter's
    # cost is measured but no request is refused
    env = {**os.environ, "PRORATA_API_RATE_LIMIT": os.environ.get("PRORATA_API_RATE_LIMIT", "100000000/hour")}
    process = subprocess.Popen(
        [*PRORATA, "serve", "--database", database, "--port", str(port), "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120  # a worker's imports alone take 10 s on a busy two-core machine
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()  # its error output ends only with it
                    _, said = process.communicate(timeout=10)
                    raise RuntimeError(f"the server did not start: {said!r}") from None
                time.sleep(0.2)
        time.sleep(1.0)  # both workers up, not only the first
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


def request_bytes(method: str, path: str, port: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    if method != "GET":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        body += await reader.readexactly(size + 2)
        if size == 0:
            return status, body


async def connection(port: int, request: bytes, until: float, measure_from: float, result: Result) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (start := time.perf_counter()) < until:
            writer.write(request)
            status, body = await read_answer(reader)
            if start >= measure_from:
                result.latencies.append(time.perf_counter() - start)
                if status != 200:
                    result.errors += 1
                    result.first_error = result.first_error or f"{status} {body[:200]!r}"
    finally:
        writer.close()


async def load(port: int, request: bytes, seconds: float, connections: int) -> Result:
    result = Result()
    begin = time.perf_counter()
    measure_from, until = begin + 1.0, begin + 1.0 + seconds
    await asyncio.gather(*(connection(port, request, until, measure_from, result) for _ in range(connections)))
    return result


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def report(name: str, result: Result, seconds: float, statements: int | None) -> dict[str, object]:
    lat = sorted(result.latencies)
    rps = len(lat) / seconds
    p50, p99 = percentile(lat, 0.50) * 1000, percentile(lat, 0.99) * 1000
    line = f"{name:18} {rps:8.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   errors {result.errors}"
    if statements is not None:
        line += f"   {statements} SQL/request"
    want_rps, want_p99, want_sql = TARGETS[name]
    line += (f"\n{'':18} target {want_rps}/s: {rps / want_rps:.2f}x of it; p99 < {want_p99:.0f} ms: "
             f"{p99 / want_p99:.2f}x the bound ({'met' if p99 < want_p99 else 'not met'})")  # fmt: skip
    if want_sql is not None and statements is not None:
        line += f"; <= {want_sql} SQL/request: {'met' if statements <= want_sql else 'not met'}"
    print(line)
    if result.first_error:
        print(f"{'':18} first error: {result.first_error}")
    return {"target": name, "rps": round(rps), "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
            "errors": result.errors, "statements": statements}  # fmt: skip


def statements_per_request(database: str, request: bytes) -> int:
    """The SQL statements the application takes to answer ``request`` (raw HTTP/1.1 as the load sends it): answered
    twice in this process on the same database, the second counted (the first may renew or warm up)."""
    import warnings

    from sqlalchemy import event

    with warnings.catch_warnings():  # the test client's notice about its HTTP library, not about what is measured
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from prorata.bootstrap import build
    from prorata.entrypoints.web import create_app

    head, _, body = request.partition(b"\r\n\r\n")
    first, *lines = head.decode().split("\r\n")
    method, path, _version = first.split(" ")
    headers = {k: v.strip() for k, _, v in (line.partition(":") for line in lines) if k.lower() != "host"}
    app = build(database)
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    try:
        client = TestClient(create_app(app))
        for attempt in range(2):
            if attempt:
                event.listen(app.engine, "before_cursor_execute", count)
            answer = client.request(method, path, content=body or None, headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"{method} {path} answered {answer.status_code}: {answer.text[:200]}")
        return len(seen)
    finally:
        app.close()


def real_clock(database: str) -> None:
    """The demo starts a simulation clock; a production installation runs on the real one, which is what is measured
    unless ``--simulation`` is given (in simulation every account request reads the simulated instant first)."""
    with psycopg.connect(database.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("DELETE FROM settings WHERE key IN ('clock.simulation', 'clock.now')")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="an existing database URL instead of a fresh prorata_bench_api")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--portal-path", default="/billing")
    parser.add_argument("--portal-email", default="owner@demo-pro.test", help="the demo owner")
    parser.add_argument("--portal-password", default="prorata-demo", help="the password `prorata demo` prints")
    parser.add_argument("--json", action="store_true", help="also print one JSON line of the figures")
    parser.add_argument("--simulation", action="store_true",
                        help="keep the demo's simulation clock (read again on every account request)")  # fmt: skip
    args = parser.parse_args()

    with fresh_database(args.database) as database:
        run("demo", "--database", database)
        if not args.simulation:
            real_clock(database)
        key = run("apikey", "create", "--account", "demo-pro", "--name", "bench", "--database", database)
        port = free_port()
        auth = {"Authorization": f"Bearer {key}"}
        print(f"Prorata API on {platform.node()}: {os.cpu_count()} CPUs ({cpu_model()}), Python "
              f"{platform.python_version()}, {args.workers} server workers, {args.connections} connections, "
              f"{args.seconds:g} s per target")  # fmt: skip
        with server(database, port, args.workers):
            me = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/key", headers=auth)
            with urllib.request.urlopen(me) as answer:
                account = json.load(answer)["account_id"]
            cart = json.dumps({"changes": [{"type": "set_licenses", "total": 5}]}).encode()
            targets = {
                "stateless quote": request_bytes("POST", "/api/v1/quote", port, auth, json.dumps(STATELESS).encode()),
                "account quote": request_bytes("POST", f"/api/v1/accounts/{account}/quote", port, auth, cart),
            }
            portal = portal_request(port, args.portal_path, args.portal_email, args.portal_password)
            if portal is not None:
                targets["current plans page"] = portal
            figures = []
            for name, request in targets.items():
                result = asyncio.run(load(port, request, args.seconds, args.connections))
                counted = statements_per_request(database, request)
                figures.append(report(name, result, args.seconds, counted))
    if args.json:
        print(json.dumps({"machine": cpu_model(), "cpus": os.cpu_count(), "figures": figures}))
    return 0


def portal_request(port: int, path: str, email: str, password: str) -> bytes | None:
    """The page as the demo owner sees it: signed in through the portal's form (its CSRF token and cookies), then
    the page asked with the session cookie. None, with a message, when there is no portal or no such page."""
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        form = browser.open(base + "/signin", timeout=5).read().decode()
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        if token is None:
            print("current plans page: skipped, the portal's sign-in form has no CSRF token")
            return None
        fields = {"csrf": token.group(1), "email": email, "password": password}
        browser.open(base + "/signin", data=urllib.parse.urlencode(fields).encode(), timeout=5).read()
        with browser.open(base + path, timeout=5) as page:
            if page.status != 200 or page.geturl() != base + path:
                print(f"current plans page: skipped, GET {path} answered {page.status} at {page.geturl()}")
                return None
    except OSError as error:
        print(f"current plans page: skipped, the portal answered {error}")
        return None
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)
    return request_bytes("GET", path, port, {"Cookie": cookies}, b"")


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
