"""Tax exemption certificates through the API (rule TE1): the account's state, its certificate sent (a PDF, PNG or
JPEG file of at most 5 MB, base64 in JSON) and read back, and the operator's decision."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from prorata.adapters.db.exemption_store import ExemptionView, exemption_certificate, exemption_view
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.api.auth import AppDep, OperatorDep, ScopeDep, row_id
from prorata.entrypoints.api.errors import not_found
from prorata.entrypoints.api.schemas import Out, RowId, Strict
from prorata.services.tax_exemption import DecideExemption, SendCertificate, decide_exemption, send_certificate

router = APIRouter(tags=["tax exemption"])


class CertificateIn(Strict):
    filename: Annotated[str, Field(min_length=1, max_length=255, description="The file's name, as the sender has it")]
    content_base64: Annotated[str, Field(min_length=1, description="The file (PDF, PNG or JPEG, at most 5 MB), base64")]


class DecisionIn(Strict):
    exemption_id: RowId = Field(description="The certificate decided on, as `GET .../tax-exemption` shows it")
    decision: Literal["accept", "reject"]
    reason: Annotated[str, Field(max_length=500, description="Required to reject: the customer reads it")] = ""


class ExemptionOut(Out):
    status: Literal["none", "pending", "exempt", "rejected"] = Field(
        description="pending: waiting for an operator; exempt: no tax from now on; rejected: tax as before"
    )
    exemption_id: int | None = None
    country: str | None = None
    filename: str | None = None
    media_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    sent_at: datetime | None = None
    decided_at: datetime | None = None
    reason: str | None = None


def exemption_out(view: ExemptionView | None) -> ExemptionOut:
    if view is None:
        return ExemptionOut(status="none")
    return ExemptionOut(
        status=view.status,  # type: ignore[arg-type]
        exemption_id=view.id, country=view.country, filename=view.filename, media_type=view.media_type,
        size=view.size, sha256=view.sha256, sent_at=view.sent_at, decided_at=view.decided_at, reason=view.reason,
    )  # fmt: skip


def _current(app: AppDep, account_id: int) -> ExemptionOut:
    with app.engine.connect() as conn:
        return exemption_out(exemption_view(conn, account_id))


@router.get("/accounts/{account_id}/tax-exemption", summary="The account's tax exemption: none, pending, exempt or "
            "rejected (rule TE1)")  # fmt: skip
def get_exemption(scope: ScopeDep, app: AppDep) -> ExemptionOut:
    return _current(app, scope.account_id)


@router.put(
    "/accounts/{account_id}/tax-exemption/certificate",
    summary="Send an exemption certificate; the account is pending until an operator decides (rule TE1)",
    description="For a US customer (the Sold-To contact's country). The file is recognised by its first bytes: a "
    "PDF, PNG or JPEG of at most 5 MB. A new certificate replaces the one before and waits for an operator again.",
)
def put_certificate(body: CertificateIn, scope: ScopeDep, app: AppDep) -> ExemptionOut:
    try:
        content = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("tax_exemption.not_encoded", "content_base64: not base64", rule="TE1",
                           field="content_base64") from None  # fmt: skip
    send_certificate(SendCertificate(scope.account_id, body.filename, content, scope.caller.actor), uow=app.uow,
                     clock=app.clock)  # fmt: skip
    return _current(app, scope.account_id)


@router.get(
    "/accounts/{account_id}/tax-exemption/certificates/{exemption_id}",
    summary="One certificate the account sent, as it was sent",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}},
)
def get_certificate(exemption_id: Annotated[int, row_id("The certificate")], scope: ScopeDep, app: AppDep) -> Response:
    with app.engine.connect() as conn:
        found = exemption_certificate(conn, scope.account_id, exemption_id)
    if found is None:
        raise not_found("exemption", "exemption_id")
    filename, media_type, content = found
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


@router.post(
    "/accounts/{account_id}/tax-exemption/decision",
    tags=["operator"],
    summary="Accept or reject the pending certificate (rule TE1; operator)",
    description="Names the certificate decided on: one replaced or cleared meanwhile is refused (409 "
    "`tax_exemption.not_pending`) rather than deciding a newer one unread.",
)
def post_decision(body: DecisionIn, scope: ScopeDep, operator: OperatorDep, app: AppDep) -> ExemptionOut:
    command = DecideExemption(scope.account_id, body.exemption_id, body.decision == "accept", body.reason,
                              operator.actor)  # fmt: skip
    decide_exemption(command, uow=app.uow, clock=app.clock)
    return _current(app, scope.account_id)
