"""The built-in ``sandbox`` gateway: behaves like a real one, with documented test cards and PayPal accounts (Y4).

| card number         | brand      | every charge                 |
|---------------------|------------|------------------------------|
| 4242 4242 4242 4242 | Visa       | succeeds                     |
| 5555 5555 5555 4444 | Mastercard | succeeds                     |
| 3782 822463 10005   | Amex       | succeeds                     |
| 6011 1111 1111 1117 | Discover   | succeeds                     |
| 3566 0020 2036 0505 | JCB        | succeeds                     |
| 4000 0000 0000 0002 | Visa       | is declined (card_declined)  |
| 4000 0000 0000 9995 | Visa       | insufficient_funds           |
| 4000 0000 0000 0069 | Visa       | expired_card                 |
| 4000 0000 0000 0119 | Visa       | processing_error             |
| 4000 0027 6000 3184 | Visa       | asks the customer to confirm (3-D Secure, ``action_required``) |
| 4000 0000 0000 5126 | Visa       | succeeds; a refund of it fails (``refund_failed``) |

Any other valid card number succeeds. A charge that asks the customer to confirm is completed on the portal's
confirmation page, which stands for the bank's own (approve or decline).

PayPal: ``buyer@sandbox.prorata.test`` pays, ``declined@sandbox.prorata.test``
is declined. Charges are idempotent by key: the same key returns the first answer and never charges twice, which is
what lets an interrupted payment be reconciled by asking again. The outcome is carried by the token, so it is the
same in every process.

``latency_ms`` makes every call that reaches the bank (charge, confirm, cancel, refund) take that long, as a real
gateway's round trip does (``PRORATA_SANDBOX_LATENCY_MS``): the billing run's collection can be watched against a slow
gateway without one.
"""

from __future__ import annotations

import hashlib
import time
from datetime import date

from prorata.domain.cards import CardDetails, check_card
from prorata.domain.errors import InvalidInput
from prorata.domain.payments import ChargeResult, RefundResult

CARD_OUTCOMES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000119": "processing_error",
    "4000002760003184": "authentication_required",
    "4000000000005126": "refund_fails",
}
PAYPAL_OUTCOMES = {
    "buyer@sandbox.prorata.test": "succeeded",
    "declined@sandbox.prorata.test": "paypal_declined",
}


class SandboxGateway:
    name = "sandbox"
    browser_tokens = False  # card numbers pass through the server to be checked and tokenized here

    def __init__(self, latency_ms: int = 0) -> None:
        if latency_ms < 0:
            raise ValueError(f"latency_ms: 0 or more milliseconds, not {latency_ms}")
        self.latency = latency_ms / 1000
        self._charges: dict[str, ChargeResult] = {}
        self._confirmed: dict[str, ChargeResult] = {}  # charges the customer approved or declined, by reference
        self._refunds: dict[str, RefundResult] = {}

    def tokenize_card(self, number: str, exp_month: int, exp_year: int, today: date) -> tuple[str, CardDetails]:
        """Check the card (rule Y2) and return a token for it; the number itself goes no further."""
        digits, details = check_card(number, exp_month, exp_year, today)
        outcome = CARD_OUTCOMES.get(digits, "succeeded")
        fingerprint = hashlib.sha256(digits.encode()).hexdigest()[:12]
        return f"tok_sandbox_{outcome}_{fingerprint}", details

    def tokenize_paypal(self, email: str) -> str:
        outcome = PAYPAL_OUTCOMES.get(email.strip().lower())
        if outcome is None:
            raise InvalidInput(
                "paypal.unknown_account",
                "paypal_email: sandbox PayPal accounts are buyer@ and declined@sandbox.prorata.test",
                rule="Y4",
                field="paypal_email",
            )
        return f"tok_sandbox_{outcome}_paypal"

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        """Charge ``amount`` minor units once per ``idempotency_key``."""
        self._wait()
        if idempotency_key in self._charges:
            return self._charges[idempotency_key]
        if not token.startswith("tok_sandbox_") or amount <= 0:
            raise InvalidInput("payment.invalid", "payment: not a sandbox token or not a positive amount")
        outcome = token.removeprefix("tok_sandbox_").rsplit("_", 1)[0]
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        if outcome == "refund_fails":
            result = ChargeResult(True, f"ch_sandbox_norefund_{digest}")
        elif outcome == "authentication_required":
            result = ChargeResult(False, f"ch_sandbox_confirm_{digest}", outcome, action_required=True)
        elif outcome == "succeeded":
            result = ChargeResult(True, f"ch_sandbox_{digest}")
        else:
            result = ChargeResult(False, f"ch_sandbox_{digest}", outcome)
        self._charges[idempotency_key] = result
        return result

    def outcome(self, token: str | None, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        """The sandbox keeps no books across processes; its answer follows from the key and the token, so asking
        again is charging again with the same key."""
        if token is None:
            return ChargeResult(False, idempotency_key, "no_payment_method")
        first = self.charge(token, amount, currency, idempotency_key)
        return self._confirmed.get(first.reference, first)

    def confirm(self, charge_reference: str, approved: bool) -> ChargeResult:
        """The customer's answer on the confirmation page, standing for the bank's 3-D Secure challenge."""
        if not charge_reference.startswith("ch_sandbox_confirm_"):
            raise InvalidInput("payment.invalid", "payment: not a sandbox charge waiting for confirmation")
        self._wait()
        if charge_reference not in self._confirmed:
            self._confirmed[charge_reference] = (
                ChargeResult(True, charge_reference)
                if approved
                else ChargeResult(False, charge_reference, "authentication_failed")
            )
        return self._confirmed[charge_reference]

    def action_secret(self, charge_reference: str) -> str | None:
        return None  # the sandbox's confirmation page needs no script

    def status(self, charge_reference: str) -> ChargeResult | None:
        """What became of a charge that asked the customer to confirm; None while it still waits."""
        return self._confirmed.get(charge_reference)

    def cancel(self, charge_reference: str) -> ChargeResult:
        self._wait()
        if charge_reference not in self._confirmed:
            self._confirmed[charge_reference] = ChargeResult(False, charge_reference, "authentication_required")
        return self._confirmed[charge_reference]

    def refund_status(self, refund_reference: str) -> RefundResult | None:
        """The sandbox answers every refund at once; it knows those asked of this process."""
        return next((r for r in self._refunds.values() if r.reference == refund_reference), None)

    def refund(self, charge_reference: str, amount: int, currency: str, idempotency_key: str) -> RefundResult:
        """Refund ``amount`` of a charge once per key; a charge of the card 4000 0000 0000 5126 cannot be refunded."""
        self._wait()
        if idempotency_key in self._refunds:
            return self._refunds[idempotency_key]
        if not charge_reference.startswith("ch_sandbox_") or amount <= 0:
            raise InvalidInput("refund.invalid", "refund: not a sandbox charge or not a positive amount")
        reference = "re_sandbox_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        if charge_reference.startswith("ch_sandbox_norefund_"):
            result = RefundResult("failed", reference, "refund_failed")
        else:
            result = RefundResult("succeeded", reference)
        self._refunds[idempotency_key] = result
        return result

    def _wait(self) -> None:
        """The round trip to the bank (``latency_ms``); nothing is locked meanwhile."""
        if self.latency:
            time.sleep(self.latency)
