"""The cart of a portal session (rule K3): changes kept in the session's state as JSON, priced by the engine.

An item replaces an earlier one for the same target (the plan, an add-on product, a subscription), so that editing
the plan twice leaves one change. Before anything enters the cart the whole cart is priced: a refusal leaves the
cart as it was (rule X4).

The cart also keeps the discount code entered with it ("Add Discount", rule DC1), checked when it is entered and
priced with the cart wherever the cart is shown, and placed with the order. Items enter the cart priced without it
(an item is accepted on its own); the cart and the summary then price both, and a code the engine no longer accepts
(it expired, was used up meanwhile, or the cart no longer leaves a paid plan) leaves the cart with the refusal said
beside its field, so that what is shown is what is placed (rule C6).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from prorata.domain.cart import AddAddon, Change, ChangeAddon, ChangeInterval, ChangePlan, SetLicenses
from prorata.domain.errors import ProrataError
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


DISCOUNT = "discount_code"  # the session state's key of the code entered with the cart (rule DC1)


def preview(found: Visit, changes: tuple[Change, ...], discount_code: str | None = None) -> Quote:
    session = found.signed_in
    return preview_order(
        PreviewOrder(session.account_id, changes, role=session.role, discount_code=discount_code),
        uow=found.app.uow, clock=found.app.clock, catalog=found.app.catalog, tax=found.app.tax,
    )  # fmt: skip


def discount_of(state: dict[str, Any]) -> str | None:
    """The discount code kept with the cart, or None."""
    code = state.get(DISCOUNT)
    return code if isinstance(code, str) and code else None


def refuses_code(error: ProrataError) -> bool:
    """A refusal of the discount code rather than of the cart: every such refusal names the code's field."""
    return error.field == DISCOUNT


def priced(found: Visit, changes: tuple[Change, ...]) -> tuple[Quote, ProrataError | None]:
    """The cart priced with its discount code. A code the engine now refuses leaves the cart (the cart is priced
    without it); its refusal is returned to be shown beside the code's field. A refusal of the cart itself is
    raised."""
    state = found.signed_in.state
    code = discount_of(state)
    if code is None:
        return preview(found, changes), None
    try:
        return preview(found, changes, code), None
    except ProrataError as refusal:
        if not refuses_code(refusal):
            raise
        without = preview(found, changes)
        keep_discount(found, None)
        return without, refusal


def keep_discount(found: Visit, code: str | None) -> None:
    """Keep (or, None, drop) the cart's discount code; the summary shown for the cart as it was is forgotten."""
    state = found.signed_in.state
    if code is None:
        state.pop(DISCOUNT, None)
    else:
        state[DISCOUNT] = code
    state.pop("summary", None)
    found.save()


def store(found: Visit, changes: tuple[Change, ...]) -> None:
    """Keep the cart; checkout progress made for another cart is forgotten (the summary is priced again). A code
    entered with a cart that is now empty goes with it: it was for that order."""
    state = found.signed_in.state
    state["cart"] = [item_of(c) for c in changes]
    state.pop("summary", None)
    if not changes:
        state.pop(DISCOUNT, None)
    found.save()
