"""The web plumbing the portal and the operator console share: a row's id in a path or a form, the form read in the
event loop, redirects, cookies and the language cookie.

Nothing here knows who is signed in: each front end keeps its own sessions (``portal.pages``, ``console.pages``).
"""

from __future__ import annotations

import re
from typing import Annotated, NoReturn

from fastapi import Depends, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from prorata.adapters.db.types import ROW_ID_MAX

LANGUAGE_COOKIE = "prorata_language"  # the language chosen before sign-in, for the portal and the console

# A row's id in a path: anything else is no row, so the page is not found (never a crash of the database driver)
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]
_DIGITS = re.compile(r"[0-9]{1,19}")


def form_id(value: object) -> int | None:
    """A row's id sent by a form, or None when the value cannot be one (not a number, or out of range)."""
    text = value if isinstance(value, str) else ""
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= ROW_ID_MAX else None


def form_text(form: FormData, name: str, limit: int = 1000) -> str:
    """A form's text field, at most ``limit`` characters; empty when missing or not text."""
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


async def _form(request: Request) -> FormData:
    return await request.form()


# A form read in the event loop, so that the handlers themselves run in the thread pool (their database work and the
# gateway's calls block)
Form = Annotated[FormData, Depends(_form)]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def leave(url: str) -> NoReturn:
    raise HTTPException(status_code=303, headers={"Location": url})


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None, path: str = "/"
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, samesite="lax", secure=request.url.scheme == "https", path=path
    )


def language_chosen(request: Request, language: str, next_path: str, home: str) -> RedirectResponse:
    """After a language switch (rule X5): back to ``next_path`` when it is a page under ``home`` of this server (never
    another site's), with the choice kept in the language cookie for the visits before sign-in."""
    target = next_path if next_path.startswith(home) and not next_path.startswith("//") else home
    response = redirect(target)
    set_cookie(request, response, LANGUAGE_COOKIE, language, 365 * 24 * 3600)
    return response


def client_address(request: Request) -> str:
    """The address the request came from, for the sign-in and express pay throttles."""
    return request.client.host if request.client is not None else "unknown"
