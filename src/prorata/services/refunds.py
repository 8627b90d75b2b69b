"""Refunds of credit notes to the original payment method, exactly once (rules R1, R2, X3).

A credit note of a paid invoice whose destination is ``original_method`` (``services/credit_notes.py``) writes, in
its own transaction and under the account's lock, the credit note and the refund's intent: ``pending``, with the
idempotency key ``refund-<id>-attempt-<n>``. Then, as paying does (``services/settlement.py``), two steps around the
gateway call, which runs outside any transaction:

1. ``attempt``: ``gateway.refund`` with the attempt's key (asked again with the same key, the gateway answers the
   first outcome and never refunds twice);
2. ``settle_refund``: the account, the invoice and the refund are locked again, in that order; a refund no longer
   pending (a webhook or ``prorata reconcile`` settled it first) is left as it is.

``succeeded``: done, audited, and the customer is e-mailed. ``pending``: the gateway answers later, by a webhook
(which calls ``settle_refund`` with the refund's reference) or ``prorata reconcile`` (``reconcile_refunds``, asking
again with the same key). ``failed``: the credit note stays issued and the refund ``failed``, visible everywhere; an
operator retries it (a new attempt, a new key: ``retry_refund``) or sends it to the credit balance instead. One
refund per credit note (a unique column), and a retry only of a failed one, under its lock: never two in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from prorata.domain.errors import InvalidInput, ProrataError, RuleViolation
from prorata.domain.payments import RefundResult
from prorata.domain.refunds import CREDIT_BALANCE, ORIGINAL_METHOD
from prorata.services import notifications
from prorata.services.ports import Clock, PaymentGateway, RefundRecord, UnitOfWork

log = logging.getLogger(__name__)

# A pending refund younger than this is most likely being settled by the process that asked for it
GRACE = timedelta(minutes=2)


def attempt(
    refund: RefundRecord, *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway, actor: str
) -> RefundRecord:
    """Ask the gateway for the refund's current attempt, outside any transaction, and record its answer."""
    try:
        result = gateway.refund(refund.charge_reference, refund.amount, refund.currency, refund.idempotency_key)
    except ProrataError as error:  # the gateway refused the request itself: the attempt failed
        result = RefundResult("failed", "", error.code)
    except Exception:  # the answer never came: the refund stays pending and reconciliation asks again, same key
        log.exception("refund %s: no answer from the gateway; left pending for reconciliation", refund.id)
        return refund
    settled = settle_refund(refund.id, result, uow=uow, clock=clock, actor=actor)
    assert settled is not None
    return settled


def settle_refund(
    refund: int | str, result: RefundResult, *, uow: Callable[[], UnitOfWork], clock: Clock, actor: str = "gateway"
) -> RefundRecord | None:
    """Record the gateway's answer for a refund named by its id or its gateway reference (a webhook knows only the
    reference); None when there is no such refund. A refund already settled is returned as it is."""
    now = clock.now()
    with uow() as tx:
        found = tx.refund_by_reference(refund) if isinstance(refund, str) else tx.lock_refund(refund)
        if found is None:
            return None
        tx.lock_account(found.account_id)  # account first, then the invoice, then the refund: every writer's order
        tx.lock_invoices(found.account_id, (found.invoice_id,))
        locked = tx.lock_refund(found.id)
        assert locked is not None
        if locked.status != "pending":
            return locked
        tx.record_refund_outcome(locked.id, result, now)
        if result.status != "pending":
            tx.audit(locked.account_id, actor, f"refund.{result.status}",
                     {"refund": locked.id, "credit_note": locked.credit_note, "invoice": locked.invoice,
                      "amount": locked.amount, "attempt": locked.attempt, "reference": result.reference,
                      "failure_code": result.failure_code}, now)  # fmt: skip
        if result.status == "succeeded":
            tx.record_event("refund.succeeded", locked.account_id, "refund", locked.id, now)
            notifications.refund_succeeded(tx, locked.account_id, locked.credit_note_id, locked.amount,
                                           locked.currency, locked.method, now)  # fmt: skip
        after = tx.lock_refund(locked.id)
    assert after is not None
    return after


def retry_refund(
    refund_id: int, *, to: str = ORIGINAL_METHOD, actor: str, uow: Callable[[], UnitOfWork], clock: Clock,
    gateway: PaymentGateway,
) -> RefundRecord:  # fmt: skip
    """A failed refund tried again at the gateway (a new attempt with a new key), or (``to`` credit_balance) its
    amount sent to the credit balance instead. Only a failed refund: one pending or done is refused."""
    if to not in (ORIGINAL_METHOD, CREDIT_BALANCE):
        raise InvalidInput("refund.destination", f"to: {to!r} is not original_method or credit_balance", rule="R2",
                           field="to")  # fmt: skip
    now = clock.now()
    with uow() as tx:
        found = tx.lock_refund(refund_id)
        if found is None:
            raise InvalidInput("refund.unknown", f"refund_id: there is no refund {refund_id}", rule="R2",
                               field="refund_id")  # fmt: skip
        tx.lock_account(found.account_id)
        tx.lock_invoices(found.account_id, (found.invoice_id,))
        refund = tx.lock_refund(refund_id)
        assert refund is not None
        why = f"refund_id: refund {refund_id} is {refund.status}; only a failed refund is tried again or sent to the "
        if refund.status == "pending":  # never two attempts in flight for one credit note
            raise RuleViolation("refund.in_flight", why + "credit balance", rule="R2", field="refund_id")
        if refund.status != "failed":
            raise RuleViolation("refund.not_failed", why + "credit balance", rule="R2", field="refund_id")
        if to == CREDIT_BALANCE:
            tx.refund_to_balance(refund_id, now)
            detail = {"refund": refund_id, "credit_note": refund.credit_note, "amount": refund.amount}
            tx.audit(refund.account_id, actor, "refund.sent_to_balance", detail, now)
            after = tx.lock_refund(refund_id)
            assert after is not None
            return after
        refund = tx.next_refund_attempt(refund_id)
        tx.audit(refund.account_id, actor, "refund.retried",
                 {"refund": refund_id, "credit_note": refund.credit_note, "attempt": refund.attempt,
                  "key": refund.idempotency_key}, now)  # fmt: skip
    return attempt(refund, uow=uow, clock=clock, gateway=gateway, actor=actor)


def reconcile_refunds(
    *, uow: Callable[[], UnitOfWork], clock: Clock, gateway: PaymentGateway, grace: timedelta = GRACE
) -> list[int]:
    """Pending refunds older than ``grace`` asked again with the same key; the ids of those settled now."""
    with uow() as tx:
        pending = tx.pending_refunds(created_before=clock.now() - grace)
    settled = []
    for refund in pending:
        after = attempt(refund, uow=uow, clock=clock, gateway=gateway, actor="reconcile")
        if after.status != "pending":
            settled.append(refund.id)
    return settled


def request_refund(
    tx: UnitOfWork, credit_note: str, invoice_id: int, charge_amount: int, requested_by: str,
    override_reason: str | None, actor: str, now: datetime,
) -> RefundRecord:  # fmt: skip
    """The refund's intent, in the credit note's transaction (the account locked): its first attempt, pending."""
    charge = tx.charge_of_invoice(invoice_id)
    assert charge is not None
    refund = tx.insert_refund(credit_note, invoice_id, charge, charge_amount, requested_by, override_reason, now)
    tx.audit(refund.account_id, actor, "refund.requested",
             {"refund": refund.id, "credit_note": credit_note, "invoice": refund.invoice, "amount": refund.amount,
              "requested_by": requested_by, "key": refund.idempotency_key}, now)  # fmt: skip
    if override_reason:
        tx.audit(refund.account_id, actor, "refund.window_overridden",
                 {"refund": refund.id, "credit_note": credit_note, "invoice": refund.invoice,
                  "reason": override_reason}, now)  # fmt: skip
    return refund
