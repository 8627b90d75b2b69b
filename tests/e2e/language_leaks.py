"""Finding words of the other language on a page (rule X5): what a customer reads of a page, and the English left on a
Polish page or the Polish left on an English one.

What a customer reads is the page's text without its scripts and styles, with the attributes a customer sees or hears
(``placeholder``, ``aria-label``, ``title``, ``alt``, a button's ``value``). The values the test put in the database
(company names, addresses, e-mail addresses) are taken out first: they are the customer's own words, not the portal's.

English on a Polish page is any literal part of a catalog message whose Polish differs (a long part anywhere in the
text, a short message as a whole piece of text, e.g. a button "Cancel"), or a common English word. Polish on an English
page is a Polish letter, a Polish message's long part, or a common Polish word. Names that read the same in both
languages (Prorata, Webinar 500, PayPal, Visa, NIP, VAT ...) are allowed.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from importlib.resources import files

from babel.messages.pofile import read_po

SKIPPED = {"script", "style", "template", "noscript"}
VISIBLE_ATTRIBUTES = ("placeholder", "aria-label", "title", "alt")
BUTTONS = {"submit", "button", "reset"}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd%]")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")

# the same in both languages: the product's and payment brands' names, tax words, the languages' own names
ALLOWED = ("Prorata", "PayPal", "Visa", "Mastercard", "MasterCard", "American Express", "Amex", "VISA", "NIP", "VAT",
           "Webinar 500", "Webinar 1000", "Webinar", "KSeF", "PDF", "E-mail", "e-mail", "English", "Polski", "SKU",
           "ID", "OK")  # fmt: skip

# common English words a Polish page never holds (whole words; a capital letter is matched as written)
ENGLISH_WORDS = ("the", "and", "your", "you", "of", "with", "for", "is", "are", "was", "not", "from", "this", "that",
                 "invoice", "invoices", "license", "licenses", "seat", "seats", "monthly", "yearly", "month", "months",
                 "year", "day", "days", "Cancel", "Save", "Edit", "Back", "Continue", "Remove", "Pay", "Sign in",
                 "Sign out", "Next", "Total", "Subtotal", "Tax", "Amount", "Users", "User", "Password", "password",
                 "Card", "card", "expires", "Credit", "credit", "Order", "order", "Summary", "Cart", "cart",
                 "Confirm", "Place order", "paid", "overdue", "Change", "change", "Upgrade", "now", "Skip", "step",
                 "checkout", "Terms", "Billing", "Contact", "Sales", "Business", "Enterprise", "Large Meetings",
                 "Cloud Recording", "Basic", "free", "Add", "Delete", "Name", "Company", "Phone", "Address", "City",
                 "Country", "Postal code", "Help", "Home", "Account", "account", "Invoice",
                 "Date", "Due", "Period", "Quantity", "Price", "Reason", "Search", "Close", "Open", "open")  # fmt: skip

POLISH_LETTERS = re.compile(r"[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")
# common Polish words an English page never holds (whole words) and stems (anywhere, any case)
POLISH_WORDS = ("i", "oraz", "lub", "nie", "jest", "się", "na", "w", "z", "dla", "za", "od", "po", "przez", "Zapisz",
                "Anuluj", "Dalej", "Wstecz", "Usuń", "Edytuj", "Potwierdź", "zł", "Dla firm", "Podstawowy")  # fmt: skip
POLISH_STEMS = ("faktur", "licencj", "zamówieni", "użytkowni", "rozliczeni", "subskrypcj", "koszyk", "miesięczn",
                "roczn", "płatnoś", "kontakt", "konta", "kwota", "razem", "podatek", "okres", "korekt", "hasło",
                "zaloguj", "wyloguj", "dodaj", "usuń", "zmie", "uaktualni", "miejsc")  # fmt: skip

LONG = 12  # a message's literal part this long, of several words, is looked for anywhere in the text


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in SKIPPED:
            self.skipping += 1
        for name in VISIBLE_ATTRIBUTES:
            if values.get(name):
                self.pieces.append(str(values[name]))
        if tag == "input" and values.get("type") in BUTTONS and values.get("value"):
            self.pieces.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.pieces.append(data)


def norm(text: str) -> str:
    return " ".join(text.split())


def visible_pieces(html: str) -> list[str]:
    """The pieces of text a customer reads or hears on the page, each whitespace-normalised."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    # a piece of one character is a glyph (the "i" of a note's icon), not a word of either language
    return [norm(piece) for piece in reader.pieces if len(norm(piece)) > 1]


def _without(text: str, data: tuple[str, ...]) -> str:
    text = EMAIL.sub(" ", text)
    for value in sorted(data + ALLOWED, key=len, reverse=True):
        text = text.replace(value, " ")
    return norm(text)


def _words(words: tuple[str, ...], *, capitals: bool = True) -> re.Pattern[str]:
    """Whole words; with ``capitals``, one written in small letters is matched in capitals too ("the", "The")."""
    alternatives = "|".join(
        re.escape(word) if word != word.lower() or not capitals else f"(?i:{re.escape(word)})"
        for word in sorted(words, key=len, reverse=True)
    )
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


@cache
def _catalog(language: str) -> dict[str, str]:
    """msgid (and plural msgid) -> the language's text (each plural form joined), for every message."""
    path = files("prorata").joinpath("locale", language, "LC_MESSAGES", "messages.po")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    out: dict[str, str] = {}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, msgid in enumerate(ids):
            out[msgid] = strings[min(index, len(strings) - 1)]
    return out


def _parts(text: str) -> list[str]:
    return [norm(part) for part in PLACEHOLDER.split(text) if norm(part)]


@cache
def _tells(language: str) -> tuple[frozenset[str], frozenset[str]]:
    """What gives away ``language`` on a page of the other one: its messages' long literal parts (looked for
    anywhere), and its short messages without placeholders (looked for as a whole piece of text)."""
    english, polish = _catalog("en"), _catalog("pl")
    long_parts: set[str] = set()
    whole: set[str] = set()
    for msgid, english_text in english.items():
        polish_text = polish.get(msgid, "")
        own, other = (english_text, polish_text) if language == "en" else (polish_text, english_text)
        if not own or norm(own) == norm(other):
            continue
        other_parts = set(_parts(other))
        for part in _parts(own):
            if part in other_parts or part in ALLOWED:
                continue  # the same words in both languages ("%(name)s × %(quantity)d")
            if len(part) >= LONG and " " in part:  # one word may be the same in both ("administrator")
                long_parts.add(part)
            elif not PLACEHOLDER.search(own) and part == norm(own) and re.search(r"[^\W\d_]{2}", part):
                whole.add(part)
    return frozenset(long_parts), frozenset(whole)


def leaks(html_or_text: str, language: str, data: tuple[str, ...] = (), *, html: bool = True) -> list[str]:
    """The words of the other language on a page (or in a message) meant to be in ``language``: one line each."""
    pieces = visible_pieces(html_or_text) if html else [norm(html_or_text)]
    pieces = [_without(piece, data) for piece in pieces]
    text = " | ".join(piece for piece in pieces if piece)
    other = "pl" if language == "en" else "en"
    long_parts, whole = _tells(other)
    found = [f"message {part!r}" for part in sorted(long_parts) if part in text]
    found += [f"message {piece!r}" for piece in sorted(set(pieces)) if piece in whole]
    if language == "pl":
        found += [f"word {m.group(0)!r} in {_around(text, m)!r}" for m in _words(ENGLISH_WORDS).finditer(text)]
    else:
        found += [f"letter {m.group(0)!r} in {_around(text, m)!r}" for m in POLISH_LETTERS.finditer(text)]
        found += [
            f"word {m.group(0)!r} in {_around(text, m)!r}" for m in _words(POLISH_WORDS, capitals=False).finditer(text)
        ]
        stems = re.compile("|".join(re.escape(stem) for stem in POLISH_STEMS), re.IGNORECASE)
        found += [f"stem {m.group(0)!r} in {_around(text, m)!r}" for m in stems.finditer(text)]
    return sorted(set(found))


def _around(text: str, match: re.Match[str]) -> str:
    return text[max(0, match.start() - 30) : match.end() + 30]
