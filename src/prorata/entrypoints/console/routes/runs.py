"""Billing runs: their history newest first, the progress of one that is running, and what each left for the
operator (accounts refused with their reason, invoices it could not attempt, accounts overdue or cancelled)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from prorata.adapters.db.billing_run_log import billing_run_view, billing_run_views
from prorata.adapters.db.queries import account_view
from prorata.domain.errors import ProrataError
from prorata.entrypoints.console.pages import PREFIX, operator_desk, render
from prorata.entrypoints.console.refusals import message_of
from prorata.entrypoints.portal.refusals import failure_text
from prorata.entrypoints.web.forms import RowId, form_id

router = APIRouter()
PAGE = 50


@router.get("/billing-runs", response_model=None)
def runs_page(request: Request, before: str = "") -> Response:
    found = operator_desk(request)
    start = form_id(before)
    with found.app.engine.connect() as conn:
        runs = billing_run_views(conn, before=start, limit=PAGE + 1)
    next_url = f"{PREFIX}/billing-runs?before={runs[PAGE - 1].id}" if len(runs) > PAGE else None
    running = any(run.status == "running" for run in runs)
    return render(found, "runs.html", runs=runs[:PAGE], next_url=next_url, running=running,
                  first_url=f"{PREFIX}/billing-runs" if start is not None else None)  # fmt: skip


@router.get("/billing-runs/{run_id}", response_model=None)
def run_page(request: Request, run_id: RowId) -> Response:
    found = operator_desk(request)
    with found.app.engine.connect() as conn:
        run = billing_run_view(conn, run_id)
        if run is None:
            raise HTTPException(status_code=404)
        ids = {int(p["account_id"]) for kind in ("refused", "not_renewed", "not_attempted", "failed")
               for p in run.problems.get(kind, [])}  # fmt: skip
        ids |= {int(i) for kind in ("overdue", "cancelled") for i in run.problems.get(kind, [])}
        names = {}
        for account_id in sorted(ids)[:3000]:
            view = account_view(conn, account_id)
            if view is not None:
                names[account_id] = (view.code, view.name)
    return render(found, "run.html", run=run, names=names, refusal_text=refusal_text, failure_text=failure_text)


def refusal_text(code: str, message: str, rule: str | None) -> str:
    """A refusal the run kept (its code and English words), in the page's language where the catalog has it."""
    return message_of(ProrataError(code, message, rule=rule))
