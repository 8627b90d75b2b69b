"""Free trials (rule TR1): what placing or previewing an order checks and writes for a trial, and the reminder the
billing run sends before a trial ends.

The engine makes the trial (``domain/changes.start_trial``): the plan at once, nothing charged, its first period the
trial. Here: a trial is once per account (the ``trials`` row, keyed by the account, stays for ever); a plan whose
catalog entry says ``trial_requires_card`` starts its trial only with a payment method saved; a trial is ordered on
its own (nothing else in the cart, so nothing is charged with it). The owner is e-mailed ``REMINDER_DAYS`` before
the end, through the outbox, exactly once: the reminder is claimed by one conditional update of the trial's row in
the transaction that writes the e-mail, so two billing runs racing write it once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

from prorata.domain.account import Account, find_plan
from prorata.domain.cart import Change, ChangePlan
from prorata.domain.catalog import Catalog
from prorata.domain.errors import RuleViolation
from prorata.domain.payments import UPDATE_BILLING
from prorata.services.ports import Clock, PaymentMethodRecord, UnitOfWork

REMINDER_DAYS = 3  # rule TR1: the owner is e-mailed this many days before the trial ends
BATCH = 500  # trials reminded per billing run at most; the next run takes the rest


def requested(changes: Sequence[Change]) -> ChangePlan | None:
    """The cart's trial, if it asks for one."""
    for change in changes:
        if isinstance(change, ChangePlan) and change.trial:
            return change
    return None


def prepare(
    tx: UnitOfWork,
    account_id: int,
    account: Account,
    changes: Sequence[Change],
    catalog: Catalog,
    method: PaymentMethodRecord | None,
) -> Account:
    """Rule TR1: refuse a trial the account may not start, before the engine prices it; the account as the engine
    must see it (whether it has had its trial). A cart without a trial is left as it is, and nothing is read."""
    trial = requested(changes)
    if trial is None:
        return account
    if len(changes) > 1:
        raise RuleViolation(
            "trial.alone",
            "trial: a free trial is ordered on its own; add the rest once it has started",
            rule="TR1",
            field="trial",
        )
    account = replace(account, trial_used=tx.trial(account_id) is not None)
    product = catalog.products.get(trial.product) if isinstance(trial.product, str) else None
    if product is not None and product.trial_requires_card and method is None and not account.trial_used:
        raise RuleViolation(
            "trial.card_required",
            f"payment_method: the free trial of {product.name()} starts once a card or PayPal is saved; nothing "
            f"is charged before it ends. {UPDATE_BILLING}",
            rule="TR1",
            field="payment_method",
        )
    return account


def record(
    tx: UnitOfWork, account_id: int, order_id: int | None, changes: Sequence[Change], after: Account, catalog: Catalog
) -> None:
    """Rule TR1: the trial the order started, in its transaction: the account never gets another."""
    if requested(changes) is None:
        return
    plan = find_plan(after.subscriptions, catalog)
    if plan is None:  # the engine always leaves the plan a trial starts; an order that did not is no trial
        return
    tx.start_trial(account_id, plan.product, order_id, plan.period.start, plan.period.end)


def remind_ending(uow: Callable[[], UnitOfWork], clock: Clock, catalog: Catalog, *, limit: int = BATCH) -> list[int]:
    """Rule TR1: e-mail the owner (and the billing contacts) of each trial that ends within ``REMINDER_DAYS``;
    the accounts reminded. A trial cancelled or changed meanwhile is claimed without an e-mail: nothing will be
    charged when it ends, and it is not looked at again."""
    now = clock.now()
    with uow() as tx:
        due = tx.trials_ending(now + timedelta(days=REMINDER_DAYS), now, limit)
    reminded: list[int] = []
    for trial in due:
        with uow() as tx:
            if not tx.claim_trial_reminder(trial.account_id, now):
                continue  # another run wrote it
            account = tx.load_account(trial.account_id, lock=False)
            plan = find_plan(account.subscriptions, catalog)
            if plan is None or plan.period.end != trial.ends_at or plan.charges or plan.cancelling:
                continue
            card = tx.default_payment_method(trial.account_id) is not None
            told = {"product": plan.product, "effective": trial.ends_at.isoformat(), "card": card}
            tx.enqueue_mail(trial.account_id, "trial_ending", now, data=told)
            tx.audit(trial.account_id, "billing run", "trial.reminded", {"ends": trial.ends_at.isoformat()}, now)
        reminded.append(trial.account_id)
    return reminded
