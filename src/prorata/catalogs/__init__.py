"""Catalog files: the default catalog shipped with Prorata, and an operator's own file."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from prorata.domain.catalog import Catalog, parse_catalog_toml
from prorata.domain.errors import CatalogError


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    resource = files(__package__).joinpath("default.toml")
    return parse_catalog_toml(resource.read_text(encoding="utf-8"), source="catalogs/default.toml")


def load_catalog(path: str | Path) -> Catalog:
    """Load an operator's catalog file (TOML); a broken file is refused with the file, product and field named."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError("catalog.unreadable", f"{p}: {exc.strerror}", field="catalog", file=str(p)) from None
    return parse_catalog_toml(text, source=str(p))
