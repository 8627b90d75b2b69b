"""The bodies of the backup payment method (rule BM1) and the extra notice addresses (rule N1).

Notice addresses are read as plain strings here and checked by the use case (``services/notice_addresses.py``), so
that every refusal of them, a sixth address included, names its field and rule N1 as the portal's does."""

from __future__ import annotations

from pydantic import Field

from prorata.entrypoints.api.schemas import Out, RowId, Strict
from prorata.services.notice_addresses import MAX_NOTICE_ADDRESSES


class BackupMethodIn(Strict):
    payment_method_id: RowId = Field(
        description="A saved payment method other than the default one; it becomes the backup (rule BM1)"
    )


class DefaultMethodIn(Strict):
    payment_method_id: RowId = Field(
        description="The backup method, which becomes the default; the default becomes the backup (rule BM1). The "
        "default method itself is accepted and changes nothing, so a retried swap never swaps back."
    )


class NoticeAddressesIn(Strict):
    addresses: list[str] = Field(
        description=f"The account's extra notice addresses, at most {MAX_NOTICE_ADDRESSES}, each once: they receive "
        "the e-mails that bring a new invoice (an order's confirmation, a receipt), never dunning (rule N1). An "
        "empty list removes them all."
    )


class NoticeAddressesOut(Out):
    addresses: list[str] = Field(description="As stored: trimmed, lower case, in the order they were added")
    limit: int = Field(description="How many an account may have (rule N1)")
