"""How far a billing run may bill (rules C7, X2), for every way of starting one: ``prorata bill --until``, the
API's ``POST /operator/billing-runs`` and ``prorata clock advance --to``.

``parse_until`` is the one reading of the date forms they accept: a date ``YYYY-MM-DD`` (its midnight UTC) or an
ISO 8601 instant with its offset (a naive one is refused, rule X2). ``check_until`` is the one rule about the future:
subscriptions renew when their period ends (rule C7), so a run up to an instant after the installation's time bills
in advance, and does so only when asked for by name; and never more than ``AHEAD`` ahead, so that a mistyped year
cannot renew years of periods at once.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.periods import parse_instant

AHEAD = timedelta(days=400)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_until(text: object, *, field: str = "until") -> datetime:
    """A date (its midnight UTC) or an instant with its offset, as an aware UTC datetime; anything else is refused
    naming ``field``."""
    if isinstance(text, str) and _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(
                "time.not_a_datetime", f"{field}: {text!r} is not a date (YYYY-MM-DD)", rule="X2", field=field
            ) from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return parse_instant(text, field=field)


def check_until(until: datetime, *, now: datetime, in_advance: bool, asked_by: str, field: str = "until") -> None:
    """Refuse a run beyond the installation's time ``now`` unless ``in_advance`` (named ``asked_by`` to the one who
    asks: a flag, a body field), and any run more than ``AHEAD`` ahead."""
    if until > now + AHEAD:
        raise InvalidInput(
            "billing_run.too_far", f"{field}: at most {AHEAD.days} days after now ({now.isoformat()})", field=field
        )
    if until > now and not in_advance:
        raise RuleViolation(
            "billing_run.in_advance",
            f"{field}: {until.isoformat()} is after the installation's time ({now.isoformat()}); subscriptions renew "
            f"when their period ends, so billing ahead of time must be asked for with {asked_by}",
            rule="C7",
            field=field,
        )
