"""The product's words in Polish and English (rule X5): one gettext catalog per language, shared by the portal, the
invoice documents and the e-mails, read from the ``.po`` files in ``prorata/locale`` when first used (compiled in
memory, so no ``.mo`` build output exists). Document labels carry the context ``document`` and e-mail texts the
context ``email``, so that a word the portal translates one way (``Total``: "Razem") may print another way on an
invoice ("Razem brutto").

Like ``prorata.catalogs``, this reads only files shipped inside the package, so every layer that has words to give
may use it: the e-mails' texts (a service) as well as the portal and the documents.
"""

from __future__ import annotations

import gettext
from functools import cache
from importlib.resources import files
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("pl", "en")


@cache
def catalog(language: str) -> gettext.NullTranslations:
    """The language's catalog (fuzzy entries are left out); English falls back to the message ids."""
    path = files("prorata").joinpath("locale", language, "LC_MESSAGES", "messages.po")
    with path.open("rb") as handle:
        messages = read_po(handle, locale=language)
    compiled = BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(compiled)
