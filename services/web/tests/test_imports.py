"""The package's internal imports form no cycle: app builds the app, the views read context.

A cycle (app importing the blueprints, the blueprints importing app) works only as long
as every import in it is deferred into a function; it breaks at the first module-level
import someone adds. Function-level imports count here for that reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gradestack_web

PACKAGE = "gradestack_web"
ROOT = Path(gradestack_web.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    # migrations/ holds Alembic's scripts, loaded by Alembic from files, not imported.
    return {module_name(path): path for path in ROOT.rglob("*.py") if "migrations" not in path.relative_to(ROOT).parts}


def imported_modules(tree: ast.AST, modules: set[str]) -> set[str]:
    """The package's modules an AST imports, wherever the import statement stands."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from gradestack_web import api` imports the module gradestack_web.api.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {
        name: imported_modules(ast.parse(path.read_text(), str(path)), set(modules)) - {name, PACKAGE}
        for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path that ends where it starts, or [] for none (depth-first search)."""
    done: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> list[str]:
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_stack:
                return [*stack[stack.index(target) :], target]
            if target not in done:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        on_stack.discard(node)
        done.add(node)
        return []

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return []


def test_find_cycle_reports_a_cycle() -> None:
    # The check below must be able to fail.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_the_graph_covers_the_package() -> None:
    graph = import_graph()
    assert {"gradestack_web.app", "gradestack_web.api", "gradestack_web.context"} <= set(graph)
    assert "gradestack_web.api" in graph["gradestack_web.app"]
    assert "gradestack_web.context" in graph["gradestack_web.api"]


def test_package_imports_are_acyclic() -> None:
    cycle = find_cycle(import_graph())
    assert cycle == [], "import cycle: " + " -> ".join(cycle)
