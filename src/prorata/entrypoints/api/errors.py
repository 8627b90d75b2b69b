"""One mapping from every refusal to RFC 9457 ``application/problem+json`` (rule X4).

A ``ProrataError`` keeps its stable ``code``, its ``rule`` and its ``field``, and its ``errors`` list every field at
fault (all of a ``FieldErrors``: rule X4, all field errors at once); FastAPI's request validation becomes a 422
whose ``errors`` name each field by its path (``changes[0].total``, ``header.Idempotency-Key``); HTTP errors
of the router (an unknown path, a wrong method) are problems too, so a client parses one shape whatever failed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from prorata.domain.errors import ProrataError, every
from prorata.entrypoints.web.guard import request_id, unexpected_problem

log = logging.getLogger("prorata.api")

PROBLEM_JSON = "application/problem+json"

# A refusal is 422 (understood, refused) unless its code says the account's state or the caller is the reason
STATUS_BY_CODE = {
    "account.forbidden_role": 403,  # rule P6
    "account.overdue_locked": 409,  # rule I6
    "account.sales_managed": 409,  # rule I7
    "order.in_progress": 409,  # rule X3
    "account.renewal_waiting": 409,  # rule C7: the period ended and its renewal waits for another transaction
    "account.renewal_refused": 409,  # rule C7: the period ended and the renewal needs the operator
    "order.idempotency_conflict": 409,  # rule X3
    "payment.idempotency_conflict": 409,  # rule X3
    "payment.in_progress": 409,  # rule X3: this request's payments are still in flight
    "invoice.payment_in_progress": 409,  # rule X3: another payment of the invoice is in flight
    "refund.in_flight": 409,  # rule R2: the refund's attempt is waiting for the gateway's answer
    "refund.not_failed": 409,  # rule R2: only a failed refund is retried
    "webhook.unknown": 404,
    "event.unknown": 404,
    "user.email_taken": 409,
    "account.code_taken": 409,
    "tax_exemption.not_pending": 409,  # rule TE1: decided, replaced or cleared meanwhile
    "bank_payment.reference_used": 409,  # rule NT1: the transfer is booked already, with other details
    "bank_payment.recorded_meanwhile": 409,  # rule NT1: booked by someone else at this moment
    "rates.missing": 409,  # the document waits for the bank's rate (prorata rates import)
    "api_key.unknown": 404,
    "api_key.revoked": 409,
    "discount.code_taken": 409,  # rule DC2: codes are never reused
    "discount.one_at_a_time": 409,  # rule DC2: the account holds another discount
    "discount.already_redeemed": 409,  # rule DC2: once per account
}

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    402: "Payment failed",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    501: "Not implemented",
}


class Problem(Exception):
    """An HTTP refusal raised by the API itself (authentication, an unknown account or row, a failed payment)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        rule: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.rule = rule
        self.field = field
        self.headers = headers
        self.extra = extra


def not_found(what: str, field: str) -> Problem:
    """A foreign row is answered exactly like a missing one, so that ids of other accounts reveal nothing."""
    return Problem(404, f"{what}.not_found", f"{field}: not found", field=field)


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    rule: str | None = None,
    field: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:prorata:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "rule": rule,
        "field": field,
    }
    if errors is not None:
        body["errors"] = list(errors)
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(error: ProrataError) -> int:
    return STATUS_BY_CODE.get(error.code, 422)


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "changes", 0, "total")`` -> ``changes[0].total``; other places keep their name: ``header.X``."""
    parts = list(loc)
    out = "" if parts and parts[0] == "body" else str(parts[0]) if parts else ""
    for part in parts[1:]:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out or "body"


def field_errors(error: ProrataError) -> list[dict[str, Any]] | None:
    """Rule X4: every field a refusal names (all of a ``FieldErrors``), each as the problem names its first one;
    ``None`` for a refusal that names no field."""
    found = [item for item in every(error) if item.field is not None]
    if not found:
        return None
    return [{"field": item.field, "code": item.code, "detail": item.message, "message": item.message,
             "rule": item.rule} for item in found]  # fmt: skip


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(ProrataError)
    async def _refused(_request: Request, error: ProrataError) -> JSONResponse:
        return problem_response(status_of(error), error.code, error.message, rule=error.rule, field=error.field,
                                errors=field_errors(error))  # fmt: skip

    @api.exception_handler(Problem)
    async def _problem(_request: Request, error: Problem) -> JSONResponse:
        return problem_response(
            error.status, error.code, error.detail, rule=error.rule, field=error.field, headers=error.headers,
            **error.extra,
        )  # fmt: skip

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in error.errors()):  # its place is a character offset
            return malformed_body()
        errors = []
        for e in error.errors():
            field, message = field_path(e.get("loc", ())), str(e.get("msg", ""))
            errors.append({"field": field, "code": "request.invalid", "detail": f"{field}: {message}",
                           "message": message, "type": str(e.get("type", ""))})  # fmt: skip
        first = errors[0] if errors else {"field": "body", "message": "invalid request"}
        return problem_response(
            422, "request.invalid", f"{first['field']}: {first['message']}", rule="X4", field=first["field"],
            errors=errors,
        )  # fmt: skip

    @api.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        """A fault of the server, not of the request: logged with its traceback, answered with the request id."""
        rid = request_id(request.scope)
        log.error("unexpected error answering %s %s (request %s)", request.method, request.url.path, rid,
                  exc_info=error)  # fmt: skip
        return JSONResponse(unexpected_problem(rid), status_code=500, media_type=PROBLEM_JSON)

    @api.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400 and isinstance(error.__cause__, (ValueError, RecursionError)):
            return malformed_body()  # FastAPI could not read the body: not UTF-8, or nested too deeply
        detail = error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code, "Error")
        return problem_response(
            error.status_code, getattr(error, "code", f"http.{error.status_code}"), detail,
            field=getattr(error, "field", None), headers=getattr(error, "headers", None),
        )  # fmt: skip


def malformed_body() -> JSONResponse:
    """A body that is not JSON, whatever the reason: one refusal, at the body."""
    return problem_response(
        422, "request.malformed_json", "body: not JSON (malformed, not UTF-8, or nested too deeply)", rule="X4",
        field="body",
    )  # fmt: skip
