"""``vaultkit encrypt-file``, ``decrypt-file``, ``rewrap-file`` and ``vaultkit sm2 keygen``.

Thin wrappers over :mod:`vaultkit.stream` (see docs/stream.md). ``-`` means stdin/stdout. Files
are never left half-written: output goes to a temp file in the same directory (mode 0600),
fsynced and renamed over the target only when the whole stream was processed (for
``decrypt-file``: after the final chunk verified). Decrypting to stdout stops at the first batch
that does not verify, with ``error: decryption failed`` and exit code 2.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from vaultkit import stream
from vaultkit.cli._common import ENV_KEYRING, err_console, open_ring, optional_keyring_option
from vaultkit.keys import Algorithm

__all__ = ["decrypt_file", "encrypt_file", "rewrap_file", "sm2"]

_ALGORITHMS = [a.label for a in (Algorithm.SM4_GCM, Algorithm.AES_256_GCM)]


_keyring_option = optional_keyring_option(
    f"Key ring whose KEK is a recipient (or ${ENV_KEYRING}); optional with SM2 keys."
)


def _load_public(path: Path) -> str:
    from vaultkit.keys import sm2 as sm2_keys

    return str(sm2_keys.load_public_key(path))


def _load_private(path: Path) -> str:
    from vaultkit.keys import sm2 as sm2_keys

    return str(sm2_keys.load_private_key(path))


def _binary_in(name: str) -> contextlib.AbstractContextManager[IO[bytes]]:
    if name == "-":
        return contextlib.nullcontext(sys.stdin.buffer)
    return open(name, "rb")


@contextlib.contextmanager
def _binary_out(name: str) -> Iterator[IO[bytes]]:
    """stdout, or a temp file (mode 0600) next to ``name`` renamed over it only if the block
    succeeds. An existing non-regular file (a FIFO, ``/dev/null``) is written like stdout."""
    target = Path(name)
    if name == "-" or (target.exists() and not target.is_file()):
        with contextlib.ExitStack() as stack:
            out = sys.stdout.buffer if name == "-" else stack.enter_context(open(target, "wb"))
            yield out
            out.flush()
        return
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def _ring(path: Path | None) -> Iterator[Any]:
    if path is None:
        yield None
        return
    with open_ring(path) as ring:
        yield ring


@click.command("encrypt-file")
@click.argument("src", metavar="IN")
@click.argument("dst", metavar="OUT")
@_keyring_option
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="SM2 public key file of a recipient (repeatable).",
)
@click.option(
    "--algorithm",
    type=click.Choice(_ALGORITHMS, case_sensitive=False),
    default=Algorithm.SM4_GCM.label,
    show_default=True,
)
@click.option(
    "--chunk-size",
    type=click.IntRange(16, 1 << 22),
    default=stream.DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="Plaintext bytes per chunk.",
)
def encrypt_file(
    src: str,
    dst: str,
    keyring: Path | None,
    recipients: tuple[Path, ...],
    algorithm: str,
    chunk_size: int,
) -> None:
    """Encrypt IN (a file or - for stdin) into OUT (a file or - for stdout)."""
    if keyring is None and not recipients:
        raise click.UsageError(f"give --keyring (or ${ENV_KEYRING}) and/or --recipient")
    public = [_load_public(p) for p in recipients]
    with _ring(keyring) as ring, _binary_in(src) as fin, _binary_out(dst) as fout:
        size = stream.encrypt(
            fin, fout, vault=ring, recipients=public, chunk_size=chunk_size, algorithm=algorithm
        )
    if dst != "-":
        err_console.print(f"encrypted {size} bytes into {dst}", markup=False)


@click.command("decrypt-file")
@click.argument("src", metavar="IN")
@click.argument("dst", metavar="OUT")
@_keyring_option
@click.option(
    "--identity",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="SM2 private key file that is a recipient of the stream.",
)
def decrypt_file(src: str, dst: str, keyring: Path | None, identity: Path | None) -> None:
    """Decrypt IN (a file or -) into OUT (a file, written only once fully verified, or -)."""
    if keyring is None and identity is None:
        raise click.UsageError(f"give --keyring (or ${ENV_KEYRING}) and/or --identity")
    private = None if identity is None else _load_private(identity)
    with _ring(keyring) as ring, _binary_in(src) as fin, _binary_out(dst) as fout:
        size = stream.decrypt(fin, fout, vault=ring, identity=private)
    if dst != "-":
        err_console.print(f"decrypted and verified {size} bytes into {dst}", markup=False)


@click.command("rewrap-file")
@click.argument(
    "path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@_keyring_option
@click.option(
    "--identity",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="SM2 private key file, when the key ring cannot open the stream.",
)
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="New SM2 recipient set (repeatable); default: keep the SM2 recipients.",
)
@click.option("--drop-sm2", is_flag=True, help="Remove every SM2 recipient.")
def rewrap_file(
    path: Path,
    keyring: Path | None,
    identity: Path | None,
    recipients: tuple[Path, ...],
    drop_sm2: bool,
) -> None:
    """Rewrite only FILE's header: the file key under the key ring's current KEK version and
    the chosen SM2 recipients. The chunks are copied unchanged (temp file + rename)."""
    if keyring is None and identity is None:
        raise click.UsageError(f"give --keyring (or ${ENV_KEYRING}) and/or --identity")
    if drop_sm2 and recipients:
        raise click.UsageError("--drop-sm2 and --recipient exclude each other")
    private = None if identity is None else _load_private(identity)
    new_sm2: list[str] | None = [_load_public(p) for p in recipients] if recipients else None
    if drop_sm2:
        new_sm2 = []
    with _ring(keyring) as ring, open(path, "rb") as fin, _binary_out(str(path)) as fout:
        stream.rewrap(fin, fout, vault=ring, identity=private, recipients=new_sm2)
    err_console.print(f"rewrapped {path}", markup=False)


@click.group("sm2")
def sm2() -> None:
    """SM2 key pairs for stream recipients (GB/T 32918)."""


@sm2.command("keygen")
@click.argument("prefix", metavar="OUT_PREFIX", type=click.Path(dir_okay=False, path_type=Path))
def keygen(prefix: Path) -> None:
    """Write OUT_PREFIX.key (private, mode 0600) and OUT_PREFIX.pub (public)."""
    from vaultkit.keys import sm2 as sm2_keys

    key, pub = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for p in (key, pub):
        if p.exists():
            raise click.UsageError(f"{p} exists; not overwriting a key")
    private, public = sm2_keys.generate_keypair()
    sm2_keys.save_private_key(key, private)
    sm2_keys.save_public_key(pub, public)
    err_console.print(f"wrote {key} (keep it secret) and {pub}", markup=False)
