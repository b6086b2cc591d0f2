"""No package of ``opsdesk`` imports another in a circle (docs/architecture.md, "Modules")."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"


def package_imports() -> dict[str, set[str]]:
    """For each top-level part of ``opsdesk`` (a package or a module), the others it imports."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in (SRC / "opsdesk").rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        part = parts[1] if len(parts) > 1 else parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            names = node.module.split(".")
            if names[0] != "opsdesk":
                continue
            targets = [names[1]] if len(names) > 1 else [a.name for a in node.names]
            edges[part] |= {t for t in targets if t != part}
    return edges


def test_no_package_imports_another_in_a_circle() -> None:
    edges = package_imports()
    circles = sorted((a, b) for a in edges for b in edges[a] if a < b and a in edges.get(b, ()))
    assert circles == []


def test_shared_services_import_no_desk() -> None:
    edges = package_imports()
    for service in ("ai", "notify", "payments", "web", "temporal", "db"):
        assert "orders" not in edges[service], service


def test_the_desks_import_each_other_not() -> None:
    """Each desk stands on the shared services alone, so either can change without the
    other (docs/architecture.md, "Modules")."""
    edges = package_imports()
    assert "orders" not in edges["maintenance"]
    assert "maintenance" not in edges["orders"]
