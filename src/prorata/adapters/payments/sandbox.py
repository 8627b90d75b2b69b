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

Any other valid card number succeeds. PayPal: ``buyer@sandbox.prorata.test`` pays, ``declined@sandbox.prorata.test``
is declined. Charges are idempotent by key: the same key returns the first answer and never charges twice, which is
what lets an interrupted payment be reconciled by asking again. The outcome is carried by the token, so it is the
same in every process.
"""

from __future__ import annotations

import hashlib
from datetime import date

from prorata.domain.cards import CardDetails, check_card
from prorata.domain.errors import InvalidInput
from prorata.domain.payments import ChargeResult

CARD_OUTCOMES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000000119": "processing_error",
}
PAYPAL_OUTCOMES = {
    "buyer@sandbox.prorata.test": "succeeded",
    "declined@sandbox.prorata.test": "paypal_declined",
}


class SandboxGateway:
    name = "sandbox"

    def __init__(self) -> None:
        self._charges: dict[str, ChargeResult] = {}

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
        if idempotency_key in self._charges:
            return self._charges[idempotency_key]
        if not token.startswith("tok_sandbox_") or amount <= 0:
            raise InvalidInput("payment.invalid", "payment: not a sandbox token or not a positive amount")
        outcome = token.removeprefix("tok_sandbox_").rsplit("_", 1)[0]
        reference = "ch_sandbox_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        result = ChargeResult(True, reference) if outcome == "succeeded" else ChargeResult(False, reference, outcome)
        self._charges[idempotency_key] = result
        return result
