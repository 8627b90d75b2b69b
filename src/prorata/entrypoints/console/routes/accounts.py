"""Accounts: the searchable, filtered list (keyset pages), and one account's whole story on one page.

The account page shows its plan and add-ons with their scheduled changes, the licenses and who holds them, the credit
balance and its ledger, invoices and credit notes, payments with every attempt, refunds, payment methods, contacts
and the audit trail as a timeline. Its actions are in ``actions.py``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from prorata.adapters.db.console_queries import (
    STATUSES,
    AccountFilter,
    audit_trail,
    ledger,
    overdue_total,
    payment_rows,
    search_accounts,
)
from prorata.adapters.db.exemption_store import exemption_view
from prorata.adapters.db.notice_store import notice_addresses_of
from prorata.adapters.db.queries import (
    account_view,
    contact_views,
    invoice_views,
    payment_method_views,
    subscription_views,
    user_views,
)
from prorata.adapters.db.refund_store import refund_views
from prorata.adapters.db.terms_store import terms_of
from prorata.domain.money import EXPONENTS
from prorata.entrypoints.console.pages import PREFIX, operator_desk, render
from prorata.entrypoints.console.routes.actions import done_messages
from prorata.entrypoints.web.forms import RowId, form_id

router = APIRouter()


@router.get("/accounts", response_model=None)
def account_list(request: Request, q: str = "", plan: str = "", status: str = "", currency: str = "",
                 overdue: str = "", after: str = "") -> Response:  # fmt: skip
    """Search by code, company, e-mail or NIP; filter by plan, status, overdue invoices and currency."""
    found = operator_desk(request)
    app = found.app
    plans = app.catalog.plans()
    currencies = sorted({currency for p in app.catalog.products.values() for _i, currency in p.prices})
    wanted = AccountFilter(
        text="".join(c for c in q[:320] if c.isprintable()),  # no control character reaches a query
        plan=plan if plan in app.catalog.products else "",
        status=status if status in STATUSES else "",
        currency=currency if currency in EXPONENTS else "",  # any ISO 4217 code an account may be opened in
        overdue=overdue == "1",
    )
    start = form_id(after)
    with app.engine.connect() as conn:
        page = search_accounts(conn, wanted, {p.code for p in plans}, app.clock.now(), after=start)
    kept = {"q": wanted.text, "plan": wanted.plan, "status": wanted.status, "currency": wanted.currency,
            "overdue": "1" if wanted.overdue else ""}  # fmt: skip
    kept = {key: value for key, value in kept.items() if value}
    next_url = None
    if page.next_after is not None:
        next_url = f"{PREFIX}/accounts?{urlencode({**kept, 'after': page.next_after})}"
    first_url = f"{PREFIX}/accounts?{urlencode(kept)}" if start is not None else None
    return render(found, "accounts.html", page=page, wanted=wanted, plans=plans, currencies=currencies,
                  statuses=STATUSES, next_url=next_url, first_url=first_url)  # fmt: skip


@router.get("/accounts/{account_id}", response_model=None)
def account_page(request: Request, account_id: RowId, done: str = "") -> Response:
    found = operator_desk(request)
    app = found.app
    now = app.clock.now()
    with app.engine.connect() as conn:
        account = account_view(conn, account_id)
        if account is None:
            raise HTTPException(status_code=404)
        subscriptions = subscription_views(conn, account_id)
        users = user_views(conn, account_id)
        invoices = sorted(invoice_views(conn, account_id), key=lambda v: (v.issued_at, v.id), reverse=True)
        contacts = contact_views(conn, account_id)
        notices = notice_addresses_of(conn, (account_id,))[account_id]  # rule N1
        methods = payment_method_views(conn, account_id)
        entries = ledger(conn, account_id)
        attempts = payment_rows(conn, account_id)
        refunds = refund_views(conn, account_id=account_id)
        trail = audit_trail(conn, account_id)
        overdue = overdue_total(conn, account_id, now)
        exemption = exemption_view(conn, account_id)
        terms_days = terms_of(conn, account_id)  # rule NT1
    holders = {s.id: [u for u in users if s.id in u.subscriptions] for s in subscriptions}
    return render(found, "account.html", account=account, subscriptions=subscriptions, users=users,
                  holders=holders, invoices=invoices, contacts=contacts, notices=notices, methods=methods,
                  entries=entries,
                  attempts=attempts, refunds=refunds, trail=trail, overdue=overdue, catalog=app.catalog,
                  account_exemption=exemption, terms_days=terms_days,
                  done_message=done_messages().get(done), plan_codes=[p.code for p in app.catalog.plans()],
                  open_invoices=[v for v in invoices if v.status == "open"])  # fmt: skip
