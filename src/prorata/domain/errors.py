"""Every refusal the engine can give, as one hierarchy with stable machine codes.

::

    ProrataError                 code, message, rule, field
    ├── InvalidInput             malformed values (money, time, documents, totals)
    ├── CatalogError             a catalog file that cannot be used (file, product, field named)
    └── RuleViolation            a well-formed request that a rule of ``rules.md`` refuses

The ``code`` is stable (``licenses.below_assigned``, ``plan.min_licenses`` ...) and is what the API, the portal and
the CLI map; the message is for people. ``rule`` names the rule ID from ``rules.md`` where one applies, ``field``
the input field at fault.
"""

from __future__ import annotations

from typing import Any


class ProrataError(Exception):
    """Base of every refusal: a stable code, a readable message, the rule and the field at fault."""

    def __init__(
        self, code: str, message: str, *, rule: str | None = None, field: str | None = None, **data: Any
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.rule = rule
        self.field = field
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "rule": self.rule}
        if self.field is not None:
            out["field"] = self.field
        if self.data:
            out["data"] = self.data
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class InvalidInput(ProrataError):
    """A value that is malformed whatever the rules say (a float amount, a naive datetime, a bad document)."""


class CatalogError(ProrataError):
    """A catalog that cannot be loaded; the message names the file, the product and the field."""


class RuleViolation(ProrataError):
    """A well-formed request refused by a rule of the product."""
