"""Contract tests: the docs and `leadshelf --help` keep up with the code (datasette's test_docs)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from portal.cli import main
from portal.settings import env_names

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def cli_commands(group: click.Group = main, prefix: str = "") -> list[str]:
    """Every leaf command as typed, e.g. 'user add'."""
    found: list[str] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found.extend(cli_commands(command, f"{prefix}{name} "))
        else:
            found.append(f"{prefix}{name}")
    return found


def help_text(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make run", "make test"]
    assert README.index("```sh") < README.index("\n## ")


@pytest.mark.parametrize("command", cli_commands())
def test_every_cli_command_is_documented_and_in_help(command: str) -> None:
    assert f"`leadshelf {command}" in README, f"README does not document `leadshelf {command}`"
    *parents, leaf = command.split()
    assert re.search(rf"^\s+{leaf}\s", help_text(*parents), re.M), f"{leaf} missing in --help"


@pytest.mark.parametrize("variable", env_names())
def test_every_setting_is_documented_and_in_help(variable: str) -> None:
    assert f"`{variable}`" in README
    assert variable in help_text().replace("\n", " ").replace("  ", " ")


def test_makefile_targets_named_in_readme_exist() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    assert {"help", "run", "test", "lint", "bench"} <= targets
    for target in re.findall(r"`make ([a-z-]+)`", README):
        assert target in targets, f"README mentions make {target}"


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", script, re.M)
