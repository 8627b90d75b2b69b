"""A faster constructor for the frozen value classes priced on every quote.

A frozen dataclass sets each field in ``__init__`` through ``object.__setattr__``, the generic path that looks the
attribute up on the type every time, because its own ``__setattr__`` refuses every assignment. With slots, each field
is a slot whose descriptor can set it directly: :func:`direct_init` replaces the generated ``__init__`` with one that
does exactly that, with the same parameters and defaults, and still calls ``__post_init__``. Everything else stays the
dataclass's: fields, ``repr``, equality, hashing, and the refusal of any assignment once built.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def direct_init(cls: type[T]) -> type[T]:
    """Give a frozen, slotted dataclass an ``__init__`` that sets its slots through their descriptors."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__}: direct_init is for frozen dataclasses with slots")
    scope: dict[str, Any] = {}
    arguments: list[str] = []
    body: list[str] = []
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not field.init or field.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{field.name}: direct_init takes plain fields with plain defaults")
        scope[f"_set_{field.name}"] = cls.__dict__[field.name].__set__
        if field.default is dataclasses.MISSING:
            arguments.append(field.name)
        else:
            scope[f"_default_{field.name}"] = field.default
            arguments.append(f"{field.name}=_default_{field.name}")
        body.append(f"    _set_{field.name}(self, {field.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    exec(f"def __init__(self, {', '.join(arguments)}):\n" + "\n".join(body or ["    pass"]), scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    setattr(cls, "__init__", init)  # noqa: B010
    return cls
