"""The product's gettext catalogs, for the adapters and entrypoints that import them from here
(``prorata.translations`` reads them)."""

from __future__ import annotations

from prorata.translations import LANGUAGES, catalog

__all__ = ["LANGUAGES", "catalog"]
