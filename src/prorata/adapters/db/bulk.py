"""Statements for thousands of rows at a time (the billing run), read and written in a way each database does fast.

On PostgreSQL a set of ids is one array parameter (``id = ANY(:ids)``) rather than ``IN (:id_1, :id_2, ...)``:
the statement's text then stays the same whatever the number of ids, so the driver converts it once and the
server may prepare it, where thousands of placeholders cost more to build, send and parse than the work itself.
Many rows are written with ``COPY`` (one stream, no statement per row); SQLite takes the same rows as an
executemany INSERT. Values pass the columns' own bind processing either way, so an instant stays checked (rule X2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Table, Text, any_, bindparam, cast, insert, text
from sqlalchemy.dialects.postgresql import ARRAY

from prorata.adapters.db.types import utc_instant

COPY_FROM = 50  # fewer rows than this are inserted with one INSERT; a COPY has a fixed cost of its own


def among(connection: Connection, column: ColumnElement[Any], ids: Iterable[int]) -> ColumnElement[bool]:
    """``column`` is one of ``ids``: one array parameter on PostgreSQL (sent as the array's text, which the server
    reads faster than the driver builds a typed array), ``IN`` elsewhere."""
    if connection.dialect.name == "postgresql":
        return column == any_(cast(bindparam(None, array_text(ids), type_=Text), ARRAY(BigInteger)))
    return column.in_(list(ids))


def array_text(values: Iterable[int | str | datetime]) -> str:
    """A PostgreSQL array literal of ``values`` (whole numbers, strings or aware instants) for a statement that
    casts it (``CAST(:x AS timestamptz[])``): the server reads the text faster than the driver builds a typed array.
    An instant passes the column type's own check (rule X2) and is written in UTC."""
    items = []
    for value in values:
        if isinstance(value, datetime):
            items.append(f'"{utc_instant(value).isoformat()}"')
        elif isinstance(value, int):
            items.append(str(int(value)))
        else:
            items.append('"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys) into ``table``: ``COPY`` on PostgreSQL when there are many."""
    if not rows:
        return
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        connection.execute(insert(table), list(rows))
        return
    _copy(connection, table, list(rows[0]), rows)


def insert_rows_returning_ids(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert ``rows`` into ``table`` and return their ids, in the order of ``rows``. PostgreSQL: the ids are taken
    from the table's sequence in one statement and the rows copied with them."""
    if not rows:
        return []
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        inserted = connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows))
        return [int(i) for i in inserted.scalars()]
    ids = sorted(int(i) for i in connection.execute(_NEXT_IDS, {"table": table.name, "count": len(rows)}).scalars())
    _copy(connection, table, ["id", *rows[0]], [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)")


def _copy(connection: Connection, table: Table, names: list[str], rows: Sequence[Mapping[str, Any]]) -> None:
    processed = [
        (position, process)
        for position, name in enumerate(names)
        if (process := table.c[name].type.bind_processor(connection.dialect)) is not None
    ]
    columns = ", ".join(connection.dialect.identifier_preparer.quote(name) for name in names)
    values = itemgetter(*names)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
        for row in rows:
            if len(row) != len(names):
                raise ValueError(f"{table.name}: every row must have the columns {names}, not {sorted(row)}")
            record = list(values(row)) if len(names) > 1 else [row[names[0]]]
            for position, process in processed:
                if (value := record[position]) is not None:
                    record[position] = process(value)
            copy.write_row(record)
