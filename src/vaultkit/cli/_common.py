"""Helpers shared by every CLI command: key ring and passphrase resolution, error reporting,
confirmation, and ``--json`` output.

Secrets never come from argv: the passphrase is read from ``VAULTKIT_PASSPHRASE`` or prompted for
with echo off. Errors are printed as one line on stderr (``error: ...``) with a non-zero exit code
and no traceback; ``VAULTKIT_DEBUG=1`` shows tracebacks of unexpected errors (never of vaultkit's
own errors, whose messages are already safe).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

import click

from vaultkit.errors import VaultkitError

if TYPE_CHECKING:
    from rich.console import Console
    from sqlalchemy.engine import Engine

    from vaultkit import Vault
    from vaultkit.keys import KMS, KeyRing

__all__ = [
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "CliError",
    "CommandSpec",
    "VaultkitGroup",
    "confirm",
    "console",
    "db_option",
    "emit_json",
    "err_console",
    "json_option",
    "keyring_option",
    "make_engine",
    "make_kms",
    "new_passphrase_value",
    "open_ring",
    "open_vault",
    "optional_keyring_option",
    "passphrase",
    "print_table",
    "vault_of",
    "yes_option",
]

EXIT_FINDINGS = 1  # `scan` found unprotected C2/C3 data (for pipelines)
EXIT_ERROR = 2  # bad input, wrong passphrase, unreachable database, ...
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE)

ENV_KEYRING = "VAULTKIT_KEYRING"
ENV_PASSPHRASE = "VAULTKIT_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
ENV_NEW_PASSPHRASE = "VAULTKIT_NEW_PASSPHRASE"  # noqa: S105
ENV_PIN = "VAULTKIT_PKCS11_PIN"
ENV_MODULE = "VAULTKIT_PKCS11_MODULE"
ENV_DB = "VAULTKIT_DB_URL"
ENV_KEY_FILE = "VAULTKIT_KEY_FILE"
ENV_SM2_IDENTITY = "VAULTKIT_SM2_IDENTITY"
ENV_ANCHOR_DB = "VAULTKIT_ANCHOR_DB_URL"
ENV_SIGNING_KEY = "VAULTKIT_SIGNING_KEY"
ENV_TRUSTED_SIGNERS = "VAULTKIT_TRUSTED_SIGNERS"


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


def _secret(env: str, prompt: str, *, what: str, confirm: bool = False) -> str:
    """A secret from the environment variable ``env``, or an interactive prompt (echo off);
    ``CliError`` naming ``env`` when neither is available. Never from argv."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CliError(f"no {what}: set {env} or run interactively to be prompted")
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=confirm))


def passphrase(*, confirm_new: bool = False) -> str:
    """The key ring passphrase: ``VAULTKIT_PASSPHRASE`` or an interactive prompt (echo off).

    Never an argument: argv is visible to every user of the machine (``ps``, /proc).
    """
    return _secret(ENV_PASSPHRASE, "Passphrase", what="passphrase", confirm=confirm_new)


def new_passphrase_value() -> str:
    """A new passphrase (KEK rotation): ``VAULTKIT_NEW_PASSPHRASE`` or a confirmed prompt."""
    return _secret(ENV_NEW_PASSPHRASE, "New passphrase", what="new passphrase", confirm=True)


def _pin() -> str:
    return _secret(ENV_PIN, "PKCS#11 user PIN", what="PKCS#11 PIN")


def make_kms(
    kind: str,
    *,
    module: str | None = None,
    token_label: str | None = None,
    new: bool = False,
) -> KMS:
    """A KMS of ``kind`` (``local`` or ``pkcs11``) with its secret from the environment or a
    prompt. PKCS#11: the module from ``module`` or ``VAULTKIT_PKCS11_MODULE``."""
    if kind == "pkcs11":
        from vaultkit.keys import PKCS11KMS

        module = module or os.environ.get(ENV_MODULE)
        if not module:
            raise CliError(f"this key ring is in a PKCS#11 token: set {ENV_MODULE}")
        if not token_label:
            raise CliError("a PKCS#11 key ring needs the token label")
        return PKCS11KMS(module=module, token_label=token_label, pin=_pin())
    from vaultkit.keys import LocalKMS

    return LocalKMS(passphrase=passphrase(confirm_new=new))


def _ring_kms(states: Sequence[tuple[str, Mapping[str, object]]], path: Path) -> KMS:
    """The KMS to open a ring with, chosen by which credentials are present (a ring may have
    several KEKs): the first KEK, in the store's order, whose credential is set -- a key file
    (``VAULTKIT_KEY_FILE``), an SM2 identity (``VAULTKIT_SM2_IDENTITY``), a PKCS#11 PIN
    (``VAULTKIT_PKCS11_PIN``) or a passphrase (``VAULTKIT_PASSPHRASE``). With none set, the
    first KEK's secret is prompted for on a terminal (a ring whose KEKs all take one kind of
    credential: that one's usual error without a terminal); otherwise a usage error names the
    variables this ring accepts."""

    def credential(state: Mapping[str, object]) -> str:
        if state["kind"] == "local":
            return "key_file" if state.get("source") == "key_file" else "passphrase"
        return str(state["kind"])

    env = {
        "key_file": ENV_KEY_FILE,
        "sm2": ENV_SM2_IDENTITY,
        "pkcs11": ENV_PIN,
        "passphrase": ENV_PASSPHRASE,
    }
    firsts: dict[str, Mapping[str, object]] = {}  # the first KEK of each credential, in order
    for _, state in states:
        firsts.setdefault(credential(state), state)
    present = [k for k in firsts if k in env and os.environ.get(env[k])]
    if not present and (sys.stdin.isatty() or len(firsts) == 1):
        present = [credential(states[0][1])]  # prompt, or that credential's own error
    if not present:
        options = [env[k] for k in firsts if k in env]
        if not options:
            raise CliError(f"the key ring {path} has no KEK of a kind the CLI can open")
        raise CliError(
            f"no credentials for the key ring {path}: set {' or '.join(options)} "
            "(its KEKs: " + ", ".join(f"{n} ({credential(s)})" for n, s in states) + ")"
        )
    chosen = present[0]
    if chosen in ("key_file", "sm2") and not os.environ.get(env[chosen]):
        what = "a key file" if chosen == "key_file" else "an SM2 recipient KEK"
        raise CliError(f"this key ring uses {what}: set {env[chosen]}")
    if chosen == "key_file":
        from vaultkit.keys import LocalKMS

        return LocalKMS(key_file=os.environ[ENV_KEY_FILE])
    if chosen == "sm2":
        from vaultkit.keys import SM2Recipients, sm2

        return SM2Recipients(private_key=sm2.load_private_key(os.environ[ENV_SM2_IDENTITY]))
    if chosen in ("passphrase", "pkcs11"):
        label = firsts[chosen].get("token_label")
        return make_kms(
            "local" if chosen == "passphrase" else "pkcs11",
            token_label=label if isinstance(label, str) else None,
        )
    raise CliError(f"key ring uses the {chosen!r} KMS, which the CLI cannot open")


SIGN_META = "vaultkit_sign"  # ctx.meta key of a command's --sign KEYFILE


def store_signing() -> tuple[str | None, list[str] | None]:
    """``(signer, trusted signers)`` for the key store: the operator's SM2 private key file from
    the command's ``--sign KEYFILE`` or ``VAULTKIT_SIGNING_KEY`` (signs every store written);
    the trusted signers' public key files from ``VAULTKIT_TRUSTED_SIGNERS`` (separated by
    ``:``; the store must be signed by one of them)."""
    from vaultkit.keys import sm2

    ctx = click.get_current_context(silent=True)
    sign = (ctx.meta.get(SIGN_META) if ctx is not None else None) or os.environ.get(ENV_SIGNING_KEY)
    signer = None if not sign else sm2.load_private_key(sign)
    listed = [p for p in os.environ.get(ENV_TRUSTED_SIGNERS, "").split(os.pathsep) if p]
    trusted = [sm2.load_public_key(p) for p in listed] or None
    return signer, trusted


@contextmanager
def open_ring(path: Path) -> Iterator[KeyRing]:
    """The key ring at ``path``, opened with a KEK whose credentials are present (see
    :func:`_ring_kms`), closed (wiped) on exit.

    Local rings take the passphrase from ``VAULTKIT_PASSPHRASE`` (or a prompt) or the key file
    named by ``VAULTKIT_KEY_FILE``; SM2 recipients the private key file named by
    ``VAULTKIT_SM2_IDENTITY``; PKCS#11 rings read their module and token from the store and the
    PIN from ``VAULTKIT_PKCS11_PIN`` (or a prompt). With ``VAULTKIT_ANCHOR_DB_URL`` (an
    SQLAlchemy URL, usually the application database), the ring's rollback anchor is the
    ``vaultkit_keyring_anchor`` table there: a store older than it records is refused.
    Signed stores: see :func:`store_signing`.
    """
    from vaultkit.keys import KeyRing

    if not path.exists():
        raise CliError(f"no key ring at {path} (create one with `vaultkit init`)")
    kms = _ring_kms(KeyRing.kek_states(path), path)  # which backend and secret to ask for
    signer, trusted = store_signing()
    anchor = None
    if os.environ.get(ENV_ANCHOR_DB):  # rollback anchor in the application database
        from vaultkit.keys import DatabaseAnchor

        anchor = DatabaseAnchor(make_engine(os.environ[ENV_ANCHOR_DB]))
    ring = KeyRing.open(path, kms, anchor=anchor, signer=signer, trusted_signers=trusted)
    try:
        yield ring
    finally:
        ring.close()


@contextmanager
def open_vault(path: Path) -> Iterator[Vault]:
    """A Vault over the key ring at ``path``, run as ``--principal``/``VAULTKIT_PRINCIPAL``
    and recording into ``--audit``/``VAULTKIT_AUDIT`` when given (:mod:`vaultkit.cli._oplog`)."""
    with open_ring(path) as ring, vault_of(ring) as vault:
        yield vault


@contextmanager
def vault_of(ring: KeyRing) -> Iterator[Vault]:
    """A Vault over ``ring`` as :func:`open_vault` makes it."""
    from vaultkit import Vault
    from vaultkit.cli._oplog import audit_target, principal

    target = audit_target()
    if target is None:
        with Vault(ring, principal=principal()) as vault:
            yield vault
        return
    from vaultkit.audit import Trail

    with (
        Trail.open(target, ring) as trail,
        Vault(ring, principal=principal(), audit=trail) as vault,
    ):
        yield vault


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
