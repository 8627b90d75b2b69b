"""What a payment gateway answers (rules K7, K8, Y4)."""

from __future__ import annotations

from dataclasses import dataclass

from prorata.domain.cards import CardDetails

# Rule K7: what the buyer is told when a payment fails, per gateway failure code
FAILURE_MESSAGES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "processing_error": "The payment could not be processed.",
    "paypal_declined": "PayPal declined the payment.",
    "authentication_required": "The bank asks you to confirm the payment.",
    "authentication_failed": "Your bank did not confirm the payment.",
}
UPDATE_BILLING = "Update your billing information, then your payment method, and place the order again."


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """One charge attempt: its gateway reference, and why it failed when it did."""

    succeeded: bool
    reference: str
    failure_code: str | None = None
    # strong customer authentication (3-D Secure): the gateway waits for the customer to confirm the payment; the
    # invoice stays open and its payment live until they do, or it fails
    action_required: bool = False

    def message(self) -> str:
        if self.succeeded:
            return "Paid."
        reason = FAILURE_MESSAGES.get(self.failure_code or "", "The payment failed.")
        return f"{reason} {UPDATE_BILLING}"


@dataclass(frozen=True, slots=True)
class RefundResult:
    """One refund asked of the gateway: succeeded, pending (the gateway answers later, by webhook) or failed."""

    status: str  # succeeded, pending, failed
    reference: str
    failure_code: str | None = None


class GatewayUnavailable(Exception):
    """The gateway gave no answer (a timeout, a server error, after its client's own retries with the same key):
    whether money moved is not known, so nothing is settled; reconciliation asks again with the same key."""

    def __init__(self, gateway: str, reason: str) -> None:
        super().__init__(f"{gateway}: no answer ({reason})")
        self.gateway = gateway
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SavedMethod:
    """A payment method the customer saved at a gateway in their browser (rule Y2: only what may be kept)."""

    token: str  # what charges it again: the gateway's customer and method, e.g. ``cus_...|pm_...``
    kind: str  # card or paypal
    card: CardDetails | None
    paypal_email: str | None
