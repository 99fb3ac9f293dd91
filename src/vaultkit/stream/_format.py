"""Stream format v1 (unsigned) and v2 (signed): the header codec. docs/stream.md gives the
layout byte by byte.

::

    core (49 bytes in v1, 57 in v2; associated data of every chunk)
      0   4  magic 89 56 4B 53 ("\\x89VKS")
      4   1  format version: 0x01 unsigned, 0x02 signed
      5   1  algorithm wire id: 0x01 SM4-GCM, 0x02 AES-256-GCM
      6   4  chunk size: plaintext bytes of every non-final chunk, uint32 big-endian
      10  7  nonce prefix (random per file)
      17  32 key commitment (derived from the file key and bytes 0..16, see _seal.py)
      49  8  v2 only: signer fingerprint (first 8 bytes of SM3 of the signer's public key)
    v2 only: header signature block (73 bytes: length, DER SM2 signature, zero padding)
    recipients (replaceable by rewrap without touching the chunks)
      49  1  recipient count N, 1..255
      N times: kind (1) | id length (1) | id | wrapped length (2, big-endian) | wrapped file key
    header MAC (32 bytes): HMAC under a key derived from the file key over every byte before it
    chunks: ciphertext || 16-byte GCM tag each (see _seal.py)
    v2 only: content signature block (73 bytes) after the final chunk (see _signing.py)

Every malformed header raises :class:`~vaultkit.errors.DecryptionError` (opaque): a stream
that does not parse is treated like one that does not authenticate.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from dataclasses import dataclass

from vaultkit.errors import DecryptionError, StreamTruncatedError, UnsupportedAlgorithmError
from vaultkit.keys import Algorithm

__all__ = [
    "ALGORITHMS",
    "CORE_SIZE",
    "MAGIC",
    "MAX_CHUNK_SIZE",
    "MIN_CHUNK_SIZE",
    "SIGNATURE_BLOCK_SIZE",
    "TAG_SIZE",
    "VERSION",
    "VERSION_SIGNED",
    "Header",
    "Params",
    "RecipientKind",
    "Stanza",
    "read_header",
]

MAGIC = b"\x89VKS"
VERSION = 1  # unsigned streams
VERSION_SIGNED = 2  # streams signed by an SM2 operator key
SIGNER_ID_SIZE = 8
SIGNATURE_BLOCK_SIZE = 1 + 72  # length byte, DER SEQUENCE{r, s} (at most 72 bytes), zeros
NONCE_PREFIX_SIZE = 7  # Hoang et al. "Online AEAD" STREAM: 7 + 4 (counter) + 1 (last flag) = 12
COMMITMENT_SIZE = 32
MAC_SIZE = 32
TAG_SIZE = 16
MIN_CHUNK_SIZE = 16
MAX_CHUNK_SIZE = 1 << 22  # bounds what a reader holds: two chunks per round stay well under 64 MiB
ALGORITHMS = (Algorithm.SM4_GCM, Algorithm.AES_256_GCM)

_PARAMS = struct.Struct(">4sBBI7s")  # magic, version, algorithm, chunk size, nonce prefix
PARAMS_SIZE = _PARAMS.size  # 17
CORE_SIZE = PARAMS_SIZE + COMMITMENT_SIZE  # 49
MAX_RECIPIENTS = 255
MAX_ID_SIZE = 255
MAX_WRAPPED_SIZE = 0xFFFF


class RecipientKind(enum.IntEnum):
    """Wire byte of a recipient stanza: who can unwrap the file key."""

    KMS = 0x01  # a key-ring KEK (id: KEK id and version, see _recipients.py)
    SM2 = 0x02  # an SM2 public key (id: first 8 bytes of SM3 of the public key)
    RING = 0x03  # a key ring, whichever KEK opens it (id: ring key epoch and ring id)


@dataclass(frozen=True)
class Stanza:
    """One recipient: the file key wrapped for it."""

    kind: int
    key_id: bytes
    wrapped: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.kind <= 0xFF or len(self.key_id) > MAX_ID_SIZE:
            raise ValueError("recipient kind or id out of range")
        if not 0 < len(self.wrapped) <= MAX_WRAPPED_SIZE:
            raise ValueError("wrapped key size out of range")

    def encode(self) -> bytes:
        return (
            bytes((self.kind, len(self.key_id)))
            + self.key_id
            + len(self.wrapped).to_bytes(2, "big")
            + self.wrapped
        )


@dataclass(frozen=True)
class Params:
    """The fixed fields chosen at encryption time (header bytes 0..16)."""

    algorithm: Algorithm
    chunk_size: int
    nonce_prefix: bytes
    version: int = VERSION

    @property
    def signed(self) -> bool:
        return self.version == VERSION_SIGNED

    def __post_init__(self) -> None:
        if self.version not in (VERSION, VERSION_SIGNED):
            raise ValueError("unknown stream format version")
        if self.algorithm not in ALGORITHMS:
            raise UnsupportedAlgorithmError(
                f"streams use {' or '.join(a.label for a in ALGORITHMS)}, not {self.algorithm}"
            )
        if not MIN_CHUNK_SIZE <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise UnsupportedAlgorithmError(
                f"chunk size must be {MIN_CHUNK_SIZE}..{MAX_CHUNK_SIZE} bytes"
            )
        if len(self.nonce_prefix) != NONCE_PREFIX_SIZE:
            raise ValueError("nonce prefix must be 7 bytes")

    def encode(self) -> bytes:
        return _PARAMS.pack(
            MAGIC, self.version, self.algorithm.wire_id, self.chunk_size, self.nonce_prefix
        )


@dataclass(frozen=True)
class Header:
    """A parsed or freshly built header. ``core`` is what every chunk authenticates.

    Signed (v2) headers also hold the signer's fingerprint (part of the core) and the header
    signature (DER); both are empty in v1.
    """

    params: Params
    commitment: bytes
    stanzas: tuple[Stanza, ...]
    mac: bytes
    signer: bytes = b""
    signature: bytes = b""

    @property
    def core(self) -> bytes:
        return self.params.encode() + self.commitment + self.signer

    def mac_input(self) -> bytes:
        """Every header byte before the MAC: core, signature block (v2), count, stanzas."""
        return mac_input(self.core, self.stanzas, self.signature if self.params.signed else None)

    def encode(self) -> bytes:
        return self.mac_input() + self.mac


def mac_input(core: bytes, stanzas: tuple[Stanza, ...], signature: bytes | None = None) -> bytes:
    if not 1 <= len(stanzas) <= MAX_RECIPIENTS:
        raise ValueError(f"a stream needs 1..{MAX_RECIPIENTS} recipients")
    block = b"" if signature is None else encode_signature_block(signature)
    return core + block + bytes((len(stanzas),)) + b"".join(s.encode() for s in stanzas)


def encode_signature_block(signature: bytes) -> bytes:
    """``len(signature)`` (1 byte) || signature || zeros, 73 bytes in all."""
    if not 8 <= len(signature) <= SIGNATURE_BLOCK_SIZE - 1:
        raise ValueError("an SM2 DER signature is 8..72 bytes")
    return bytes((len(signature),)) + signature.ljust(SIGNATURE_BLOCK_SIZE - 1, b"\x00")


def decode_signature_block(block: bytes) -> bytes | None:
    """The DER signature of a 73-byte block, ``None`` unless the block is well formed."""
    if len(block) != SIGNATURE_BLOCK_SIZE or not 8 <= block[0] <= SIGNATURE_BLOCK_SIZE - 1:
        return None
    size = block[0]
    if any(block[1 + size :]):
        return None
    return block[1 : 1 + size]


def read_header(read_exact: Callable[[int], bytes]) -> Header:
    """Parse a header from ``read_exact(n)`` (returns fewer bytes only at end of input).

    Reads exactly the header's bytes, so it works on pipes and leaves the chunks unread.
    Input that ends inside the header raises :class:`StreamTruncatedError`.
    """

    def take(n: int) -> bytes:
        data = read_exact(n)
        if len(data) != n:
            raise StreamTruncatedError()
        return data

    head = read_exact(PARAMS_SIZE)
    if not MAGIC.startswith(head[: len(MAGIC)]):  # not a stream at all (even a short input)
        raise DecryptionError()
    if len(head) != PARAMS_SIZE:
        raise StreamTruncatedError()
    _, version, alg_id, chunk_size, prefix = _PARAMS.unpack(head)
    params: Params | None = None
    try:
        params = Params(Algorithm.from_wire(alg_id), chunk_size, prefix, version)
    except (UnsupportedAlgorithmError, ValueError):
        pass  # raised below, outside the handler: no exception chain
    if params is None:
        raise DecryptionError()
    commitment = take(COMMITMENT_SIZE)
    signer, signature = b"", b""
    if params.signed:
        signer = take(SIGNER_ID_SIZE)
        decoded = decode_signature_block(take(SIGNATURE_BLOCK_SIZE))
        if decoded is None:
            raise DecryptionError()
        signature = decoded
    count = take(1)[0]
    if count == 0:
        raise DecryptionError()
    stanzas = []
    for _ in range(count):
        kind, id_len = take(2)
        key_id = take(id_len)
        wrapped_len = int.from_bytes(take(2), "big")
        if wrapped_len == 0:
            raise DecryptionError()
        stanzas.append(Stanza(kind, key_id, take(wrapped_len)))
    return Header(params, commitment, tuple(stanzas), take(MAC_SIZE), signer, signature)
