"""The European Commission's VIES registry through its REST service (rule T2).

``POST .../check-vat-number`` with ``{"countryCode": "DE", "vatNumber": "123456789"}`` answers ``valid`` (with the
name and address the member state gives) or, when the member state's own registry does not answer, an error such as
``MS_UNAVAILABLE``, ``TIMEOUT``, ``SERVICE_UNAVAILABLE`` or ``MS_MAX_CONCURRENT_REQ``. Those, a network error, a
timeout or an answer that is not VIES's own shape are "unknown", never "invalid": only the registry saying
``valid: false`` refuses a number.
"""

from __future__ import annotations

from typing import Any

import httpx

from prorata.services.ports import VatAnswer

USER_AGENT = "Prorata VAT check"


class ViesRegistry:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=False)

    def check(self, number: str) -> VatAnswer:
        country, rest = number[:2].upper(), number[2:]
        try:
            response = self._client.post(self.url, json={"countryCode": country, "vatNumber": rest})
            body: Any = response.json()
        except (httpx.HTTPError, ValueError) as error:
            return VatAnswer(None, error=f"{type(error).__name__}")
        if not isinstance(body, dict):
            return VatAnswer(None, error=f"HTTP {response.status_code}: not a VIES answer")
        errors = body.get("errorWrappers")
        if errors or body.get("actionSucceed") is False or not isinstance(body.get("valid"), bool):
            code = errors[0].get("error") if isinstance(errors, list) and errors and isinstance(errors[0], dict) else ""
            return VatAnswer(None, error=str(code or f"HTTP {response.status_code}"))
        return VatAnswer(bool(body["valid"]), _text(body.get("name")), _text(body.get("address")))

    def close(self) -> None:
        self._client.close()


def _text(value: object) -> str | None:
    """VIES writes ``---`` where a member state gives no name or address."""
    text = str(value).strip() if isinstance(value, str) else ""
    return None if text in ("", "---") else text[:500]
