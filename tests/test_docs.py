"""README stays true: every `migstat` command and option it shows exists, and its test command is what CI runs."""

from __future__ import annotations

import re
import shlex

import click
import pytest

from service.catalog import PROJECT_ROOT
from service.cli import main

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def readme_command_lines() -> list[str]:
    """The `migstat ...` commands README shows in its indented or fenced code."""
    lines = []
    for raw in README.splitlines():
        text = raw.strip()
        if not (raw.startswith("    ") or raw.startswith("\t")):
            continue
        for part in re.split(r"&&|;", text):
            part = part.split("#", 1)[0].strip()
            if part.startswith("migstat "):
                lines.append(part)
    return lines


def resolve(args: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = main
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(click.Context(command), rest[0])
        if sub is None:
            break
        command, rest = sub, rest[1:]
    return command, rest


def test_readme_shows_commands():
    assert len(readme_command_lines()) >= 8


@pytest.mark.parametrize("line", readme_command_lines())
def test_readme_command_exists(line: str):
    args = shlex.split(line)[1:]
    command, rest = resolve(args)
    assert command is not main, f"README shows an unknown command: {line}"
    if isinstance(command, click.Group):
        pytest.fail(f"README names the group {command.name!r} without a command: {line}")
    known = {opt for param in command.params for opt in getattr(param, "opts", []) + getattr(param, "secondary_opts", [])}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"README uses {word} which `{line}` does not accept"


def test_ci_runs_the_readme_test_command():
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    match = re.search(r"^    (pip install -e '\.\[test\]' && pytest)\s*$", README, re.M)
    assert match, "README must show the test command `pip install -e '.[test]' && pytest`"
    assert "pip install --quiet -e '.[test]' && pytest" in ci or match.group(1) in ci


def test_readme_run_command_installs_and_serves_the_demo():
    assert re.search(r"pip install -e \. && migstat serve --demo", README)
