"""The operator's routes on webhook endpoints: register (the signing secret is in the answer once), change, enable
or disable, rotate the secret, delete, see each delivery with its attempts, and replay. Through the use cases of
``services/webhooks.py`` that ``prorata webhooks`` calls; each change is an audit line naming the operator's key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from prorata.adapters.db.event_queries import DeliveryView, delivery_views
from prorata.adapters.db.types import ROW_ID_MAX
from prorata.domain.errors import ProrataError
from prorata.entrypoints.api.auth import AppDep, OperatorDep, row_id
from prorata.entrypoints.api.errors import Problem, not_found
from prorata.entrypoints.api.webhook_schemas import (
    AttemptOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecretOut,
    ReplayIn,
    ReplayOut,
    RotateIn,
)
from prorata.services import webhooks
from prorata.services.webhook_ports import EndpointRecord

router = APIRouter(tags=["operator"])
EndpointId = Annotated[int, row_id("The endpoint's id")]


def endpoint_out(record: EndpointRecord) -> EndpointOut:
    return EndpointOut(
        id=record.id, url=record.url, description=record.description, event_types=list(record.event_types),
        enabled=record.enabled, disabled_reason=record.disabled_reason,  # type: ignore[arg-type]
        disabled_at=record.disabled_at, failing_since=record.failing_since, created_at=record.created_at,
        secret_rotated_grace_until=record.previous_valid_until,
    )  # fmt: skip


def _found(app: AppDep, endpoint_id: int) -> EndpointRecord:
    with app.uow() as tx:
        record = tx.endpoint(endpoint_id)
    if record is None:
        raise not_found("webhook", "endpoint_id")
    return record


@contextmanager
def _the_endpoint() -> Iterator[None]:
    """The use cases say ``webhook.unknown`` of a missing endpoint; in its path it is answered as ``_found`` does."""
    try:
        yield
    except ProrataError as error:
        if error.code == "webhook.unknown":
            raise not_found("webhook", "endpoint_id") from None
        raise


@router.get("/operator/webhook-endpoints", summary="The webhook endpoints, oldest first")
def get_endpoints(_operator: OperatorDep, app: AppDep) -> list[EndpointOut]:
    with app.uow() as tx:
        return [endpoint_out(r) for r in tx.endpoints()]


@router.post(
    "/operator/webhook-endpoints",
    status_code=201,
    summary="Register a webhook endpoint; the answer holds its signing secret, shown this once",
)
def post_endpoint(body: EndpointIn, operator: OperatorDep, app: AppDep) -> EndpointWithSecretOut:
    wanted = webhooks.EndpointIn(body.url, tuple(body.event_types), body.description, body.enabled)
    record, secret = webhooks.create_endpoint(wanted, actor=operator.actor, uow=app.uow, clock=app.clock,
                                              secrets=app.secrets, check_url=app.check_webhook_url)  # fmt: skip
    return EndpointWithSecretOut(**endpoint_out(record).model_dump(), secret=secret)


@router.get("/operator/webhook-endpoints/{endpoint_id}", summary="One webhook endpoint")
def get_endpoint(endpoint_id: EndpointId, _operator: OperatorDep, app: AppDep) -> EndpointOut:
    return endpoint_out(_found(app, endpoint_id))


@router.patch(
    "/operator/webhook-endpoints/{endpoint_id}",
    summary="Change an endpoint's address, event types or description, or enable or disable it",
    description="Enabling an endpoint that was disabled (by an operator, or for failing) resumes its waiting "
    "deliveries, oldest first.",
)
def patch_endpoint(endpoint_id: EndpointId, body: EndpointPatch, operator: OperatorDep, app: AppDep) -> EndpointOut:
    now = _found(app, endpoint_id)
    wanted = webhooks.EndpointIn(
        body.url if body.url is not None else now.url,
        tuple(body.event_types) if body.event_types is not None else now.event_types,
        body.description if body.description is not None else now.description,
        body.enabled if body.enabled is not None else now.enabled,
    )
    with _the_endpoint():  # deleted since it was read
        return endpoint_out(webhooks.update_endpoint(endpoint_id, wanted, actor=operator.actor, uow=app.uow,
                                                     clock=app.clock, check_url=app.check_webhook_url))  # fmt: skip


@router.delete("/operator/webhook-endpoints/{endpoint_id}", status_code=204, summary="Delete an endpoint and its log")
def delete_endpoint(endpoint_id: EndpointId, operator: OperatorDep, app: AppDep) -> Response:
    with _the_endpoint():
        webhooks.delete_endpoint(endpoint_id, actor=operator.actor, uow=app.uow, clock=app.clock)
    return Response(status_code=204)


@router.post(
    "/operator/webhook-endpoints/{endpoint_id}/rotate-secret",
    summary="A new signing secret, shown this once; the previous one also signs for `grace_hours`",
)
def post_rotation(endpoint_id: EndpointId, body: RotateIn, operator: OperatorDep, app: AppDep) -> EndpointWithSecretOut:
    grace = timedelta(hours=body.grace_hours)
    with _the_endpoint():
        record, secret = webhooks.rotate_secret(endpoint_id, actor=operator.actor, uow=app.uow, clock=app.clock,
                                                secrets=app.secrets, grace=grace)  # fmt: skip
    return EndpointWithSecretOut(**endpoint_out(record).model_dump(), secret=secret)


@router.post(
    "/operator/webhook-endpoints/{endpoint_id}/replay",
    summary="Send one event again (`event_id`), or every event since a time (`since`), with their own ids",
)
def post_replay(endpoint_id: EndpointId, body: ReplayIn, operator: OperatorDep, app: AppDep) -> ReplayOut:
    if body.since is not None and body.since.tzinfo is None:
        raise Problem(422, "time.naive", "since: give the time with its offset (Z or +01:00)", field="since")
    with _the_endpoint():
        count = webhooks.replay(endpoint_id, event_id=body.event_id, since=body.since, actor=operator.actor,
                                uow=app.uow, clock=app.clock)  # fmt: skip
    return ReplayOut(deliveries=count)


def delivery_out(view: DeliveryView) -> DeliveryOut:
    return DeliveryOut(
        id=view.id, event_id=view.event_id, event_type=view.event_type, account_id=view.account_id,
        status=view.status,  # type: ignore[arg-type]
        attempts=[AttemptOut(attempt=a.attempt, at=a.at, status_code=a.status_code, error=a.error, excerpt=a.excerpt,
                             duration_ms=a.duration_ms) for a in view.attempts],
        next_attempt_at=view.next_attempt_at, created_at=view.created_at, finished_at=view.finished_at,
    )  # fmt: skip


@router.get(
    "/operator/webhook-endpoints/{endpoint_id}/deliveries",
    summary="An endpoint's deliveries, newest first, each with every attempt: when, the answer's status and start",
)
def get_deliveries(
    endpoint_id: EndpointId,
    _operator: OperatorDep,
    app: AppDep,
    status: Annotated[Literal["pending", "sending", "delivered", "failed"] | None, Query()] = None,
    event_id: Annotated[str | None, Query(pattern=r"^evt_[0-9a-f]{32}$")] = None,
    before: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX, description="Deliveries before this id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryOut]:
    _found(app, endpoint_id)
    with app.engine.connect() as conn:
        views = delivery_views(conn, endpoint_id, status=status, event_id=event_id, before=before, limit=limit)
    return [delivery_out(v) for v in views]
