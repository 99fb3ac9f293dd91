"""Streaming encryption for backups: constant memory, any size, pipes in both directions.

A stream is a header (algorithm, recipients holding the per-file key wrapped for each, nonce
prefix, chunk size, key commitment, header MAC) followed by chunks sealed STREAM-style with
SM4-GCM (default) or AES-256-GCM. Truncation, reordering, duplication, splicing and appending
are detected; a failure is always the opaque :class:`~vaultkit.errors.DecryptionError`.
docs/stream.md gives the format byte by byte.

Recipients: ``vault`` (a :class:`~vaultkit.Vault` or a :class:`~vaultkit.keys.KeyRing`: the
file key is wrapped for the key ring, so any of its KEKs reads the stream; or a bare KMS: the file
key is wrapped by its current KEK) and/or SM2 public keys (hex strings or
:class:`SM2Recipient`), who can then decrypt with the matching private key as ``identity``.
A writer holding only SM2 public keys cannot read what it wrote. :func:`rewrap` replaces the
recipients (e.g. after a KEK rotation) without re-encrypting the chunks.

Signed streams (format v2): a writer given ``signer=`` (an operator's SM2 private key) signs the
header and the whole content; a reader given ``trusted_signers=`` (SM2 public keys) refuses
unsigned streams and streams signed by other keys with :class:`~vaultkit.errors.SignatureError`.
Without ``trusted_signers`` a reader accepts both forms. :func:`verify` authenticates a whole
stream without producing plaintext. Errors: :class:`~vaultkit.errors.StreamTruncatedError`
(input ends before the final chunk), :class:`~vaultkit.errors.StreamModifiedError` (a chunk does
not authenticate), or the plain :class:`~vaultkit.errors.DecryptionError` (no key opens the
header, or the header is damaged); the first two subclass the last.

Access grants: a :class:`~vaultkit.Vault` passed as ``vault`` is held to its principal's grants
(docs/access.md), streams being the key ``vaultkit.stream`` (the ring's stream key): writing
needs ``encrypt`` on it; reading, verifying and rewrapping need ``decrypt``.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable
from typing import IO, Any, Literal, overload

from vaultkit.errors import VaultkitTypeError
from vaultkit.keys import KMS, Algorithm, KeyRing
from vaultkit.stream._format import (
    VERSION,
    VERSION_SIGNED,
    Params,
    RecipientKind,
    Stanza,
    read_header,
)
from vaultkit.stream._io import ChunkSource, StreamReader, StreamWriter, read_exact, write_all
from vaultkit.stream._recipients import (
    Identity,
    KMSRecipient,
    Recipient,
    RingRecipient,
    SM2Identity,
    SM2Recipient,
)
from vaultkit.stream._seal import build_header, new_file_key, new_nonce_prefix, restanza, unlock
from vaultkit.stream._signing import Signer, TrustedSigners

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Identity",
    "Recipient",
    "SM2Identity",
    "SM2Recipient",
    "StreamReader",
    "StreamWriter",
    "decrypt",
    "encrypt",
    "open",
    "rewrap",
    "verify",
]

DEFAULT_CHUNK_SIZE = 65536
STREAM_KEY_NAME = "vaultkit.stream"  # what access grants call the ring's stream key

_COPY = 1 << 20
_KEK_KINDS = (RecipientKind.KMS, RecipientKind.RING)


def _kms_of(vault: Any) -> KMS:
    """The KMS behind a Vault, a KeyRing or a KMS itself."""
    for candidate in (
        vault,
        getattr(vault, "kms", None),
        getattr(getattr(vault, "keys", None), "kms", None),
    ):
        if isinstance(candidate, KMS):
            return candidate
    raise VaultkitTypeError("vault must be a Vault, a KeyRing or a KMS")


def _ring_of(vault: Any) -> KeyRing | None:
    """The key ring behind a Vault or a KeyRing (None for a bare KMS)."""
    for candidate in (vault, getattr(vault, "keys", None)):
        if isinstance(candidate, KeyRing):
            return candidate
    return None


def _vault_recipient(vault: Any) -> RingRecipient | KMSRecipient:
    """What ``vault=`` wraps for: the whole key ring (any of its KEKs reads the stream), or
    a bare KMS's KEK."""
    ring = _ring_of(vault)
    return RingRecipient(ring) if ring is not None else KMSRecipient(_kms_of(vault))


def _vault_identities(vault: Any) -> list[Identity]:
    """What ``vault=`` opens: ring stanzas, and KMS stanzas of the KEK it was opened with."""
    ring = _ring_of(vault)
    kms_identity = KMSRecipient(_kms_of(vault))
    return [kms_identity] if ring is None else [RingRecipient(ring), kms_identity]


def _listed(recipients: Iterable[Recipient | str]) -> list[Recipient]:
    if isinstance(recipients, str | bytes):
        raise VaultkitTypeError("recipients must be a list of SM2 public keys or Recipients")
    return [SM2Recipient(r) if isinstance(r, str) else r for r in recipients]


def _allow(vault: Any, operation: str) -> None:
    """A Vault under a principal is held to its grants (AccessDeniedError, recorded); a key
    ring or a KMS passed directly is not (code holding the ring holds every key)."""
    door = getattr(vault, "_door", None)
    if door is not None:
        door(operation, STREAM_KEY_NAME)


def _recipient_list(vault: Any, recipients: Iterable[Recipient | str]) -> list[Recipient]:
    out: list[Recipient] = [] if vault is None else [_vault_recipient(vault)]
    out += _listed(recipients)
    if not out:
        raise VaultkitTypeError("a stream needs a recipient: pass vault= and/or recipients=")
    return out


def _identity_list(vault: Any, identity: Identity | str | None) -> list[Identity]:
    out: list[Identity] = [] if vault is None else _vault_identities(vault)
    if identity is not None:
        out.append(SM2Identity(identity) if isinstance(identity, str) else identity)
    if not out:
        raise VaultkitTypeError("decrypting needs vault= and/or identity=")
    return out


def _trusted(trusted_signers: Iterable[str] | None) -> TrustedSigners | None:
    return None if trusted_signers is None else TrustedSigners(trusted_signers)


@overload
def open(
    file: str | os.PathLike[str] | IO[bytes],
    mode: Literal["wb"],
    *,
    vault: Any = None,
    recipients: Iterable[Recipient | str] = (),
    identity: Identity | str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    algorithm: Algorithm | str = Algorithm.SM4_GCM,
    signer: str | None = None,
    trusted_signers: Iterable[str] | None = None,
) -> StreamWriter: ...


@overload
def open(
    file: str | os.PathLike[str] | IO[bytes],
    mode: Literal["rb"],
    *,
    vault: Any = None,
    recipients: Iterable[Recipient | str] = (),
    identity: Identity | str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    algorithm: Algorithm | str = Algorithm.SM4_GCM,
    signer: str | None = None,
    trusted_signers: Iterable[str] | None = None,
) -> StreamReader: ...


def open(
    file: str | os.PathLike[str] | IO[bytes],
    mode: Literal["wb", "rb"],
    *,
    vault: Any = None,
    recipients: Iterable[Recipient | str] = (),
    identity: Identity | str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    algorithm: Algorithm | str = Algorithm.SM4_GCM,
    signer: str | None = None,
    trusted_signers: Iterable[str] | None = None,
) -> StreamWriter | StreamReader:
    """An encrypting writer (``"wb"``) or a decrypting reader (``"rb"``) over a path or a
    binary file object. A file object passed in is not closed by the stream's ``close``.

    Writing: ``vault`` and/or ``recipients`` say who can read; ``chunk_size`` (16 B .. 4 MiB)
    and ``algorithm`` (``"SM4-GCM"`` or ``"AES-256-GCM"``) are stored in the header.
    ``signer`` (an SM2 private key, 64 hex digits) makes a signed (format v2) stream.
    Reading: ``vault`` and/or ``identity`` (an SM2 private key) open the file key; the header is
    read and checked here, so a wrong key fails at ``open``. ``trusted_signers`` (SM2 public
    keys) requires a stream signed by one of them (``SignatureError`` otherwise).
    """
    if mode not in ("wb", "rb"):
        raise VaultkitTypeError("mode must be 'wb' or 'rb'")
    if mode == "rb" and (tuple(recipients) or signer is not None):
        raise VaultkitTypeError(
            "recipients= and signer= are for writing; to read, pass vault= or identity="
        )
    if mode == "wb" and (identity is not None or trusted_signers is not None):
        raise VaultkitTypeError(
            "identity= and trusted_signers= are for reading; to write, pass vault= or recipients="
        )
    owned = isinstance(file, str | bytes | os.PathLike)
    _allow(vault, "encrypt" if mode == "wb" else "decrypt")
    if mode == "wb":
        who = _recipient_list(vault, recipients)  # checked before a file is created
        sig = None if signer is None else Signer(signer)
        version = VERSION if sig is None else VERSION_SIGNED
        params = Params(Algorithm.parse(algorithm), chunk_size, new_nonce_prefix(), version)
        header, keys = build_header(params, new_file_key(), who, sig)
        fileobj: Any = builtins.open(file, "wb") if owned else file  # type: ignore[arg-type]
        return StreamWriter(fileobj, header, keys, close_fileobj=owned, signer=sig)
    ids = _identity_list(vault, identity)
    trusted = _trusted(trusted_signers)
    fileobj = builtins.open(file, "rb") if owned else file  # type: ignore[arg-type]
    return StreamReader(fileobj, ids, close_fileobj=owned, trusted=trusted)


def encrypt(
    src: IO[bytes],
    dst: IO[bytes],
    *,
    vault: Any = None,
    recipients: Iterable[Recipient | str] = (),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    algorithm: Algorithm | str = Algorithm.SM4_GCM,
    signer: str | None = None,
) -> int:
    """Encrypt everything readable from ``src`` into ``dst``; returns the plaintext size.
    With ``signer`` (an SM2 private key) the stream is signed (format v2)."""
    with open(
        dst,
        "wb",
        vault=vault,
        recipients=recipients,
        chunk_size=chunk_size,
        algorithm=algorithm,
        signer=signer,
    ) as writer:
        total = _seal_direct(src, writer) if writer.direct else _seal_rounds(src, writer)
    dst.flush()
    return total


def _seal_direct(src: IO[bytes], writer: StreamWriter) -> int:
    """One chunk at a time, read into (or, from a BytesIO, viewed in) a reused buffer and sealed
    into another: no copy of a chunk besides reading it."""
    total, size, last = 0, writer.chunk_size, False
    with ChunkSource(src, size, in_memory=True) as source:
        while not last:
            view = source.read()
            last = len(view) < size  # a full chunk is never the final one
            writer.seal_view(view, last=last)
            total += len(view)
        del view  # no view of an in-memory source outlives the ChunkSource
    return total


def _seal_rounds(src: IO[bytes], writer: StreamWriter) -> int:
    """A round of whole chunks at a time (sealed on two threads by the native SM4 backend)."""
    total, size, count, last = 0, writer.chunk_size, writer.batch, False
    while not last:
        chunks: list[bytes] = []
        while len(chunks) < count and not last:
            chunk = read_exact(src, size)
            last = len(chunk) < size  # a full chunk is never the final one
            chunks.append(chunk)
            total += len(chunk)
        writer.seal_chunks(chunks, last=last)
    return total


def decrypt(
    src: IO[bytes],
    dst: IO[bytes],
    *,
    vault: Any = None,
    identity: Identity | str | None = None,
    trusted_signers: Iterable[str] | None = None,
) -> int:
    """Decrypt ``src`` into ``dst``; returns the plaintext size.

    Writes each batch of chunks only after it authenticated and raises ``DecryptionError`` at
    the first one that does not (``SignatureError`` for a signature ``trusted_signers``
    requires), so ``dst`` may hold a verified prefix that must be discarded on failure: to
    restore a file, write to a temp file and rename it only after this returns (as
    ``vaultkit decrypt-file`` does), or check the whole stream first with :func:`verify`.
    """
    total = 0
    with open(src, "rb", vault=vault, identity=identity, trusted_signers=trusted_signers) as reader:
        for chunk in reader.views():
            write_all(dst, chunk)
            total += len(chunk)
    dst.flush()
    return total


def verify(
    src: IO[bytes],
    *,
    vault: Any = None,
    identity: Identity | str | None = None,
    trusted_signers: Iterable[str] | None = None,
) -> int:
    """Authenticate the whole stream ``src`` (every chunk, the end, and with
    ``trusted_signers`` both signatures) without keeping or writing any plaintext; returns the
    plaintext size. Raises like :func:`decrypt`."""
    total = 0
    with open(src, "rb", vault=vault, identity=identity, trusted_signers=trusted_signers) as reader:
        for chunk in reader.views():
            total += len(chunk)
    return total


def rewrap(
    src: IO[bytes],
    dst: IO[bytes],
    *,
    vault: Any = None,
    identity: Identity | str | None = None,
    recipients: Iterable[Recipient | str] | None = None,
) -> None:
    """Copy ``src`` to ``dst`` with a new recipient set; the chunks are copied byte for byte.

    The file key is opened with ``vault`` and/or ``identity``. The new header holds a stanza
    wrapped for ``vault`` (when given: its key ring's current ring key, or a bare KMS's current
    KEK version) and, for SM2: the given ``recipients``, or when ``recipients`` is None the old
    SM2 stanzas unchanged. Old key-ring and KMS stanzas are kept only when no ``vault`` is
    given. Does not read or check the chunks. A signed stream stays signed: the signatures
    cover the header core and the chunks, not the stanzas.
    """
    header = read_header(lambda n: read_exact(src, n))
    _allow(vault, "decrypt")
    file_key, keys = unlock(header, _identity_list(vault, identity))
    core = header.core
    stanzas: list[Stanza] = []
    if vault is not None:
        stanzas.append(_vault_recipient(vault).wrap_file_key(file_key, core=core))
    else:
        stanzas += [s for s in header.stanzas if s.kind in _KEK_KINDS]
    if recipients is None:
        stanzas += [s for s in header.stanzas if s.kind == RecipientKind.SM2]
    else:
        stanzas += [r.wrap_file_key(file_key, core=core) for r in _listed(recipients)]
    if not stanzas:
        raise VaultkitTypeError("rewrap would leave no recipient")
    new = restanza(header.params, keys, stanzas, header.signer, header.signature)
    write_all(dst, new.encode())
    while data := src.read(_COPY):
        write_all(dst, data)
    dst.flush()
