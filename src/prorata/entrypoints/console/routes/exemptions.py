"""Tax exemption certificates in the console (rule TE1): those waiting for a decision, and each one read (its file
downloaded) and accepted or rejected with a reason, by the use case the API calls."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from prorata.adapters.db.exemption_store import exemption_certificate, exemption_view, pending_exemptions
from prorata.adapters.db.queries import account_view
from prorata.domain.errors import ProrataError
from prorata.entrypoints.console.pages import PREFIX, Desk, operator_desk, posted, render
from prorata.entrypoints.console.refusals import message_of
from prorata.entrypoints.web.forms import Form, RowId, form_text, redirect
from prorata.services.tax_exemption import DecideExemption, decide_exemption

router = APIRouter()


@router.get("/exemptions", response_model=None)
def exemption_list(request: Request) -> Response:
    found = operator_desk(request)
    with found.app.engine.connect() as conn:
        waiting = pending_exemptions(conn)
    return render(found, "exemptions.html", waiting=waiting)


@router.get("/accounts/{account_id}/exemption", response_model=None)
def exemption_page(request: Request, account_id: RowId) -> Response:
    found = operator_desk(request)
    return _page(found, account_id)


def _page(found: Desk, account_id: int, status: int = 200, **context: object) -> Response:
    with found.app.engine.connect() as conn:
        account = account_view(conn, account_id)
        exemption = exemption_view(conn, account_id)
    if account is None:
        raise HTTPException(status_code=404)
    context.setdefault("reason", "")
    return render(found, "action_exemption.html", status, account=account, exemption=exemption, **context)


@router.post("/accounts/{account_id}/exemption", response_model=None)
def exemption_post(request: Request, account_id: RowId, form: Form) -> Response:
    found = posted(request, form)
    reason = form_text(form, "reason", 600)
    exemption_id = form_text(form, "exemption", 20)
    command = DecideExemption(account_id, int(exemption_id) if exemption_id.isdigit() else 0,
                              form_text(form, "decision") == "accept", reason, found.actor)  # fmt: skip
    try:
        decide_exemption(command, uow=found.app.uow, clock=found.app.clock)
    except ProrataError as error:
        return _page(found, account_id, 400, errors={error.field or "form": message_of(error)}, reason=reason)
    return redirect(f"{PREFIX}/accounts/{account_id}?done=exemption#exemption")


@router.get("/accounts/{account_id}/exemption/{exemption_id}/file", response_model=None)
def exemption_file(request: Request, account_id: RowId, exemption_id: RowId) -> Response:
    found = operator_desk(request)
    with found.app.engine.connect() as conn:
        file = exemption_certificate(conn, account_id, exemption_id)
    if file is None:
        raise HTTPException(status_code=404)
    filename, media_type, content = file
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip
