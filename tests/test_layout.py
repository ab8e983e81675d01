"""The package layout DESIGN.md draws, checked on the source: imports point one way
(portal → nurture → tracking → content), tracking's sub-packages are layered, no two modules
import each other (even inside a function), and domain packages know nothing of the web."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("content", "tracking", "nurture", "portal")
MAY_IMPORT = {
    "content": {"content"},
    "tracking": {"tracking", "content"},
    "nurture": {"nurture", "tracking", "content"},
    "portal": {"portal", "nurture", "tracking", "content"},
}
TRACKING_LAYERS = ("", "rules", "pipeline", "identity", "reporting")
"""Lower first: a module may import its own layer and the ones before it ("" is the root:
events, tables, folding, the lead profile)."""
WEB_ONLY = ("litestar", "jinja2", "uvicorn")


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "_resources" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


MODULES = dict(modules())


def imports_of(path: Path) -> set[str]:
    """Every module this file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # ``from tracking.pipeline import leadstate`` imports a module, not a name
            found.update(
                f"{node.module}.{alias.name}"
                for alias in node.names
                if f"{node.module}.{alias.name}" in MODULES
            )
    return found


def ours(imported: set[str]) -> set[str]:
    return {name for name in imported if name in MODULES}


def tracking_layer(module: str) -> int:
    parts = module.split(".")
    sub = parts[1] if len(parts) > 2 else ""
    return TRACKING_LAYERS.index(sub if sub in TRACKING_LAYERS else "")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_one_way(module: str) -> None:
    package = module.split(".")[0]
    imported = imports_of(MODULES[module])
    wrong = sorted(
        name
        for name in imported
        if name.split(".")[0] in PACKAGES and name.split(".")[0] not in MAY_IMPORT[package]
    )
    assert wrong == [], f"{module} may not import {wrong}"
    if package != "portal":
        web = sorted(name for name in imported if name.split(".")[0] in WEB_ONLY)
        assert web == [], f"{module} is a domain module and may not import {web}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("tracking.")))
def test_tracking_sub_packages_are_layered(module: str) -> None:
    mine = tracking_layer(module)
    above = sorted(
        name
        for name in ours(imports_of(MODULES[module]))
        if name.startswith("tracking.") and tracking_layer(name) > mine
    )
    assert above == [], (
        f"{module} ({TRACKING_LAYERS[mine] or 'root'}) imports higher layers: {above}"
    )


def test_no_two_modules_import_each_other() -> None:
    graph = {name: ours(imports_of(path)) - {name} for name, path in MODULES.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], "import circles: " + "; ".join(" → ".join(c) for c in cycles)


def test_the_tracking_tree_reads_as_its_sub_packages() -> None:
    flat = sorted(p.name for p in (ROOT / "tracking").glob("*.py"))
    assert flat == ["__init__.py", "events.py", "folding.py", "lead_profile.py", "models.py"]
    subs = sorted(p.name for p in (ROOT / "tracking").iterdir() if (p / "__init__.py").exists())
    assert subs == ["accounts", "deals", "identity", "pipeline", "reporting", "rules", "sources"]


def imported_from_tests(path: Path) -> Iterator[str]:
    """Every module under tests/ this file imports, and every name it imports from one
    (``tests.portal.forms:submit``, ``.test_gates:unlock``), at the top or inside a function."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "tests")
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if node.level or module.split(".")[0] == "tests":
                yield from (f"{module}:{alias.name}" for alias in node.names)


def test_no_test_module_or_conftest_is_imported() -> None:
    """Tests mirror the packages: fixtures come from each folder's conftest.py (pytest finds
    them) and plain helpers from helper modules (tests/support.py, tests/factories.py,
    tests/portal/forms.py …), never from a test module or a conftest."""
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for name in imported_from_tests(path)
        if any(
            part == "conftest" or part.startswith("test_")
            for part in name.replace(":", ".").split(".")
        )
    ]
    assert wrong == [], "; ".join(wrong)
