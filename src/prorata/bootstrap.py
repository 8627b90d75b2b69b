"""Wiring: the adapters behind the services' ports, built from the settings (``config.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from prorata.adapters.db.clock import DatabaseClock
from prorata.adapters.db.database import create_database_engine
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.catalogs import default_catalog, default_tax_rules, load_catalog, load_tax_rules
from prorata.config import catalog_path, database_url, tax_path
from prorata.domain.catalog import Catalog
from prorata.domain.tax import TaxRules


@dataclass
class App:
    engine: Engine
    catalog: Catalog
    clock: DatabaseClock
    gateway: SandboxGateway
    tax: TaxRules

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.catalog.granularity)

    def close(self) -> None:
        self.engine.dispose()


def build(url: str | None = None) -> App:
    engine = create_database_engine(url or database_url())
    path = catalog_path()
    catalog = load_catalog(path) if path else default_catalog()
    clock = DatabaseClock(engine)
    clock.refresh()
    taxes = tax_path()
    return App(engine, catalog, clock, SandboxGateway(), load_tax_rules(taxes) if taxes else default_tax_rules())
