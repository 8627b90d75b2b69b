"""The product's gettext catalogs are complete (rule X5): every entry of each language has its text, none is fuzzy
(a fuzzy entry is left out when a catalog is read, so its words would silently fall back to English), and both
languages hold the same messages, so a text translated in one is never missing from the other.
"""

from __future__ import annotations

from importlib.resources import files

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

LANGUAGES = ("pl", "en")


def catalog(language: str) -> Catalog:
    path = files("prorata").joinpath("locale", language, "LC_MESSAGES", "messages.po")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def entries(language: str) -> list[Message]:
    return [message for message in catalog(language) if message.id]  # the header has an empty id


def texts(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_is_read(language: str) -> None:
    # the checks below would pass on an empty catalog
    assert len(entries(language)) > 300


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_entry_is_left_empty(language: str) -> None:
    empty = [message.id for message in entries(language) if not all(texts(message))]
    assert empty == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_entry_is_fuzzy(language: str) -> None:
    assert [message.id for message in entries(language) if message.fuzzy] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_plural_entry_has_each_form_of_its_language(language: str) -> None:
    forms = catalog(language).num_plurals
    short = [message.id for message in entries(language) if message.pluralizable and len(texts(message)) != forms]
    assert short == []


def test_both_languages_hold_the_same_messages() -> None:
    def keys(language: str) -> set[tuple[str | None, str]]:
        return {(message.context, str(message.id)) for message in entries(language)}

    assert keys("pl") ^ keys("en") == set()
