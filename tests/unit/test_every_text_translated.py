"""Every text the portal, the console and the e-mails mark for translation has its Polish words (rule X5).

The texts are extracted from the templates and the Python source as Babel extracts them for a catalog (the Jinja2
extractor, and the Python one with the project's gettext names), and each must be in the Polish catalog without a
context: a text found only under a context (the documents' ``"document"``) is not what ``_()`` looks up, so the page
would show English. ``test_catalogs_complete`` then holds that the entry has words and that English has it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

from babel.messages.extract import extract_python
from jinja2.ext import babel_extract

from tests.unit.test_catalogs_complete import catalog

SOURCE = Path(str(files("prorata")))
NAMES = ("_", "gettext", "ngettext", "gettext_", "ngettext_")
JINJA = {"extensions": "jinja2.ext.i18n", "trimmed": "false", "newstyle_gettext": "true"}


def marked() -> Iterator[tuple[str, str]]:
    """(the text, where it is) of every literal text marked for translation; a plural's first form stands for it."""
    for path in sorted(SOURCE.rglob("*")):
        if path.suffix == ".html":
            extractor = babel_extract
            options: dict[str, str] = JINJA
        elif path.suffix == ".py":
            extractor = extract_python  # type: ignore[assignment]
            options = {}
        else:
            continue
        with path.open("rb") as handle:
            for line, _function, message, _comments in extractor(handle, NAMES, [], options):
                text = message[0] if isinstance(message, tuple) else message
                if text:
                    yield text, f"{path.relative_to(SOURCE)}:{line}"


def test_the_extraction_finds_the_portals_texts() -> None:
    # the check below would pass if nothing were extracted
    found = dict(marked())
    assert len(found) > 500
    assert "Invoice History" in found
    assert "Pay an invoice" in found


def test_every_marked_text_has_polish_words() -> None:
    polish = {str(m.id[0] if isinstance(m.id, tuple) else m.id) for m in catalog("pl") if m.id and not m.context}
    missing = sorted({f"{where}: {text!r}" for text, where in marked() if text not in polish})
    assert missing == []
