"""Every refusal the engine can give, as one hierarchy with stable machine codes.

::

    ProrataError                 code, message, rule, field
    ├── InvalidInput             malformed values (money, time, documents, totals)
    │   └── FieldErrors          several malformed fields of one form, each an InvalidInput (rule X4)
    ├── CatalogError             a catalog file that cannot be used (file, product, field named)
    └── RuleViolation            a well-formed request that a rule of ``rules.md`` refuses

The ``code`` is stable (``licenses.below_assigned``, ``plan.min_licenses`` ...) and is what the API, the portal and
the CLI map; the message is for people. ``rule`` names the rule ID from ``rules.md`` where one applies, ``field``
the input field at fault. A form with several wrong fields is refused once with all of them (``FieldErrors``), so
that the buyer corrects every field in one go; ``every(error)`` lists the field errors of any refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
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


class FieldErrors(InvalidInput):
    """Every malformed field of one request (rule X4: all field errors at once). Its own code, message, rule, field
    and data are the first error's, so a handler that knows one refusal still reads a sensible one."""

    def __init__(self, errors: Sequence[InvalidInput]) -> None:
        if not errors:
            raise ValueError("FieldErrors needs at least one error")
        first = errors[0]
        super().__init__(first.code, first.message, rule=first.rule, field=first.field, **first.data)
        self.errors: tuple[InvalidInput, ...] = tuple(errors)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "errors": [error.to_dict() for error in self.errors]}


def refuse_all(errors: Sequence[InvalidInput]) -> None:
    """Raise nothing, the one error, or all of them together."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise FieldErrors(errors)


def every(error: ProrataError) -> tuple[ProrataError, ...]:
    """The field errors a refusal carries: several for ``FieldErrors``, else the refusal itself."""
    return error.errors if isinstance(error, FieldErrors) else (error,)


class CatalogError(ProrataError):
    """A catalog that cannot be loaded; the message names the file, the product and the field."""


class RuleViolation(ProrataError):
    """A well-formed request refused by a rule of the product."""
