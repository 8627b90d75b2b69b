"""``prorata operator create|list``: the people who sign in to the operator console (``/operator``).

- ``create --email E --name N [--language pl|en] [--password-stdin]``: makes an operator through the use case the
  console shares (``services/operators.py``). The password is asked for twice on a terminal (never an argument, which
  the process list and the shell's history would keep), or read from the first line of standard input with
  ``--password-stdin``. The password policy is the customers'.
- ``list [--json]``: every operator: e-mail, name, language, and whether disabled; never a hash.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prorata.bootstrap import App
from prorata.domain.errors import InvalidInput
from prorata.entrypoints.cli import status
from prorata.services.operators import LANGUAGES, CreateOperator, create_operator

ACTOR = "prorata operator"
Decorate = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_commands(commands: argparse._SubParsersAction[Any], database: Decorate, as_json: Decorate) -> None:
    operator = commands.add_parser("operator", help="make and list the operator console's operators")
    actions = operator.add_subparsers(dest="action", required=True, metavar="{create,list}")
    create = database(actions.add_parser("create", help="make an operator who signs in at /operator"))
    create.add_argument("--email", required=True, help="the operator's e-mail address (their sign-in)")
    create.add_argument("--name", required=True, help="the operator's name, as the console and the audit show it")
    create.add_argument("--language", choices=LANGUAGES, default="en", help="the console's language (default en)")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input instead of asking")  # fmt: skip
    as_json(database(actions.add_parser("list", help="the operators: e-mail, name, language, disabled")))


def run(app: App, args: argparse.Namespace) -> int:
    return _create(app, args) if args.action == "create" else _list(app, args)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InvalidInput("operator.password_input", "password: give it on a terminal, or with --password-stdin",
                           field="password")  # fmt: skip
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise InvalidInput("password.mismatch", "repeat: the two passwords differ", field="repeat")
    return first


def _create(app: App, args: argparse.Namespace) -> int:
    command = CreateOperator(args.email, args.name, _password(args), args.language, by=ACTOR)
    create_operator(command, uow=app.uow, hasher=app.hasher, now=datetime.now(UTC))
    print(f"operator {command.email.strip().lower()} made: sign in at {app.portal_url}/operator")
    return status.DONE


def _list(app: App, args: argparse.Namespace) -> int:
    with app.uow() as tx:
        found = tx.operators()
    rows = [{"email": o.email, "name": o.name, "language": o.language, "disabled": o.disabled} for o in found]
    if args.json:
        print(json.dumps({"operators": rows}, ensure_ascii=False, indent=2))
        return status.DONE
    print(f"{'email':<40}{'language':<10}{'disabled':<10}name")
    for row in rows:
        print(f"{row['email']:<40}{row['language']:<10}{'yes' if row['disabled'] else 'no':<10}{row['name']}")
    return status.DONE
