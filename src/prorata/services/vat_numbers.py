"""EU VAT numbers checked in the VIES registry (rule T2), beside the format and check digits that ``tax_ids.py``
checks without the network.

When a Sold-To contact with another EU country's VAT number is saved, the registry is asked, outside any
transaction and within the adapter's timeout:

- registered: saved, and the answer kept for ``FRESH`` (asked again after that, when the number is saved again);
- not registered: refused, naming the field and the rule, and nothing is changed;
- no answer (the registry or the member state's own is down, a timeout): accepted provisionally, as a buyer cannot
  be held hostage to a government service, and asked again later (``recheck``: the worker, or ``prorata vat
  recheck``), waiting longer after each failed try. A number the registry then says is not registered is told to
  the operator (``PRORATA_OPERATOR_EMAIL``) and audited in each account that uses it: the reverse charge its invoices
  carried is the operator's to correct, never silently changed here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prorata.domain.errors import InvalidInput
from prorata.services.ports import Clock, UnitOfWork, VatAnswer, VatRegistry

FRESH = timedelta(days=30)
FIRST_RETRY = timedelta(hours=1)
LONGEST_RETRY = timedelta(hours=24)
VALID, INVALID, PROVISIONAL = "valid", "invalid", "provisional"


def _retry_after(attempts: int) -> timedelta:
    wait: timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 10)
    return min(wait, LONGEST_RETRY)


def registered(number: str, *, field_name: str, registry: VatRegistry | None, uow: Callable[[], UnitOfWork],
               clock: Clock) -> str:  # fmt: skip
    """The number's state after asking the registry (or its fresh answer): valid or provisional; a number the
    registry says is not registered is refused."""
    if registry is None:
        return VALID  # no registry configured: the format and check digits were all that could be checked
    now = clock.now()
    with uow() as tx:
        known = tx.vat_check(number)
    if known is not None and known.status == VALID and now - known.checked_at < FRESH:
        return VALID
    answer = registry.check(number)
    with uow() as tx:
        if answer.valid is None:
            attempts = (known.attempts if known is not None and known.status == PROVISIONAL else 0) + 1
            tx.save_vat_check(number, PROVISIONAL, answer, now, now + _retry_after(attempts), attempts)
            return PROVISIONAL
        tx.save_vat_check(number, VALID if answer.valid else INVALID, answer, now, None, 0)
    if not answer.valid:
        raise InvalidInput(
            "contact.vat_not_registered",
            f"{field_name}: {number} is not registered for VAT in the EU registry (VIES)",
            rule="T2",
            field=field_name,
            number=number,
        )
    return VALID


@dataclass(slots=True)
class Recheck:
    valid: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    still_unknown: list[str] = field(default_factory=list)


def recheck(*, registry: VatRegistry | None, uow: Callable[[], UnitOfWork], clock: Clock,
            operator_email: str | None, limit: int = 100) -> Recheck:  # fmt: skip
    """Ask the registry again about the provisional numbers whose time has come."""
    done = Recheck()
    if registry is None:
        return done
    now = clock.now()
    with uow() as tx:
        due = tx.vat_checks_due(now, limit)
    for known in due:
        answer = registry.check(known.number)
        with uow() as tx:
            current = tx.vat_check(known.number)
            if current is None or current.status != PROVISIONAL or current.checked_at != known.checked_at:
                continue  # saved again meanwhile (another worker, or the contact saved anew): that answer stands
            if answer.valid is None:
                attempts = known.attempts + 1
                tx.save_vat_check(known.number, PROVISIONAL, answer, now, now + _retry_after(attempts), attempts)
                done.still_unknown.append(known.number)
                continue
            tx.save_vat_check(known.number, VALID if answer.valid else INVALID, answer, now, None, 0)
            if answer.valid:
                done.valid.append(known.number)
                continue
            done.invalid.append(known.number)
            _tell(tx, known.number, answer, operator_email, now)
    return done


def _tell(tx: UnitOfWork, number: str, answer: VatAnswer, operator_email: str | None, now: datetime) -> None:
    accounts = tx.accounts_with_vat_number(number)
    for account_id in accounts:
        tx.audit(account_id, "vies", "vat_number.not_registered", {"number": number}, now)
    if operator_email:
        codes = [tx.account_code(account_id) or str(account_id) for account_id in accounts]
        tx.enqueue_person_mail([operator_email], "vat_number_not_registered", "en", now,
                               data={"number": number, "accounts": ", ".join(codes)})  # fmt: skip
