"""``prorata serve``: the web application under uvicorn, in one process or several.

Several workers share one listening socket that uvicorn binds with protocol 0; the connections accepted from it
inherit that, asyncio then leaves Nagle's algorithm on, and every keep-alive answer after the first waits about
40 ms for the client's delayed ACK (uvicorn issue 3149: 25 requests per second per connection instead of
thousands). ``TcpConfig`` wraps the bound socket again from its descriptor, so that it reports its real protocol
(TCP) and asyncio sets TCP_NODELAY on each connection. It lives at module level because the workers are spawned
processes that receive the configuration pickled.
"""

from __future__ import annotations

import contextlib
import socket
import threading

import uvicorn
from uvicorn.supervisors import Multiprocess

from prorata.bootstrap import build
from prorata.entrypoints.cli.worker import METRICS_EVERY, VAT_EVERY, Duties, work

APP = "prorata.entrypoints.web:asgi"
# How long a worker may take to answer the supervisor's ping, its start included: uvicorn's 5 s default kills and
# respawns a worker still importing on a busy machine (10 s and more at a load of 15 on two cores), so that under
# load the workers never start serving.
WORKER_HEALTHCHECK = 60


class TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        bound = super().bind_socket()
        return socket.socket(fileno=bound.detach())


def work_every(seconds: float, stop: threading.Event) -> None:
    """Rules I4, L3, I8: the e-mails the portal's and the API's orders wrote to the outbox, and the webhooks of every
    change, go out while the server runs, not only when an operator runs ``prorata worker``. The outbox's leases
    and the webhook lanes' claims make a second worker (a billing run, another server, ``prorata worker``)
    harmless. The operator console's figures are computed again every 15 minutes, as ``prorata worker`` does."""
    app = build()
    try:
        work(app, interval=seconds, stop=stop, duties=Duties(metrics_every=METRICS_EVERY, vat_every=VAT_EVERY))
    finally:
        app.close()


def serve(host: str, port: int, workers: int, mail_interval: float = 5.0) -> None:
    stop = threading.Event()
    if mail_interval > 0:
        threading.Thread(target=work_every, args=(mail_interval, stop), name="worker", daemon=True).start()
    try:
        _run(host, port, workers)
    finally:
        stop.set()


def _run(host: str, port: int, workers: int) -> None:
    if workers <= 1:
        uvicorn.run(APP, factory=True, host=host, port=port, log_level="warning")
        return
    # what uvicorn.run does for several workers, with the socket above
    config = TcpConfig(APP, factory=True, host=host, port=port, workers=workers, log_level="warning",
                       timeout_worker_healthcheck=WORKER_HEALTHCHECK)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the workers
        Multiprocess(config, sockets=[config.bind_socket()]).run()
