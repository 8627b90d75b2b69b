"""The page where a customer confirms a charge their bank asked them to confirm (3-D Secure; rules K8, I3, I6).

Reached from the e-mail's link, or straight from the checkout and from Invoice History when the bank asks at once.
With Stripe, the page hands the charge's client secret (read from Stripe when the page is shown, never stored) to
Stripe.js, which opens the bank's challenge; its answer comes back to this page as a plain form post, and Stripe is
asked what came of it. With the sandbox, the page itself stands for the bank: approve or decline.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from prorata.adapters.db.queries import account_view
from prorata.domain.errors import ProrataError
from prorata.entrypoints.portal.pages import Form, RowId, Visit, buyer_visit, posted, render
from prorata.services.confirm_payment import confirm_payment, waiting_payment

router = APIRouter()


def _page(found: Visit, payment_id: int, status: int = 200, **context: object) -> Response:
    try:
        payment = waiting_payment(found.signed_in.account_id, payment_id, uow=found.app.uow)
    except ProrataError:
        raise HTTPException(status_code=404) from None
    with found.app.engine.connect() as conn:
        account = account_view(conn, found.signed_in.account_id)
    secret = None
    gateway = found.app.gateway
    if payment is not None and payment.status == "action_required" and payment.reference is not None:
        secret = gateway.action_secret(payment.reference)
    return render(found, "confirm_payment.html", status, account=account, payment=payment, payment_id=payment_id,
                  client_secret=secret, browser_tokens=gateway.browser_tokens,
                  publishable_key=getattr(gateway, "publishable_key", ""),
                  stripe_js=getattr(getattr(gateway, "settings", None), "js_url", ""), **context)  # fmt: skip


@router.get("/billing/payments/{payment_id}/confirm", response_class=HTMLResponse)
def confirm_page(request: Request, payment_id: RowId) -> Response:
    return _page(buyer_visit(request), payment_id)


@router.post("/billing/payments/{payment_id}/confirm", response_model=None)
def confirm(request: Request, payment_id: RowId, form: Form) -> Response:
    found = posted(request, form, buyer=True)
    app = found.app
    try:
        done = confirm_payment(found.signed_in.account_id, payment_id, form.get("answer") == "approve",
                               uow=app.uow, clock=app.clock, gateway=app.gateway, catalog=app.catalog, tax=app.tax,
                               actor=found.signed_in.email)  # fmt: skip
    except ProrataError:
        raise HTTPException(status_code=404) from None
    if done is None:
        return _page(found, payment_id, 409, still_waiting=True)
    return _page(found, payment_id, outcome=done.outcome)
