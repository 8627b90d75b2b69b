"""The Jinja environment of a front end (the portal's, the console's): its package's templates, compiled once and
kept, in the page's language through the product's gettext catalogs, with the formatting every page shares; and how
a request's language is chosen."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request

from prorata.entrypoints.portal import i18n
from prorata.entrypoints.web.forms import LANGUAGE_COOKIE


def environment(package: str) -> Environment:
    """The templates of ``package`` (its ``templates`` folder). The package's files do not change while it runs, so
    they are never checked again (``auto_reload``); ``compile_all`` compiles them before the first request."""
    templates = Environment(
        loader=PackageLoader(package, "templates"),
        auto_reload=False,
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # newstyle: Jinja fills the placeholders itself (``num`` included), so the callables only translate
    templates.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.translate, ngettext=i18n.translate_plural, newstyle=True
    )
    templates.globals.update(money=i18n.money, percent=i18n.percent, day=i18n.day,
                             language_name=i18n.language_name, languages=i18n.LANGUAGES)  # fmt: skip
    return templates


def compile_all(templates: Environment) -> None:
    """Compile every template before the first request. Compiled at their first use instead, the first requests of
    a new server process, arriving together, each compiled the same pages again on their own threads: under load
    that was a quarter of a fresh worker's time (a profile of the Current Plans page), and slow first answers."""
    for name in templates.list_templates(extensions=["html"]):
        templates.get_template(name)


def page_language(request: Request, chosen: str | None) -> str:
    """A page's language (rule X5), set for the request: the session's (``chosen``), else the language cookie's (the
    switch before sign-in), else the first supported one of the browser's ``Accept-Language``."""
    language = (
        chosen or request.cookies.get(LANGUAGE_COOKIE) or i18n.choose_language(request.headers.get("accept-language"))
    )
    if language not in i18n.LANGUAGES:
        language = i18n.DEFAULT_LANGUAGE
    i18n.use_language(language)
    return language
