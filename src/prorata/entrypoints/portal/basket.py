"""The cart of a portal session (rule K3): changes kept in the session's state as JSON, priced by the engine.

An item replaces an earlier one for the same target (the plan, an add-on product, a subscription), so that editing
the plan twice leaves one change. Before anything enters the cart the whole cart is priced: a refusal leaves the
cart as it was (rule X4).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from prorata.domain.cart import AddAddon, Change, ChangeAddon, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.invoice_lines import Quote
from prorata.entrypoints.portal.pages import Visit
from prorata.services.place_order import cart_from_json
from prorata.services.preview_order import PreviewOrder, preview_order


def item_of(change: Change) -> dict[str, Any]:
    return json.loads(json.dumps({"type": type(change).__name__, **asdict(change)}))  # type: ignore[no-any-return]


def changes_of(state: dict[str, Any]) -> tuple[Change, ...]:
    return cart_from_json(json.dumps(state.get("cart", [])))


def _target(change: Change) -> tuple[str, object]:
    if isinstance(change, ChangePlan):
        return ("plan", None)
    if isinstance(change, AddAddon):
        return ("add", change.product)
    if isinstance(change, SetLicenses | ChangeInterval):
        return (type(change).__name__, change.subscription)
    if isinstance(change, ChangeAddon):
        return ("addon", change.subscription)
    return (type(change).__name__, getattr(change, "subscription", None))


def with_changes(
    current: tuple[Change, ...], new: tuple[Change, ...], *, drop: tuple[str, ...] = ()
) -> tuple[Change, ...]:
    """The cart with ``new`` in place of the items for the same targets (and of the kinds in ``drop``)."""
    targets = {_target(c) for c in new}
    kept = tuple(c for c in current if _target(c) not in targets and type(c).__name__ not in drop)
    return kept + new


def preview(found: Visit, changes: tuple[Change, ...]) -> Quote:
    session = found.signed_in
    return preview_order(
        PreviewOrder(session.account_id, changes, role=session.role),
        uow=found.app.uow, clock=found.app.clock, catalog=found.app.catalog, tax=found.app.tax,
    )  # fmt: skip


def store(found: Visit, changes: tuple[Change, ...]) -> None:
    """Keep the cart; checkout progress made for another cart is forgotten (the summary is priced again)."""
    state = found.signed_in.state
    state["cart"] = [item_of(c) for c in changes]
    state.pop("summary", None)
    found.save()
