"""The package's imports follow its declared layers, top to bottom, and never form a circle.

    __main__  →  minimax, cli, aliases  →  api  →  evaluation | viz  →  run  →  config  →  algorithm
              →  metrics  →  players  →  games  →  data  →  zoo  →  registry  →  files, _version, openmp, catalogue
              →  errors

A module may import a module of its own top-level package or of any lower layer; two packages of one layer
never import each other. Imports inside functions count (they run too); ``if TYPE_CHECKING:`` blocks do not.
docs/architecture.md explains the layers.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "minimax"
LAYERS = [
    ("minimax.__main__",),
    ("minimax", "minimax.cli"),  # the doors
    ("minimax.api",),
    ("minimax.evaluation", "minimax.viz"),
    ("minimax.run",),
    ("minimax.config",),
    ("minimax.algorithm",),
    ("minimax.metrics",),
    ("minimax.players",),
    ("minimax.games",),
    ("minimax.data",),
    ("minimax.zoo",),  # the pretrained runs: package data read as JSON and files, no torch
    ("minimax.registry",),  # the components' declarations, read from their modules' source (no import, no torch)
    ("minimax.files", "minimax._version", "minimax.openmp", "minimax.catalogue"),
    ("minimax.errors",),
]
# imports that stay inside a function, each for a measured or stated reason
LOCAL_IMPORTS = {
    ("minimax.run.runlog", "torch.utils.tensorboard"): "an optional dependency (the dev extra)",
    ("minimax.run.runlog", "tensorboard"): "the probe for that optional dependency",
    ("minimax.run.runlog", "matplotlib.pyplot"): "only when TensorBoard draws 1-D/2-D samples",
    ("minimax.config", "tomllib"): "Python >= 3.11 only (tomli before)",
    ("minimax.config", "tomli"): "Python 3.10 only",
    ("minimax.api", "minimax.viz.plots"): "matplotlib loads only to draw (import minimax loads none)",
    ("minimax", "minimax.openmp"): "the wait policy is chosen when minimax first loads torch, not at import",
}
# modules whose every import inside a function has one reason: the command line's parsers (minimax --help,
# minimax COMMAND --help) are built without loading torch, numpy or matplotlib; each command loads what it runs
LOCAL_MODULES = {f"minimax.cli.{command}": "a command's parser loads without torch"
                 for command in ("train", "sample", "eval", "report", "watch", "export", "download")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in ROOT.rglob("*.py")}


def unit(module: str) -> str:
    """The module's top-level package (minimax.run) or top-level module (minimax.config)."""
    return ".".join(module.split(".")[:2])


def layer(module: str) -> int:
    for i, names in enumerate(LAYERS):
        if unit(module) in names:
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS (and docs/architecture.md)")


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(name: str) -> list[tuple[str, bool]]:
    """(imported minimax module, inside a function) for each import of module ``name``."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                continue
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                base = package.split(".")
                base = base[:len(base) - child.level + 1] if child.level else []
                target = ".".join(base + ([child.module] if child.module else []))
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    out.append((sub if sub in MODULES else target, inner))
            elif isinstance(child, ast.Import):
                out.extend((a.name, inner) for a in child.names)
            visit(child, inner)

    visit(ast.parse(path.read_text()), False)
    return out


def test_every_module_is_in_a_layer():
    for name in MODULES:
        layer(name)


def test_imports_go_down_the_layers_only():
    wrong = []
    for name in MODULES:
        for target, _ in imports(name):
            if not target.startswith("minimax") or unit(target) == unit(name):
                continue
            if layer(target) <= layer(name):
                wrong.append(f"{name} imports {target} (layer {layer(name)} -> {layer(target)})")
    assert not wrong, "\n".join(wrong)


def test_no_import_circles():
    """Explicit imports between modules (a package's __init__ importing its own modules is not a circle)."""
    graph = {name: {t for t, _ in imports(name) if t in MODULES and t != name} for name in MODULES}
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def strongconnect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
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
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            strongconnect(v)
    assert not circles, circles


def test_imports_sit_at_the_top_unless_a_reason_is_written_down():
    local = [(name, target) for name in MODULES for target, inside in imports(name) if inside]
    unexplained = [f"{n} imports {t} inside a function" for n, t in local
                   if (n, t) not in LOCAL_IMPORTS and n not in LOCAL_MODULES]
    assert not unexplained, "\n".join(unexplained)


def test_the_names_before_0_4_are_gone():
    """0.4.0 dropped the aliases kept for one release (CHANGELOG): one name for each thing."""
    import dataclasses
    import importlib

    from minimax import algorithm
    from minimax.run import loop, setup

    for old in ("minimax.objective", "minimax.theory"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)
    assert not hasattr(algorithm, "Game") and not hasattr(setup, "load_run")
    assert [f.name for f in dataclasses.fields(loop.RunResult)] == ["run_dir", "trainer", "summary"]
    assert not hasattr(loop.RunResult, "game")


def test_architecture_md_names_every_module():
    """Each module of a package is named in its package's row of docs/architecture.md's table, and each top-level
    module somewhere on the page: the map cannot drift from the house again."""
    text = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(" `"): line for line in text.splitlines() if line.startswith("| `")}
    missing = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if len(rel.parts) == 1:
            if rel.name not in text:
                missing.append(str(rel))
        elif rel.name != "__init__.py" and f"`{rel.name}`" not in rows.get(f"{rel.parts[0]}/", ""):
            missing.append(str(rel))
    assert not missing, f"docs/architecture.md does not name {missing}"
