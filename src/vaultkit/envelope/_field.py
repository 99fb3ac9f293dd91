"""FieldCipher: seals and opens field ciphertexts (format v1, ``docs/envelope.md``) under one DEK
version; :func:`open_group` opens the items of a batch that share a header (``_groups``)."""

from __future__ import annotations

import hmac
import itertools
import os
import secrets
import threading
import weakref
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from vaultkit._nopickle import NoPickle
from vaultkit.envelope._format import (
    AEAD_ALGORITHMS,
    BINDING_LEN,
    COMMIT_LABEL,
    ENC_LABEL,
    FIXED_LEN,
    HEADER_LEN,
    MIN_LEN,
    NONCE_LEN,
    SALT_LEN,
    TAG_LEN,
    fixed_header,
)
from vaultkit.envelope._groups import HeaderGroup, header_groups, item_index
from vaultkit.envelope._textcodec import to_binary_many
from vaultkit.errors import (
    DecryptionError,
    InputFormatError,
    UnsupportedAlgorithmError,
    VaultkitTypeError,
)
from vaultkit.hazmat import _fast
from vaultkit.hazmat.flat import FlatBuffer
from vaultkit.keys import Algorithm, DataKey

__all__ = ["BatchGcm", "FieldCipher", "Seal", "open_group"]

# A writer draws a fresh salt (a fresh subkey) after this many messages: random 96-bit GCM nonces
# stay within SP 800-38D 8.3's bound of 2^32 invocations per key.
MAX_MESSAGES_PER_SALT = 2**32
_LIMIT = MAX_MESSAGES_PER_SALT
_NONCE_SPACE = 1 << 96
_SALT_CACHE = 256
_OVERHEAD = HEADER_LEN + NONCE_LEN + TAG_LEN  # a ciphertext's bytes besides the plaintext's
_MAX_PLAINTEXT = _fast.GCM_MAX_PLAINTEXT

Seal = Callable[[int, bytes, bytes], bytes]
"""GCM encryption of one field in one call (``gcm.records(header, base).seal``): ``(counter,
plaintext, context) -> header || nonce || ciphertext || tag``, nonce = base + counter, associated
data header || context."""

Open = Callable[[bytes, bytes], bytes | None]
"""GCM decryption of one field in one call (``gcm.records(header).open``): ``(ciphertext,
context) -> plaintext``, or None when the tag does not verify."""


BatchGcm = _fast.GcmImpl
"""The GCM object under one subkey (``hazmat._fast.field_gcm``). Its calls take their arguments
as given: FieldCipher builds every nonce, body and AD from checked bytes. ``open`` gives None for
a tag that does not verify; the batches go through its flat forms (one buffer in, one out)."""


class _Subkey(NamedTuple):
    """What a salt's subkey derives once (cached per salt): its GCM (batches, and the records
    single fields are sealed and opened with) and the key commitment (docs/envelope.md, "Binary
    form")."""

    gcm: BatchGcm
    commitment: bytes


def _unkeyed(counter: int, data: bytes, context: bytes) -> bytes:
    raise AssertionError("a writer without a subkey seals nothing")  # its count is spent


def _unopened(ciphertext: bytes, context: bytes) -> bytes | None:
    raise AssertionError("no header matches the empty one")  # a ciphertext has MIN_LEN bytes


@dataclass(frozen=True, slots=True)
class _Writer:
    """A writer's state, replaced as a whole (a sealing thread reads one consistent snapshot
    without a lock). ``counter`` numbers single fields (``next`` is atomic); ``batched`` is one
    cell counting the fields sealed in batches (added to under the cipher's lock); both count
    against ``_LIMIT`` per salt."""

    counter: itertools.count[int]
    seal: Seal  # one field: nonce = offset (drawn with the salt) + counter
    header: bytes  # bytes 0..58: fixed header, salt, commitment
    batched: list[int]
    gcm: BatchGcm | None

    @staticmethod
    def spent() -> _Writer:
        """No subkey yet (or wiped): its count is spent, so the first field draws a salt."""
        return _Writer(itertools.count(_LIMIT), _unkeyed, b"", [0], None)


def _plaintext(value: object) -> bytes:
    """A plaintext as ``bytes`` for the backend's GCM, which takes its arguments as given."""
    if not isinstance(value, bytes | bytearray | memoryview):
        raise VaultkitTypeError("a plaintext is bytes")
    if len(value) > _MAX_PLAINTEXT:
        raise InputFormatError(f"a GCM plaintext is at most {_MAX_PLAINTEXT} bytes")
    return bytes(value)


# Every cipher, so that a forked child spends their writers (_after_fork): each then draws a
# fresh salt (so a fresh subkey) instead of continuing the parent's nonce stream.
_LIVE: weakref.WeakSet[FieldCipher] = weakref.WeakSet()


def _after_fork() -> None:
    # a lock some other thread of the parent held at fork time would stay held in the child
    # (that thread does not exist there): the child's first rekey would wait forever. The
    # writers are spent, so the child's first field or batch draws a fresh salt
    for cipher in list(_LIVE):
        cipher._lock = threading.Lock()
        cipher._w = _Writer.spent()


os.register_at_fork(after_in_child=_after_fork)


def _ads(
    header: bytes, contexts: bytes | Sequence[bytes], n: int
) -> tuple[bytes | bytearray, array[int] | None]:
    """The batch's associated data for the flat calls: ``header || context``, one for all items
    (hashed once) or one per item (a flat buffer and its offsets)."""
    if isinstance(contexts, bytes):
        return header + contexts, None
    if len(contexts) != n:
        raise VaultkitTypeError(f"contexts has {len(contexts)} items, expected {n}")
    ads = FlatBuffer.join([header + c for c in contexts])
    return ads.data, ads.offsets


class FieldCipher(NoPickle):
    """Seals and opens field ciphertexts (format v1, specified in ``docs/envelope.md``) under one
    DEK version (SM4-GCM or AES-256-GCM).

    Subkey and commitment are computed once per salt and cached, so a field costs one GCM call.
    A writer counts messages per salt and draws a new salt after 2^32 (and in a forked child):
    single fields get counter nonces from a random offset, batches random nonces. Opening checks
    the commitment in constant time before GCM, so a ciphertext opens under exactly one DEK.
    Every failure is an opaque ``DecryptionError``.
    """

    __slots__ = (
        "__weakref__",
        "_dek",
        "_fixed",
        "_key",
        "_last",
        "_lock",
        "_mac",
        "_opened",
        "_readers",
        "_size",
        "_w",
    )

    def __init__(self, key: DataKey) -> None:
        if key.algorithm not in AEAD_ALGORITHMS:
            raise UnsupportedAlgorithmError(
                f"key {key.name!r} is {key.algorithm.label}: field encryption needs an SM4-GCM or "
                "AES-256-GCM key"
            )
        self._key = key
        self._dek = key.material
        self._mac = "SM3" if key.algorithm is Algorithm.SM4_GCM else "SHA256"
        self._size = key.algorithm.key_size
        self._fixed = fixed_header(key.algorithm, key.key_id, key.version)
        self._readers: dict[bytes, _Subkey] = {}  # by salt, oldest first
        # by whole header (fixed part, salt, commitment), only headers that passed _reader's
        # checks: a single field's open is then one dict read and one backend call (the
        # header's records; Vault.decrypt's hot path)
        self._opened: dict[bytes, Open] = {}
        # the last header opened and its open, replaced as a whole: the usual single field has
        # the header of the one before, and one compare of 58 bytes costs less than hashing them
        self._last: tuple[bytes, Open] = (b"", _unopened)
        self._w = _Writer.spent()
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
        w = self._w
        i = next(w.counter)  # atomic: threads never share a message number
        # a forked child's writers are spent by _after_fork: its first field draws a fresh salt
        while i + w.batched[0] >= _LIMIT:
            self._rekey(w.counter)
            w = self._w
            i = next(w.counter)
        # distinct counter nonces offset + i under a subkey no other writer uses (SP 800-38D
        # 8.2.1): one backend call writes header || nonce || ciphertext || tag, AD header || context
        return w.seal(i, plaintext, context)

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
            w = self._w
            with self._lock:  # count n messages at once
                w.batched[0] += n
                total = next(w.counter) + w.batched[0]
            if total <= _LIMIT and w.gcm is not None:
                break
            self._rekey(w.counter)
        header = w.header
        # random nonces (SP 800-38D 8.2.2): the subkey's message count stays <= 2^32 in total
        nonces = os.urandom(NONCE_LEN * n)
        flat = FlatBuffer.join(plaintexts)
        ad, ad_offsets = _ads(header, contexts, n)
        # one flat call: C writes header || nonce || ciphertext || tag of every field in place
        out, offsets = w.gcm.seal_flat(nonces, flat.data, flat.offsets, header, ad, ad_offsets)
        return _fast.items(out, offsets, None if flat.width is None else flat.width + _OVERHEAD)

    def _rekey(self, spent: itertools.count[int]) -> None:
        """A fresh salt (so a fresh subkey) unless another thread already made one."""
        with self._lock:
            if self._w.counter is not spent:
                return
            salt = os.urandom(SALT_LEN)
            sub = self._derive(salt)
            offset = secrets.randbelow(_NONCE_SPACE - _LIMIT)  # offset + i stays 12 bytes
            header = self._fixed + salt + sub.commitment
            seal = sub.gcm.records(header, offset.to_bytes(NONCE_LEN, "big")).seal
            self._w = _Writer(itertools.count(), seal, header, [0], sub.gcm)

    # -- opening --------------------------------------------------------------------------------
    def open(self, ciphertext: bytes, context: bytes) -> bytes:
        """Plaintext of one binary ciphertext whose header names this key (see ``inspect``)."""
        header = ciphertext[:HEADER_LEN]
        last = self._last
        if header == last[0]:  # a header that passed _reader's checks (public bytes)
            opener = last[1]  # it refuses a ciphertext shorter than MIN_LEN (None below)
        else:
            if len(ciphertext) < MIN_LEN:
                raise DecryptionError()
            opener = self._opened.get(header) or self._opener(header)
            self._last = (header, opener)
        # one backend call: nonce and body read in place, AD header || context
        out = opener(ciphertext, context)
        if out is None:  # the tag does not verify
            raise DecryptionError()
        return out

    def _opener(self, header: bytes) -> Open:
        """The open of single fields under ``header``, after _reader's checks (key id, version
        and commitment), cached by header."""
        opener = self._reader(header).gcm.records(header).open
        with self._lock:
            if len(self._opened) >= _SALT_CACHE:
                self._opened.clear()
            self._opened[header] = opener
        return opener

    def open_many(
        self, ciphertexts: Sequence[bytes], contexts: bytes | Sequence[bytes]
    ) -> list[bytes]:
        """Plaintexts of many binary ciphertexts under this key (one encoded context for all, or
        one per item); grouped by header, one batch call per group. A failure raises
        ``DecryptionError`` whose ``where`` names the first failing item of the failing group."""
        if not ciphertexts:
            return []
        cts = to_binary_many(ciphertexts)  # bytes as they are (a bytearray copied)
        groups = header_groups(cts)
        if len(groups) == 1:
            return open_group(self, groups[0], cts, contexts)
        out: list[bytes] = [b""] * len(cts)
        for group in groups:
            out = group.place(out, open_group(self, group, cts, contexts))
        return out

    def _open_group(
        self, header: bytes, cts: Sequence[bytes], contexts: bytes | Sequence[bytes]
    ) -> list[bytes]:
        """Plaintexts of binary ciphertexts that all begin with ``header`` (bytes 0..58).

        Unchecked precondition (:func:`open_group` establishes it: its groups come from
        ``_groups.header_groups``): every item begins with ``header``, so the commitment is the
        same bytes in all of them and is compared (in constant time) once, and ``header`` is each
        item's own header in its AD. Then one batch GCM call. A failure raises
        ``DecryptionError`` whose ``where`` is ``"item i"``, i the first failing index."""
        try:
            batch = self._reader(header).gcm
        except DecryptionError:
            raise DecryptionError("item 0") from None
        n = len(cts)
        size = len(cts[0])
        lens = set(map(len, cts))
        if min(lens) < MIN_LEN:
            raise DecryptionError(f"item {next(i for i, c in enumerate(cts) if len(c) < MIN_LEN)}")
        flat = FlatBuffer.join(cts)
        ad, ad_offsets = _ads(header, contexts, n)
        # one flat call: C reads nonce and body of every item in place (the header is in the AD)
        out, offsets, failed = batch.open_flat(flat.data, flat.offsets, HEADER_LEN, ad, ad_offsets)
        if failed is not None:  # a tag that does not verify
            raise DecryptionError(f"item {failed}")
        return _fast.items(out, offsets, size - _OVERHEAD if len(lens) == 1 else None)

    def _reader(self, data: bytes) -> _Subkey:
        """The subkey of the header at the start of ``data`` (at least ``HEADER_LEN`` bytes),
        after checking key id, version and commitment (constant time)."""
        if data[:FIXED_LEN] != self._fixed:
            raise DecryptionError()
        salt = data[FIXED_LEN:BINDING_LEN]
        entry = self._readers.get(salt)  # a plain dict read: no lock on the per-field path
        if entry is None:
            entry = self._derive(salt)
            with self._lock:
                self._readers[salt] = entry
                while len(self._readers) > _SALT_CACHE:  # oldest first
                    del self._readers[next(iter(self._readers))]
        if not hmac.compare_digest(entry.commitment, data[BINDING_LEN:HEADER_LEN]):
            raise DecryptionError()
        return entry

    def _derive(self, salt: bytes) -> _Subkey:
        """The subkey ``salt`` names: its GCM and the commitment.

        The GCM is ``hazmat._fast``'s (which decides what runs each call: single fields through
        the backend's record calls, batches through its flat calls). Its calls take their
        arguments as given: FieldCipher builds every nonce, body and AD itself from checked bytes
        and checks plaintexts are bytes, so the public hazmat class's argument checks would only
        repeat work (per item, in batches)."""
        binding = self._fixed + salt
        subkey = _fast.mac(self._mac, self._dek, ENC_LABEL + binding)[: self._size]
        commitment = _fast.mac(self._mac, self._dek, COMMIT_LABEL + binding)
        gcm = _fast.field_gcm(self._key.algorithm, subkey)
        return _Subkey(gcm, commitment)

    def wipe(self) -> None:
        """Drop derived subkeys and the writer state."""
        with self._lock:
            self._readers.clear()
            self._opened.clear()
            self._last = (b"", _unopened)
            self._w = _Writer.spent()

    def __repr__(self) -> str:
        return f"FieldCipher(key={self._key!r})"


def open_group(
    cipher: FieldCipher,
    group: HeaderGroup,
    datas: Sequence[bytes],
    contexts: bytes | Sequence[bytes],
) -> list[bytes]:
    """Plaintexts of the items of a batch (``datas``, binary) that ``group`` selects (one header,
    from ``header_groups`` or ``version_groups`` over the same ``datas``), under ``cipher``, in
    one batch call; ``contexts`` is one encoded context for all or one per item of the batch. A
    failure raises ``DecryptionError`` naming the item by its position in the batch."""
    if group.positions is None:
        return cipher._open_group(group.header, datas, contexts)
    idx = group.positions
    part = contexts if isinstance(contexts, bytes) else [contexts[i] for i in idx]
    try:
        return cipher._open_group(group.header, [datas[i] for i in idx], part)
    except DecryptionError as exc:
        raise DecryptionError(group.where(item_index(exc) or 0)) from None
