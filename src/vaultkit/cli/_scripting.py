"""``vaultkit tokenize | detokenize | mask``: line-oriented filters for scripts.

Values are read one per line from stdin and written one per line to stdout, in batches (one
``tokenize_many`` call per 10,000 lines), so memory stays constant. The context defaults to the
column's (``--table``/``--column``), as ``vaultkit.ext.sqlalchemy`` binds token columns, so
tokens made here match the ones the ORM stores; ``--stored`` reads and writes that stored form,
``VERSION:TOKEN``. The first invalid line stops the command (exit code 2) with the rule that
failed and the line number, never the value.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

import click

from vaultkit.cli._common import CliError, keyring_option
from vaultkit.cli._credentials import open_vault
from vaultkit.cli._kindopt import mask_kind, token_format
from vaultkit.cli._oplog import access_options
from vaultkit.columns import column_context, format_token, parse_token
from vaultkit.errors import AccessDeniedError, VaultkitError

__all__ = ["detokenize", "mask", "tokenize"]

_BATCH = 10_000
_FORMAT_HELP = (
    "Token format (vaultkit.kinds): card_no (alias card), cn_id, mobile, uscc, account_no, "
    "digits, alphanumeric."
)


def _batches() -> Iterator[tuple[int, list[str]]]:
    lines = (line.rstrip("\r\n") for line in sys.stdin)
    first = 1
    while batch := list(islice(lines, _BATCH)):
        yield first, batch
        first += len(batch)


def _filter(fn: Callable[[list[str]], list[str]]) -> None:
    for first, batch in _batches():
        try:
            out = fn(batch)
        except AccessDeniedError:
            raise  # about the principal, not a line: no retry (it would be refused again)
        except VaultkitError as exc:
            # find the line for the message (the batch call names no index)
            for i, value in enumerate(batch):
                try:
                    fn([value])
                except VaultkitError as one:
                    raise CliError(f"line {first + i}: {one}") from None
            raise CliError(str(exc)) from None
        sys.stdout.write("".join(f"{v}\n" for v in out))
    sys.stdout.flush()


def _context_options(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option("--column", required=True, help="Column the values belong to (context).")(f)
    return click.option("--table", required=True, help="Table the values belong to (context).")(f)


@click.command()
@keyring_option
@click.option("--key", "key_name", required=True, help="Token key (FF1-SM4 or FF1-AES256).")
@click.option("--format", "fmt", required=True, callback=token_format, help=_FORMAT_HELP)
@_context_options
@click.option("--stored", is_flag=True, help="Write VERSION:TOKEN (the ORM's stored form).")
@access_options
def tokenize(keyring: Path, key_name: str, fmt: str, table: str, column: str, stored: bool) -> None:
    """Tokenize values read line by line from stdin."""
    context = column_context(table, column)
    with open_vault(keyring) as vault:
        version = vault.keys.primary_key(key_name).version

        def run(values: list[str]) -> list[str]:
            tokens = vault.tokenize_many(
                key_name, values, format=fmt, context=context, version=version
            )
            return [format_token(version, t) for t in tokens] if stored else tokens

        _filter(run)


@click.command()
@keyring_option
@click.option("--key", "key_name", required=True, help="Token key.")
@click.option("--format", "fmt", required=True, callback=token_format, help=_FORMAT_HELP)
@_context_options
@click.option(
    "--version",
    "version",
    type=int,
    default=None,
    help="Key version of the tokens (default: the primary; not with --stored).",
)
@click.option("--stored", is_flag=True, help="Read VERSION:TOKEN (the ORM's stored form).")
@click.option(
    "--masked",
    "mask_as",
    default=None,
    callback=mask_kind,
    metavar="KIND",
    help="Print the values masked as KIND (card_no, cn_id, mobile, ...): needs only the "
    "reveal_masked grant.",
)
@access_options
def detokenize(
    keyring: Path,
    key_name: str,
    fmt: str,
    table: str,
    column: str,
    version: int | None,
    stored: bool,
    mask_as: str | None,
) -> None:
    """Detokenize tokens read line by line from stdin."""
    if stored and version is not None:
        raise click.UsageError("--stored tokens carry their version; drop --version")
    context = column_context(table, column)
    with open_vault(keyring) as vault:

        def one_version(tokens: list[str], v: int | None) -> list[str]:
            if mask_as is not None:
                return vault.detokenize_masked_many(
                    key_name, tokens, format=fmt, context=context, kind=mask_as, version=v
                )
            return list(
                vault.detokenize_many(key_name, tokens, format=fmt, context=context, version=v)
            )

        def run(values: list[str]) -> list[str]:
            if not stored:
                return one_version(values, version)
            out: list[str] = [""] * len(values)
            groups: dict[int, list[int]] = {}
            tokens: list[str] = []
            for i, value in enumerate(values):
                head, token = parse_token(value)  # (a VaultkitError: _filter names the line)
                groups.setdefault(head, []).append(i)
                tokens.append(token)
            for v, idx in groups.items():
                plain = one_version([tokens[i] for i in idx], v)
                for i, p in zip(idx, plain, strict=True):
                    out[i] = p
            return out

        _filter(run)


@click.command()
@click.option(
    "--kind",
    "--format",
    "kind",
    required=True,
    callback=mask_kind,
    help="Kind of the values (vaultkit.kinds): card_no (alias card), cn_id, mobile, uscc, name, "
    "address, email, account_no, or any other kind (masked fully, e.g. balance).",
)
def mask(kind: str) -> None:
    """Mask values read line by line from stdin for display (no key needed). An unknown kind
    is a usage error (exit code 2) naming the valid kinds."""
    from vaultkit.masking import mask as mask_one

    _filter(lambda values: [mask_one(kind, v) for v in values])
