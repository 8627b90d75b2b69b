"""The Stripe gateway, through Stripe's own Python SDK (rules Y2, Y4, K7, X3).

Chosen by ``PRORATA_GATEWAY=stripe`` with ``STRIPE_SECRET_KEY``, ``STRIPE_PUBLISHABLE_KEY`` and
``STRIPE_WEBHOOK_SECRET`` from the environment; none of them is stored or logged.

- **Cards never reach Prorata's server.** The portal's payment step mounts Stripe's Payment Element with a SetupIntent
  (``setup_intent``); the browser confirms it at Stripe, and the server only reads back the saved payment method
  (``saved_method``): its brand, last four digits and expiry (Y2). The token Prorata keeps is
  ``<customer id>|<payment method id>``: both are needed to charge the method again off-session.
- **Every charge is a PaymentIntent** confirmed at once, off-session, with the payment's own idempotency key as
  Stripe's ``Idempotency-Key`` (and in the intent's metadata, so that reconciliation finds it after Stripe has
  forgotten the key). A charge the bank wants the customer to confirm (3-D Secure) answers ``action_required``.
- **An answer that never came is not a failure.** A timeout or a server error (after the SDK's own retries with the
  same key) raises ``GatewayUnavailable``: the payment stays pending and ``prorata reconcile`` asks again.
- Decline codes map to the messages the portal shows (K7).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import stripe

from prorata.domain.cards import Brand, CardDetails
from prorata.domain.errors import InvalidInput, RuleViolation
from prorata.domain.payments import ChargeResult, GatewayUnavailable, RefundResult, SavedMethod

log = logging.getLogger(__name__)

KEY_METADATA = "prorata_key"  # each PaymentIntent carries its Prorata idempotency key here

# Stripe's decline codes (and error codes) to the failure codes whose messages the portal shows (K7)
DECLINES = {
    "insufficient_funds": "insufficient_funds",
    "expired_card": "expired_card",
    "processing_error": "processing_error",
    "incorrect_cvc": "card_declined",
    "incorrect_number": "card_declined",
    "card_declined": "card_declined",
    "generic_decline": "card_declined",
    "do_not_honor": "card_declined",
    "lost_card": "card_declined",
    "stolen_card": "card_declined",
    "fraudulent": "card_declined",
    "card_velocity_exceeded": "card_declined",
    "authentication_required": "authentication_required",
    "payment_intent_authentication_failure": "authentication_failed",
}
BRANDS = {
    "visa": Brand.VISA,
    "mastercard": Brand.MASTERCARD,
    "amex": Brand.AMEX,
    "discover": Brand.DISCOVER,
    "jcb": Brand.JCB,
}


def failure_code(code: str | None, decline_code: str | None = None) -> str:
    """The portal's failure code for Stripe's ``decline_code`` (preferred) or error ``code``."""
    for candidate in (decline_code, code):
        if candidate in DECLINES:
            return DECLINES[candidate]
    return "card_declined" if (decline_code or code) else "processing_error"


@dataclass(frozen=True, slots=True)
class StripeSettings:
    secret_key: str
    publishable_key: str
    webhook_secret: str
    api_base: str | None = None  # another address for Stripe's API (a local stand-in in tests)
    js_url: str = "https://js.stripe.com/v3/"  # where the browser loads Stripe.js
    timeout: float = 30.0
    retries: int = 2  # the SDK's own retries of a request that got no answer, with the same idempotency key


class StripeGateway:
    name = "stripe"
    browser_tokens = True  # card numbers are typed into Stripe's own fields in the browser

    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings
        self.publishable_key = settings.publishable_key
        base = {"api": settings.api_base} if settings.api_base else None
        self._client = stripe.StripeClient(
            settings.secret_key,
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=settings.retries,
            http_client=stripe.new_default_http_client(timeout=settings.timeout),
        )

    # ------------------------------------------------------------------------------------------------ saving

    def tokenize_card(self, number: str, exp_month: int, exp_year: int, today: object) -> tuple[str, CardDetails]:
        """Refused: with a real gateway a card number never reaches this server (PCI SAQ A)."""
        raise RuleViolation(
            "payment.card_number_refused",
            "card_number: with Stripe configured, cards are entered in Stripe's own fields; send the payment method "
            "id (payment_method_id) of a SetupIntent instead",
            rule="Y2",
            field="card_number",
        )

    def tokenize_paypal(self, email: str) -> str:
        raise RuleViolation(
            "payment.paypal_at_gateway",
            "paypal_email: with Stripe configured, PayPal is chosen in Stripe's payment step; send the payment "
            "method id (payment_method_id) instead",
            rule="Y4",
            field="paypal_email",
        )

    def create_customer(self, account_code: str, name: str, email: str | None, idempotency_key: str) -> str:
        params: dict[str, Any] = {"name": name, "metadata": {"prorata_account": account_code}}
        if email:
            params["email"] = email
        customer = self._call(self._client.v1.customers.create, params, key=idempotency_key)
        return str(customer.id)

    def setup_intent(self, customer: str, idempotency_key: str) -> tuple[str, str]:
        """A SetupIntent for saving a method for later off-session charges: (its id, its client secret). The
        client secret goes to the customer's browser only; it is never stored."""
        intent = self._call(
            self._client.v1.setup_intents.create,
            {"customer": customer, "usage": "off_session", "automatic_payment_methods": {"enabled": True}},
            key=idempotency_key,
        )
        return str(intent.id), str(intent.client_secret)

    def saved_method(self, setup_intent_id: str, customer: str) -> SavedMethod:
        """The method a SetupIntent of this customer saved; refused unless Stripe says it succeeded for them."""
        intent = self._call(self._client.v1.setup_intents.retrieve, setup_intent_id)
        if intent.customer != customer or intent.status != "succeeded" or not intent.payment_method:
            raise InvalidInput(
                "payment.setup_incomplete",
                "setup_intent: the payment method was not saved at Stripe; enter it again",
                rule="Y4",
                field="setup_intent",
            )
        method_id = intent.payment_method if isinstance(intent.payment_method, str) else intent.payment_method.id
        return self.method(customer, str(method_id))

    def method(self, customer: str, payment_method_id: str) -> SavedMethod:
        """A payment method of this customer at Stripe (the API takes its id), read back for what is shown."""
        try:
            found = self._call(self._client.v1.payment_methods.retrieve, payment_method_id)
        except InvalidInput:
            found = None
        if found is None or (found.customer and found.customer != customer):
            raise InvalidInput(
                "payment.method_unknown",
                "payment_method_id: Stripe has no such payment method for this account",
                rule="Y4",
                field="payment_method_id",
            )
        if not found.customer:
            self._call(self._client.v1.payment_methods.attach, payment_method_id, {"customer": customer},
                       key=f"attach-{customer}-{payment_method_id}")  # fmt: skip
        token = f"{customer}|{payment_method_id}"
        if found.type == "paypal":
            email = getattr(found.paypal, "payer_email", None) or ""
            return SavedMethod(token, "paypal", None, str(email))
        card = found.card
        brand = BRANDS.get(str(card.brand))
        if brand is None:
            raise RuleViolation(
                "card.brand_unsupported",
                "card: Visa, Mastercard, American Express, Discover or JCB",
                rule="Y1",
                field="payment_method_id",
            )
        return SavedMethod(token, "card", CardDetails(brand, str(card.last4), int(card.exp_month),
                                                      int(card.exp_year)), None)  # fmt: skip

    # ------------------------------------------------------------------------------------------------ money

    def charge(self, token: str, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        if not _is_stripe(token):
            # a method saved at another gateway (the sandbox, before Stripe was configured) cannot be charged here:
            # a failure the customer can act on, by entering the method again
            log.warning("payment method of another gateway; charge %s not attempted", idempotency_key)
            return ChargeResult(False, idempotency_key, "processing_error")
        customer, method = _split(token)
        params = {
            "amount": amount,
            "currency": currency.lower(),
            "customer": customer,
            "payment_method": method,
            "confirm": True,
            "off_session": True,
            "metadata": {KEY_METADATA: idempotency_key},
        }
        try:
            intent = self._client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        except stripe.CardError as error:
            return _declined(error, idempotency_key)
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            raise GatewayUnavailable(self.name, type(error).__name__) from error
        except stripe.StripeError as error:  # a request Stripe refused: nothing was charged
            log.warning("stripe refused a charge: %s %s", type(error).__name__, error.code)
            return ChargeResult(False, idempotency_key, "processing_error")
        return intent_result(intent)

    def outcome(self, token: str | None, amount: int, currency: str, idempotency_key: str) -> ChargeResult:
        """Reconciliation: the PaymentIntent made with this key, found by its metadata (Stripe forgets idempotency
        keys after a day); one never made is made now, with the same key."""
        found = self._call(
            self._client.v1.payment_intents.search, {"query": f"metadata['{KEY_METADATA}']:'{idempotency_key}'"}
        )
        if found.data:
            return intent_result(found.data[0])
        if token is None:
            return ChargeResult(False, idempotency_key, "no_payment_method")
        return self.charge(token, amount, currency, idempotency_key)

    def status(self, charge_reference: str) -> ChargeResult | None:
        intent = self._call(self._client.v1.payment_intents.retrieve, charge_reference)
        result = intent_result(intent)
        return None if result.action_required else result

    def confirm(self, charge_reference: str, approved: bool) -> ChargeResult | None:
        """Stripe.js completed the bank's challenge in the browser; Stripe is asked what came of it."""
        return self.status(charge_reference)

    def action_secret(self, charge_reference: str) -> str | None:
        """The client secret the confirmation page gives Stripe.js to complete 3-D Secure; read when the page is
        shown, never stored."""
        intent = self._call(self._client.v1.payment_intents.retrieve, charge_reference)
        return str(intent.client_secret) if intent.status == "requires_action" else None

    def cancel(self, charge_reference: str) -> ChargeResult:
        try:
            intent = self._call(self._client.v1.payment_intents.cancel, charge_reference, {},
                                key=f"cancel-{charge_reference}")  # fmt: skip
        except InvalidInput:  # not cancelable any more: it succeeded or failed meanwhile
            intent = self._call(self._client.v1.payment_intents.retrieve, charge_reference)
        result = intent_result(intent)
        if intent.status == "canceled":
            return ChargeResult(False, charge_reference, "authentication_required")
        return result

    def refund(self, charge_reference: str, amount: int, currency: str, idempotency_key: str) -> RefundResult:
        try:
            refund = self._client.v1.refunds.create(
                {"payment_intent": charge_reference, "amount": amount, "metadata": {KEY_METADATA: idempotency_key}},
                {"idempotency_key": idempotency_key},
            )
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            raise GatewayUnavailable(self.name, type(error).__name__) from error
        except stripe.StripeError as error:
            return RefundResult("failed", idempotency_key, str(error.code or "refund_failed"))
        return refund_result(refund)

    def refund_status(self, refund_reference: str) -> RefundResult | None:
        try:
            return refund_result(self._call(self._client.v1.refunds.retrieve, refund_reference))
        except InvalidInput:
            return None

    # ------------------------------------------------------------------------------------------------ webhooks

    def event(self, payload: bytes, signature: str | None) -> stripe.Event:
        """A webhook event whose ``Stripe-Signature`` is checked with the webhook secret (and a 5-minute tolerance);
        anything else is refused."""
        try:
            return self._client.construct_event(payload, signature or "", self.settings.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise InvalidInput("webhook.signature", "Stripe-Signature: the event is not signed by Stripe",
                               field="Stripe-Signature") from error  # fmt: skip

    # ------------------------------------------------------------------------------------------------ plumbing

    def _call(self, method: Any, *args: Any, key: str | None = None) -> Any:
        """A call that moves no money: Stripe's refusal is bad input; no answer is the gateway being unavailable.
        With ``key``, the last of ``args`` must be the request's parameters; the key goes as Stripe's
        ``Idempotency-Key``."""
        try:
            return method(*args, {"idempotency_key": key}) if key else method(*args)
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            raise GatewayUnavailable(self.name, type(error).__name__) from error
        except stripe.StripeError as error:
            raise InvalidInput("gateway.refused", f"gateway: Stripe refused the request ({error.code})",
                               rule="Y4") from error  # fmt: skip


def _is_stripe(token: str) -> bool:
    customer, _, method = token.partition("|")
    return customer.startswith("cus_") and bool(method)


def _split(token: str) -> tuple[str, str]:
    customer, _, method = token.partition("|")
    if not customer.startswith("cus_") or not method:
        raise InvalidInput("payment.invalid", "payment: not a Stripe payment method of a customer")
    return customer, method


def _declined(error: stripe.CardError, key: str) -> ChargeResult:
    body = error.error
    intent = getattr(body, "payment_intent", None) if body is not None else None
    reference = str(intent.id) if intent is not None and getattr(intent, "id", None) else key
    code = failure_code(error.code, getattr(body, "decline_code", None) if body is not None else None)
    if code == "authentication_required" and intent is not None and getattr(intent, "status", "") == "requires_action":
        return ChargeResult(False, reference, code, action_required=True)
    return ChargeResult(False, reference, code)


def intent_result(intent: Any) -> ChargeResult:
    status = intent.status
    if status in ("succeeded", "processing"):
        # processing (some bank debits): Stripe has the money in hand or on its way; a later failure is a dispute
        return ChargeResult(True, str(intent.id))
    if status == "requires_action":
        return ChargeResult(False, str(intent.id), "authentication_required", action_required=True)
    error = getattr(intent, "last_payment_error", None)
    code = failure_code(getattr(error, "code", None), getattr(error, "decline_code", None)) if error else None
    if status == "canceled":
        code = code or "authentication_required"
    return ChargeResult(False, str(intent.id), code or "card_declined")


def refund_result(refund: Any) -> RefundResult:
    status = str(refund.status)
    if status == "succeeded":
        return RefundResult("succeeded", str(refund.id))
    if status in ("pending", "requires_action"):
        return RefundResult("pending", str(refund.id))
    return RefundResult("failed", str(refund.id), str(getattr(refund, "failure_reason", None) or "refund_failed"))
