"""FieldCipher: seals and opens field ciphertexts (format v1) under one DEK version."""

from __future__ import annotations

import hmac
import itertools
import os
import secrets
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from vaultkit.envelope import _format as f
from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
    UnsupportedAlgorithmError,
    VaultkitTypeError,
)
from vaultkit.hazmat import bindings
from vaultkit.keys import Algorithm, DataKey, _primitives
from vaultkit.keys._kms import NoPickle

__all__ = ["FieldCipher"]

# A writer draws a fresh salt (a fresh subkey) after this many messages: random 96-bit GCM nonces
# stay within SP 800-38D 8.3's bound of 2^32 invocations per key.
MAX_MESSAGES_PER_SALT = 2**32
_LIMIT = MAX_MESSAGES_PER_SALT
_NONCE_SPACE = 1 << 96
_SALT_CACHE = 256
_NONCE_RECORD = f"{f.NONCE_LEN}s"
_BODY = f.HEADER_LEN + f.NONCE_LEN  # where ciphertext || tag begins


_MAX_PLAINTEXT = (1 << 36) - 32  # SP 800-38D 5.2.1.1: len(P) <= 2^39 - 256 bits


def _plaintext(value: object) -> bytes:
    """A plaintext as ``bytes`` for the backend's GCM, which takes its arguments as given."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise VaultkitTypeError("a plaintext is bytes")
    if len(value) > _MAX_PLAINTEXT:
        raise InputFormatError(f"a GCM plaintext is at most {_MAX_PLAINTEXT} bytes")
    return bytes(value)


def item_index(exc: DecryptionError) -> int | None:
    """The index in a batch's ``DecryptionError`` (``where = "item i"``), or None."""
    where = exc.where or ""
    return int(where[5:]) if where.startswith("item ") and where[5:].isdigit() else None


# Bumped in a forked child: its writers then draw fresh salts (so fresh subkeys) instead of
# continuing the parent's nonce stream.
_FORKS = [0]
_LIVE: weakref.WeakSet[FieldCipher] = weakref.WeakSet()


def _after_fork() -> None:
    _FORKS[0] += 1
    # a lock some other thread of the parent held at fork time would stay held in the child
    # (that thread does not exist there): the child's first rekey would wait forever
    for cipher in list(_LIVE):
        cipher._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def _frame(header: bytes, nonces: list[bytes], sealed: list[bytes]) -> list[bytes]:
    """``header || nonce_i || sealed_i`` for every i (one allocation each, the loop in C)."""
    return list(
        map(b"".join, zip(itertools.repeat(header, len(nonces)), nonces, sealed, strict=True))
    )


class FieldCipher(NoPickle):
    """Field ciphertext format v1 under one DEK version (SM4-GCM or AES-256-GCM).

    Binary layout (integers big-endian)::

        0   1   format version 0x01
        1   1   algorithm wire id (0x01 SM4-GCM, 0x02 AES-256-GCM)
        2   4   key id (u32)
        6   4   key version (u32)
        10  16  salt (random, per writer process and key version)
        26  32  commitment = MAC(DEK, "vaultkit/v1/commit\\0" || bytes 0..26)
        58  12  nonce (counter from a random offset, or random in batches)
        70  n   ciphertext
        70+n 16 tag

    ``subkey = MAC(DEK, "vaultkit/v1/enc\\0" || bytes 0..26)[:key size]`` (MAC = HMAC-SM3 for
    SM4, HMAC-SHA256 for AES); ``GCM(subkey, nonce, plaintext, AD = bytes 0..58 ||
    encode_context(context))``. Subkey and commitment are computed once per salt and cached, so a
    field costs one GCM call. A writer counts messages per salt and draws a new salt after 2^32
    (and after ``fork``). Opening checks the commitment in constant time before GCM, so a
    ciphertext opens under exactly one DEK. Every failure is an opaque ``DecryptionError``.
    """

    __slots__ = (
        "__weakref__",
        "_dek",
        "_fixed",
        "_gcm",
        "_key",
        "_lock",
        "_mac",
        "_readers",
        "_size",
        "_w",
    )

    def __init__(self, key: DataKey) -> None:
        if key.algorithm not in f.AEAD_ALGORITHMS:
            raise UnsupportedAlgorithmError(
                f"key {key.name!r} is {key.algorithm.label}: field encryption needs an SM4-GCM or "
                "AES-256-GCM key"
            )
        self._key = key
        self._dek = key.material
        self._mac = "SM3" if key.algorithm is Algorithm.SM4_GCM else "SHA256"
        self._size = key.algorithm.key_size
        self._gcm = "SM4" if key.algorithm is Algorithm.SM4_GCM else "AES"
        self._fixed = f.fixed_header(key.algorithm, key.key_id, key.version)
        self._readers: dict[bytes, tuple[Any, Any, bytes]] = {}
        # writer state, replaced as a whole (readers take one consistent snapshot without a
        # lock): (single-field counter, subkey seal function, header, fork generation, nonce
        # offset, [fields sealed in batches], subkey GCM)
        self._w: tuple[Any, Any, bytes, int, int, list[int], Any] = (
            itertools.count(_LIMIT),
            None,
            b"",
            -1,
            0,
            [0],
            None,
        )
        self._lock = threading.Lock()
        _LIVE.add(self)

    @property
    def key(self) -> DataKey:
        return self._key

    # -- sealing --------------------------------------------------------------------------------
    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """One ciphertext; ``context`` is ``encode_context(...)``."""
        if plaintext.__class__ is not bytes or len(plaintext) > _MAX_PLAINTEXT:
            plaintext = _plaintext(plaintext)
        while True:
            counter, seal, header, fork, offset, batched, _ = self._w
            i = next(counter)  # atomic: threads never share a message number
            if i + batched[0] < _LIMIT and fork == _FORKS[0]:
                break
            self._rekey(counter)
        # distinct counter nonces under a subkey no other writer uses (SP 800-38D 8.2.1)
        nonce = (offset + i).to_bytes(12, "big")
        out: bytes = header + nonce + seal(nonce, plaintext, header + context)
        return out

    def seal_many(
        self, plaintexts: Sequence[bytes], contexts: bytes | Sequence[bytes]
    ) -> list[bytes]:
        """Many ciphertexts in one batch call; one encoded context for all, or one per item."""
        n = len(plaintexts)
        if n == 0:
            return []
        if not set(map(type, plaintexts)) <= {bytes}:  # the GCM takes them as they are
            plaintexts = [_plaintext(p) for p in plaintexts]
        if n > _LIMIT:
            raise UnsupportedAlgorithmError("batch larger than 2^32 fields")
        while True:
            counter, _, header, fork, _, batched, batch = self._w
            with self._lock:  # count n messages at once
                batched[0] += n
                total = next(counter) + batched[0]
            if total <= _LIMIT and fork == _FORKS[0]:
                break
            self._rekey(counter)
        # random nonces (SP 800-38D 8.2.2): the subkey's message count stays <= 2^32 in total
        nonces = f.cut(os.urandom(f.NONCE_LEN * n), _NONCE_RECORD, f.NONCE_LEN, n)
        if isinstance(contexts, bytes):
            ads: Sequence[bytes] = [header + contexts] * n
        else:
            ads = [header + c for c in contexts]
        return _frame(header, nonces, batch.seal_many(nonces, plaintexts, ads))

    def _rekey(self, spent: Any) -> None:
        """A fresh salt (so a fresh subkey) unless another thread already made one."""
        with self._lock:
            if self._w[0] is not spent:
                return
            salt = os.urandom(f.SALT_LEN)
            seal, gcm, commitment = self._derive(salt)
            offset = secrets.randbelow(_NONCE_SPACE - _LIMIT)  # offset + i stays 12 bytes
            header = self._fixed + salt + commitment
            self._w = (itertools.count(), seal, header, _FORKS[0], offset, [0], gcm)

    # -- opening --------------------------------------------------------------------------------
    def open(self, ciphertext: bytes, context: bytes) -> bytes:
        """Plaintext of one binary ciphertext whose header names this key (see ``inspect``)."""
        if len(ciphertext) < f.MIN_LEN:
            raise DecryptionError()
        out: bytes | None = self._reader(ciphertext)[1].open(
            ciphertext[f.HEADER_LEN : _BODY],
            ciphertext[_BODY:],
            ciphertext[: f.HEADER_LEN] + context,
        )
        if out is None:  # the tag does not verify
            raise DecryptionError()
        return out

    def open_many(
        self, ciphertexts: Sequence[bytes], contexts: bytes | Sequence[bytes]
    ) -> list[bytes]:
        """Plaintexts of many binary ciphertexts under this key (one encoded context for all, or
        one per item); grouped by header, one batch call per group. A failure raises
        ``DecryptionError`` whose ``where`` names the first failing item of the failing group."""
        if not ciphertexts:
            return []
        cts = f.to_binary_many(ciphertexts)  # bytes as they are (a bytearray copied)
        groups = f.header_groups(cts)
        if len(groups) == 1:
            ((header, _),) = groups.items()
            return self._open_group(header, cts, contexts)
        out: list[bytes] = [b""] * len(cts)
        for header, idx in groups.items():
            assert idx is not None
            part = contexts if isinstance(contexts, bytes) else [contexts[i] for i in idx]
            try:
                plain = self._open_group(header, [cts[i] for i in idx], part)
            except DecryptionError as exc:
                raise DecryptionError(f"item {idx[item_index(exc) or 0]}") from None
            for i, p in zip(idx, plain, strict=True):
                out[i] = p
        return out

    def _open_group(
        self, header: bytes, cts: Sequence[bytes], contexts: bytes | Sequence[bytes]
    ) -> list[bytes]:
        """Plaintexts of binary ciphertexts that all begin with ``header`` (bytes 0..58).

        Unchecked precondition (``open_many`` and ``Vault.decrypt_many`` establish it with
        ``_format.header_groups``): every item begins with ``header``, so the commitment is the
        same bytes in all of them and is compared (in constant time) once, and ``header`` is each
        item's own header in its AD. Then one batch GCM call. A failure raises
        ``DecryptionError`` whose ``where`` is ``"item i"``, i the first failing index."""
        try:
            batch = self._reader(header)[1]
        except DecryptionError:
            raise DecryptionError("item 0") from None
        n = len(cts)
        size = len(cts[0])
        lens = set(map(len, cts))
        if min(lens) < f.MIN_LEN:
            raise DecryptionError(
                f"item {next(i for i, c in enumerate(cts) if len(c) < f.MIN_LEN)}"
            )
        if n > 2 and len(lens) == 1:
            # one length (the usual batch): nonce and body cut from one joined buffer in C
            pieces = f.cut(b"".join(cts), f"{f.HEADER_LEN}x{f.NONCE_LEN}s{size - _BODY}s", size, n)
            nonces, bodies = pieces[0::2], pieces[1::2]
        else:
            nonces = [c[f.HEADER_LEN : _BODY] for c in cts]
            bodies = [c[_BODY:] for c in cts]
        if isinstance(contexts, bytes):
            ads: Sequence[bytes] = [header + contexts] * n
        else:
            ads = [header + c for c in contexts]
        out: list[bytes | None] = batch.open_many(nonces, bodies, ads)
        if None in out:  # a tag that does not verify
            raise DecryptionError(f"item {out.index(None)}")
        return out  # type: ignore[return-value]

    def _reader(self, data: bytes) -> tuple[Any, Any, bytes]:
        """The subkey's (seal function, GCM, commitment) for the header at the start of ``data``
        (at least ``HEADER_LEN`` bytes), after checking key id, version and commitment (constant
        time)."""
        if data[: f.FIXED_LEN] != self._fixed:
            raise DecryptionError()
        salt = data[f.FIXED_LEN : f.BINDING_LEN]
        entry = self._readers.get(salt)  # a plain dict read: no lock on the per-field path
        if entry is None:
            entry = self._derive(salt)
            with self._lock:
                self._readers[salt] = entry
                while len(self._readers) > _SALT_CACHE:  # oldest first
                    del self._readers[next(iter(self._readers))]
        if not hmac.compare_digest(entry[2], data[f.BINDING_LEN : f.HEADER_LEN]):
            raise DecryptionError()
        return entry

    def _derive(self, salt: bytes) -> tuple[Any, Any, bytes]:
        """(seal function for single fields, GCM, commitment) of the subkey ``salt`` names.

        The GCM is the backend's object (``vaultkit.hazmat.bindings``), whose calls take their
        arguments as given: FieldCipher builds every nonce, body and AD itself from checked bytes
        and checks plaintexts are bytes, so the public hazmat class's argument checks would only
        repeat work (per item, in batches). Single AES-256-GCM fields are sealed by OpenSSL
        (``_primitives.aead``), as the backend's ``open`` opens them."""
        binding = self._fixed + salt
        subkey = _primitives.mac(self._mac, self._dek, f.ENC_LABEL + binding)[: self._size]
        commitment = _primitives.mac(self._mac, self._dek, f.COMMIT_LABEL + binding)
        gcm = bindings.implementation("Gcm")(self._gcm, subkey)
        if self._gcm == "AES":
            return _primitives.aead(self._key.algorithm.label, subkey).encrypt, gcm, commitment
        return gcm.seal, gcm, commitment

    def wipe(self) -> None:
        """Drop derived subkeys and the writer state."""
        with self._lock:
            self._readers.clear()
            self._w = (itertools.count(_LIMIT), None, b"", -1, 0, [0], None)

    def __repr__(self) -> str:
        return f"FieldCipher(key={self._key!r})"
