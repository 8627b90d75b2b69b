"""Catalog files: the default catalog and tax configuration shipped with Prorata, and an operator's own files."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from prorata.domain.catalog import Catalog, parse_catalog_toml
from prorata.domain.errors import CatalogError
from prorata.domain.tax import TaxRules, parse_tax_toml


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    resource = files(__package__).joinpath("default.toml")
    return parse_catalog_toml(resource.read_text(encoding="utf-8"), source="catalogs/default.toml")


def _read(path: str | Path, what: str) -> tuple[str, str]:
    """An operator's file as text and its name; one that cannot be read is refused naming it (``catalog``, ``tax``)."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except OSError as exc:
        raise CatalogError(f"{what}.unreadable", f"{p}: {exc.strerror}", field=what, file=str(p)) from None


def load_catalog(path: str | Path) -> Catalog:
    """Load an operator's catalog file (TOML); a broken file is refused with the file, product and field named."""
    text, source = _read(path, "catalog")
    return parse_catalog_toml(text, source=source)


@lru_cache(maxsize=1)
def default_tax_rules() -> TaxRules:
    """The built-in tax configuration: a Polish seller, the EU standard rates (rule T1)."""
    resource = files(__package__).joinpath("tax.toml")
    return parse_tax_toml(resource.read_text(encoding="utf-8"), source="catalogs/tax.toml")


def load_tax_rules(path: str | Path) -> TaxRules:
    """An operator's tax configuration (``PRORATA_TAX``); a broken file is refused with the field named. The seller's
    logo it names (``seller.logo``, relative to the file's folder) is read and checked with it."""
    text, source = _read(path, "tax")
    rules = parse_tax_toml(text, source=source)
    if not rules.logo_path:
        return rules
    from prorata.catalogs.images import read_logo  # Pillow only when a logo is configured

    return replace(rules, logo=read_logo(rules.logo_path, Path(path).parent, source))
