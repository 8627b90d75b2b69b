"""A local stand-in for the European Commission's VIES REST service (``POST /check-vat-number``), speaking its
protocol: ``{"countryCode", "vatNumber"}`` in; ``{"valid", "name", "address", ...}`` out, or, when a member state's
registry is down, ``{"actionSucceed": false, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]}`` with status 500.

``registered`` holds the numbers it knows (prefix included); ``down`` makes every answer MS_UNAVAILABLE; ``delay``
holds each answer that many seconds (a timeout); ``asked`` records every number asked.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


class Vies:
    def __init__(self) -> None:
        self.registered: dict[str, str] = {}
        self.down = False
        self.delay = 0.0
        self.asked: list[str] = []
        self.lock = threading.Lock()
        self.server = HTTPServer(host="127.0.0.1", port=0, threaded=True)

    @property
    def url(self) -> str:
        return self.server.url_for("/check-vat-number")

    def answer(self, request: Request) -> Response:
        body = json.loads(request.data)
        number = f"{body['countryCode']}{body['vatNumber']}"
        with self.lock:
            self.asked.append(number)
        if self.delay:
            time.sleep(self.delay)
        if self.down:
            failed = {"actionSucceed": False, "errorWrappers": [{"error": "MS_UNAVAILABLE", "message": None}]}
            return Response(json.dumps(failed), status=500, content_type="application/json")
        name = self.registered.get(number)
        return Response(json.dumps({
            "countryCode": body["countryCode"], "vatNumber": body["vatNumber"], "requestDate": "2026-11-15T10:00:00Z",
            "valid": name is not None, "requestIdentifier": "", "name": name or "---", "address": "---",
            "traderName": "---", "traderStreet": "---", "traderPostalCode": "---", "traderCity": "---",
            "traderCompanyType": "---", "traderNameMatch": "NOT_PROCESSED", "traderStreetMatch": "NOT_PROCESSED",
            "traderPostalCodeMatch": "NOT_PROCESSED", "traderCityMatch": "NOT_PROCESSED",
            "traderCompanyTypeMatch": "NOT_PROCESSED",
        }), content_type="application/json")  # fmt: skip


@contextmanager
def vies() -> Iterator[Vies]:
    stand_in = Vies()
    stand_in.server.expect_request("/check-vat-number", method="POST").respond_with_handler(stand_in.answer)
    stand_in.server.start()
    try:
        yield stand_in
    finally:
        stand_in.server.clear()
        if stand_in.server.is_running():
            stand_in.server.stop()
