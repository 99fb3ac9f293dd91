"""Helpers shared by every CLI command: the lazy command group, error reporting, the common
options, confirmation, database engines, and ``--json`` and table output. (The credentials, and
the key ring and Vault they open, are :mod:`vaultkit.cli._credentials`.)

Errors are printed as one line on stderr (``error: ...``) with a non-zero exit code
and no traceback; ``VAULTKIT_DEBUG=1`` shows tracebacks of unexpected errors (never of vaultkit's
own errors, whose messages are already safe).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

import click

from vaultkit.errors import VaultkitError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.engine import Engine

__all__ = [
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "CliError",
    "CommandSpec",
    "VaultkitGroup",
    "confirm",
    "console",
    "db_option",
    "done",
    "emit_json",
    "err_console",
    "json_option",
    "keyring_option",
    "make_engine",
    "optional_keyring_option",
    "print_table",
    "yes_option",
]

EXIT_FINDINGS = 1  # `scan` found unprotected C2/C3 data (for pipelines)
EXIT_ERROR = 2  # bad input, wrong passphrase, unreachable database, ...
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE)

ENV_KEYRING = "VAULTKIT_KEYRING"
ENV_DB = "VAULTKIT_DB_URL"


class _LazyConsole:
    """A rich ``Console`` made on first use: ``vaultkit --help`` and usage errors need no rich
    (its import is a large part of the CLI's start-up)."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            made = Console(stderr=self._stderr, highlight=False, soft_wrap=not self._stderr)
            if not self._stderr and not made.is_terminal:  # logs, pipes: rich assumes 80 columns
                made.width = 120
            self._console = made
        return self._console

    def __getattr__(self, name: str) -> object:
        return getattr(self._get(), name)


console = cast("Console", _LazyConsole(stderr=False))
err_console = cast("Console", _LazyConsole(stderr=True))

F = TypeVar("F", bound=Callable[..., object])


def _safe_message(exc: BaseException) -> str:
    """A one-line message for an expected error. vaultkit's messages are safe by construction;
    for database errors only SQLAlchemy's first line is kept (it never includes bound values
    because ``hide_parameters`` is set on every engine the CLI creates)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text


class CliError(click.ClickException):
    """An expected failure: printed as ``error: ...`` on stderr, exit code 2, no usage text."""

    exit_code = EXIT_ERROR

    def show(self, file: IO[str] | None = None) -> None:
        _error(self.format_message())


def _error(message: str) -> None:
    err_console.print(f"error: {message}", markup=False, soft_wrap=True)


class _UsageLine(click.UsageError):
    """A usage error on one line (``error: missing option '--keyring' (or set VAULTKIT_KEYRING);
    see 'vaultkit key list --help'``), exit code 2, instead of click's usage block."""

    def show(self, file: IO[str] | None = None) -> None:
        _error(self.format_message())


def _one_line(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, _UsageLine) or type(exc).__name__ == "NoArgsIsHelpError":
        return exc  # already one line / a group called without a command: its help is the answer
    message = exc.format_message().rstrip(".")
    param = exc.param if isinstance(exc, click.MissingParameter) else None
    envvar = getattr(param, "envvar", None)
    if isinstance(envvar, str) and envvar not in message:
        message = f"{message} (or set {envvar})"
    if exc.ctx is not None:
        message = f"{message}; see '{exc.ctx.command_path} --help'"
    return _UsageLine(message, exc.ctx)


CommandSpec = tuple[str, str, str]  # (module, attribute, one-line help shown by --help)


class VaultkitGroup(click.Group):
    """The root group: turns expected errors into ``error: ...`` on stderr and an exit code, and
    imports a command's module only when that command runs (``lazy_commands``: name ->
    (module, attribute, one-line help)), so ``vaultkit --help`` starts without SQLAlchemy, rich
    or the demo. Commands added with ``add_command`` work as in any click group."""

    def __init__(
        self,
        *args: Any,  # click.Group's own arguments
        lazy_commands: Mapping[str, CommandSpec] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, CommandSpec] = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            module, attribute, _ = self.lazy_commands[cmd_name]
            command = cast(click.Command, getattr(importlib.import_module(module), attribute))
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, with the lazy commands' help taken from the table (no import)."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None and loaded.hidden:
                continue
            # an unloaded command: a stand-in with its help, shortened the way click does
            shown = loaded or click.Command(name, help=self.lazy_commands[name][2])
            text = shown.get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: object,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except VaultkitError as exc:
            _error(_safe_message(exc))
            ctx.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            err_console.print("interrupted", markup=False)
            ctx.exit(130)
        except Exception as exc:
            if _is_database_error(exc):
                _error(f"database: {_safe_message(exc)}")
                ctx.exit(EXIT_ERROR)
            if isinstance(exc, OSError):
                err_console.print(
                    f"error: {exc.strerror or type(exc).__name__}: {exc.filename or ''}".rstrip(
                        ": "
                    ),
                    markup=False,
                )
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


def _keyring_option(*, required: bool, help: str) -> Callable[[F], F]:
    return click.option(
        "--keyring",
        "keyring",
        envvar=ENV_KEYRING,
        required=required,
        type=click.Path(dir_okay=False, path_type=Path),
        help=help,
    )


def keyring_option(f: F) -> F:
    """``--keyring PATH`` (or ``VAULTKIT_KEYRING``), passed as ``keyring: Path``."""
    return _keyring_option(required=True, help=f"Key ring file (or ${ENV_KEYRING}).")(f)


def optional_keyring_option(help: str) -> Callable[[F], F]:
    """``--keyring PATH`` (or ``VAULTKIT_KEYRING``) for commands that can do without one,
    passed as ``keyring: Path | None``."""
    return _keyring_option(required=False, help=help)


def json_option(f: F) -> F:
    """``--json``: machine-readable output, passed as ``as_json: bool``."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(f)


def yes_option(f: F) -> F:
    """``--yes``: skip the confirmation of a destructive command, passed as ``yes: bool``."""
    return click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(f)


def confirm(question: str, *, yes: bool) -> None:
    """Ask before a destructive action unless ``--yes``; abort (exit 1) on no or no terminal."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CliError(f"{question} Refusing without --yes (no terminal to ask).")
    click.confirm(question, abort=True)


def db_option(f: F) -> F:
    """``--db URL`` (or ``VAULTKIT_DB_URL``, which keeps a password out of argv), as ``db``."""
    return click.option(
        "--db",
        "db",
        envvar=ENV_DB,
        required=True,
        help=f"SQLAlchemy database URL (or ${ENV_DB}); put passwords in ${ENV_DB} or PGPASSWORD.",
    )(f)


# Schemes other tools accept (libpq, Heroku, Django) that SQLAlchemy does not.
_RENAMED_SCHEMES = {"postgres": "postgresql+psycopg", "postgres+psycopg": "postgresql+psycopg"}


def make_engine(url: str) -> Engine:
    """An engine for ``url`` that never shows bound values in errors; an SQLite file must exist
    (SQLAlchemy would silently create an empty one) and waits for writers instead of failing."""
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise CliError(
            "malformed database URL (expected e.g. sqlite:///file.db or "
            "postgresql+psycopg://user@host/db)"
        ) from None
    if parsed.drivername in _RENAMED_SCHEMES:
        raise CliError(
            f"database URL scheme {parsed.drivername}:// is not SQLAlchemy's: use "
            f"{_RENAMED_SCHEMES[parsed.drivername]}://... (psycopg 3, the vaultkit[postgres] extra)"
        )
    connect_args: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:") and not Path(db).exists():
            raise CliError(f"no SQLite database at {db}")
        connect_args["timeout"] = 30
    try:
        return sa.create_engine(parsed, hide_parameters=True, connect_args=connect_args)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        raise CliError(f"cannot use database URL: {_safe_message(exc)}") from None


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def done(record: object, as_json: bool, message: str) -> None:
    """A state-changing command's outcome: ``record`` as JSON with ``--json``, else ``message``."""
    if as_json:
        emit_json(record)
    else:
        console.print(message, markup=False)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    # names (keys, tables, columns) come from users and databases: shown as text, not markup
    table = Table(title=escape(title), title_justify="left")
    for column in columns:
        table.add_column(escape(column))
    for row in rows:
        table.add_row(*("" if v is None else escape(str(v)) for v in row))
    console.print(table)
