"""A local stand-in for Stripe's API: an HTTP server on 127.0.0.1 that the official SDK is pointed at.

It speaks Stripe's protocol as the SDK sees it: form-encoded requests, ``Idempotency-Key`` replays (the same key and
the same parameters answer the first response; other parameters are an ``idempotency_error``), Stripe's error bodies
(HTTP 402 ``card_error`` with ``decline_code`` and the PaymentIntent), search by metadata, and the objects of Stripe's
own published fixtures (``tests/fixtures/stripe``) adjusted per request. Card behaviour follows
Stripe's documented test cards. Every request is recorded for the tests to check, and faults can be asked for: an
HTTP 500, or an answer that comes after the client has given up (the request was carried out: that is the case that
matters for money).

``confirm_setup`` and ``authenticate`` stand for what Stripe.js does in a browser.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

FIXTURES = json.loads((Path(__file__).parent / "fixtures/stripe/fixtures3.json").read_text())["resources"]

# Stripe's test cards: number -> (brand, what a charge does, what a refund does)
CARDS = {
    "4242424242424242": ("visa", "succeeded", "succeeded"),
    "5555555555554444": ("mastercard", "succeeded", "succeeded"),
    "4000000000000002": ("visa", "generic_decline", "succeeded"),
    "4000000000009995": ("visa", "insufficient_funds", "succeeded"),
    "4000000000000069": ("visa", "expired_card", "succeeded"),
    "4000000000000119": ("visa", "processing_error", "succeeded"),
    "4000002760003184": ("visa", "authentication_required", "succeeded"),
    "4000000000005126": ("visa", "succeeded", "failed"),
    "4000000000007726": ("visa", "succeeded", "pending"),
}
DECLINE_CODES = {"generic_decline": "card_declined", "insufficient_funds": "card_declined",
                 "expired_card": "expired_card", "processing_error": "processing_error"}  # fmt: skip


# A stand-in for Stripe.js (the real one is loaded from js.stripe.com, which tests cannot reach). Like the real one,
# it keeps the card in fields of its own, which have no form names (so the page's form never sends them), and sends
# the number only to the stand-in for Stripe's API, with the publishable key and the intent's client secret.
STRIPE_JS = """
(function () {
  var api = document.currentScript.src.replace(/\\/v3\\/stripe\\.js.*$/, "");
  function post(path, data) {
    return fetch(api + path, { method: "POST", body: new URLSearchParams(data) })
      .then(function (r) { return r.json(); });
  }
  window.Stripe = function (key) {
    return {
      elements: function (options) {
        return {
          secret: options.clientSecret,
          create: function () {
            return { mount: function (selector) {
              document.querySelector(selector).innerHTML =
                '<label>Card number <input id="standin-card-number" autocomplete="off"></label>' +
                '<label>Expiry (MM/YYYY) <input id="standin-card-expiry" autocomplete="off"></label>' +
                '<label>CVC <input id="standin-card-cvc" autocomplete="off"></label>';
            } };
          }
        };
      },
      confirmSetup: function (options) {
        var secret = options.elements.secret;
        var expiry = document.getElementById("standin-card-expiry").value.split("/");
        return post("/v1/setup_intents/" + secret.split("_secret_")[0] + "/confirm", {
          key: key, client_secret: secret, "payment_method_data[type]": "card",
          "payment_method_data[card][number]": document.getElementById("standin-card-number").value.replace(/\\s/g, ""),
          "payment_method_data[card][exp_month]": (expiry[0] || "").trim(),
          "payment_method_data[card][exp_year]": (expiry[1] || "").trim()
        }).then(function (r) { return r.error ? { error: r.error } : { setupIntent: r }; });
      },
      handleNextAction: function (options) {
        var secret = options.clientSecret;
        return post("/v1/payment_intents/" + secret.split("_secret_")[0] + "/authenticate",
                    { key: key, client_secret: secret, answer: "approve" })
          .then(function (r) { return r.error ? { error: r.error } : { paymentIntent: r }; });
      }
    };
  };
})();
"""


def _fixture(kind: str, **values: Any) -> dict[str, Any]:
    obj = copy.deepcopy(FIXTURES[kind])
    obj.update(values)
    return obj


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[key]=v``, ``a[b][c]=v``) back to nested dictionaries."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


@dataclass
class Seen:
    method: str
    path: str
    form: dict[str, Any]
    idempotency_key: str | None


@dataclass
class StripeStandIn:
    server: HTTPServer
    secret_key: str = "sk_test_standin"
    publishable_key: str = "pk_test_standin"
    webhook_secret: str = "whsec_standin"
    requests: list[Seen] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    cards: dict[str, str] = field(default_factory=dict)  # payment method id -> card number
    faults: list[tuple[str, str]] = field(default_factory=list)  # (path prefix, "500" or "slow")
    slow_seconds: float = 3.0
    _replays: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def _id(self, prefix: str) -> str:
        return f"{prefix}_standin{next(self._ids):06d}"

    # ---------------------------------------------------------------------------------------- what tests use

    def fail(self, path: str, how: str = "500") -> None:
        """The next request to ``path`` (a prefix) answers HTTP 500, or (``slow``) is carried out and answered
        after the client has stopped waiting."""
        self.faults.append((path, how))

    def card(self, number: str, customer: str | None = None, exp_month: int = 12, exp_year: int = 2030) -> str:
        """A card payment method, as Stripe.js creates one from the fields the customer typed into."""
        brand = CARDS.get(number, ("visa", "succeeded", "succeeded"))[0]
        method = _fixture("payment_method", id=self._id("pm"), customer=customer, type="card")
        method["card"].update(brand=brand, last4=number[-4:], exp_month=exp_month, exp_year=exp_year,
                              display_brand=brand)  # fmt: skip
        self.objects[method["id"]] = method
        self.cards[method["id"]] = number
        return str(method["id"])

    def paypal(self, email: str, customer: str | None = None) -> str:
        """A PayPal payment method, as Stripe's Payment Element saves one after the buyer approved it at PayPal."""
        method = _fixture("payment_method", id=self._id("pm"), customer=customer, type="paypal", card=None,
                          paypal={"payer_email": email, "payer_id": "PAYPALSTANDIN"})  # fmt: skip
        self.objects[method["id"]] = method
        self.cards[method["id"]] = "4242424242424242"  # PayPal pays like the card that succeeds
        return str(method["id"])

    def confirm_setup(self, setup_intent: str, number: str, exp_month: int = 12, exp_year: int = 2030) -> str:
        """The customer typed a card into the Payment Element and Stripe.js confirmed the SetupIntent."""
        intent = self.objects[setup_intent]
        method = self.card(number, intent["customer"], exp_month, exp_year)
        intent.update(status="succeeded", payment_method=method)
        return method

    def authenticate(self, payment_intent: str, approve: bool = True) -> None:
        """The customer answered the bank's 3-D Secure challenge."""
        intent = self.objects[payment_intent]
        if approve:
            intent.update(status="succeeded", next_action=None, last_payment_error=None)
        else:
            failure = {"type": "card_error", "code": "payment_intent_authentication_failure"}
            intent.update(status="requires_payment_method", next_action=None, last_payment_error=failure)

    def finish_refund(self, refund: str, status: str) -> dict[str, Any]:
        """A refund Stripe first answered ``pending`` is done (``succeeded``) or has failed (``failed``)."""
        found = self.objects[refund]
        found["status"] = status
        if status == "failed":
            found["failure_reason"] = "expired_or_canceled_card"
        return found

    def seen(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def signed(self, event_type: str, obj: dict[str, Any], *, event_id: str | None = None,
               at: int | None = None, secret: str | None = None) -> tuple[bytes, str]:  # fmt: skip
        """An event as Stripe sends it, with its ``Stripe-Signature`` header value."""
        event = _fixture("event", id=event_id or self._id("evt"), type=event_type, data={"object": obj})
        payload = json.dumps(event).encode()
        stamp = int(time.time()) if at is None else at
        signature = hmac.new((secret or self.webhook_secret).encode(), f"{stamp}.".encode() + payload,
                             hashlib.sha256).hexdigest()  # fmt: skip
        return payload, f"t={stamp},v1={signature}"

    # ---------------------------------------------------------------------------------------- the protocol

    def handle(self, request: Request) -> Response:
        form = _nest(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
        if request.method == "GET":
            form = _nest(list(request.args.items(multi=True)))
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            self.requests.append(Seen(request.method, request.path, form, key))
            if request.path == "/v3/stripe.js":
                return Response(STRIPE_JS, 200, {"Content-Type": "text/javascript"})
            if form.get("key") == self.publishable_key:  # Stripe.js, from the customer's browser
                answer = self._browser(request.path, form)
                answer.headers["Access-Control-Allow-Origin"] = "*"
                return answer
            if request.headers.get("Authorization") != f"Bearer {self.secret_key}":
                return _error(401, "invalid_request_error", "api_key_invalid", "Invalid API Key provided")
            fault = next((f for f in self.faults if request.path.startswith(f[0])), None)
            if fault is not None:
                self.faults.remove(fault)
                if fault[1] == "500":
                    return _error(500, "api_error", None, "An unknown error occurred")
            fingerprint = json.dumps([request.path, form], sort_keys=True)
            if request.method == "POST" and key and key in self._replays:
                first, status, body = self._replays[key]
                if first != fingerprint:
                    return _error(400, "idempotency_error", None, "Keys for idempotent requests can only be used "
                                  "with the same parameters they were first used with.")  # fmt: skip
                response = Response(body, status, {"Content-Type": "application/json", "Idempotent-Replayed": "true"})
            else:
                response = self._route(request.method, request.path, form)
                if request.method == "POST" and key:
                    self._replays[key] = (fingerprint, response.status_code, response.get_data(as_text=True))
        if fault is not None and fault[1] == "slow":
            time.sleep(self.slow_seconds)  # done, but the answer comes too late
        return response

    def _route(self, method: str, path: str, form: dict[str, Any]) -> Response:
        parts = path.strip("/").split("/")[1:]  # without "v1"
        routes = {
            ("POST", "customers"): self._customer,
            ("POST", "setup_intents"): self._setup_intent,
            ("POST", "payment_intents"): self._payment_intent,
            ("GET", "payment_intents/search"): self._search,
            ("POST", "refunds"): self._refund,
        }
        joined = "/".join(parts)
        if (method, joined) in routes:
            return routes[(method, joined)](form)
        if method == "GET" and len(parts) == 2 and parts[1] in self.objects:
            return _ok(self.objects[parts[1]])
        if method == "POST" and len(parts) == 3 and parts[0] == "payment_intents" and parts[2] == "cancel":
            return self._cancel(parts[1])
        if method == "POST" and len(parts) == 3 and parts[0] == "payment_methods" and parts[2] == "attach":
            found = self.objects.get(parts[1])
            if found is None:
                return _error(404, "invalid_request_error", "resource_missing", "No such PaymentMethod")
            found["customer"] = form.get("customer")
            return _ok(found)
        return _error(404, "invalid_request_error", "resource_missing", f"No such resource: {path}")

    def _browser(self, path: str, form: dict[str, Any]) -> Response:
        """What Stripe.js asks with the publishable key and an intent's client secret."""
        parts = path.strip("/").split("/")[1:]
        intent = self.objects.get(parts[1]) if len(parts) == 3 else None
        if intent is None or form.get("client_secret") != intent.get("client_secret"):
            return _error(400, "invalid_request_error", "resource_missing", "No such intent")
        if parts[0] == "setup_intents" and parts[2] == "confirm":
            card = form.get("payment_method_data", {}).get("card", {})
            number = str(card.get("number", ""))
            if number not in CARDS and not number.isdigit():
                return _error(402, "card_error", "incorrect_number", "Your card number is incorrect.")
            month, year = int(card.get("exp_month") or 12), int(card.get("exp_year") or 2030)
            self.confirm_setup(intent["id"], number, month, year)
            return _ok(intent)
        if parts[0] == "payment_intents" and parts[2] == "authenticate":
            self.authenticate(intent["id"], approve=form.get("answer", "approve") == "approve")
            return _ok(intent)
        return _error(404, "invalid_request_error", "resource_missing", f"No such resource: {path}")

    def _customer(self, form: dict[str, Any]) -> Response:
        customer = _fixture("customer", id=self._id("cus"), name=form.get("name"), email=form.get("email"),
                            metadata=form.get("metadata", {}))  # fmt: skip
        self.objects[customer["id"]] = customer
        return _ok(customer)

    def _setup_intent(self, form: dict[str, Any]) -> Response:
        intent_id = self._id("seti")
        intent = _fixture("setup_intent", id=intent_id, customer=form.get("customer"), client_secret=f"{intent_id}"
                          "_secret_standin", status="requires_payment_method", usage=form.get("usage"))  # fmt: skip
        self.objects[intent_id] = intent
        return _ok(intent)

    def _payment_intent(self, form: dict[str, Any]) -> Response:
        method_id = form.get("payment_method", "")
        number = self.cards.get(method_id)
        if number is None:
            return _error(400, "invalid_request_error", "resource_missing", f"No such PaymentMethod: '{method_id}'")
        if self.objects[method_id].get("customer") != form.get("customer"):
            return _error(400, "invalid_request_error", "payment_method_invalid", "The payment method is not "
                          "attached to this customer")  # fmt: skip
        intent_id = self._id("pi")
        intent = _fixture("payment_intent", id=intent_id, amount=int(form["amount"]), currency=form["currency"],
                          customer=form.get("customer"), payment_method=method_id, metadata=form.get("metadata", {}),
                          client_secret=f"{intent_id}_secret_standin", next_action=None, last_payment_error=None,
                          latest_charge=self._id("ch"), canceled_at=None)  # fmt: skip
        self.objects[intent_id] = intent
        outcome = CARDS.get(number, ("visa", "succeeded", "succeeded"))[1]
        if outcome == "succeeded":
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            return _ok(intent)
        if outcome == "authentication_required":
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            return _card_error("authentication_required", None, intent)
        intent["status"] = "requires_payment_method"
        code = DECLINE_CODES[outcome]
        intent["last_payment_error"] = {"type": "card_error", "code": code, "decline_code": outcome}
        return _card_error(code, outcome, intent)

    def _search(self, form: dict[str, Any]) -> Response:
        match = re.fullmatch(r"metadata\['(\w+)'\]:'([^']*)'", form.get("query", ""))
        found = [] if match is None else [
            o for o in self.objects.values()
            if o.get("object") == "payment_intent" and o.get("metadata", {}).get(match[1]) == match[2]
        ]  # fmt: skip
        return _ok({"object": "search_result", "data": found, "has_more": False, "url": "/v1/payment_intents/search"})

    def _cancel(self, intent_id: str) -> Response:
        intent = self.objects.get(intent_id)
        if intent is None:
            return _error(404, "invalid_request_error", "resource_missing", "No such PaymentIntent")
        if intent["status"] in ("succeeded", "canceled"):
            message = f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}."
            return _error(400, "invalid_request_error", "payment_intent_unexpected_state", message)
        intent.update(status="canceled", cancellation_reason="requested_by_customer", next_action=None)
        return _ok(intent)

    def _refund(self, form: dict[str, Any]) -> Response:
        intent = self.objects.get(form.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return _error(400, "invalid_request_error", "charge_not_refundable", "This charge cannot be refunded")
        amount = int(form.get("amount", intent["amount"]))
        refunded = sum(int(o["amount"]) for o in self.objects.values()
                       if o.get("object") == "refund" and o.get("payment_intent") == intent["id"]
                       and o["status"] != "failed")  # fmt: skip
        if amount > int(intent["amount"]) - refunded:
            return _error(400, "invalid_request_error", "charge_already_refunded",
                          f"Refund amount ({amount}) is greater than unrefunded amount on charge")  # fmt: skip
        outcome = CARDS.get(self.cards.get(intent["payment_method"], ""), ("visa", "succeeded", "succeeded"))[2]
        refund = _fixture("refund", id=self._id("re"), amount=amount, currency=intent["currency"],
                          payment_intent=intent["id"], charge=intent["latest_charge"], status=outcome,
                          metadata=form.get("metadata", {}))  # fmt: skip
        if outcome == "failed":
            refund["failure_reason"] = "expired_or_canceled_card"
        self.objects[refund["id"]] = refund
        return _ok(refund)


def _ok(obj: dict[str, Any]) -> Response:
    return Response(json.dumps(obj), 200, {"Content-Type": "application/json"})


def _error(status: int, kind: str, code: str | None, message: str, **extra: Any) -> Response:
    body = {"error": {"type": kind, "message": message} | ({"code": code} if code else {}) | extra}
    return Response(json.dumps(body), status, {"Content-Type": "application/json"})


def _card_error(code: str, decline_code: str | None, intent: dict[str, Any]) -> Response:
    extra: dict[str, Any] = {"payment_intent": intent}
    if decline_code:
        extra["decline_code"] = decline_code
    return _error(402, "card_error", code, "Your card was declined.", **extra)


def start() -> StripeStandIn:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the stand-in's own request log
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    standin = StripeStandIn(server)
    server.expect_request(re.compile(".*")).respond_with_handler(standin.handle)
    return standin
