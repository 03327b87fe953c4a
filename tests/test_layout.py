"""The code's shape: esenas_core's subpackages import in one direction only (function-level
imports included), no import cycles, the built-in plugins (and the example package, tests
included) use exactly the public surface third-party plugins get, and the core imports no
plugin."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import REPO

CORE = REPO / "esenas_core"
PLUGIN_FILES = sorted((REPO / "plugins").rglob("*.py")) + sorted(
    (REPO / "examples" / "plugin_package").rglob("*.py")
)
#: the layers, lowest first: a module imports only from its own layer or lower ones
LAYERS = {
    "api": 0,
    "networks": 1,
    "engine": 2,
    "checks": 3,
    "runs": 3,
    "studies": 4,
    "search": 5,
    "cli": 6,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every absolute import anywhere in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, [a.name for a in node.names]))
    return out


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in CORE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for module, names in _imports(path):
            targets = [module, *(f"{module}.{n}" for n in names)]
            graph[name] |= {t for t in targets if t in modules and t not in (name, "esenas_core")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a lower layer's module of a higher layer's (or of an unknown one)."""

    def layer(module: str) -> int | None:
        parts = module.split(".")
        if len(parts) == 2 and parts[1] in LAYERS:  # a subpackage's __init__
            return LAYERS[parts[1]]
        if len(parts) < 3:  # esenas_core, esenas_core.backends, esenas_core._process, ...
            return None
        return LAYERS.get(parts[1], -1)

    found = []
    for source, targets in sorted(graph.items()):
        here = layer(source)
        for target in sorted(targets):
            there = layer(target)
            if here == -1 or there == -1:
                found.append(f"{source} → {target}: a subpackage missing from LAYERS")
            elif here is not None and (there is None or there > here):
                if target != "esenas_core._process":
                    found.append(f"{source} → {target}")
    return found


def test_the_layer_checker_finds_upward_imports() -> None:
    graph = {
        "esenas_core.api.a": {"esenas_core.engine.b"},
        "esenas_core.engine.b": {"esenas_core.api.a"},
        "esenas_core.runs.c": {"esenas_core.backends"},
    }
    assert layer_violations(graph) == [
        "esenas_core.api.a → esenas_core.engine.b",
        "esenas_core.runs.c → esenas_core.backends",
    ]


def test_no_import_runs_upward() -> None:
    graph = import_graph()
    assert {m.split(".")[1] for m in graph if m.count(".") >= 2} >= set(LAYERS)
    assert layer_violations(graph) == []


def test_esenas_core_has_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 30 and graph["esenas_core.engine.trainer"]  # the graph is really read
    assert cycles(graph) == []


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_plugins_import_only_the_public_surface(path: Path) -> None:
    import esenas_core.backends
    import esenas_core.estimators

    public = {
        "esenas_core": set(esenas_core.__all__),
        "esenas_core.backends": set(esenas_core.backends.__all__),
        "esenas_core.estimators": set(esenas_core.estimators.__all__),
    }
    for module, names in _imports(path):
        if module.startswith("esenas_core"):
            assert module in public, f"{path.name} imports {module}"
            unknown = set(names) - public[module]
            assert not unknown, f"{path.name}: {unknown} are not public in {module}"
        if module.startswith("esenas_plugins"):
            package = path.relative_to(REPO).parts[:2]
            assert module.split(".")[:2] == ["esenas_plugins", package[1]], (path.name, module)


def test_every_public_name_resolves() -> None:
    import esenas_core.backends
    import esenas_core.estimators

    for module in (esenas_core, esenas_core.backends, esenas_core.estimators):
        for name in module.__all__:
            assert getattr(module, name) is not None, name


def test_the_core_imports_no_plugin() -> None:
    for path in CORE.rglob("*.py"):
        for module, _ in _imports(path):
            assert not module.startswith("esenas_plugins"), f"{path.name} imports {module}"
