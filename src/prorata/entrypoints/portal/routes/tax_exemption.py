"""Billing information -> Tax exemption (rule TE1): the account's certificate and its state, and a new one sent."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from prorata.adapters.db.exemption_store import exemption_certificate, exemption_view
from prorata.adapters.db.queries import account_head
from prorata.domain.errors import InvalidInput, ProrataError
from prorata.domain.exemptions import ELIGIBLE_COUNTRIES, MAX_BYTES
from prorata.entrypoints.portal.pages import Form, RowId, Visit, buyer_visit, member_visit, posted, redirect, render
from prorata.entrypoints.portal.refusals import errors_of
from prorata.services.tax_exemption import SendCertificate, send_certificate

router = APIRouter()
FORM_OVERHEAD = 64 * 1024  # the form's other fields and the multipart boundaries


def _page(found: Visit, status: int = 200, **context: object) -> Response:
    account_id = found.signed_in.account_id
    with found.app.engine.connect() as conn:
        exemption = exemption_view(conn, account_id)
        head = account_head(conn, account_id, 0)
    eligible = head is not None and head[1].country.upper() in ELIGIBLE_COUNTRIES
    return render(found, "tax_exemption.html", status, exemption=exemption, eligible=eligible,
                  limit_mb=MAX_BYTES // (1024 * 1024), **context)  # fmt: skip


@router.get("/billing/tax-exemption", response_class=HTMLResponse)
def tax_exemption_page(request: Request, sent: str = "") -> Response:
    return _page(member_visit(request), sent=sent == "1")


@router.post("/billing/tax-exemption", response_model=None)
async def send_certificate_post(request: Request) -> Response:
    # a body far beyond the limit is refused unread; the file is read at most one byte past the limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES + FORM_OVERHEAD:
        found = member_visit(request)
        too_large = InvalidInput("tax_exemption.too_large", "certificate: too large", rule="TE1", field="certificate")
        return _page(found, 413, errors=errors_of(too_large))
    form = await request.form(max_files=1)
    upload = form.get("certificate")
    content = b""
    filename = ""
    if isinstance(upload, UploadFile):
        content = await upload.read(MAX_BYTES + 1)
        filename = upload.filename or ""
    return _sent(request, form, filename, content)


def _sent(request: Request, form: Form, filename: str, content: bytes) -> Response:
    found = posted(request, form, buyer=True)
    command = SendCertificate(found.signed_in.account_id, filename, content, f"portal:{found.signed_in.email}")
    try:
        send_certificate(command, uow=found.app.uow, clock=found.app.clock)
    except ProrataError as refused:
        return _page(found, 400, errors=errors_of(refused))
    return redirect("/billing/tax-exemption?sent=1")


@router.get("/billing/tax-exemption/{exemption_id}/file", response_model=None)
def certificate_file(request: Request, exemption_id: RowId) -> Response:
    found = buyer_visit(request)
    with found.app.engine.connect() as conn:
        file = exemption_certificate(conn, found.signed_in.account_id, exemption_id)
    if file is None:
        return redirect("/billing/tax-exemption")
    filename, media_type, content = file
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip
