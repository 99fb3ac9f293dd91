"""Helpers shared by every CLI command: key ring and passphrase resolution, error reporting,
confirmation, and ``--json`` output.

Secrets never come from argv: the passphrase is read from ``VAULTKIT_PASSPHRASE`` or prompted for
with echo off. Errors are printed as one line on stderr (``error: ...``) with a non-zero exit code
and no traceback; ``VAULTKIT_DEBUG=1`` shows tracebacks of unexpected errors (never of vaultkit's
own errors, whose messages are already safe).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from vaultkit.errors import VaultkitError

if TYPE_CHECKING:
    from vaultkit.keys import KeyRing
    from vaultkit.vault import Vault

__all__ = [
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "VaultkitGroup",
    "confirm",
    "console",
    "emit_json",
    "err_console",
    "json_option",
    "keyring_option",
    "open_ring",
    "open_vault",
    "passphrase",
    "print_table",
    "yes_option",
]

EXIT_FINDINGS = 1  # `scan` found unprotected C2/C3 data (for pipelines)
EXIT_ERROR = 2  # bad input, wrong passphrase, unreachable database, ...
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE)

ENV_KEYRING = "VAULTKIT_KEYRING"
ENV_PASSPHRASE = "VAULTKIT_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


def _safe_message(exc: BaseException) -> str:
    """A one-line message for an expected error. vaultkit's messages are safe by construction;
    for database errors only SQLAlchemy's first line is kept (it never includes bound values
    because ``hide_parameters`` is set on every engine the CLI creates)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


class VaultkitGroup(click.Group):
    """The root group: turns expected errors into ``error: ...`` on stderr and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except VaultkitError as exc:
            err_console.print(f"error: {_safe_message(exc)}", markup=False)
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            err_console.print("interrupted", markup=False)
            ctx.exit(130)
        except Exception as exc:
            if _is_database_error(exc):
                err_console.print(f"error: database: {_safe_message(exc)}", markup=False)
                ctx.exit(EXIT_ERROR)
            if isinstance(exc, OSError):
                err_console.print(f"error: {exc.strerror or type(exc).__name__}: "
                                  f"{exc.filename or ''}".rstrip(": "), markup=False)
                ctx.exit(EXIT_ERROR)
            if os.environ.get("VAULTKIT_DEBUG"):
                raise
            err_console.print(
                f"internal error: {type(exc).__name__} (set VAULTKIT_DEBUG=1 for a traceback)",
                markup=False,
            )
            ctx.exit(EXIT_INTERNAL)


def _is_database_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    return isinstance(exc, SQLAlchemyError | ArgumentError)


def keyring_option(f: F) -> F:
    """``--keyring PATH`` (or ``VAULTKIT_KEYRING``), passed as ``keyring: Path``."""
    return click.option(
        "--keyring",
        "keyring",
        envvar=ENV_KEYRING,
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Key ring file (or ${ENV_KEYRING}).",
    )(f)


def json_option(f: F) -> F:
    """``--json``: machine-readable output, passed as ``as_json: bool``."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)


def yes_option(f: F) -> F:
    """``--yes``: skip the confirmation of a destructive command, passed as ``yes: bool``."""
    return click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(f)


def passphrase(*, confirm_new: bool = False) -> str:
    """The key ring passphrase: ``VAULTKIT_PASSPHRASE`` or an interactive prompt (echo off).

    Never an argument: argv is visible to every user of the machine (``ps``, /proc).
    """
    value = os.environ.get(ENV_PASSPHRASE)
    if value:
        return value
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"no passphrase: set {ENV_PASSPHRASE} or run interactively to be prompted"
        )
    return str(click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm_new))


def local_kms(*, confirm_new: bool = False) -> Any:
    from vaultkit.keys import LocalKMS

    return LocalKMS(passphrase=passphrase(confirm_new=confirm_new))


def open_ring(path: Path) -> KeyRing:
    """Open the key ring at ``path`` with the KMS its file names (passphrase by default)."""
    from vaultkit.keys import KeyRing

    if not path.exists():
        raise click.UsageError(f"no key ring at {path} (create one with `vaultkit init`)")
    return KeyRing.open(path, local_kms())


def open_vault(path: Path) -> Vault:
    from vaultkit.vault import Vault

    return Vault(open_ring(path))


def confirm(question: str, *, yes: bool) -> None:
    """Ask before a destructive action unless ``--yes``; abort (exit 1) on no or no terminal."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError(f"{question} Refusing without --yes (no terminal to ask).")
    click.confirm(question, abort=True)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


@contextmanager
def status(message: str) -> Iterator[None]:
    with err_console.status(message):
        yield
