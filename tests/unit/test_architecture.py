"""The domain is the standard library only (design: layers); import-linter checks the layers between packages."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import prorata.domain

DOMAIN = Path(prorata.domain.__file__).parent


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module)
    return roots


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    modules = sorted(DOMAIN.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        for name in imported_roots(path):
            allowed = name.split(".")[0] in sys.stdlib_module_names or name.startswith("prorata.domain")
            assert allowed, f"{path.name} imports {name}"


def test_the_domain_reads_no_clock() -> None:
    # design: the clock is a port; the domain receives instants as arguments
    for path in sorted(DOMAIN.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for call in ("datetime.now(", "datetime.utcnow(", "date.today(", "time.time(", "open("):
            assert call not in text, f"{path.name} calls {call}"
