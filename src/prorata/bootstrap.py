"""Wiring: the adapters behind the services' ports, built from the settings (``config.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from prorata.adapters.db.clock import DatabaseClock
from prorata.adapters.db.database import create_database_engine
from prorata.adapters.db.unit_of_work import SqlUnitOfWork
from prorata.adapters.payments.sandbox import SandboxGateway
from prorata.catalogs import default_catalog, load_catalog
from prorata.config import catalog_path, database_url
from prorata.domain.catalog import Catalog


@dataclass
class App:
    engine: Engine
    catalog: Catalog
    clock: DatabaseClock
    gateway: SandboxGateway

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
    return App(engine, catalog, clock, SandboxGateway())
