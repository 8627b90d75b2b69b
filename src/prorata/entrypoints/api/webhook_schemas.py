"""The API's documents for events and webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from prorata.entrypoints.api.schemas import Out, RowId, Strict
from prorata.services.events import TYPES

EventType = Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=48, description=", ".join(TYPES))]
Url = Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")]
Description = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


class EventOut(Out):
    id: str = Field(description="The event's stable id, also the `webhook-id` of every delivery of it")
    type: str
    created_at: datetime
    account_id: int | None
    object: str = Field(description="What `data` is: order, invoice, credit_note, refund, subscription, user, "
                        "account, payment_method, entitlements")  # fmt: skip
    data: dict[str, Any] = Field(description="The object as the API returns it, once the change was committed")


class EventPageOut(Out):
    data: list[EventOut]
    has_more: bool
    next_after: str | None = Field(description="Pass as `after` for the next page")


class EndpointIn(Strict):
    url: Url = Field(description="http(s) only; addresses in private networks are refused unless the operator "
                     "allows them (PRORATA_WEBHOOK_ALLOW_PRIVATE)")  # fmt: skip
    event_types: list[EventType] = Field(default_factory=list, max_length=len(TYPES),
                                         description="The types to send; empty: every type")  # fmt: skip
    description: Description = ""
    enabled: bool = True


class EndpointPatch(Strict):
    url: Url | None = None
    event_types: list[EventType] | None = Field(default=None, max_length=len(TYPES))
    description: Description | None = None
    enabled: bool | None = None


class EndpointOut(Out):
    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: Literal["operator", "failing"] | None
    disabled_at: datetime | None
    failing_since: datetime | None = Field(description="The first failure since the last success")
    created_at: datetime
    secret_rotated_grace_until: datetime | None = Field(description="Until then the previous secret signs too")


class EndpointWithSecretOut(EndpointOut):
    secret: str = Field(description="The signing secret (`whsec_...`), shown this once; verify with any Standard "
                        "Webhooks library")  # fmt: skip


class RotateIn(Strict):
    grace_hours: int = Field(default=24, ge=0, le=168, description="How long the previous secret still signs")


def _text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("an instant written as ISO 8601 text with its offset")  # not a number of seconds
    return value


# A strict model takes no string for a datetime, and JSON has no other way to write one: this field reads the text.
Instant = Annotated[datetime, BeforeValidator(_text), Field(strict=False)]


class ReplayIn(Strict):
    event_id: Annotated[str, Field(pattern=r"^evt_[0-9a-f]{32}$")] | None = None
    since: Instant | None = Field(default=None, description="Every event since then (with an offset)")


class ReplayOut(Out):
    deliveries: int = Field(description="Deliveries queued")


class AttemptOut(Out):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    excerpt: str = Field(description="The start of the answer's body")
    duration_ms: int


class DeliveryOut(Out):
    id: RowId
    event_id: str
    event_type: str
    account_id: int | None
    status: Literal["pending", "sending", "delivered", "failed"]
    attempts: list[AttemptOut]
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
