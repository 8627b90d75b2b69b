"""The ports of outgoing webhooks: what the delivery use cases need from storage and from the network.

Kept apart from ``ports.py``: webhooks are a consumer of the events table, not a part of billing. The unit of work
implements ``WebhookUnitOfWork`` as well as ``UnitOfWork``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    id: int
    url: str
    description: str
    event_types: tuple[str, ...]  # empty: every type
    enabled: bool
    secret_generation: int
    previous_valid_until: datetime | None  # the previous secret signs too until then (a rotation's grace)
    created_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None  # operator, failing


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    """A claimed delivery: one event to one endpoint, and what signing it needs."""

    id: int
    endpoint_id: int
    url: str
    lane: int  # the account (0: no account): one lane's deliveries go in order, one at a time
    message_id: str  # the event's id: the same webhook-id on every attempt
    body: bytes
    attempt: int  # this attempt's number, from 1
    created_at: datetime  # when the event happened: retries stop 3 days after it
    secret_generation: int
    previous_valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    delivery_id: int
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    excerpt: str
    duration_ms: int


class SendResult(Protocol):
    """What one HTTP attempt gave (``adapters.webhooks.sender.Attempt``)."""

    @property
    def status(self) -> int | None: ...

    @property
    def error(self) -> str | None: ...

    @property
    def excerpt(self) -> str: ...

    @property
    def duration_ms(self) -> int: ...

    @property
    def delivered(self) -> bool: ...


class WebhookSender(Protocol):
    def send(
        self, url: str, *, message_id: str, timestamp: datetime, body: bytes, secrets: Sequence[str]
    ) -> SendResult: ...


class Secrets(Protocol):
    """An endpoint's signing secret, derived from the installation's key: never stored."""

    def secret(self, endpoint_id: int, generation: int) -> str: ...


class WebhookUnitOfWork(Protocol):
    def __enter__(self) -> WebhookUnitOfWork: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    def insert_endpoint(
        self, url: str, description: str, event_types: Sequence[str], enabled: bool, now: datetime
    ) -> int: ...

    def endpoint(self, endpoint_id: int, *, lock: bool = False) -> EndpointRecord | None: ...

    def endpoints(self) -> list[EndpointRecord]: ...

    def update_endpoint(self, endpoint_id: int, **values: object) -> None: ...

    def delete_endpoint(self, endpoint_id: int) -> None: ...

    def claim_deliveries(self, now: datetime, lease_seconds: float, lanes: int, per_lane: int) -> list[DeliveryJob]:
        """Claim the next deliveries of up to ``lanes`` lanes whose first delivery is due and not claimed, up to
        ``per_lane`` each, in order; nothing of a lane another worker holds."""
        ...

    def record_attempts(self, attempts: Sequence[AttemptRecord]) -> None: ...

    def mark_delivered(self, delivery_ids: Sequence[int], now: datetime) -> None: ...

    def retry_delivery(self, delivery_id: int, at: datetime) -> None: ...

    def endpoint_failed(self, endpoint_id: int, now: datetime) -> datetime:
        """The endpoint failed now: when its failing began (the first failure after its last success)."""
        ...

    def give_up_delivery(self, delivery_id: int, now: datetime) -> None: ...

    def release_deliveries(self, delivery_ids: Sequence[int]) -> None:
        """Claimed but not attempted (an earlier one of their lane failed): pending again, due as they were."""
        ...

    def replay(self, endpoint_id: int, now: datetime, *, event_id: str | None, since: datetime | None) -> int: ...

    def purge_events(self, before: datetime) -> int: ...

    def audit(
        self, account_id: int | None, actor: str, action: str, detail: Mapping[str, object], now: datetime
    ) -> None: ...

    def enqueue_person_mail(
        self, recipients: Sequence[str], kind: str, language: str, now: datetime, *,
        account_id: int | None = None, data: Mapping[str, object] | None = None,
    ) -> None: ...  # fmt: skip

    def record_event(
        self, type: str, account_id: int | None, object: str, object_id: int | str | None, at: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> None: ...  # fmt: skip
