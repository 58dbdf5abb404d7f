"""The package structure: imports run downwards only (api -> loyalty -> models, loyalty ->
recommend), recommend/ is a library without a database, the domain knows no web stack, and no
production modules import each other in a loop (function-level imports count too)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "loyalty", "models", "recommend")
FORBIDDEN = {
    "recommend": ("loyalty", "models", "api", "tortoise", "strawberry", "starlette", "uvicorn"),
    "loyalty": ("api", "strawberry", "starlette", "uvicorn"),
    "models": ("api", "loyalty", "recommend", "strawberry", "starlette"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def production_modules() -> dict[str, Path]:
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]
    return {module_name(p): p for p in files if "migrations" not in p.parts}


def imported(path: Path) -> set[str]:
    """Every module a file names in an import, anywhere in it (``from a import b`` names a and
    a.b)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def graph() -> dict[str, set[str]]:
    modules = production_modules()
    return {m: {i for i in imported(p) if i in modules and i != m} for m, p in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def design_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Cycles other than a package's __init__ handing on names of its own single submodule."""
    packages = {m for m, p in production_modules().items() if p.name == "__init__.py"}
    bad = []
    for group in cycles(edges):
        faces = {m for m in group if m in packages}
        rest = [m for m in group if m not in faces]
        inside = all(any(m.startswith(f + ".") for f in faces) for m in rest)
        if len(rest) > 1 or not inside:
            bad.append(group)
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_above_it(package):
    wrong = [
        f"{module} imports {name}"
        for module, path in production_modules().items()
        if module.split(".")[0] == package
        for name in sorted(imported(path))
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package])
    ]

    assert wrong == []


def test_no_import_cycles():
    assert design_cycles(graph()) == []


def test_the_cycle_finder_finds_a_loop_and_passes_a_face():
    loop = {"a.x": {"a.y"}, "a.y": {"a.x"}}
    chain = {"a.x": {"a.y"}, "a.y": set()}

    assert cycles(loop) == [["a.x", "a.y"]]
    assert cycles(chain) == []


PACKAGES_FIRST = sorted(
    f"loyalty.{p.parent.name}" for p in (ROOT / "loyalty").glob("*/__init__.py")
)


@pytest.mark.parametrize("package", [*PACKAGES_FIRST, "api.app"])
def test_a_package_imports_first_on_its_own(package):
    # What the graph above cannot see: importing a submodule runs its package's __init__
    # first, so two packages that import each other fail for whichever is imported first.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", f"import {package}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0, done.stderr
