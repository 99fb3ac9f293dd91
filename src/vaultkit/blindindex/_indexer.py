"""BlindIndexer: truncated HMAC-SM3 / HMAC-SHA256 of normalized values under index keys."""

from __future__ import annotations

import operator
import struct
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache

from vaultkit._nopickle import NoPickle
from vaultkit.blindindex._normalize import (
    Compound,
    kind_label,
    normalize,
    normalize_many,
    normalize_rows,
)
from vaultkit.envelope import encode_context
from vaultkit.errors import VaultkitTypeError
from vaultkit.hazmat import _fast
from vaultkit.hazmat.flat import FlatBuffer
from vaultkit.hazmat.hashes import hmac_sha256, hmac_sha256_many, hmac_sm3
from vaultkit.keys import Algorithm, DataKey, KeyProvider
from vaultkit.keys._model import recipe_key

__all__ = ["MAX_BITS", "BlindIndexer"]

Context = Mapping[str, "str | bytes"]
Kind = str | Compound | None

MAX_BITS = 256
_MACS = frozenset({Algorithm.HMAC_SM3, Algorithm.HMAC_SHA256})
_LABEL = b"vaultkit/v1/blind-index\x00"
_CACHE_LIMIT = 256
# _MASK[r][b] = b with its low 8 - r bits cleared (r = bits kept in the last byte, 1..7)
_MASK = {r: bytes(b & (0xFF << (8 - r)) & 0xFF for b in range(256)) for r in range(1, 8)}


# the native token area (Luhn check, HMAC-SM3 and truncation of a normalized batch in C), or None
_NATIVE = _fast.native_tokens()


def _bits(bits: object) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= MAX_BITS:
        raise VaultkitTypeError(f"bits must be an int in 1..{MAX_BITS}")
    return bits


_GROUP = 4096  # indexes per struct call when slicing a flat buffer


@lru_cache(maxsize=16)
def _splitter(width: int) -> struct.Struct:
    return struct.Struct(_GROUP * f"{width}s")


def split_flat(flat: bytes | bytearray, width: int) -> list[bytes]:
    """``flat`` cut into ``width``-byte pieces: one struct call per 4096 of them, each tuple
    appended to the list at once (no per-piece iterator step)."""
    count = len(flat) // width
    full = count - count % _GROUP
    out: list[bytes] = []
    if full:
        unpack = _splitter(width).unpack_from
        for off in range(0, full * width, _GROUP * width):
            out += unpack(flat, off)
    out += struct.unpack_from((count - full) * f"{width}s", flat, full * width)
    return out


_ROWS_CHUNK = 2048  # values per normalization and C call on the native path


def _native_rows(
    native: _fast.TokenArea,
    mac: _fast.HmacSm3Impl,
    kind: Kind,
    values: Sequence[object],
    bits: int,
) -> bytearray | None:
    """The ceil(bits / 8)-byte indexes of ``values`` in one buffer (index i at
    ``i * ceil(bits / 8)``), for a list or tuple already in normal form (``normalize_rows``;
    card numbers: digits and Luhn checked in C), else None (then the caller normalizes each
    value). The values go ``_ROWS_CHUNK`` at a time through the join and the C call: each
    chunk's joined and encoded rows (about 40 KB for 19-digit cards) are reused heap memory
    that stays in cache, where one join of the whole batch cost two fresh multi-megabyte buffers
    (page faults) per call, more than the join itself."""
    if type(values) is not list and type(values) is not tuple:
        return None
    card = kind == "card_no"  # digits and Luhn checked in C
    size = -(-bits // 8)
    out = bytearray(len(values) * size)
    view = memoryview(out)
    for start in range(0, len(values), _ROWS_CHUNK):
        part = values[start : start + _ROWS_CHUNK]
        rows = normalize_rows(kind, part, check_luhn=not card)
        if rows is None:
            return None
        raw, width = rows
        n = len(part)
        dst = view[start * size : (start + n) * size]
        if not native.hmac_sm3_rows_into(mac, raw, n, width + 1, width, bits, dst, luhn=card):
            return None
    return out


def truncate(digests: list[bytes], bits: int) -> list[bytes]:
    """The first ``bits`` bits of each digest, as ceil(bits / 8) bytes (unused low bits 0)."""
    nb, rest = divmod(bits, 8)
    if not digests:
        return []
    if not rest:
        return list(map(operator.itemgetter(slice(0, nb)), digests))
    width = nb + 1
    joined = b"".join(digests)
    size = len(digests[0]) if digests else 0
    out = bytearray(len(digests) * width)
    for k in range(nb):
        out[k::width] = joined[k::size]
    out[nb::width] = joined[nb::size].translate(_MASK[rest])
    flat = bytes(out)
    return [flat[i : i + width] for i in range(0, len(flat), width)]


class BlindIndexer(NoPickle):
    """Blind indexes for equality search over encrypted columns.

    ``index = first L bits of MAC(subkey, normalize(kind, value))`` where MAC is HMAC-SM3
    (``HMAC-SM3`` keys, the default) or HMAC-SHA256, and ``subkey = MAC(index key, label)``
    with ``label = "vaultkit/v1/blind-index" 0x00 || u32 len(kind) || kind || u16 L ||
    encode_context(context)``, so indexes of other kinds, lengths or columns are unrelated.
    The index key must be separate from the column's encryption key (it is: an HMAC key
    cannot encrypt). Output: ``ceil(L / 8)`` bytes, the unused low bits of the last byte zero.
    Choose ``L`` with :func:`vaultkit.blindindex.plan`.

    ``kind`` selects the normalization (see :mod:`vaultkit.blindindex._normalize`: ``"text"``
    by default, ``"card_no"``, ``"cn_id"``, ``"mobile"``, ``"uscc"``, ``"account_no"``,
    ``"email"``, ``"name"``) or a :class:`Compound` of parts.
    """

    __slots__ = ("_keys", "_lock", "_macs", "_subkeys")

    def __init__(self, keys: KeyProvider) -> None:
        self._keys = keys
        self._subkeys: dict[tuple[bytes, Algorithm, str, int, bytes], bytes] = {}
        self._macs: dict[bytes, _fast.HmacSm3Impl] = {}  # HMAC-SM3 objects by subkey (_sm3)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "<BlindIndexer>"

    def compute(
        self,
        key_name: str,
        value: object,
        *,
        context: Context,
        bits: int,
        version: int | None = None,
        kind: Kind = None,
    ) -> bytes:
        """The blind index of ``value`` under key ``version`` (None: the primary)."""
        key = self._key(key_name, version)
        subkey = self._subkey(key, kind, _bits(bits), context)
        if key.algorithm is Algorithm.HMAC_SM3:  # the subkey's chaining values kept: 2 blocks
            return truncate([bytes(self._sm3(subkey).digest(normalize(kind, value)))], bits)[0]
        return truncate([hmac_sha256(subkey, normalize(kind, value))], bits)[0]

    def compute_many(
        self,
        key_name: str,
        values: Sequence[object],
        *,
        context: Context,
        bits: int,
        version: int | None = None,
        kind: Kind = None,
    ) -> list[bytes]:
        """Blind indexes of ``values``: one batch MAC call."""
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise VaultkitTypeError("values must be a sequence")
        key = self._key(key_name, version)
        subkey = self._subkey(key, kind, _bits(bits), context)
        if key.algorithm is Algorithm.HMAC_SM3 and _NATIVE is not None and _NATIVE.available():
            # a batch already in normal form: checked and MACed in C, truncated there
            flat = _native_rows(_NATIVE, self._sm3(subkey), kind, values, bits)
            if flat is not None:
                return split_flat(flat, -(-bits // 8))
        if key.algorithm is Algorithm.HMAC_SM3:  # one flat buffer in, one out (truncated there)
            batch = FlatBuffer.join(normalize_many(kind, values))
            size, rest = -(-bits // 8), bits % 8
            mask = (0xFF << (8 - rest)) & 0xFF if rest else 0xFF
            out = self._sm3(subkey).digest_flat(bytes(batch.data), batch.offsets, size, mask)
            return split_flat(out, size)
        return truncate(hmac_sha256_many(subkey, normalize_many(kind, values)), bits)

    def candidates(
        self, key_name: str, value: object, *, context: Context, bits: int, kind: Kind = None
    ) -> list[bytes]:
        """The index of ``value`` under every readable version, primary first: query with
        ``WHERE idx IN (...)`` while an index key rotation re-indexes the rows."""
        data = normalize(kind, value)
        out: list[bytes] = []
        for version in self._keys.readable_versions(key_name):
            key = self._key(key_name, version)
            subkey = self._subkey(key, kind, _bits(bits), context)
            if key.algorithm is Algorithm.HMAC_SM3:
                index = truncate([bytes(self._sm3(subkey).digest(data))], bits)[0]
            else:
                index = truncate([hmac_sha256(subkey, data)], bits)[0]
            if index not in out:
                out.append(index)
        return out

    def _key(self, key_name: str, version: int | None) -> DataKey:
        return recipe_key(
            self._keys,
            key_name,
            version,
            accepts=_MACS,
            need="blind indexes need an HMAC-SM3 or HMAC-SHA256 key (separate from the column's "
            "encryption key)",
        )

    def _sm3(self, subkey: bytes) -> _fast.HmacSm3Impl:
        """The backend's HMAC-SM3 object of ``subkey``, kept: its chaining values after the
        K0 ^ ipad and K0 ^ opad blocks (RFC 2104 section 4 note) are computed once per subkey,
        so a short value costs 2 compressions, not 4."""
        found = self._macs.get(subkey)
        if found is None:
            found = _fast.hmac_sm3(subkey)
            with self._lock:
                if len(self._macs) >= _CACHE_LIMIT:
                    self._macs.clear()
                self._macs[subkey] = found
        return found

    def _subkey(self, key: DataKey, kind: Kind, bits: int, context: Context) -> bytes:
        label = kind_label(kind)
        ctx = encode_context(context)
        slot = (key.material, key.algorithm, label, bits, ctx)
        found = self._subkeys.get(slot)
        if found is None:
            raw = label.encode("utf-8")
            message = _LABEL + struct.pack(">I", len(raw)) + raw + struct.pack(">H", bits) + ctx
            mac = hmac_sm3 if key.algorithm is Algorithm.HMAC_SM3 else hmac_sha256
            found = mac(key.material, message)
            with self._lock:
                if len(self._subkeys) >= _CACHE_LIMIT:
                    self._subkeys.clear()
                self._subkeys[slot] = found
        return found
