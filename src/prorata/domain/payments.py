"""What a payment gateway answers (rules K7, K8, Y4)."""

from __future__ import annotations

from dataclasses import dataclass

# Rule K7: what the buyer is told when a payment fails, per gateway failure code
FAILURE_MESSAGES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "processing_error": "The payment could not be processed.",
    "paypal_declined": "PayPal declined the payment.",
}
UPDATE_BILLING = "Update your billing information, then your payment method, and place the order again."


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """One charge attempt: its gateway reference, and why it failed when it did."""

    succeeded: bool
    reference: str
    failure_code: str | None = None

    def message(self) -> str:
        if self.succeeded:
            return "Paid."
        reason = FAILURE_MESSAGES.get(self.failure_code or "", "The payment failed.")
        return f"{reason} {UPDATE_BILLING}"
