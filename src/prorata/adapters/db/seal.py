"""The seal of an issued document (rule I2): a hash of what was issued, kept in ``invoices.content_hash``.

An issued invoice or credit note is never edited. When it is numbered, in the same transaction, its content is hashed
by the database: the head (account, order, billing date, number, currency, subtotal, tax, total, credit applied, issue
and due dates, tax country, reverse charge), every line as issued (in position order), the Sold-To and Bill-To
contacts kept with it, and for a credit note what it corrects. ``prorata verify`` computes the same expression again
(``inv.unchanged``): a mismatch is an edit made after issue. What may change after issue is left out: the status,
what is still owed and when it was paid.

The hash is computed by the same SQL at issue and at verification, on the database that holds the document, so that
it is set-based on both sides. Its canonical text is a JSON array built by the database; instants are written as
whole microseconds since 1970 on PostgreSQL, as the UTC text SQLite stores. That text is frozen: changing it would
break every seal already stored, so a new canonical form would need a column of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, TextClause, bindparam, text

HEAD = ("account_id", "order_id", "@billing_date", "series", "year", "number", "currency", "subtotal", "tax", "total",
        "credit_applied", "@issued_at", "@due_at", "tax_country", "reverse_charge")  # fmt: skip
LINE = ("position", "kind", "subscription_id", "product", "description", "quantity", "unit_amount", "@period_start",
        "@period_end", "used", "whole", "amount", "basis", "tax_rate", "tax", "@whole_start", "@whole_end")  # fmt: skip
PARTY = ("kind", "name", "company", "email", "phone", "address_line1", "address_line2", "city", "postal_code",
         "region", "country", "tax_id")  # fmt: skip
NOTE = ("corrects_id", "positions", "void", "reason")


def _columns(alias: str, names: Sequence[str], dialect: str) -> str:
    """The columns as the arguments of a JSON array; ``@`` marks an instant."""
    out = []
    for name in names:
        if name.startswith("@"):
            column = f"{alias}.{name[1:]}"
            # whole microseconds since 1970: an integer, written alike by every PostgreSQL version
            out.append(f"CAST(extract(epoch FROM {column}) * 1000000 AS BIGINT)" if dialect == "postgresql" else column)
        else:
            out.append(f"{alias}.{name}")
    return ", ".join(out)


def digest_sql(dialect: str) -> str:
    """The hash of the document ``i`` (an alias of ``invoices``) as a SQL expression of ``dialect``."""
    if dialect == "postgresql":
        lines = (f"(SELECT json_agg(json_build_array({_columns('l', LINE, dialect)}) ORDER BY l.position) "
                 "FROM invoice_lines l WHERE l.invoice_id = i.id)")  # fmt: skip
        parties = (f"(SELECT json_agg(json_build_array({_columns('p', PARTY, dialect)}) ORDER BY p.kind) "
                   "FROM invoice_parties p WHERE p.invoice_id = i.id)")  # fmt: skip
        note = (f"(SELECT json_build_array({_columns('n', NOTE, dialect)}) "
                "FROM credit_notes n WHERE n.invoice_id = i.id)")  # fmt: skip
        whole = f"json_build_array({_columns('i', HEAD, dialect)}, {lines}, {parties}, {note})"
        return f"encode(sha256(convert_to(CAST({whole} AS TEXT), 'UTF8')), 'hex')"
    lines = (f"(SELECT prorata_ordered_json(l.position, json_array({_columns('l', LINE, dialect)})) "
             "FROM invoice_lines l WHERE l.invoice_id = i.id)")  # fmt: skip
    parties = (f"(SELECT prorata_ordered_json(p.kind, json_array({_columns('p', PARTY, dialect)})) "
               "FROM invoice_parties p WHERE p.invoice_id = i.id)")  # fmt: skip
    note = f"(SELECT json_array({_columns('n', NOTE, dialect)}) FROM credit_notes n WHERE n.invoice_id = i.id)"
    return f"prorata_sha256(json_array({_columns('i', HEAD, dialect)}, {lines}, {parties}, {note}))"


def _seal_statement(dialect: str) -> TextClause:
    return text(f"UPDATE invoices AS i SET content_hash = {digest_sql(dialect)} WHERE i.id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )


_STATEMENTS = {dialect: _seal_statement(dialect) for dialect in ("postgresql", "sqlite")}


def seal_documents(connection: Connection, invoice_ids: Sequence[int]) -> None:
    """Seal documents just issued, in the transaction that numbered them: one statement whatever their number."""
    if invoice_ids:
        connection.execute(_STATEMENTS[connection.dialect.name], {"ids": list(invoice_ids)})


def seal_all_issued(connection: Connection) -> None:
    """Seal every issued document that has no seal yet (the migration that introduced seals)."""
    dialect = connection.dialect.name
    connection.execute(
        text(f"UPDATE invoices AS i SET content_hash = {digest_sql(dialect)} "
             "WHERE i.number IS NOT NULL AND i.content_hash IS NULL")
    )  # fmt: skip
