"""The layers of the code, read from its imports (docs/architecture.md, "Layers").

Every import counts: at module level, inside functions, and under `TYPE_CHECKING`.

- No module uses another module's private name (`_name`), whether imported by name or
  reached as an attribute of an imported module.
- The bottom (`BOTTOM`) imports nothing above it.
- Domains never import a use case (`USE_CASES`) or the edge (routes, pages, the app).
- There is no cycle between domains. Tables (`<domain>.models`) may be read by any domain
  above the bottom, so reading another domain's table is no edge between domains; the
  tables themselves reference each other in one direction only.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "clientcard"

# Below every domain: value types, errors, the database's plumbing, text and addresses.
BOTTOM = (
    "clientcard",  # the package itself (its version)
    "clientcard.addresses",
    "clientcard.auth.actor",  # who is acting and what each role may do: no database access
    "clientcard.base",
    "clientcard.config",
    "clientcard.db",
    "clientcard.errors",
    "clientcard.live.bus",  # the transport of live events: db only
    "clientcard.pagination",
    "clientcard.schemas",
    "clientcard.text",
    "clientcard.validation",  # the input rules of the edge: value checks, errors only
)
# Use cases that span domains: above the domains they use, below the edge.
USE_CASES = ("clientcard.ingestion", "clientcard.scheduler")
# The edge: routes, pages, the app and the command line. Nothing below imports them.
EDGE = (
    "clientcard.__main__",
    "clientcard.app",
    "clientcard.asgi",
    "clientcard.cli",
    "clientcard.demo",
    "clientcard.http",
    "clientcard.migrate",
    "clientcard.migrations",
    "clientcard.models",
    "clientcard.process",
    "clientcard.web",
)


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def layer(module: str) -> str:
    if module == "clientcard" or _within(module, BOTTOM[1:]):
        return "bottom"
    if _within(module, EDGE) or module.rsplit(".", 1)[-1].endswith("api"):
        return "edge"
    if _within(module, USE_CASES):
        return "use case"
    return "domain"


def domain(module: str) -> str:
    return module.split(".")[1]


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _package_of(module: str) -> str:
    path = modules()[module]
    return module if path.name == "__init__.py" else module.rsplit(".", 1)[0]


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _package_of(module).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@cache
def imports() -> dict[str, list[tuple[str, str | None, int]]]:
    """module -> [(imported module, name taken from it or None, line)]; and private uses."""
    known = modules()
    found: dict[str, list[tuple[str, str | None, int]]] = defaultdict(list)
    for module, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        aliases: dict[str, str] = {}  # local name -> clientcard module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("clientcard"):
                        found[module].append((alias.name, None, node.lineno))
                        if alias.asname:
                            aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(module, node)
                if not source.startswith("clientcard"):
                    continue
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in known:
                        found[module].append((submodule, None, node.lineno))
                        aliases[alias.asname or alias.name] = submodule
                    else:
                        found[module].append((source, alias.name, node.lineno))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
            ):
                found[module].append((aliases[node.value.id], node.attr, node.lineno))
    return found


def test_the_graph_is_read() -> None:
    found = imports()["clientcard.customers.service"]
    assert ("clientcard.errors", "Conflict") in [(source, name) for source, name, _ in found]
    assert layer("clientcard.customers.api") == "edge"
    assert layer("clientcard.db.engine") == layer("clientcard.auth.actor") == "bottom"


def test_no_module_uses_another_modules_private_name() -> None:
    crossings = [
        f"{module}:{line} uses {source}.{name}"
        for module, targets in imports().items()
        for source, name, line in targets
        if name is not None and _private(name) and source != module
    ]
    assert crossings == []


def test_the_bottom_imports_nothing_above_it() -> None:
    wrong = [
        f"{module}:{line} imports {source}"
        for module, targets in imports().items()
        if layer(module) == "bottom"
        for source, _, line in targets
        if layer(source) != "bottom"
    ]
    assert wrong == []


def test_domains_import_no_use_case_and_no_edge() -> None:
    wrong = [
        f"{module}:{line} imports {source} ({layer(source)})"
        for module, targets in imports().items()
        if layer(module) in ("bottom", "domain")
        for source, _, line in targets
        if layer(source) in ("use case", "edge")
    ]
    assert wrong == []


def test_use_cases_import_no_edge() -> None:
    wrong = [
        f"{module}:{line} imports {source}"
        for module, targets in imports().items()
        if layer(module) == "use case"
        for source, _, line in targets
        if layer(source) == "edge"
    ]
    assert wrong == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _edges(keep) -> dict[str, set[tuple[str, str, int]]]:
    edges: dict[str, set[tuple[str, str, int]]] = defaultdict(set)
    for module, targets in imports().items():
        for source, _, line in targets:
            if source in modules() and (edge := keep(module, source)):
                edges[edge[0]].add((edge[1], module, line))
    return edges


def _explain(edges: dict[str, set[tuple[str, str, int]]], cycle: list[str]) -> list[str]:
    return sorted(
        f"{module}:{line} -> {target}"
        for node in cycle
        for target, module, line in edges[node]
        if target in cycle
    )


@pytest.mark.parametrize("kind", ["domains", "use cases", "tables"])
def test_no_cycles(kind: str) -> None:
    def between_domains(module: str, source: str):
        if layer(module) != "domain" or layer(source) != "domain":
            return None
        if source.endswith(".models") or domain(module) == domain(source):
            return None
        return domain(module), domain(source)

    def between_use_cases(module: str, source: str):
        if layer(module) != "use case" or layer(source) != "use case":
            return None
        return (domain(module), domain(source)) if domain(module) != domain(source) else None

    def between_tables(module: str, source: str):
        if module.endswith(".models") and source.endswith(".models") and module != source:
            return module, source
        return None

    keep = {"domains": between_domains, "use cases": between_use_cases, "tables": between_tables}
    edges = _edges(keep[kind])
    graph = {node: {target for target, _, _ in targets} for node, targets in edges.items()}
    assert [_explain(edges, cycle) for cycle in _cycles(graph)] == []
