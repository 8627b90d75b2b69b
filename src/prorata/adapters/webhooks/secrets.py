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
    """The secrets of one installation key: given (``PRORATA_SECRET_KEY``), or kept in a file that is read (or made,
    readable by its owner only) when a secret is first asked for, so a command that signs nothing leaves no file."""

    def __init__(self, key: bytes | None = None, *, path: str | None = None) -> None:
        if key is None and path is None:
            raise ValueError("a key or the file that keeps it")
        self._given = key
        self._path = path
        self._key: bytes | None = None

    @classmethod
    def from_config(cls, value: str | None, path: str) -> DerivedSecrets:
        return cls(value.encode()) if value else cls(path=path)

    def _installation_key(self) -> bytes:
        if self._key is None:
            key = self._given if self._given is not None else _kept(Path(str(self._path)))
            if len(key) < 16:
                raise ValueError("the installation's secret key is too short (at least 16 bytes)")
            self._key = hashlib.sha256(key).digest()
        return self._key

    def secret(self, endpoint_id: int, generation: int) -> str:
        message = f"prorata webhook {endpoint_id} {generation}".encode()
        digest = hmac.new(self._installation_key(), message, hashlib.sha256).digest()
        return "whsec_" + base64.b64encode(digest).decode()


def _kept(file: Path) -> bytes:
    try:
        descriptor = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return file.read_bytes().strip()
    with os.fdopen(descriptor, "w") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    return file.read_bytes().strip()
