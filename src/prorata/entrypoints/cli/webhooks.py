"""``prorata webhooks list|create|update|rotate-secret|delete|deliveries|replay`` and ``prorata events list``: the
operator's side of outgoing webhooks, through the use cases the API calls (``services/webhooks.py``). The webhooks
themselves are delivered by ``prorata worker`` (``worker.py``)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from prorata.adapters.db.event_queries import delivery_views, event_page
from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.cli import status
from prorata.services import webhooks
from prorata.services.events import TYPES
from prorata.services.webhook_ports import EndpointRecord

Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]
ACTOR = "operator"


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    hooks = commands.add_parser("webhooks", help="the endpoints events are sent to, and their deliveries")
    actions = hooks.add_subparsers(dest="action", required=True,
                                   metavar="{list,create,update,rotate-secret,delete,deliveries,replay}")  # fmt: skip
    as_json(database(actions.add_parser("list", help="list the endpoints")))
    create = as_json(database(actions.add_parser("create", help="register an endpoint; prints its secret once")))
    create.add_argument("url", help="http(s) address; private networks only when PRORATA_WEBHOOK_ALLOW_PRIVATE allows")
    _endpoint_options(create)
    update = as_json(database(actions.add_parser("update", help="change, enable or disable an endpoint")))
    update.add_argument("id", type=int)
    update.add_argument("--url")
    _endpoint_options(update)
    state = update.add_mutually_exclusive_group()
    state.add_argument("--enable", action="store_true", help="enable it (resumes its waiting deliveries)")
    state.add_argument("--disable", action="store_true", help="stop sending to it")
    rotate = as_json(database(actions.add_parser("rotate-secret", help="a new secret, printed once")))
    rotate.add_argument("id", type=int)
    rotate.add_argument("--grace-hours", type=int, default=24, help="the old secret signs too this long (default 24)")
    delete = database(actions.add_parser("delete", help="delete an endpoint and its delivery log"))
    delete.add_argument("id", type=int)
    deliveries = as_json(database(actions.add_parser("deliveries", help="an endpoint's deliveries and attempts")))
    deliveries.add_argument("id", type=int)
    deliveries.add_argument("--status", choices=["pending", "sending", "delivered", "failed"])
    deliveries.add_argument("--limit", type=int, default=20)
    replay = as_json(database(actions.add_parser("replay", help="send one event, or every event since, again")))
    replay.add_argument("id", type=int)
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument("--event", help="the event's id (evt_...)")
    which.add_argument("--since", help="every event since this instant (ISO 8601 with an offset)")

    events = commands.add_parser("events", help="what changed, as the API and webhooks tell it")
    event_actions = events.add_subparsers(dest="action", required=True, metavar="{list}")
    listing = as_json(database(event_actions.add_parser("list", help="events, oldest first")))
    listing.add_argument("--type", action="append", choices=TYPES, help="only this type (repeatable)")
    listing.add_argument("--account", type=int, help="only this account's (its id)")
    listing.add_argument("--after", help="after this event (evt_...)")
    listing.add_argument("--limit", type=int, default=50)


def _endpoint_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--event", action="append", dest="events", choices=TYPES,
                        help="an event type to send (repeatable; default: every type)")  # fmt: skip
    parser.add_argument("--description")


def _as_dict(record: EndpointRecord, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record.id, "url": record.url, "description": record.description,
        "event_types": list(record.event_types), "enabled": record.enabled,
        "disabled_reason": record.disabled_reason,
        "failing_since": record.failing_since.isoformat() if record.failing_since else None,
        "secret_rotated_grace_until": record.previous_valid_until.isoformat() if record.previous_valid_until else None,
    }  # fmt: skip
    if secret is not None:
        out["secret"] = secret
    return out


def _line(record: EndpointRecord) -> str:
    state = "enabled" if record.enabled else f"disabled ({record.disabled_reason})"
    kinds = ", ".join(record.event_types) or "every event"
    return f"endpoint {record.id}: {record.url} [{state}] {kinds}"


def _print(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2) if getattr(args, "json", False) else text)


def _instant(text: str, field: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InvalidInput("time.not_a_datetime", f"{field}: an instant with its offset, e.g. 2026-12-01T00:00:00Z",
                           field=field)  # fmt: skip
    return at


def run(app: App, args: argparse.Namespace) -> int:
    if args.command == "events":
        return _events(app, args)
    action = args.action
    if action == "list":
        with app.uow() as tx:
            found = tx.endpoints()
        _print(args, {"endpoints": [_as_dict(r) for r in found]}, "\n".join(_line(r) for r in found) or "none")
        return status.DONE
    if action == "create":
        wanted = webhooks.EndpointIn(args.url, tuple(args.events or ()), args.description or "")
        record, secret = webhooks.create_endpoint(wanted, actor=ACTOR, uow=app.uow, clock=app.clock,
                                                  secrets=app.secrets, check_url=app.check_webhook_url)  # fmt: skip
        _print(args, _as_dict(record, secret), f"{_line(record)}\nsecret (shown once): {secret}")
        return status.DONE
    if action == "update":
        with app.uow() as tx:
            now = tx.endpoint(args.id)
        if now is None:
            raise InvalidInput("webhook.unknown", f"id: there is no webhook endpoint {args.id}", field="id")
        enabled = True if args.enable else False if args.disable else now.enabled
        wanted = webhooks.EndpointIn(
            args.url or now.url,
            tuple(args.events) if args.events else now.event_types,
            now.description if args.description is None else args.description,
            enabled,
        )
        record = webhooks.update_endpoint(args.id, wanted, actor=ACTOR, uow=app.uow, clock=app.clock,
                                          check_url=app.check_webhook_url)  # fmt: skip
        _print(args, _as_dict(record), _line(record))
        return status.DONE
    if action == "rotate-secret":
        grace = timedelta(hours=args.grace_hours)
        record, secret = webhooks.rotate_secret(args.id, actor=ACTOR, uow=app.uow, clock=app.clock,
                                                secrets=app.secrets, grace=grace)  # fmt: skip
        _print(args, _as_dict(record, secret), f"{_line(record)}\nnew secret (shown once): {secret}")
        return status.DONE
    if action == "delete":
        webhooks.delete_endpoint(args.id, actor=ACTOR, uow=app.uow, clock=app.clock)
        print(f"endpoint {args.id} deleted")
        return status.DONE
    if action == "deliveries":
        with app.engine.connect() as conn:
            views = delivery_views(conn, args.id, status=args.status, limit=args.limit)
        rows = [
            {"id": v.id, "event_id": v.event_id, "event_type": v.event_type, "status": v.status,
             "attempts": [{"attempt": a.attempt, "at": a.at.isoformat(), "status_code": a.status_code,
                           "error": a.error, "excerpt": a.excerpt, "duration_ms": a.duration_ms}
                          for a in v.attempts]}
            for v in views
        ]  # fmt: skip
        text = "\n".join(
            f"{v.id} {v.event_type} {v.event_id} {v.status}; "
            + "; ".join(f"#{a.attempt} {a.at:%Y-%m-%d %H:%M:%S} {a.status_code or a.error}" for a in v.attempts)
            for v in views
        )
        _print(args, {"deliveries": rows}, text or "none")
        return status.DONE
    since = _instant(args.since, "since") if args.since else None
    count = webhooks.replay(args.id, event_id=args.event, since=since, actor=ACTOR, uow=app.uow, clock=app.clock)
    _print(args, {"deliveries": count}, f"{count} deliveries queued")
    return status.DONE


def _events(app: App, args: argparse.Namespace) -> int:
    with app.engine.connect() as conn:
        page = event_page(conn, account_id=args.account, types=args.type or (), after=args.after, limit=args.limit)
    if page is None:
        raise InvalidInput("event.unknown", f"after: there is no event {args.after}", field="after")
    text = "\n".join(f"{e['created_at']} {e['id']} {e['type']} account {e['account_id']}" for e in page.data)
    _print(args, {"events": page.data, "has_more": page.has_more}, text or "none")
    return status.DONE
