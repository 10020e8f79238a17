"""The package's imports go one way: items → prompts → verdicts → statistics → decision, with the
CLI and the HTTP service on top. Every ``import`` in ``judgecal/`` counts — at module level, inside
functions and under ``TYPE_CHECKING`` alike — so a cycle cannot hide behind a lazy import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "judgecal"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the judgecal modules it imports (``from a import b`` counts ``a.b`` when ``b`` is
    a module, else ``a``)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [f"{source}.{alias.name}" for alias in node.names] + [source]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
                    break
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph)))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_the_detector_finds_a_cycle_through_a_lazy_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_judgecal_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 80 and graph["judgecal.judge"], "the import graph was not read"
    found = cycles(graph)
    assert found == [], "import cycles in judgecal/ (each line one cycle):\n" + "\n".join(
        " ↔ ".join(c) for c in found
    )


def test_the_library_never_imports_the_cli() -> None:
    graph = import_graph()
    reaching_up = sorted(
        f"{module} → {target}"
        for module, targets in graph.items()
        if not module.startswith("judgecal.cli")
        for target in targets
        if target.startswith("judgecal.cli")
    )
    allowed = {"judgecal.__main__ → judgecal.cli"}  # `python -m judgecal` is the command line
    assert set(reaching_up) <= allowed, reaching_up


def test_providers_register_rather_than_being_named_in_llm() -> None:
    graph = import_graph()
    assert not graph["judgecal.llm"] & {"judgecal.local", "judgecal.simulate"}
