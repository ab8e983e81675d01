"""The wheel ships templates, static files and migrations, and an installed copy works."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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
