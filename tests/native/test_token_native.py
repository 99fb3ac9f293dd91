"""Native token area (native/src/token.c) at the C boundary: arguments C must refuse on its own,
hostile sizes refused by the binding before the C call, blind indexes of long rows (the work
space then holds fewer rows per chunk) equal to HMAC-SM3 row by row, and the entry points under
AddressSanitizer + UBSan."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.native._asan import run_under_asan
from vaultkit.hazmat import bindings
from vaultkit.hazmat.ff1 import FF1

pytestmark = pytest.mark.skipif(
    "native" not in bindings.available(), reason="the native extension is not built"
)
ROOT = Path(__file__).resolve().parents[2]


def _ff1() -> FF1:
    with bindings.use("native"):
        return FF1(bytes(16), cipher="SM4", radix=10)


def test_card_keep_lengths_that_wrap_are_refused_in_c() -> None:
    """keep_prefix + keep_suffix + 6 wrapping in 32 bits passed the old check (and m = n + 6)."""
    from vaultkit.hazmat.bindings import _native_token

    ffi, lib = bindings.native()
    f = _native_token._handle(_ff1())
    buf = bytearray(b"6222021234567890128")
    for kp, ks in ((0xFFFFFFFA, 0), (0, 0xFFFFFFFA), (0x80000000, 0x7FFFFFFA), (14, 0), (0, 14)):
        rc = lib.vk_token_card(f, b"t", 1, ffi.from_buffer(buf), 1, 19, 19, kp, ks, 0, 0)
        assert rc == -1, (kp, ks)
    assert buf == bytearray(b"6222021234567890128")
    assert lib.vk_token_card(f, b"t", 1, ffi.from_buffer(buf), 1, 19, 19, 13, 0, 0, 0) == 0


def test_hostile_sizes_are_refused_before_c() -> None:
    from vaultkit.hazmat.bindings import _native_token

    f = _ff1()
    with pytest.raises(ValueError):
        _native_token.hmac_sm3_rows(bytes(32), b"12345678", -1, 8, 8, 64)
    with pytest.raises(ValueError):
        _native_token.hmac_sm3_rows(bytes(32), b"12345678", 2, 8, 8, 64)  # second row missing
    with pytest.raises(ValueError):
        _native_token.hmac_sm3_rows(bytes(32), b"12345678", 1, 8, 8, 257)
    with pytest.raises(ValueError):
        _native_token.card(
            f, b"t", bytearray(37), 2, 19, 19, keep_prefix=6, keep_suffix=4,
            luhn_invalid=False, decrypt=False,
        )  # fmt: skip
    with pytest.raises(ValueError):
        _native_token.card(
            f, b"t", bytearray(19), 1, 19, 19, keep_prefix=-1, keep_suffix=4,
            luhn_invalid=False, decrypt=False,
        )  # fmt: skip
    with pytest.raises(ValueError):
        _native_token.cn_id(f, b"t", bytearray(35), 2, 18, keep_sex=False, decrypt=False)
    assert _native_token.cn_id(f, b"t", bytearray(), 0, 18, keep_sex=False, decrypt=False) is None


@pytest.mark.parametrize("width", [0, 1, 1023, 1024, 1025, 5000, (1 << 20) + 3])
def test_blind_index_rows_of_any_width(width: int) -> None:
    from vaultkit.hazmat.bindings import _native_hash, _native_token

    rnd = random.Random(width)
    rows = 3 if width > 100_000 else 300
    stride = width + 3
    buf = rnd.randbytes(rows * stride)
    key = rnd.randbytes(32)
    got = _native_token.hmac_sm3_rows(key, buf, rows, stride, width, 61)
    mac = _native_hash.HmacSm3(key)
    want = [mac.digest(buf[i * stride : i * stride + width])[:8] for i in range(rows)]
    assert got == b"".join(w[:7] + bytes([w[7] & 0xF8]) for w in want)  # one flat buffer


def test_token_memory_safety_under_asan(tmp_path: Path) -> None:
    """tests/native/ctgrind/asan_token.c: rows in a heap buffer of the exact minimum size, row
    counts around the chunk sizes, long blind-index rows; valid rows round trip."""
    run_under_asan(tmp_path, "asan_token", "200", "20")
