"""What an installation bills with, as ``prorata config show --json`` prints it and the API's
``GET /operator/configuration`` answers it, field for field: the dunning schedule (rule I8) and the seller that
documents and e-mails name (rules I2, I5), with its bank account, footer texts and logo. No secret is part of it.
"""

from __future__ import annotations

from typing import Any

from prorata.domain.dunning import DunningPolicy
from prorata.domain.tax import TaxRules


def configuration_document(dunning: DunningPolicy, tax: TaxRules) -> dict[str, Any]:
    seller, logo = tax.seller, tax.logo
    bank = seller.bank
    return {
        "dunning": {
            "retry_after_days": list(dunning.retry_after_days),
            "attempts": dunning.attempts,
            "cancel_after_overdue_days": dunning.cancel_after_overdue_days,
        },
        "seller": {
            "country": seller.country, "name": seller.name, "address": list(seller.address),
            "tax_id": seller.tax_id, "email": seller.email, "time_zone": seller.time_zone,
            "bank": None if bank is None else {"iban": bank.iban, "swift": bank.swift or None,
                                               "bank_name": bank.bank_name or None},
            "footer": dict(sorted(seller.footer.items())),
            "logo": None if logo is None else {"media_type": logo.media_type, "width": logo.width,
                                               "height": logo.height},
        },
    }  # fmt: skip


def configuration_lines(document: dict[str, Any]) -> list[str]:
    """The same, for a person at a terminal."""
    dunning, seller = document["dunning"], document["seller"]
    days = ", ".join(str(day) for day in dunning["retry_after_days"])
    lines = [
        f"dunning: retried {days} days after the issue date ({dunning['attempts']} attempts), then overdue; "
        f"subscriptions end {dunning['cancel_after_overdue_days']} days overdue",
        f"seller: {seller['name'] or '(no name)'}, {seller['country']}, tax ID {seller['tax_id'] or '-'}, "
        f"time zone {seller['time_zone']}",
        *(f"  {line}" for line in seller["address"]),
    ]
    bank = seller["bank"]
    if bank is not None:
        extra = "".join(f", {part}" for part in (bank["swift"], bank["bank_name"]) if part)
        lines.append(f"  bank account: IBAN {bank['iban']}{extra}")
    for language, text in seller["footer"].items():
        lines.append(f"  footer ({language}): {' '.join(text.split())}")
    logo = seller["logo"]
    if logo is not None:
        lines.append(f"  logo: {logo['media_type']}, {logo['width']} x {logo['height']} pixels")
    return lines
