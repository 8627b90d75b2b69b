"""The simulation clock, on an installation that runs on one (``prorata demo``, ``prorata init --simulation``): the
operator moves it forward a number of days, each day billed as ``prorata clock advance`` bills it. On a real clock
the page does not exist."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from prorata.adapters.db.metrics import refresh_metrics
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.cli.billing import advance_days
from prorata.entrypoints.console.pages import PREFIX, Desk, operator_desk, posted, render
from prorata.entrypoints.console.refusals import message_of
from prorata.entrypoints.web.forms import Form, form_text, redirect

router = APIRouter()
MOST_DAYS = 366


def _simulated(found: Desk) -> Desk:
    if not found.app.clock.simulated:
        raise HTTPException(status_code=404)
    return found


@router.get("/clock", response_model=None)
def clock_page(request: Request, moved: str = "") -> Response:
    found = _simulated(operator_desk(request))
    return render(found, "clock.html", days="", moved=moved[:8])


@router.post("/clock", response_model=None)
def clock_post(request: Request, form: Form) -> Response:
    found = _simulated(posted(request, form))
    text = form_text(form, "days", 8).strip()
    if not text.isdigit() or not 1 <= int(text) <= MOST_DAYS:
        error = InvalidInput("clock.days", f"days: a whole number of days, 1 to {MOST_DAYS}", field="days")
        return render(found, "clock.html", 400, days=text, moved="", errors={"days": message_of(error)})
    app = found.app
    start = app.clock.now()
    report = advance_days(app, start, start + timedelta(days=int(text)), quiet=True)
    refresh_metrics(app.engine, app.catalog, now=app.clock.now())
    with app.uow() as tx:
        tx.audit(None, found.actor, "clock.advanced", {"days": int(text), "to": app.clock.now().isoformat(),
                                                       "accounts": report.accounts}, app.clock.now())  # fmt: skip
    return redirect(f"{PREFIX}/clock?moved={int(text)}")
