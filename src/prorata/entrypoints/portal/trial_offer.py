"""What the portal says of free trials (rule TR1): whether the signed-in account may still start one, and when the
trial a cart or an order starts ends (the first charge)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prorata.adapters.db.trial_store import trial_row
from prorata.domain.cart import Change
from prorata.domain.invoice_lines import Quote
from prorata.entrypoints.portal.pages import Visit
from prorata.services import trials


def may_start(found: Visit, holds_plan: bool) -> bool:
    """Rule TR1: a trial starts from the free plan, once per account; the plan cards offer it only then."""
    if holds_plan:
        return False
    with found.app.engine.connect() as conn:
        return trial_row(conn, found.signed_in.account_id) is None


def ends(priced: Quote | None, changes: Sequence[Change]) -> datetime | None:
    """The end of the trial the cart starts: the first period of its plan, which is charged nothing."""
    if priced is None or trials.requested(changes) is None:
        return None
    return next((s.period.end for s in priced.account.subscriptions if not s.charges), None)
