"""Native token area (native/src/token.c) at the C boundary: arguments C must refuse on its own,
hostile sizes refused by the binding before the C call, blind indexes of long rows (the work
space then holds fewer rows per chunk) equal to HMAC-SM3 row by row, and the entry points under
AddressSanitizer + UBSan."""

from __future__ import annotations

import random
import subprocess
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


def _luhn_middle(digits: str) -> int:
    """Luhn contribution mod 10 of a 16-digit card's middle digits 6..11 (positions 9..4 from the
    right: ISO/IEC 7812-1 Annex B doubles odd positions)."""
    total = 0
    for j, c in enumerate(digits):
        d, pos = int(c), 9 - j
        total += (2 * d - 9 if 2 * d > 9 else 2 * d) if pos & 1 else d
    return total % 10


def test_card_walk_ff1_work_is_the_schemes_and_the_pool_stays_full(tmp_path: Path) -> None:
    """Cycle walking of 16-digit cards (BIN and last 4 kept: 6 middle digits). Expected FF1 calls
    per token, analytically: FF1 is a permutation of the 10^6 middles and the Luhn-consistent set
    S holds 1/10 of them, so the walks from the points of S partition the permutation's cycles
    and average exactly |domain| / |S| = 10 applications. Measured: the C counters of a test
    build (-DVK_TEST_COUNTERS) equal the sum of the walk lengths found with single FF1 calls, the
    tokens equal the walks' ends, the mean is 10 within 5 standard deviations (geometric, p =
    0.1: sd 9.5 per token), and no FF1 call of the walk had a pool below its 2048 slots while
    rows were left (the rounds of different rows are interleaved)."""
    from vaultkit.hazmat.bindings import _native_ff1
    from vaultkit.identifiers import luhn_check_digit

    cc = "cc"
    prog = tmp_path / "count_walk"
    sources = [str(p) for p in sorted((ROOT / "native" / "src").glob("*.c"))]
    build = subprocess.run(
        [cc, "-O1", "-std=c11", "-DVK_TEST_COUNTERS", "-I", str(ROOT / "native" / "include"),
         "-I", str(ROOT / "native" / "src"), *sources,
         str(ROOT / "tests" / "native" / "ctgrind" / "count_walk.c"), "-o", str(prog)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    rnd = random.Random(16)
    key, tweak = rnd.randbytes(16), rnd.randbytes(11)
    bodies = ["622202" + "".join(rnd.choices("0123456789", k=9)) for _ in range(5000)]
    cards = [b + luhn_check_digit(b) for b in bodies]
    run = subprocess.run([str(prog), key.hex(), tweak.hex()], input="\n".join(cards) + "\n",
                         capture_output=True, text=True, check=True)  # fmt: skip
    first, *tokens = run.stdout.splitlines()
    words = first.split()  # "values V calls C short S"
    counters = dict(zip(words[0::2], map(int, words[1::2]), strict=True))

    f = _native_ff1.Ff1("SM4", key, 10)
    walks, want = [], []
    for card in cards:
        mid, target, steps = card[6:12], _luhn_middle(card[6:12]), 0
        while True:
            mid = bytes(f.crypt_one(bytes(int(c) for c in mid), tweak, False))
            mid = "".join(str(d) for d in mid)
            steps += 1
            if _luhn_middle(mid) == target:
                break
        walks.append(steps)
        want.append(card[:6] + mid + card[12:])
    assert tokens == want
    assert counters["values"] == sum(walks)
    mean = sum(walks) / len(walks)
    assert abs(mean - 10) < 5 * 9.5 / len(walks) ** 0.5, mean
    assert counters["short"] == 0
    # full pools, then the drain of the last one: far fewer calls than a walk per chunk
    assert counters["calls"] <= sum(walks) / 2048 + max(walks) + 1


_LUHN_ROWS_SCRIPT = r"""
import json, random, sys
from vaultkit.hazmat.bindings import native
ffi, lib = native()
rnd = random.Random(int(sys.argv[1]))
h = lib.vk_hmac_sm3_new(bytes(32), 32)
cases = []
for _ in range(int(sys.argv[2])):
    width = rnd.randrange(8, 29)
    stride = width + rnd.randrange(0, 5)
    rows = rnd.randrange(1, 70)
    buf = bytearray(rnd.randbytes((rows - 1) * stride + width))
    for i in range(rows):  # valid card numbers: digits with the Luhn sum 0 mod 10
        digits = [rnd.randrange(10) for _ in range(width)]
        for d in range(10):
            digits[-1] = d
            total = sum(
                x if (width - 1 - k) % 2 == 0 else (2 * x - 9 if x >= 5 else 2 * x)
                for k, x in enumerate(digits)
            )
            if total % 10 == 0:
                break
        buf[i * stride : i * stride + width] = bytes(48 + x for x in digits)
    if rnd.random() < 0.7:  # one defect: a changed digit, a non-digit byte, or a high byte
        i, k = rnd.randrange(rows), rnd.randrange(width)
        at = i * stride + k
        buf[at] = rnd.choice([48 + (buf[at] - 48 + rnd.randrange(1, 10)) % 10, rnd.randrange(256)])
    out = ffi.new("uint8_t[]", rows * 2)
    rc = lib.vk_token_hmac_sm3_rows(h, bytes(buf), rows, stride, width, 1, out, 2, 0xFF)
    cases.append([bytes(buf).hex(), rows, stride, width, rc])
print(json.dumps(cases))
"""


def _luhn_row_ok(row: bytes) -> bool:
    if not all(48 <= b <= 57 for b in row):
        return False
    n = len(row)
    total = 0
    for k, b in enumerate(row):
        d = b - 48
        total += d if (n - 1 - k) % 2 == 0 else (2 * d - 9 if d >= 5 else 2 * d)
    return total % 10 == 0


@pytest.mark.parametrize("mask", ["", "0", "4"])
def test_luhn_rows_name_the_first_bad_row(mask: str) -> None:
    """The Luhn check of ``vk_token_hmac_sm3_rows`` (AVX2, one row per load, and the SWAR code
    for the last rows and without AVX2): widths 8..28, strides, a changed digit, a non-digit or
    a high byte anywhere (also in the last rows, near the buffer's end): the call returns the
    first bad row (+1) that a Python Luhn check finds, or 0."""
    import json
    import os
    import sys

    seed = random.SystemRandom().randrange(1 << 32)
    env = {k: v for k, v in os.environ.items() if k != "VAULTKIT_CPU_MASK"}
    if mask:
        env["VAULTKIT_CPU_MASK"] = mask
    proc = subprocess.run(
        [sys.executable, "-c", _LUHN_ROWS_SCRIPT, str(seed), "300"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for buf_hex, rows, stride, width, rc in json.loads(proc.stdout):
        buf = bytes.fromhex(buf_hex)
        bad = [i for i in range(rows) if not _luhn_row_ok(buf[i * stride : i * stride + width])]
        assert rc == (bad[0] + 1 if bad else 0), (seed, mask, width, stride, rows)
