"""``vaultkit encrypt-file``, ``decrypt-file``, ``verify-file``, ``rewrap-file`` and
``vaultkit sm2 keygen``.

Thin wrappers over :mod:`vaultkit.stream` (see docs/stream.md and docs/backups.md). ``-`` means
stdin/stdout. Files are never left half-written: output goes to a temp file in the same
directory (mode 0600), fsynced and renamed over the target only when the whole stream was
processed (for ``decrypt-file``: after the final chunk and any required signature verified).
Decrypting to stdout stops at the first batch that does not verify, with ``error: decryption
failed: ...`` and exit code 2; what was written before must be discarded. ``verify-file``
authenticates a stream without writing plaintext anywhere: exit 0 authentic, 1 not.

Each command opens the key ring first, and only then loads its SM2 key files and imports
:mod:`vaultkit.stream`: opening a ring imports no cipher module before its KEK has unwrapped the
ring key, so a passphrase ring's KDF (scrypt: 32 MiB at N=2^15, r=8) runs over the interpreter,
click and the key ring's modules only, and the ciphers, SM2 and the stream are loaded after its
work space is freed: the command's peak memory is the larger of the two, not their sum
(benchmarks/startup.py, docs/stream.md). Trusted signers of the key store
(``VAULTKIT_TRUSTED_SIGNERS``) are the exception: the store's signature is checked before any
KDF runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from vaultkit.cli._common import ENV_KEYRING, emit_json, err_console, optional_keyring_option
from vaultkit.cli._credentials import open_ring, vault_of
from vaultkit.cli._oplog import access_options, audit_target, principal
from vaultkit.errors import DecryptionError, SignatureError
from vaultkit.keys import Algorithm

if TYPE_CHECKING:
    from vaultkit.keys import KeyRing
    from vaultkit.vault import Vault

__all__ = ["decrypt_file", "encrypt_file", "rewrap_file", "sm2", "verify_file"]

_key_file = click.Path(exists=True, dir_okay=False, path_type=Path)
_trusted_signer_option = click.option(
    "--trusted-signer",
    "trusted_signers",
    multiple=True,
    type=_key_file,
    help="SM2 public key file of a trusted signer (repeatable): the stream must be signed by "
    "one of them.",
)
_identity_option = click.option(
    "--identity",
    type=_key_file,
    help="SM2 private key file that is a recipient of the stream.",
)

_ALGORITHMS = [a.label for a in (Algorithm.SM4_GCM, Algorithm.AES_256_GCM)]
_DEFAULT_CHUNK_SIZE = 65536  # vaultkit.stream.DEFAULT_CHUNK_SIZE (tests/stream/test_cli.py pins it)


_keyring_option = optional_keyring_option(
    f"Key ring whose KEK is a recipient (or ${ENV_KEYRING}); optional with SM2 keys."
)


def _load_public(path: Path) -> str:
    from vaultkit.keys import sm2 as sm2_keys

    return str(sm2_keys.load_public_key(path))


def _load_private(path: Path) -> str:
    from vaultkit.keys import sm2 as sm2_keys

    return str(sm2_keys.load_private_key(path))


def _fingerprint(public_hex: str) -> str:
    from vaultkit.keys import sm2 as sm2_keys

    return sm2_keys.fingerprint(public_hex).hex()


def _trusted(paths: tuple[Path, ...]) -> list[str] | None:
    return [_load_public(p) for p in paths] if paths else None


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
    import tempfile

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
def _ring(path: Path | None) -> Iterator[KeyRing | Vault | None]:
    if path is None:
        yield None
        return
    with open_ring(path) as ring:
        if not ring.access_controlled and principal() is None and audit_target() is None:
            yield ring  # no grants to hold to: the Vault (and its imports) is not needed
            return
        with vault_of(ring) as vault:
            yield vault  # the stream API takes the Vault: held to --principal's grants


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
    default=_DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="Plaintext bytes per chunk.",
)
@click.option(
    "--sign",
    "sign_key",
    type=_key_file,
    help="SM2 private key file of the operator who signs the stream (header and content).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object describing the result on stdout (OUT must be a file).",
)
@access_options
def encrypt_file(
    src: str,
    dst: str,
    keyring: Path | None,
    recipients: tuple[Path, ...],
    algorithm: str,
    chunk_size: int,
    sign_key: Path | None,
    as_json: bool,
) -> None:
    """Encrypt IN (a file or - for stdin) into OUT (a file or - for stdout)."""
    if keyring is None and not recipients:
        raise click.UsageError(f"give --keyring (or ${ENV_KEYRING}) and/or --recipient")
    if as_json and dst == "-":
        raise click.UsageError("--json needs OUT to be a file: stdout carries the stream")
    with _ring(keyring) as ring:  # first: see the module docstring
        public = [_load_public(p) for p in recipients]
        signer = None if sign_key is None else _load_private(sign_key)
        with _binary_in(src) as fin, _binary_out(dst) as fout:
            from vaultkit import stream

            size = stream.encrypt(
                fin,
                fout,
                vault=ring,
                recipients=public,
                chunk_size=chunk_size,
                algorithm=algorithm,
                signer=signer,
            )
    if as_json:
        from vaultkit.keys import sm2 as sm2_keys

        emit_json(
            {
                "command": "encrypt-file",
                "output": dst,
                "plaintext_bytes": size,
                "algorithm": Algorithm.parse(algorithm).label,
                "chunk_size": chunk_size,
                "keyring_recipient": keyring is not None,
                "sm2_recipients": [_fingerprint(p) for p in public],
                "signed_by": None
                if signer is None
                else _fingerprint(sm2_keys.public_key_of(signer)),
            }
        )
    elif dst != "-":
        err_console.print(f"encrypted {size} bytes into {dst}", markup=False)


@click.command("decrypt-file")
@click.argument("src", metavar="IN")
@click.argument("dst", metavar="OUT")
@_keyring_option
@_identity_option
@_trusted_signer_option
@access_options
def decrypt_file(
    src: str,
    dst: str,
    keyring: Path | None,
    identity: Path | None,
    trusted_signers: tuple[Path, ...],
) -> None:
    """Decrypt IN (a file or -) into OUT (a file, written only once fully verified, or -).

    To stdout (OUT = -), plaintext is written as it verifies, chunk by chunk: if the command
    fails (exit code 2, "truncated" or "modified"), everything it wrote before must be
    discarded. Check a backup first with `vaultkit verify-file`, or restore to a file.
    """
    if keyring is None and identity is None:
        raise click.UsageError(f"give --keyring (or ${ENV_KEYRING}) and/or --identity")
    with _ring(keyring) as ring:  # first: see the module docstring
        private = None if identity is None else _load_private(identity)
        trusted = _trusted(trusted_signers)
        with _binary_in(src) as fin, _binary_out(dst) as fout:
            from vaultkit import stream

            size = stream.decrypt(fin, fout, vault=ring, identity=private, trusted_signers=trusted)
    if dst != "-":
        err_console.print(f"decrypted and verified {size} bytes into {dst}", markup=False)


@click.command("verify-file")
@click.argument("src", metavar="FILE")
@_keyring_option
@_identity_option
@_trusted_signer_option
@click.pass_context
@access_options
def verify_file(
    ctx: click.Context,
    src: str,
    keyring: Path | None,
    identity: Path | None,
    trusted_signers: tuple[Path, ...],
) -> None:
    """Authenticate the whole stream FILE (or - for stdin) without writing plaintext anywhere.

    Exit code 0: every chunk, the end of the stream and (with --trusted-signer) the
    signatures verify. Exit code 1: the stream is truncated, modified, cannot be opened with
    the given keys, or is not signed by a trusted signer. 2: usage or key errors.
    """
    if keyring is None and identity is None:
        raise click.UsageError(f"give --keyring (or ${ENV_KEYRING}) and/or --identity")
    failure: str | None = None
    with _ring(keyring) as ring, _binary_in(src) as fin:  # the ring first: module docstring
        private = None if identity is None else _load_private(identity)
        trusted = _trusted(trusted_signers)
        from vaultkit import stream

        try:
            size = stream.verify(fin, vault=ring, identity=private, trusted_signers=trusted)
        except (DecryptionError, SignatureError) as exc:
            failure = str(exc)  # fixed texts: truncated, modified, or the signature rule
    if failure is not None:
        click.echo(f"{src}: NOT authentic: {failure}", err=True)  # one line, never wrapped
        ctx.exit(1)
    signed = " (signature of a trusted signer verified)" if trusted else ""
    click.echo(f"{src}: authentic, {size} bytes of plaintext{signed}", err=True)


@click.command("rewrap-file")
@click.argument(
    "path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@_keyring_option
@click.option(
    "--identity",
    type=_key_file,
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
@access_options
def rewrap_file(
    path: Path,
    keyring: Path | None,
    identity: Path | None,
    recipients: tuple[Path, ...],
    drop_sm2: bool,
) -> None:
    """Rewrite only FILE's header: the file key under the key ring's current KEK version and
    the chosen SM2 recipients. The chunks are copied unchanged (temp file + rename); a signed
    stream stays signed."""
    if keyring is None and identity is None:
        raise click.UsageError(f"give --keyring (or ${ENV_KEYRING}) and/or --identity")
    if drop_sm2 and recipients:
        raise click.UsageError("--drop-sm2 and --recipient exclude each other")
    with _ring(keyring) as ring:  # first: see the module docstring
        private = None if identity is None else _load_private(identity)
        new_sm2: list[str] | None = [_load_public(p) for p in recipients] if recipients else None
        if drop_sm2:
            new_sm2 = []
        with open(path, "rb") as fin, _binary_out(str(path)) as fout:
            from vaultkit import stream

            stream.rewrap(fin, fout, vault=ring, identity=private, recipients=new_sm2)
    err_console.print(f"rewrapped {path}", markup=False)


@click.group("sm2")
def sm2() -> None:
    """SM2 key pairs for stream recipients and signers (GB/T 32918)."""


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
