"""Alembic environment: runs the migrations on the engine handed over by ``prorata.adapters.db.database``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from prorata.adapters.db.schema import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through prorata.adapters.db.database.migrate (prorata init)")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    context.run_migrations()
