"""Assignments follow what is held: when a subscription ends or renews with fewer licenses than are assigned, the
assignments it no longer carries end in the same transaction (rules U1, A7, L4, C7, D1, A8, I8).

Which ones end is decided by ``domain/licenses.py``: all of an ended subscription, and beyond the licenses a reduced
one keeps, the most recently assigned. A user who loses the plan's license is Basic again and loses their add-on
seats (A7). Each ended assignment is a line of the audit trail (``license.unassigned``, with its reason and what the
user is now). The account is e-mailed (its billing contacts and its owner) when a renewal unassigned anyone for lack
of licenses: that is never what the customer asked for, so they hear which users lost what. An ended subscription's
assignments need no e-mail: the cancellation, the one-month product or the dunning already said it would end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prorata.domain.catalog import Catalog
from prorata.domain.invoice_lines import UnassignReason
from prorata.domain.licenses import Held, Release, ReleaseReason, become_basic, releases
from prorata.services.ports import AssignmentRecord, Renewed, UnitOfWork

ACTOR = "billing run"


def after_renewals(tx: UnitOfWork, renewed: Sequence[Renewed], catalog: Catalog, now: datetime) -> int:
    """End the assignments the batch's renewals no longer carry (the engine's ``unassigned``); how many ended."""
    concerned: dict[int, tuple[set[int], dict[int, int], datetime]] = {}
    for r in renewed:
        ended: set[int] = set()
        reduced: set[int] = set()
        for renewal in r.renewals:
            for u in renewal.unassigned:
                (ended if u.reason is UnassignReason.ENDED else reduced).add(int(u.subscription))
        if not ended and not reduced:
            continue
        final = {int(s.id): s.quantity for s in r.renewals[-1].account.subscriptions}
        keep = {sub: final[sub] for sub in reduced if sub in final}
        ended |= reduced - set(final)  # reduced on one billing date, ended on a later one
        concerned[r.account_id] = (ended, keep, r.renewals[-1].at)
    if not concerned:
        return 0
    plans = _plans(catalog)
    held = tx.assignments_of_accounts(sorted(concerned))
    count = 0
    for account_id, (ended, keep, billing_date) in concerned.items():
        records = [h for h in held if h.account_id == account_id]
        count += _end(tx, account_id, records, releases(_held(records), ended=ended, keep=keep, plans=plans),
                      plans, now, billing_date)  # fmt: skip
    return count


def with_account(tx: UnitOfWork, account_id: int, now: datetime) -> int:
    """Rule I8: every subscription of the account ends (overdue for the dunning schedule's days), and every
    assignment with it; its users are all Basic again. Called before the subscriptions are ended, in the same
    transaction."""
    records = tx.assignments_of_accounts([account_id])
    ended = {h.subscription_id for h in records}
    out = releases(_held(records), ended=ended, keep={}, plans={h.product for h in records})
    return _end(tx, account_id, records, out, {h.product for h in records}, now, None)


def _plans(catalog: Catalog) -> frozenset[str]:
    return frozenset(code for code, product in catalog.products.items() if product.is_plan)


def _held(records: Sequence[AssignmentRecord]) -> list[Held]:
    return [Held(h.id, h.subscription_id, h.product, h.user_id) for h in records]


def _end(
    tx: UnitOfWork,
    account_id: int,
    records: Sequence[AssignmentRecord],
    out: Sequence[Release],
    plans: frozenset[str] | set[str],
    now: datetime,
    billing_date: datetime | None,
) -> int:
    if not out:
        return 0
    basic = become_basic(out, plans)
    tx.end_assignments([r.held.id for r in out])
    tx.set_users_basic(sorted(basic))
    for user in dict.fromkeys(r.held.user for r in out):
        tx.record_event("license.unassigned", account_id, "user", user, now)
    tx.audit_many(
        [
            (account_id, "license.unassigned", {"subscription": r.held.subscription, "user": r.held.user,
             "product": r.held.product, "reason": r.reason.value,
             "user_type": "basic" if r.held.user in basic else "licensed"})
            for r in out
        ],
        ACTOR,
        now,
    )  # fmt: skip
    if billing_date is not None and any(r.reason is ReleaseReason.LICENSES_REDUCED for r in out):
        emails = {h.id: h.email for h in records}
        by_product: dict[str, list[str]] = {}
        for r in out:
            if r.reason is not ReleaseReason.SUBSCRIPTION_ENDED:
                by_product.setdefault(r.held.product, []).append(emails[r.held.id])
        tx.enqueue_mail(account_id, "licenses_unassigned", now, data={
            "effective": billing_date.isoformat(),
            "unassigned": [{"product": code, "users": users} for code, users in by_product.items()],
        })  # fmt: skip
    return len(out)
