"""Alembic environment: runs the migrations on the engine handed over by ``prorata.adapters.db.database``.

On SQLite a migration that alters a table copies it (``render_as_batch``), which drops the old table: with foreign
keys enforced that would fail for any table others refer to (``users``, ``accounts``). So, as SQLite prescribes for
schema changes, the migrations run with foreign keys off, and before they commit ``PRAGMA foreign_key_check`` must
find no broken reference, or nothing is committed.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from prorata.adapters.db.schema import metadata

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through prorata.adapters.db.database.migrate (prorata init)")

sqlite = engine.dialect.name == "sqlite"
with engine.connect() as outer:
    raw = outer.connection.driver_connection
    assert raw is not None
    if sqlite:
        raw.execute("PRAGMA foreign_keys = OFF")  # outside any transaction: SQLite ignores it inside one
    try:
        with outer.begin():
            context.configure(
                connection=outer,
                target_metadata=metadata,
                render_as_batch=sqlite,  # SQLite alters tables by copying them
                compare_type=True,
            )
            context.run_migrations()
            if sqlite:
                broken = outer.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration would break references: {broken[:5]}")
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys = ON")
