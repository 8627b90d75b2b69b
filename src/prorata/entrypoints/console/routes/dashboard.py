"""The dashboard: the business at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from prorata.entrypoints.console.pages import PREFIX, operator_desk
from prorata.entrypoints.web.forms import redirect

router = APIRouter()


@router.get("/", response_model=None)
def dashboard(request: Request) -> Response:
    operator_desk(request)
    return redirect(f"{PREFIX}/accounts")
