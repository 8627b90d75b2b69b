"""Events: what changed, oldest first, for a product that catches up by reading instead of (or besides) receiving
webhooks. An account's key reads its own account's events; an operator's key reads every account's."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from prorata.adapters.db.event_queries import event_by_id, event_page
from prorata.adapters.db.types import ROW_ID_MAX
from prorata.entrypoints.api.auth import AppDep, CallerDep
from prorata.entrypoints.api.errors import Problem, not_found
from prorata.entrypoints.api.webhook_schemas import EventOut, EventPageOut, EventType

router = APIRouter(tags=["events"])
EventId = Annotated[str, Path(pattern=r"^evt_[0-9a-f]{32}$", description="The event's id")]


@router.get(
    "/events",
    summary="Events, oldest first, a page at a time (`after` the last of a page); by type, account and time",
    description="Events are kept for 30 days (PRORATA_EVENT_RETENTION_DAYS). An account's key sees its own account's "
    "events only.",
)
def get_events(
    who: CallerDep,
    app: AppDep,
    type: Annotated[list[EventType] | None, Query(description="Only these types (repeat the parameter)")] = None,
    account_id: Annotated[int | None, Query(ge=1, le=ROW_ID_MAX, description="Only this account's")] = None,
    created_from: Annotated[datetime | None, Query(description="Created at or after (with an offset)")] = None,
    created_before: Annotated[datetime | None, Query(description="Created before (with an offset)")] = None,
    after: Annotated[str | None, Query(pattern=r"^evt_[0-9a-f]{32}$", description="The last event of a page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EventPageOut:
    own = who.key.account_id
    if own is not None and account_id is not None and account_id != own:
        raise not_found("account", "account_id")
    for name, instant in (("created_from", created_from), ("created_before", created_before)):
        if instant is not None and instant.tzinfo is None:
            raise Problem(422, "time.naive", f"{name}: give the time with its offset (Z or +01:00)", field=name)
    with app.engine.connect() as conn:
        page = event_page(conn, account_id=own if own is not None else account_id, types=type or (), after=after,
                          created_from=created_from, created_before=created_before, limit=limit)  # fmt: skip
    if page is None:
        raise not_found("event", "after")
    events = [EventOut.model_validate(e) for e in page.data]
    return EventPageOut(data=events, has_more=page.has_more, next_after=events[-1].id if events else after)


@router.get("/events/{event_id}", summary="One event, with the object as the API returned it after the change")
def get_event(event_id: EventId, who: CallerDep, app: AppDep) -> EventOut:
    with app.engine.connect() as conn:
        found = event_by_id(conn, event_id, who.key.account_id)
    if found is None:
        raise not_found("event", "event_id")
    return EventOut.model_validate(found)
