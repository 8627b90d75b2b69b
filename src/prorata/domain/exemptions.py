"""Tax exemption certificates (rule TE1): who may send one, what a certificate may be, and its states.

A US customer (the Sold-To contact's country) sends a certificate; the account is *Exemption pending* until an
operator accepts it (*Exempt*: no tax, ``tax.decide``) or rejects it. Changing the Sold-To country clears the
exemption, accepted or pending: a certificate is issued for one jurisdiction. A new certificate replaces the one
before and waits for an operator again.

A certificate is a PDF, PNG or JPEG file, recognised by its first bytes (never by its name or the type a browser
claims), of at most ``MAX_BYTES``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from prorata.domain.errors import InvalidInput, RuleViolation

ELIGIBLE_COUNTRIES = frozenset({"US"})
MAX_BYTES = 5 * 1024 * 1024
PENDING, EXEMPT, REJECTED = "pending", "exempt", "rejected"
STATES = (PENDING, EXEMPT, REJECTED)
REASON_LENGTH = 500

# the first bytes of each kind of file a certificate may be, and its media type
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)


@dataclass(frozen=True, slots=True)
class Certificate:
    filename: str
    media_type: str
    content: bytes


def check_eligible(sold_to_country: str | None) -> None:
    if (sold_to_country or "").upper() not in ELIGIBLE_COUNTRIES:
        raise RuleViolation(
            "tax_exemption.not_eligible",
            "certificate: an exemption certificate is accepted from a US customer (the Sold-To contact's country)",
            rule="TE1",
            field="certificate",
            country=sold_to_country or "",
        )


def certificate(filename: str, content: bytes) -> Certificate:
    """The file as it is kept: its kind read from its first bytes, its name cleaned for a download's header."""
    if not content:
        raise InvalidInput("tax_exemption.empty", "certificate: choose a file", rule="TE1", field="certificate")
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            "tax_exemption.too_large",
            f"certificate: the file is larger than {MAX_BYTES // (1024 * 1024)} MB",
            rule="TE1",
            field="certificate",
            limit=MAX_BYTES,
        )
    media_type = next((kind for head, kind in SIGNATURES if content.startswith(head)), None)
    if media_type is None:
        raise InvalidInput(
            "tax_exemption.file_type",
            "certificate: send a PDF, PNG or JPEG file",
            rule="TE1",
            field="certificate",
        )
    return Certificate(clean_filename(filename, media_type), media_type, content)


def clean_filename(filename: str, media_type: str) -> str:
    """ASCII letters, digits, dots, dashes and underscores only, at most 100 characters, with the extension of the
    file's real kind: a name that is safe in a header and in a file system whatever was sent."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._")
    stem = stem.rsplit(".", 1)[0][:90] or "certificate"
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[media_type]
    return f"{stem}.{extension}"


def check_decision(accept: bool, reason: str) -> str:
    """A rejection says why (the customer reads it); an acceptance may."""
    reason = reason.strip()
    if len(reason) > REASON_LENGTH:
        raise InvalidInput("tax_exemption.reason", f"reason: at most {REASON_LENGTH} characters", rule="TE1",
                           field="reason")  # fmt: skip
    if not accept and not reason:
        raise InvalidInput("tax_exemption.reason_missing", "reason: say why the certificate is rejected",
                           rule="TE1", field="reason")  # fmt: skip
    return reason
