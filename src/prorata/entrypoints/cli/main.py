"""``prorata``: the operator's command line.

``prorata quote FILE.json`` (or ``-`` for standard input) prices a cart without touching any account and prints the
quote as JSON, or the refusal (code, message, rule, field) on standard error with exit status 1.
``prorata catalog check FILE.toml`` checks an operator's catalog; ``prorata catalog show`` lists one.
``prorata config show`` checks the settings (``PRORATA_*``: the catalog, the tax configuration with the seller, the
dunning schedule, the gateway, the mail) as every process checks them when it starts, and prints what the
installation bills with; no database is opened.
The commands on an installation (``init``, ``demo``, ``bill``, ``clock``, ``invoices``, ``reconcile``, ``apikey``,
``outbox``, ``serve``) are in ``operator.py``; the exit statuses they share in ``status.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from prorata import __version__
from prorata.catalogs import default_catalog, load_catalog
from prorata.domain.catalog import Catalog
from prorata.domain.errors import InvalidInput, ProrataError
from prorata.domain.money import Money
from prorata.entrypoints.cli import status
from prorata.entrypoints.cli.status import Parser
from prorata.entrypoints.configuration_document import configuration_document, configuration_lines
from prorata.entrypoints.quote_document import parse_json, price_document

EXIT_REFUSED = status.REFUSED


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="prorata", description="Prorata subscription billing")
    parser.add_argument("--version", action="version", version=f"prorata {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    q = commands.add_parser("quote", help="price a cart described by a JSON document, touching no account")
    q.add_argument("document", help="the quote document (JSON), or - for standard input")
    q.add_argument("--catalog", help="a catalog file (TOML) that replaces the default catalog")
    q.add_argument("--compact", action="store_true", help="print the quote on one line")

    from prorata.entrypoints.cli.operator import add_commands

    add_commands(commands)

    c = commands.add_parser("catalog", help="check or show a catalog")
    c_commands = c.add_subparsers(dest="catalog_command", required=True)
    check = c_commands.add_parser("check", help="check a catalog file and report the first problem")
    check.add_argument("file")
    show = c_commands.add_parser("show", help="list the products and prices of a catalog")
    show.add_argument("file", nargs="?", help="a catalog file (default: the built-in catalog)")

    config = commands.add_parser("config", help="check the settings and show what the installation bills with")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="{show}")
    config_show = config_commands.add_parser(
        "show", help="the dunning schedule and the seller (bank account, footer, logo), each setting checked"
    )
    config_show.add_argument("--json", action="store_true", help="print one JSON object (documented in the README)")
    return parser


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _quote(args: argparse.Namespace) -> int:
    try:
        text = _read(args.document)
    except (OSError, UnicodeDecodeError) as exc:
        # the same JSON refusal as every other error, so a program reading standard error can always parse it
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        where = "standard input" if args.document == "-" else args.document
        raise InvalidInput(
            "document.unreadable", f"document: cannot read {where}: {reason}", field="document", file=where
        ) from None
    catalog = load_catalog(args.catalog) if args.catalog else None
    result = price_document(parse_json(text), catalog=catalog)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.compact else 2))
    return 0


def _show(catalog: Catalog) -> None:
    print(
        f"{catalog.name} ({catalog.source}); granularity {catalog.granularity}, downgrades {catalog.downgrade_policy}"
    )
    for product in catalog.products.values():
        limits = f"{product.min_quantity}-{product.max_quantity or ''}"
        prices = ", ".join(
            f"{Money(amount, currency)}/{interval}" for (interval, currency), amount in sorted(product.prices.items())
        )
        tag = "sales only" if product.sales_only else "free" if product.free else prices
        if product.trial_days:  # rule TR1
            card = ", card required" if product.trial_requires_card else ""
            tag += f"; {product.trial_days}-day free trial{card}"
        print(f"  {product.code:24} {product.kind:15} {product.unit:12} {limits:6} {tag}")


def _config(args: argparse.Namespace) -> int:
    """The settings as a process starts with them, checked the same way (a refusal names the setting)."""
    from prorata.bootstrap import check_settings, read_settings

    check_settings()
    _catalog, tax, dunning = read_settings()
    document = configuration_document(dunning, tax)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print("\n".join(configuration_lines(document)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "quote":
            return _quote(args)
        if args.command == "config":
            return _config(args)
        if args.command != "catalog":
            from prorata.entrypoints.cli.operator import run_command  # the database driver only when needed

            return run_command(args)
        if args.catalog_command == "check":
            catalog = load_catalog(args.file)
            print(f"{args.file}: {len(catalog.products)} products, ok")
            return 0
        _show(load_catalog(args.file) if args.file else default_catalog())
        return 0
    except ProrataError as error:
        # quote and catalog answer in JSON, so they refuse in JSON; the operator's commands in a line, or in JSON
        # when asked for it
        in_json = args.command in ("quote", "catalog") or bool(getattr(args, "json", False))
        return status.refuse(error, as_json=in_json, indent=2 if args.command in ("quote", "catalog") else None)


def run() -> None:  # pragma: no cover - console entry point
    sys.exit(main())


__all__: list[Any] = ["main", "run"]
