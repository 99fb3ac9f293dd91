"""HMAC-SM3 flat batches (``vk_hmac_sm3_flat``, native/src/hmac_sm3.c and sm3.c; issue 16 item 4):
messages cut by offsets or strided rows in one buffer, the first ``size`` bytes of each digest
out in one buffer with the last byte masked. Against cryptography's HMAC(SM3) and the pure-
Python RFC 2104 construction on random keys, lengths (0, block boundaries, > 64 bytes) and
truncations, on every CPU path the machine runs (VAULTKIT_CPU_MASK, in subprocesses); the C
bounds checks; an AddressSanitizer run over exact-size buffers."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from array import array
from itertools import accumulate
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, hmac

from tests.native._asan import run_under_asan
from vaultkit.errors import InputFormatError
from vaultkit.hazmat import bindings
from vaultkit.hazmat.bindings import _native_hash, _reference_hash

FUZZ_ROUNDS = int(os.environ.get("VAULTKIT_FUZZ_ROUNDS", "10000"))
BOUNDARY_LENGTHS = (0, 1, 19, 31, 32, 33, 54, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 300)


def _crypto(key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


def _python_hmac_sm3(key: bytes, data: bytes) -> bytes:
    """RFC 2104 over the pure-Python SM3 of the reference backend."""
    sm3 = _reference_hash.Sm3().digest
    k0 = (sm3(key) if len(key) > 64 else key).ljust(64, b"\0")
    inner = sm3(bytes(b ^ 0x36 for b in k0) + data)
    return sm3(bytes(b ^ 0x5C for b in k0) + inner)


def _truncated(digest: bytes, size: int, mask: int) -> bytes:
    return digest[: size - 1] + bytes((digest[size - 1] & mask,))


def _mask(bits: int) -> int:
    return (0xFF << (8 - bits % 8)) & 0xFF if bits % 8 else 0xFF


def _offsets(datas: list[bytes]) -> array[int]:
    return array("Q", accumulate(map(len, datas), initial=0))


def _rows(rnd: random.Random, count: int, width: int, gap: int) -> tuple[bytes, int]:
    """count rows of `width` random bytes, `gap` other bytes between them (no trailing gap)."""
    stride = width + gap
    buf = bytearray(rnd.randbytes(max(0, (count - 1) * stride + width)))
    return bytes(buf), stride


def _random_lengths(rnd: random.Random, count: int) -> list[int]:
    kind = rnd.randrange(4)
    if kind == 0:  # one length (the lockstep rows when short)
        return [rnd.choice(BOUNDARY_LENGTHS)] * count
    if kind == 1:  # short, mixed
        return [rnd.randrange(0, 56) for _ in range(count)]
    if kind == 2:  # boundaries
        return [rnd.choice(BOUNDARY_LENGTHS) for _ in range(count)]
    return [rnd.randrange(0, 700) for _ in range(count)]


def test_flat_equals_cryptography_on_random_batches() -> None:
    rnd = random.Random(4401)
    done = 0
    while done < FUZZ_ROUNDS:
        key = rnd.randbytes(rnd.choice([0, 16, 32, 64, 65, 100]))
        count = min(rnd.choice([0, 1, 7, 8, 9, 16, 17, 40, 257, 300]), FUZZ_ROUNDS - done)
        datas = [rnd.randbytes(n) for n in _random_lengths(rnd, count)]
        bits = rnd.choice([1, 7, 8, 16, 61, 255, 256, rnd.randrange(1, 257)])
        size, mask = -(-bits // 8), _mask(bits)
        data, offs = b"".join(datas), _offsets(datas)
        got = _native_hash.HmacSm3(key).digest_flat(data, offs, size, mask)
        want = b"".join(_truncated(_crypto(key, d), size, mask) for d in datas)
        assert got == want, (len(key), [len(d) for d in datas], bits)
        assert _reference_hash.HmacSm3(key).digest_flat(data, offs, size, mask) == want
        done += max(count, 1)


def test_flat_equals_pure_python_reference() -> None:
    rnd = random.Random(4402)
    key = rnd.randbytes(40)
    for n in BOUNDARY_LENGTHS:
        datas = [rnd.randbytes(n) for _ in range(9)]  # one group of 8 and a remainder
        got = _native_hash.HmacSm3(key).digest_flat(b"".join(datas), _offsets(datas))
        assert got == b"".join(_python_hmac_sm3(key, d) for d in datas), n


def test_flat_offsets_with_gaps_and_a_prefix() -> None:
    """Offsets need not start at 0; bytes before the first message are not hashed."""
    rnd = random.Random(4403)
    key = rnd.randbytes(32)
    datas = [rnd.randbytes(19) for _ in range(20)]
    data = b"\xaa" * 5 + b"".join(datas) + b"\xbb" * 3
    offs = array("Q", [o + 5 for o in _offsets(datas)])
    got = _native_hash.HmacSm3(key).digest_flat(data, offs, 2, 0xFF)
    assert got == b"".join(_crypto(key, d)[:2] for d in datas)


def _raw_rows(key: bytes, buf: bytes, count: int, stride: int, width: int, size: int, mask: int):
    ffi, lib = bindings.native()
    h = _native_hash.HmacSm3(key)
    out = ffi.new("uint8_t[]", max(1, count * size))
    rc = lib.vk_hmac_sm3_flat(h._h, count, buf, len(buf), ffi.NULL, stride, width, out, size, mask)
    return rc, ffi.buffer(out)[: count * size]


@pytest.mark.parametrize("width", [0, 1, 12, 19, 32, 33, 55, 56, 64, 100])
@pytest.mark.parametrize("gap", [0, 1, 7])
def test_rows_form_equals_cryptography(width: int, gap: int) -> None:
    """Without offsets (NULL): rows of one width `stride` apart, the form blind-index batches
    of one width use (values joined with NUL bytes); the last row ends the buffer exactly."""
    rnd = random.Random(width * 10 + gap)
    key = rnd.randbytes(32)
    for count in (1, 7, 8, 9, 17, 64, 300):
        buf, stride = _rows(rnd, count, width, gap)
        for bits in (16, 255, 256):
            size, mask = -(-bits // 8), _mask(bits)
            rc, got = _raw_rows(key, buf, count, stride, width, size, mask)
            assert rc == 0
            want = [
                _truncated(_crypto(key, buf[i * stride : i * stride + width]), size, mask)
                for i in range(count)
            ]
            assert got == b"".join(want), (count, bits)


def test_bounds_are_checked_in_c() -> None:
    ffi, lib = bindings.native()
    h = _native_hash.HmacSm3(b"k" * 32)
    out = ffi.new("uint8_t[]", 64)
    buf = bytes(100)

    def offs(*o: int):
        return ffi.from_buffer("uint64_t[]", array("Q", o))

    # offsets: past the end, decreasing, the last one past the end
    assert lib.vk_hmac_sm3_flat(h._h, 1, buf, 100, offs(0, 101), 0, 0, out, 32, 0xFF) == -1
    assert lib.vk_hmac_sm3_flat(h._h, 2, buf, 100, offs(0, 50, 40), 0, 0, out, 32, 0xFF) == -1
    assert lib.vk_hmac_sm3_flat(h._h, 0, buf, 100, offs(101), 0, 0, out, 32, 0xFF) == -1
    assert lib.vk_hmac_sm3_flat(h._h, 1, buf, 100, offs(0, 100), 0, 0, out, 32, 0xFF) == 0
    # output size out of 1..32
    assert lib.vk_hmac_sm3_flat(h._h, 1, buf, 100, offs(0, 1), 0, 0, out, 0, 0xFF) == -1
    assert lib.vk_hmac_sm3_flat(h._h, 1, buf, 100, offs(0, 1), 0, 0, out, 33, 0xFF) == -1
    # rows: stride < width, the last row past the end, a count whose span wraps around
    assert lib.vk_hmac_sm3_flat(h._h, 2, buf, 100, ffi.NULL, 10, 11, out, 2, 0xFF) == -1
    assert lib.vk_hmac_sm3_flat(h._h, 5, buf, 100, ffi.NULL, 20, 21, out, 2, 0xFF) == -1
    assert lib.vk_hmac_sm3_flat(h._h, 5, buf, 100, ffi.NULL, 21, 20, out, 2, 0xFF) == -1
    assert lib.vk_hmac_sm3_flat(h._h, 2**62, buf, 100, ffi.NULL, 8, 4, out, 2, 0xFF) == -1
    assert lib.vk_hmac_sm3_flat(h._h, 5, buf, 100, ffi.NULL, 20, 20, out, 2, 0xFF) == 0
    assert lib.vk_hmac_sm3_flat(h._h, 1, buf, 100, ffi.NULL, 0, 101, out, 2, 0xFF) == -1
    many = ffi.new("uint8_t[]", 10**4)  # 10**4 empty rows at one place: allowed
    assert lib.vk_hmac_sm3_flat(h._h, 10**4, buf, 100, ffi.NULL, 0, 0, many, 1, 0xFF) == 0
    assert bytes(ffi.buffer(many)) == _crypto(b"k" * 32, b"")[:1] * 10**4


@pytest.mark.parametrize("impl", [_native_hash.HmacSm3, _reference_hash.HmacSm3])
def test_binding_refuses_bad_offsets_and_sizes(impl: type) -> None:
    h = impl(b"k" * 32)
    with pytest.raises(InputFormatError):
        h.digest_flat(b"abc", array("Q", [0, 4]))
    with pytest.raises(InputFormatError):
        h.digest_flat(b"abc", array("Q", [2, 1]))
    with pytest.raises(InputFormatError):
        h.digest_flat(b"abc", array("Q"))
    with pytest.raises(InputFormatError):
        h.digest_flat(b"abc", array("I", [0, 3]))
    with pytest.raises(InputFormatError):
        h.digest_flat(b"abc", [0, 3])
    with pytest.raises(ValueError):
        h.digest_flat(b"abc", array("Q", [0, 3]), 33)
    with pytest.raises(ValueError):
        h.digest_flat(b"abc", array("Q", [0, 3]), 0)
    assert h.digest_flat(b"abc", array("Q", [3])) == b""


_PATH_SCRIPT = """
import json, random, sys
from array import array
from itertools import accumulate
from vaultkit.hazmat.bindings import _native_hash, native
ffi, lib = native()
rnd = random.Random(11)
key = rnd.randbytes(40)
h = _native_hash.HmacSm3(key)
res = {"impl": ffi.string(lib.vk_sm3_impl()).decode(), "flat": [], "rows": []}
for n in (0, 1, 19, 32, 33, 55, 56, 64, 65, 130):
    for count in (1, 8, 9, 203):
        datas = [rnd.randbytes(n) for _ in range(count)]
        offs = array("Q", accumulate(map(len, datas), initial=0))
        out2 = h.digest_flat(b"".join(datas), offs, 2, 0xFF)
        res["flat"].append([[d.hex() for d in datas], out2.hex()])
        stride = n + 1
        buf = rnd.randbytes((count - 1) * stride + n)
        out = ffi.new("uint8_t[]", count * 32)
        rc = lib.vk_hmac_sm3_flat(h._h, count, buf, len(buf), ffi.NULL, stride, n, out, 32, 0xFE)
        res["rows"].append([rc, n, buf.hex(), ffi.buffer(out)[:].hex()])
mixed = [rnd.randbytes(rnd.randrange(0, 300)) for _ in range(150)]
offs = array("Q", accumulate(map(len, mixed), initial=0))
res["mixed"] = [b.hex() for b in mixed]
res["mixed_out"] = h.digest_flat(b"".join(mixed), offs, 5, 0xF0).hex()
print(json.dumps(res))
"""


def test_every_cpu_path_gives_identical_results() -> None:
    """The lockstep rows (AVX2 without AVX-512F), the lanes (AVX2, AVX-512F) and the portable
    path: every output against cryptography, in a subprocess per VAULTKIT_CPU_MASK."""
    _ffi, lib = bindings.native()
    features = lib.vk_cpu_features()
    key = random.Random(11).randbytes(40)
    expected = {"0": "portable", str(0x3F): "avx2-8way" if features & 0x4 else "portable"}
    expected[""] = (
        "avx512-16way" if features & 0x40 else "avx2-8way" if features & 0x4 else "portable"
    )
    for mask, impl in expected.items():
        env = {k: v for k, v in os.environ.items() if k != "VAULTKIT_CPU_MASK"}
        if mask:
            env["VAULTKIT_CPU_MASK"] = mask
        proc = subprocess.run(
            [sys.executable, "-c", _PATH_SCRIPT], capture_output=True, text=True, env=env,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)
        assert got["impl"] == impl, (mask, got["impl"])
        for rc, width, buf_hex, out_hex in got["rows"]:
            assert rc == 0
            buf, out, stride = bytes.fromhex(buf_hex), bytes.fromhex(out_hex), width + 1
            want = b"".join(
                _truncated(_crypto(key, buf[i * stride : i * stride + width]), 32, 0xFE)
                for i in range(len(out) // 32)
            )
            assert out == want, (mask, width)
        for datas_hex, out_hex in got["flat"]:
            datas = [bytes.fromhex(d) for d in datas_hex]
            assert bytes.fromhex(out_hex) == b"".join(_crypto(key, d)[:2] for d in datas)
        mixed = [bytes.fromhex(m) for m in got["mixed"]]
        assert bytes.fromhex(got["mixed_out"]) == b"".join(
            _truncated(_crypto(key, m), 5, 0xF0) for m in mixed
        )


def test_asan_flat_offsets_and_rows(tmp_path: Path) -> None:
    """tests/native/ctgrind/asan_hmac_flat.c: exact-size heap buffers (data, offsets, out),
    random batches in both forms, against single calls; bad arguments write nothing."""
    run_under_asan(tmp_path, "asan_hmac_flat", "300", "40")


_RANDOM_ROWS_SCRIPT = r"""
import json, random, sys
from vaultkit.hazmat.bindings import _native_hash, native
ffi, lib = native()
rnd = random.Random(int(sys.argv[1]))
cases = []
for _ in range(int(sys.argv[2])):
    key = rnd.randbytes(rnd.randrange(0, 100))
    width = rnd.choice((rnd.randrange(0, 56), rnd.randrange(0, 56), rnd.randrange(56, 140)))
    count = rnd.choice((rnd.randrange(0, 40), rnd.randrange(40, 140)))
    stride = width + rnd.randrange(0, 9)
    size = rnd.randrange(1, 33)
    mask = rnd.randrange(256) | 0x80
    buf = rnd.randbytes(max(0, (count - 1) * stride + width))
    out = ffi.new("uint8_t[]", max(1, count * size))
    h = _native_hash.HmacSm3(key)
    rc = lib.vk_hmac_sm3_flat(h._h, count, buf, len(buf), ffi.NULL, stride, width, out, size, mask)
    many = h.digest_many([buf[i * stride : i * stride + width] for i in range(count)])
    cases.append([key.hex(), width, count, stride, size, mask, buf.hex(), rc,
                  ffi.buffer(out)[: count * size].hex(), b"".join(many).hex()])
print(json.dumps({"impl": ffi.string(lib.vk_sm3_impl()).decode(), "cases": cases}))
"""


def test_random_rows_on_every_cpu_path() -> None:
    """The one-block rows (``sm3_hmac_rows_x8`` and the 8-lane compression loop) on random keys
    (0..99 bytes), widths (0..55 one block, and longer), strides, counts that are and are not
    multiples of 8 and 16, and truncations, as rows (``vk_hmac_sm3_flat``) and as one-length
    ``digest_many`` batches, against cryptography on every SM3 path the machine runs (portable,
    AVX2 alone, AVX2 with the other features, all), in a subprocess per VAULTKIT_CPU_MASK."""
    seed = random.SystemRandom().randrange(1 << 32)
    cases = max(20, min(400, FUZZ_ROUNDS // 50))
    features = bindings.native()[1].vk_cpu_features()
    avx2 = "avx2-8way" if features & 0x4 else "portable"
    paths = {"0": "portable", "4": avx2, "63": avx2}
    paths[""] = "avx512-16way" if features & 0x40 else avx2
    for mask, impl in paths.items():
        env = {k: v for k, v in os.environ.items() if k != "VAULTKIT_CPU_MASK"}
        if mask:
            env["VAULTKIT_CPU_MASK"] = mask
        proc = subprocess.run(
            [sys.executable, "-c", _RANDOM_ROWS_SCRIPT, str(seed), str(cases)],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)
        assert got["impl"] == impl, (mask, got["impl"])
        for key_hex, width, count, stride, size, mask_byte, buf_hex, rc, out_hex, many_hex in got[
            "cases"
        ]:
            key, buf = bytes.fromhex(key_hex), bytes.fromhex(buf_hex)
            digests = [_crypto(key, buf[i * stride : i * stride + width]) for i in range(count)]
            where = f"seed {seed}, mask {mask!r} ({got['impl']}), width {width}, count {count}"
            assert rc == 0, where
            assert bytes.fromhex(out_hex) == b"".join(
                _truncated(d, size, mask_byte) for d in digests
            ), where
            assert bytes.fromhex(many_hex) == b"".join(digests), where
