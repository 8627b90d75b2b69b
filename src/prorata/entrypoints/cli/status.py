"""The exit statuses of every ``prorata`` command, and how a command says what went wrong.

===  =====================================================================================================
 0   done: everything the command was asked to do is done
 1   refused: the command line, the input or a rule refused it (the reason on standard error); nothing changed.
     For ``verify``: the books are broken, each violation listed on standard output (a refusal of the command
     line is still one line on standard error)
 2   done in part: the command ran, but something it covers needs the operator (accounts the billing run did not
     renew, invoices whose due payment attempt it could not make, e-mails not sent, orders that no longer price as
     quoted); each is listed in its output
 3   the database cannot be used: an unsupported URL, a database that does not exist, cannot be reached or is
     not migrated; one line on standard error says which and what to run; nothing changed
===  =====================================================================================================

A refusal is one line on standard error, ``prorata: MESSAGE [code, rule]``; a command given ``--json`` (and
``prorata quote``, whose answer is JSON anyway) writes it as ``{"error": {"code", "message", "rule", "field"}}``
instead, so a program reads the same shape whatever failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn

from prorata.domain.errors import ProrataError

DONE = 0
REFUSED = 1
BROKEN = 1  # ``prorata verify``: an invariant of the books does not hold (the violations are listed)
DONE_IN_PART = 2
DATABASE_NOT_READY = 3


class Parser(argparse.ArgumentParser):
    """argparse's own usage errors exit with 2, which here means "done in part": they are refusals (1)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(REFUSED, f"{self.prog}: error: {message}\n")


def refuse(error: ProrataError, *, as_json: bool, indent: int | None = None) -> int:
    if as_json:
        print(json.dumps({"error": error.to_dict()}, ensure_ascii=False, indent=indent), file=sys.stderr)
    else:
        why = ", ".join(part for part in (error.code, error.rule and f"rule {error.rule}") if part)
        print(f"prorata: {' '.join(error.message.split())} [{why}]", file=sys.stderr)
    return REFUSED


def database_not_ready(message: str) -> int:
    print(f"prorata: {message}", file=sys.stderr)
    return DATABASE_NOT_READY


def worst(*statuses: int) -> int:
    """A command of several steps (billing, then its e-mails) ends with the status of the step that did least."""
    return max(statuses, default=DONE)
