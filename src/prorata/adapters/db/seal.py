"""The seal of an issued document (rule I2): a hash of what was issued, kept in ``invoices.content_hash``.

An issued invoice or credit note is never edited. When it is numbered, in the same transaction, its content is hashed
by the database: the head (account, order, billing date, number, currency, subtotal, tax, total, credit applied, issue
and due dates, tax country, reverse charge), every line as issued (in position order), the Sold-To and Bill-To
contacts kept with it, and for a credit note what it corrects. ``prorata verify`` computes the same expression again
(``inv.unchanged``): a mismatch is an edit made after issue. What may change after issue is left out: the status,
what is still owed and when it was paid.

The hash is computed by the same SQL at issue and at verification, on the database that holds the document, so that
it is set-based on both sides. Its canonical text is built by the database: each row's fields separated by ``|``,
text quoted, NULL written out, instants as whole microseconds since 1970 on PostgreSQL and as the UTC text SQLite
stores; the lines in position order, the parties by kind. That text is frozen: changing it would break every seal
already stored, so a new canonical form would need a column of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, TextClause, bindparam, text

# ``@`` marks an instant, ``$`` a text; the others are numbers and booleans
HEAD = ("account_id", "order_id", "@billing_date", "$series", "year", "number", "$currency", "subtotal", "tax", "total",
        "credit_applied", "@issued_at", "@due_at", "$tax_country", "reverse_charge")  # fmt: skip
LINE = ("position", "$kind", "subscription_id", "$product", "$description", "quantity", "unit_amount",
        "@period_start", "@period_end", "used", "whole", "amount", "basis", "tax_rate", "tax", "@whole_start",
        "@whole_end")  # fmt: skip
PARTY = ("$kind", "$name", "$company", "$email", "$phone", "$address_line1", "$address_line2", "$city",
         "$postal_code", "$region", "$country", "$tax_id")  # fmt: skip
NOTE = ("corrects_id", "$positions", "void", "$reason")


def _field(alias: str, name: str, dialect: str) -> str:
    column = f"{alias}.{name.lstrip('@$')}"
    if dialect != "postgresql":
        return f"quote({column})"  # SQLite: numbers as they are, text quoted, NULL as NULL
    if name.startswith("$"):
        return f"quote_nullable({column})"
    if name.startswith("@"):
        # whole microseconds since 1970: an integer, written alike by every PostgreSQL version
        column = f"CAST(extract(epoch FROM {column}) * 1000000 AS BIGINT)"
    return f"coalesce(CAST({column} AS TEXT), 'NULL')"


def row_text(alias: str, names: Sequence[str], dialect: str) -> str:
    """One row as text: its fields separated by ``|``, text quoted (so that no field can run into the next) and
    NULL written as such."""
    fields = [_field(alias, name, dialect) for name in names]
    if dialect == "postgresql":
        return f"concat_ws('|', {', '.join(fields)})"  # no field is NULL: the same text as ||, built in one go
    return " || '|' || ".join(fields)


def parts_sql(dialect: str) -> tuple[str, str, str]:
    """The lines, the parties and the credit note of the document ``i`` as texts (NULL when there is none)."""
    if dialect == "postgresql":
        lines = f"(SELECT string_agg({row_text('l', LINE, dialect)}, E'\\n' ORDER BY l.position) "
        parties = f"(SELECT string_agg({row_text('p', PARTY, dialect)}, E'\\n' ORDER BY p.kind) "
    else:
        lines = f"(SELECT prorata_ordered_text(l.position, {row_text('l', LINE, dialect)}) "
        parties = f"(SELECT prorata_ordered_text(p.kind, {row_text('p', PARTY, dialect)}) "
    return (
        lines + "FROM invoice_lines l WHERE l.invoice_id = i.id)",
        parties + "FROM invoice_parties p WHERE p.invoice_id = i.id)",
        f"(SELECT {row_text('n', NOTE, dialect)} FROM credit_notes n WHERE n.invoice_id = i.id)",
    )


def digest_sql(dialect: str) -> str:
    """The hash of the document ``i`` (an alias of ``invoices``) as a SQL expression of ``dialect``: its head, then
    each part after a line of its own (``L``, ``P``, ``N``), which no line of a part can be."""
    lines, parties, note = parts_sql(dialect)
    nl = "E'\\n'" if dialect == "postgresql" else "char(10)"
    document = (f"{row_text('i', HEAD, dialect)} || {nl} || 'L' || {nl} || coalesce({lines}, '') || {nl} || 'P' || "
                f"{nl} || coalesce({parties}, '') || {nl} || 'N' || {nl} || coalesce({note}, '')")  # fmt: skip
    if dialect == "postgresql":
        return f"encode(sha256(convert_to({document}, 'UTF8')), 'hex')"
    return f"prorata_sha256({document})"


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
