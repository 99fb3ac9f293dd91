"""Every command of the ``vaultkit`` group, found by walking the group (so a command added later
is covered without touching this file), run through the real console script with an empty
environment (``env -i`` plus PATH) and no terminal: it either works, or exits 2 with a one-line
``error: ...`` naming what is missing. Never exit 70 (internal error), never a traceback.

click 8.5 took ``default=None`` on ``--keyring`` as a given value: ``vaultkit key list`` without
``VAULTKIT_KEYRING`` crashed with ``internal error: AttributeError`` (exit 70). The rest of the
suite always sets the variable, so nothing saw it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from vaultkit.cli import COMMANDS, main

CONSOLE_SCRIPT = Path(sys.executable).parent / "vaultkit"  # what `pip install` put on PATH


def _walk(group: click.Group, path: tuple[str, ...], ctx: click.Context) -> Iterator[tuple]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _walk(command, (*path, name), click.Context(command, ctx, info_name=name))


ALL = list(_walk(main, (), click.Context(main, info_name="vaultkit")))


def _dummy(param: click.Parameter, tmp: Path) -> str:
    kind = param.type
    if isinstance(kind, click.Choice):
        return str(kind.choices[0])
    if isinstance(kind, click.IntRange | click.FloatRange):
        return str(kind.min if kind.min is not None else 1)
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return "1"
    if isinstance(kind, click.Path):
        return str(tmp / "absent")
    return "x"


def _argvs(path: tuple[str, ...], command: click.Command, tmp: Path) -> list[list[str]]:
    """The command bare; with its required arguments; with every required parameter given
    (so it gets past parsing and needs what only the environment could give: a key ring, a
    passphrase, a database)."""
    arguments = [_dummy(p, tmp) for p in command.params if isinstance(p, click.Argument)]
    required = [
        p for p in command.params if isinstance(p, click.Option) and p.required and not p.is_flag
    ]
    options = [x for p in required for x in (p.opts[0], _dummy(p, tmp))]
    variants = [list(path), [*path, *arguments], [*path, *options, *arguments]]
    return [v for i, v in enumerate(variants) if v not in variants[:i]]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *argv],
        env={"PATH": os.environ["PATH"]},  # env -i PATH=...: no VAULTKIT_*, no HOME, no TERM
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


ONE_LINE_ERROR = re.compile(r"\Aerror: [^\n]+\n\Z")
MISSING = re.compile(r"Missing (option|argument) '([^']+)'")


@pytest.mark.parametrize("path, command", ALL, ids=[" ".join(path) for path, _ in ALL])
def test_works_or_names_what_is_missing(
    path: tuple[str, ...], command: click.Command, tmp_path: Path
) -> None:
    for argv in _argvs(path, command, tmp_path):
        proc = _run(argv, tmp_path)
        shown = (argv, proc.returncode, proc.stderr[-2000:])
        assert proc.returncode != 70, shown
        assert "Traceback" not in proc.stderr + proc.stdout, shown
        assert "internal error" not in proc.stderr, shown
        if proc.returncode == 0:
            continue
        assert proc.returncode == 2, shown
        if isinstance(command, click.Group) and argv == list(path):
            assert "Commands:" in proc.stderr, shown  # a group without a command: its help
            continue
        assert ONE_LINE_ERROR.match(proc.stderr), shown
        if argv == list(path) and MISSING.search(proc.stderr) is None:
            # nothing given: the only acceptable failure is "missing X"
            pytest.fail(f"bare {argv} failed without naming what is missing: {proc.stderr}")


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(path) for path, _ in ALL}
    assert set(COMMANDS) <= names
    assert {"key list", "key create", "kek rotate", "sm2 keygen"} <= names


def test_a_missing_key_ring_names_option_and_variable(tmp_path: Path) -> None:
    for argv in (["init"], ["key", "list"], ["key", "create", "k"], ["kek", "rotate"]):
        proc = _run(argv, tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: Missing option '--keyring' (or set VAULTKIT_KEYRING)")
        assert proc.stderr.count("\n") == 1


def test_a_missing_database_url_names_option_and_variable(tmp_path: Path) -> None:
    proc = _run(["scan"], tmp_path)
    assert proc.returncode == 2
    assert "Missing option '--db' (or set VAULTKIT_DB_URL)" in proc.stderr


def test_root_level_usage_errors_are_one_line(tmp_path: Path) -> None:
    for argv in (["--bogus"], ["no-such-command"]):
        proc = _run(argv, tmp_path)
        assert proc.returncode == 2
        assert ONE_LINE_ERROR.match(proc.stderr), proc.stderr
        assert "see 'vaultkit --help'" in proc.stderr


def test_a_postgres_url_gets_the_sqlalchemy_scheme_as_hint(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "VAULTKIT_DB_URL": "postgres://app:pw@db.invalid/bank"}
    proc = subprocess.run(
        [str(CONSOLE_SCRIPT), "scan"],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "use postgresql+psycopg://" in proc.stderr
    assert "pw" not in proc.stderr  # the password stays out of the message
    assert ONE_LINE_ERROR.match(proc.stderr), proc.stderr
