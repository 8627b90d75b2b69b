"""Webhook signing secrets, derived and never stored.

Each endpoint's secret is ``whsec_`` and the base64 of HMAC-SHA256(installation key, "prorata webhook <endpoint>
<generation>"): the database holds only the generation, so a copy of the database signs nothing. Rotating an
endpoint's secret moves it to the next generation. Changing the installation key changes every endpoint's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path


class DerivedSecrets:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the installation's secret key is too short (at least 16 bytes)")
        self._key = hashlib.sha256(key).digest()

    @classmethod
    def from_config(cls, value: str | None, path: str) -> DerivedSecrets:
        """The key given, or the one kept in ``path`` (made on first use, readable by its owner only)."""
        if value:
            return cls(value.encode())
        file = Path(path)
        try:
            descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls(file.read_bytes().strip())
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        return cls(file.read_bytes().strip())

    def secret(self, endpoint_id: int, generation: int) -> str:
        digest = hmac.new(self._key, f"prorata webhook {endpoint_id} {generation}".encode(), hashlib.sha256).digest()
        return "whsec_" + base64.b64encode(digest).decode()
