"""The wheel ships templates, static files and migrations, and an installed copy works."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_FOLDERS = ("templates", "static", "migrations")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    (built,) = out.glob("leadshelf-*.whl")
    return built


def test_wheel_contains_every_shipped_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in SHIPPED_FOLDERS:
        files = [
            p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
        ]
        assert files, folder
        for path in files:
            assert f"portal/_resources/{path.relative_to(ROOT)}" in names, path
    for package in ("portal", "content", "tracking", "nurture"):
        assert f"{package}/__init__.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "leadshelf = portal.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_migrates_a_database(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target), "LEADSHELF_DATA_DIR": str(tmp_path / "data")}
    env.pop("LEADSHELF_DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import portal, portal.resources as r; from portal.cli import main;"
            "print(r.resource_path('migrations')); main(['init'])",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert str(target / "portal" / "_resources" / "migrations") in result.stdout
    assert "database at the newest schema" in result.stdout
    assert (tmp_path / "data" / "leadshelf.db").exists()


def _declared(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        names.add(canonicalize_name(name))
    return names


def _imported_top_level_modules(folder: Path) -> set[str]:
    modules: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


def test_the_test_extra_installs_everything_the_tests_import() -> None:
    """`pip install '.[test]'` must be enough to collect and run the suite."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    allowed = _declared(project["dependencies"]) | _declared(extras["test"])
    distributions = importlib.metadata.packages_distributions()
    local = {"portal", "content", "tracking", "nurture", "tests", "bench"}
    missing = {}
    for module in _imported_top_level_modules(ROOT / "tests") - local:
        if module in sys.stdlib_module_names:
            continue
        owners = {canonicalize_name(name) for name in distributions.get(module, [])}
        assert owners, f"tests import {module!r}, which no installed distribution provides"
        if not owners & _with_dependencies(allowed):
            missing[module] = sorted(owners)
    assert missing == {}, f"imported by tests but not in the 'test' extra: {missing}"


def _with_dependencies(names: set[str]) -> set[str]:
    """The distributions in ``names`` and everything they require, as installed."""
    seen: set[str] = set()
    queue = list(names)
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        queue.extend(_declared([r for r in requires if "extra ==" not in r]))
    return seen
