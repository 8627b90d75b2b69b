"""Outgoing webhooks: the endpoints an operator registers, and delivering every event to them.

The guarantee. An event's deliveries are written in the transaction of its change (``event_store``), so none is lost.
A worker claims a lane (one endpoint, one account) and sends its deliveries in order, one at a time, each signed per
the Standard Webhooks specification with the event's id as ``webhook-id``: the same id on every attempt, so the
receiver can drop a repeat. A delivery is done when the endpoint answered 2xx; the worker records it in a transaction
of its own after the answer. A worker that dies between the answer and that record leaves the delivery claimed, and
once the lease runs out another worker sends it again (at least once: no sender can know whether a receiver it lost
touch with kept a request). Two workers never hold one lane at once, so each successful attempt is made once.

A failed attempt (no answer, a timeout, anything but 2xx) is retried after a growing pause (``RETRY_AFTER``: about 3
days in all) and holds back the later deliveries of its lane, so a receiver sees an account's events in order. After
the last retry the delivery is given up (and can be replayed). An endpoint that has failed for ``DISABLE_AFTER``
without a single success is disabled and the operator told (audit trail, and e-mail when an operator address is
configured); re-enabling it resumes its waiting deliveries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from prorata.domain.errors import FieldErrors, InvalidInput
from prorata.services.events import TYPES
from prorata.services.ports import Clock
from prorata.services.webhook_ports import (
    AttemptRecord,
    DeliveryJob,
    EndpointRecord,
    Secrets,
    SendResult,
    WebhookSender,
    WebhookUnitOfWork,
)

RETRY_AFTER = tuple(
    timedelta(seconds=s)
    for s in (5, 60, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 20 * 3600)
)  # after the attempts 1 to 10; the 11th attempt, about 72 hours after the first, is the last
DISABLE_AFTER = sum(RETRY_AFTER, timedelta())  # failing through one whole schedule of retries (about 3 days)
ROTATION_GRACE = timedelta(hours=24)  # the previous secret keeps signing after a rotation
LEASE_SECONDS = 300.0  # a lane claimed longer ago belongs to a worker that died
LANE_BUDGET = 120.0  # a worker stops sending a lane after this long, well inside the lease, and gives the rest back
URL_MAX = 2000

UrlCheck = Callable[[str], str | None]  # a refusal code for an address the worker may not call, or None


@dataclass(frozen=True, slots=True)
class EndpointIn:
    url: str
    event_types: tuple[str, ...] = ()
    description: str = ""
    enabled: bool = True


def _checked(endpoint: EndpointIn, check_url: UrlCheck) -> EndpointIn:
    errors: list[InvalidInput] = []
    url = endpoint.url.strip()
    refusal = "webhook.url_length" if len(url) > URL_MAX else check_url(url)
    if refusal is not None:
        errors.append(InvalidInput(refusal, f"url: {_URL_REASONS.get(refusal, 'not an address webhooks may call')}",
                                   field="url"))  # fmt: skip
    unknown = [t for t in endpoint.event_types if t not in TYPES]
    if unknown:
        errors.append(InvalidInput("webhook.event_type", f"event_types: unknown event types {', '.join(unknown)}",
                                   field="event_types", allowed=list(TYPES)))  # fmt: skip
    if len(endpoint.description) > 200:
        errors.append(InvalidInput("webhook.description", "description: at most 200 characters", field="description"))
    if errors:
        raise FieldErrors(errors)
    return EndpointIn(url, tuple(dict.fromkeys(endpoint.event_types)), endpoint.description, endpoint.enabled)


_URL_REASONS = {
    "webhook.url_scheme": "only http and https addresses can receive webhooks",
    "webhook.url_host": "the address has no host, or its host name does not resolve",
    "webhook.url_private": "the address is in a private, loopback or link-local network; the operator must allow "
    "such networks explicitly (PRORATA_WEBHOOK_ALLOW_PRIVATE)",
    "webhook.url_credentials": "an address may not carry a user name or password",
    "webhook.url_length": f"at most {URL_MAX} characters",
}


def _unknown(endpoint_id: int) -> InvalidInput:
    return InvalidInput("webhook.unknown", f"endpoint: there is no webhook endpoint {endpoint_id}", field="endpoint")


def create_endpoint(
    endpoint: EndpointIn, *, actor: str, uow: Callable[[], WebhookUnitOfWork], clock: Clock, secrets: Secrets,
    check_url: UrlCheck,
) -> tuple[EndpointRecord, str]:  # fmt: skip
    """Register an endpoint; its signing secret is returned here, once."""
    endpoint = _checked(endpoint, check_url)
    now = clock.now()
    with uow() as tx:
        endpoint_id = tx.insert_endpoint(endpoint.url, endpoint.description, endpoint.event_types, endpoint.enabled,
                                         now)  # fmt: skip
        tx.audit(None, actor, "webhook_endpoint.created", {"endpoint": endpoint_id, "url": endpoint.url}, now)
        record = tx.endpoint(endpoint_id)
    assert record is not None
    return record, secrets.secret(record.id, record.secret_generation)


def update_endpoint(
    endpoint_id: int, endpoint: EndpointIn, *, actor: str, uow: Callable[[], WebhookUnitOfWork], clock: Clock,
    check_url: UrlCheck,
) -> EndpointRecord:  # fmt: skip
    """Change an endpoint's address, types, description or state. Enabling one that was disabled (by an operator
    or for failing) resumes its waiting deliveries, oldest first."""
    endpoint = _checked(endpoint, check_url)
    now = clock.now()
    with uow() as tx:
        found = tx.endpoint(endpoint_id, lock=True)
        if found is None:
            raise _unknown(endpoint_id)
        state: dict[str, object] = {}
        if endpoint.enabled and not found.enabled:
            state = {"enabled": True, "disabled_at": None, "disabled_reason": None, "failing_since": None}
        elif not endpoint.enabled and found.enabled:
            state = {"enabled": False, "disabled_at": now, "disabled_reason": "operator"}
        tx.update_endpoint(endpoint_id, url=endpoint.url, event_types=endpoint.event_types,
                           description=endpoint.description, **state)  # fmt: skip
        tx.audit(None, actor, "webhook_endpoint.updated",
                 {"endpoint": endpoint_id, "url": endpoint.url, "enabled": endpoint.enabled}, now)  # fmt: skip
        record = tx.endpoint(endpoint_id)
    assert record is not None
    return record


def rotate_secret(
    endpoint_id: int, *, actor: str, uow: Callable[[], WebhookUnitOfWork], clock: Clock, secrets: Secrets,
    grace: timedelta = ROTATION_GRACE,
) -> tuple[EndpointRecord, str]:  # fmt: skip
    """A new signing secret, returned once; for ``grace`` every delivery is signed with the old one as well."""
    now = clock.now()
    with uow() as tx:
        found = tx.endpoint(endpoint_id, lock=True)
        if found is None:
            raise _unknown(endpoint_id)
        tx.update_endpoint(endpoint_id, secret_generation=found.secret_generation + 1,
                           previous_valid_until=now + grace)  # fmt: skip
        tx.audit(None, actor, "webhook_endpoint.secret_rotated",
                 {"endpoint": endpoint_id, "previous_valid_until": (now + grace).isoformat()}, now)  # fmt: skip
        record = tx.endpoint(endpoint_id)
    assert record is not None
    return record, secrets.secret(record.id, record.secret_generation)


def delete_endpoint(endpoint_id: int, *, actor: str, uow: Callable[[], WebhookUnitOfWork], clock: Clock) -> None:
    now = clock.now()
    with uow() as tx:
        found = tx.endpoint(endpoint_id, lock=True)
        if found is None:
            raise _unknown(endpoint_id)
        tx.delete_endpoint(endpoint_id)
        tx.audit(None, actor, "webhook_endpoint.deleted", {"endpoint": endpoint_id, "url": found.url}, now)


def replay(
    endpoint_id: int, *, event_id: str | None = None, since: datetime | None = None, actor: str,
    uow: Callable[[], WebhookUnitOfWork], clock: Clock,
) -> int:  # fmt: skip
    """Send one event again, or every event since a time, to one endpoint (after the deliveries waiting there); the
    repeats carry the events' own ids. How many deliveries were queued."""
    if (event_id is None) == (since is None):
        raise InvalidInput("webhook.replay_what", "event_id: name one event, or a time to replay everything since",
                           field="event_id")  # fmt: skip
    now = clock.now()
    with uow() as tx:
        if tx.endpoint(endpoint_id, lock=True) is None:
            raise _unknown(endpoint_id)
        count = tx.replay(endpoint_id, now, event_id=event_id, since=since)
        if event_id is not None and count == 0:
            raise InvalidInput("event.unknown", f"event_id: there is no event {event_id} of a type the endpoint "
                               "wants", field="event_id")  # fmt: skip
        detail = {"endpoint": endpoint_id, "event": event_id, "since": None if since is None else since.isoformat(),
                  "deliveries": count}  # fmt: skip
        tx.audit(None, actor, "webhook_endpoint.replayed", detail, now)
    return count


# ----------------------------------------------------------------------------------------------- delivering


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0  # attempts that failed, to be retried
    given_up: int = 0
    disabled: list[int] = field(default_factory=list)  # endpoints disabled for failing

    def add(self, other: DeliveryReport) -> None:
        self.delivered += other.delivered
        self.failed += other.failed
        self.given_up += other.given_up
        self.disabled.extend(other.disabled)


def next_attempt(attempt: int, now: datetime) -> datetime | None:
    """When to try again after attempt number ``attempt`` failed; None: it was the last."""
    return now + RETRY_AFTER[attempt - 1] if attempt <= len(RETRY_AFTER) else None


def deliver_webhooks(
    *, uow: Callable[[], WebhookUnitOfWork], clock: Clock, wall: Clock, sender: WebhookSender, secrets: Secrets,
    lanes: int = 16, per_lane: int = 50, lease_seconds: float = LEASE_SECONDS, operator_email: str | None = None,
    once: bool = False,
) -> DeliveryReport:  # fmt: skip
    """Deliver what is due, lanes side by side in threads, until nothing is (``once``: one claim only).

    The schedule (what is due, retries, leases) follows the installation's ``clock``, which a simulation moves; the
    ``webhook-timestamp`` each request is signed with is the ``wall`` clock's, which receivers compare with theirs."""
    report = DeliveryReport()
    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="webhooks") as pool:
        while True:
            with uow() as tx:
                jobs = tx.claim_deliveries(clock.now(), lease_seconds, lanes, per_lane)
            if not jobs:
                return report
            by_lane = [list(group) for _, group in groupby(jobs, key=lambda j: (j.endpoint_id, j.lane))]
            for part in pool.map(
                lambda lane: _send_lane(lane, uow, clock, wall, sender, secrets, operator_email), by_lane
            ):
                report.add(part)
            if once:
                return report


def _secrets(job: DeliveryJob, secrets: Secrets, now: datetime) -> list[str]:
    signing = [secrets.secret(job.endpoint_id, job.secret_generation)]
    if job.previous_valid_until is not None and job.previous_valid_until > now and job.secret_generation > 1:
        signing.append(secrets.secret(job.endpoint_id, job.secret_generation - 1))
    return signing


def _send_lane(
    lane: Sequence[DeliveryJob], uow: Callable[[], WebhookUnitOfWork], clock: Clock, wall: Clock,
    sender: WebhookSender, secrets: Secrets, operator_email: str | None,
) -> DeliveryReport:  # fmt: skip
    report = DeliveryReport()
    delivered: list[int] = []
    attempts: list[AttemptRecord] = []
    failed: tuple[DeliveryJob, SendResult, datetime] | None = None
    started = time.monotonic()
    sent = 0
    for job in lane:
        if time.monotonic() - started > LANE_BUDGET:
            break
        now = clock.now()
        result = sender.send(job.url, message_id=job.message_id, timestamp=wall.now(), body=job.body,
                             secrets=_secrets(job, secrets, now))  # fmt: skip
        sent += 1
        attempts.append(AttemptRecord(job.id, job.attempt, now, result.status, result.error, result.excerpt,
                                      result.duration_ms))  # fmt: skip
        if not result.delivered:
            failed = (job, result, now)
            break
        delivered.append(job.id)
    with uow() as tx:
        tx.record_attempts(attempts)
        tx.mark_delivered(delivered, clock.now())
        report.delivered = len(delivered)
        tx.release_deliveries([job.id for job in lane[sent:]])  # not attempted: they wait behind the failed one
        if failed is not None:
            job, result, at = failed
            retry = next_attempt(job.attempt, at)
            if retry is None:
                tx.give_up_delivery(job.id, at)
                report.given_up += 1
            else:
                tx.retry_delivery(job.id, retry)
                report.failed += 1
            since = tx.endpoint_failed(job.endpoint_id, at)
            if at - since >= DISABLE_AFTER:
                _disable(tx, job, result, since, at, operator_email)
                report.disabled.append(job.endpoint_id)
    return report


def _disable(
    tx: WebhookUnitOfWork, job: DeliveryJob, result: SendResult, since: datetime, now: datetime,
    operator_email: str | None,
) -> None:  # fmt: skip
    found = tx.endpoint(job.endpoint_id, lock=True)
    if found is None or not found.enabled:
        return
    tx.update_endpoint(job.endpoint_id, enabled=False, disabled_at=now, disabled_reason="failing")
    detail: dict[str, object] = {"endpoint": job.endpoint_id, "url": job.url, "failing_since": since.isoformat(),
                                 "last_status": result.status, "last_error": result.error}  # fmt: skip
    tx.audit(None, "webhooks", "webhook_endpoint.disabled", detail, now)
    if operator_email:
        tx.enqueue_person_mail([operator_email], "webhook_endpoint_disabled", "en", now, data=detail)


def purge_events(*, uow: Callable[[], WebhookUnitOfWork], clock: Clock, retention_days: int) -> int:
    """Events older than the retention (at least 30 days unless configured otherwise), once delivered."""
    with uow() as tx:
        return tx.purge_events(clock.now() - timedelta(days=retention_days))
