"""One e-mail address, one person: how an address is normalised before it is stored or looked up, and the keys
the sign-in throttle counts under.

An address is compared without case (``OWNER@x`` and ``owner@x`` are one person, and either signs in), with its
surrounding spaces dropped and its Unicode composed (NFC), so that the same address typed on two keyboards is one.
"""

from __future__ import annotations

import hashlib
import unicodedata


def normalise_email(email: str) -> str:
    return unicodedata.normalize("NFC", email.strip(" ")).lower()  # a control character stays, to be refused


def could_be_an_address(email: str) -> bool:
    """Whether a normalised address can be somebody's: short enough to be stored, with an ``@`` and no control
    character (which the database could not even compare). Anything else is nobody's, and is never looked up."""
    return 0 < len(email) <= 320 and "@" in email and not any(ord(c) < 32 or ord(c) == 127 for c in email)


def email_key(email: str, purpose: str = "sign-in") -> str:
    """The throttle's key for an address: its SHA-256, so the table names nobody."""
    digest = hashlib.sha256(normalise_email(email).encode()).hexdigest()
    return f"{purpose}:e:{digest}"[:80]


def address_key(client_address: str) -> str:
    return f"sign-in:a:{hashlib.sha256(client_address.encode()).hexdigest()}"
