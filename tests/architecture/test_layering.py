"""The layers of the package, enforced: the engine is pure, front-ends never import each other,
and no module imports another that (directly or not) imports it back.

Imports are read from the source with `ast` (runtime imports only: those under
`if TYPE_CHECKING:` describe types, not dependencies), so the test sees function-local imports
too, which `sys.modules` tricks would miss.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "operator" / "socketguard"

# Layer -> the layers (and third-party roots) it must never import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "socketguard.engine": (
        "yaml", "aiohttp", "kopf", "kubernetes", "click", "requests", "socket", "subprocess", "urllib.request",
        "socketguard.inputs", "socketguard.report", "socketguard.cluster", "socketguard.cli",
        "socketguard.controller", "socketguard.webhook", "socketguard.probe", "socketguard.testing",
    ),
    "socketguard.inputs": ("kopf", "kubernetes", "socketguard.cli", "socketguard.controller", "socketguard.webhook",
                           "socketguard.cluster", "socketguard.report"),
    "socketguard.report": ("kopf", "kubernetes", "socketguard.cli", "socketguard.controller", "socketguard.webhook",
                           "socketguard.cluster"),
    "socketguard.cluster": ("socketguard.cli", "socketguard.controller", "socketguard.webhook"),
    "socketguard.controller": ("socketguard.webhook", "socketguard.cli"),
    "socketguard.webhook": ("socketguard.controller", "socketguard.cli"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def runtime_imports(path: Path, name: str) -> Iterator[str]:
    """Every module a file imports at run time (top level or inside functions)."""
    is_package = path.name == "__init__.py"
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = name.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - node.level + 1]
    return ".".join([*anchor, node.module] if node.module else anchor)


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        edges[name] = {target for target in runtime_imports(path, name) if target in known and target != name}
    return edges


def _within(name: str, layer: str) -> bool:
    return name == layer or name.startswith(layer + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_it_must_not(layer: str) -> None:
    offending = []
    for name, path in modules().items():
        if not _within(name, layer):
            continue
        for target in runtime_imports(path, name):
            if any(_within(target, banned) for banned in FORBIDDEN[layer]):
                offending.append(f"{name} imports {target}")
    assert offending == []


def test_no_import_cycles_between_modules() -> None:
    edges = graph()
    # A package's __init__ importing its own submodules is how packages expose names; a cycle
    # through it is not a dependency cycle of the code.
    for name in edges:
        edges[name] = {t for t in edges[name] if not (_within(name, t) and (PACKAGE_DIR.parent / Path(
            *t.split("."))).is_dir())}
    cycles = sorted({" -> ".join(cycle) for cycle in _cycles(edges)})
    assert cycles == []


def _cycles(edges: dict[str, set[str]]) -> Iterator[list[str]]:
    """One representative cycle per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    yield from components


def test_the_engine_exports_a_small_lazy_surface() -> None:
    import subprocess
    import sys

    code = ("import sys, socketguard.engine as e; assert 'socketguard.engine.inventory' not in sys.modules; "
            "assert sorted(e.__all__) == ['Finding', 'Inventory', 'Severity', 'all_rules', 'analyze', "
            "'exit_code_for']; e.analyze; assert 'socketguard.engine.analysis' in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(PACKAGE_DIR.parent)},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
