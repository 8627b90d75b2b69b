"""The backup payment method (rule BM1): which methods may hold which role, when a renewal's charge falls back to the
backup, and the key of that charge.

An account has one default (primary) method, which every charge uses, and may name one other saved method its
backup. The backup is charged only by the billing run's collection of a renewal invoice, only after the primary's
charge in the same attempt was declined, and with a key of its own derived from the attempt's, so that a retried or
concurrent collection asks the gateway for it once (rule X3). A checkout or a customer paying an invoice is present
to choose a method: those charge the default method alone.

When the primary's charge falls back, decided as Stripe's decline codes and Recurly's backup method read a failure:

- **a decline** (``card_declined``, ``insufficient_funds``, ``expired_card``, ``paypal_declined``, an authentication
  the bank refused ...): the issuer said no to this method, and trying the same one again the same day would get the
  same answer. The backup is charged at once, in the same attempt.
- **not a processing error** (``processing_error``): the gateway or the issuer failed to process the charge, which
  says nothing about the method; Stripe's advice is to try the same method again, and the next attempt of the
  schedule does. Charging the backup would move the customer's bill to their second card over a hiccup.
- **not a charge without an answer** (the gateway timed out): whether money moved is not known until reconciliation
  asks again with the same key; charging the backup meanwhile could take the money twice.
- **not a charge waiting for the customer** (3-D Secure, ``action_required``): the primary may still be paid once the
  customer confirms it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.payments import ChargeResult

# failures that are not a decline of the method: the same method is tried again at the next attempt
RETRY_SAME_METHOD = frozenset({"processing_error", "no_payment_method"})
BACKUP_SUFFIX = "-backup"


def falls_back(result: ChargeResult) -> bool:
    """Rule BM1: whether a renewal's charge on the primary method that answered ``result`` goes on to the backup."""
    return not result.succeeded and not result.action_required and result.failure_code not in RETRY_SAME_METHOD


def backup_key(attempt_key: str) -> str:
    """The idempotency key of the backup's charge in the attempt keyed ``attempt_key`` (``invoice-7-attempt-2`` ->
    ``invoice-7-attempt-2-backup``): one per attempt, so the gateway takes it once however often it is asked."""
    return attempt_key + BACKUP_SUFFIX


@dataclass(frozen=True, slots=True)
class PaymentRoles:
    """An account's saved methods (not removed) and the two that have a role: the default (primary) and the backup."""

    saved: Collection[int]
    primary: int | None
    backup: int | None

    def check_backup(self, method_id: int) -> bool:
        """Rule BM1: ``method_id`` may become the backup: a saved method that is not the primary. Whether that
        changes anything (it may be the backup already)."""
        self._check_saved(method_id)
        if method_id == self.primary:
            raise RuleViolation(
                "payment_method.backup_is_default",
                f"payment_method_id: payment method {method_id} is the default method; the backup is another saved "
                "method, charged when a renewal's charge on the default one is declined",
                rule="BM1",
                field="payment_method_id",
            )
        return method_id != self.backup

    def check_swap(self, method_id: int) -> bool:
        """Rule BM1: the backup ``method_id`` becomes the primary and the primary the backup. Whether that changes
        anything: the same request again, once done, finds ``method_id`` the primary and changes nothing."""
        self._check_saved(method_id)
        if method_id == self.primary:
            return False
        if method_id != self.backup:
            raise RuleViolation(
                "payment_method.not_backup",
                f"payment_method_id: payment method {method_id} is not the backup method; only the backup is swapped "
                "with the default one",
                rule="BM1",
                field="payment_method_id",
            )
        return True

    def _check_saved(self, method_id: int) -> None:
        if method_id not in self.saved:
            raise InvalidInput(
                "payment_method.unknown",
                f"payment_method_id: the account has no payment method {method_id}",
                field="payment_method_id",
            )
