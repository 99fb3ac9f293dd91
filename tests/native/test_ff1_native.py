"""Native FF1 (native/src/ff1.c) against the pure-Python reference (_reference_ff1, itself checked
against the NIST samples and Wycheproof in tests/hazmat): NIST samples through the native class,
differential tests on random keys, radices, lengths and tweaks (both the uint64 fast path and the
multi-precision path, mixed in one batch), lane-group boundaries, and the portable SM4 path in a
subprocess with VAULTKIT_CPU_MASK=0."""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultkit.hazmat import bindings
from vaultkit.hazmat.bindings import _native_ff1, _reference_ff1

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
FUZZ_ROUNDS = int(os.environ.get("VAULTKIT_FUZZ_ROUNDS", "10000"))
_NIST = json.loads((VECTORS / "standard_vectors.json").read_text())["ff1_nist_samples"]
_RADICES = [*range(2, 63), 255, 256, 257, 1000, 40000, 65535, 65536]


def _pack(digits: list[int], radix: int) -> bytes:
    return _reference_ff1._pack(digits, radix > 256)


def _min_len(radix: int) -> int:
    n = 2
    while radix**n < 1_000_000:  # SP 800-38G Rev. 1 domain minimum
        n += 1
    return n


def _fast_vmax(radix: int) -> int:
    """Largest half length v on the C fast path (radix^v < 2^64)."""
    v = 0
    while radix ** (v + 1) < 2**64:
        v += 1
    return v


def test_native_ff1_area_is_built() -> None:
    assert "ff1" in bindings.native_areas(), "native ff1 missing: bash scripts/build-native.sh"


@pytest.mark.parametrize("case", _NIST, ids=lambda c: f"sample{c['sample']}")
def test_nist_samples(case: dict[str, str]) -> None:
    # NIST SP 800-38G FF1 samples 1-9 (AES-128/192/256, radix 10 and 36)
    alphabet, radix = case["alphabet"], int(case["radix"])
    pt = bytes(alphabet.index(c) for c in case["plaintext"])
    ct = bytes(alphabet.index(c) for c in case["ciphertext"])
    f = _native_ff1.Ff1("AES", bytes.fromhex(case["key"]), radix)
    assert isinstance(f, _native_ff1.Ff1)
    tweak = bytes.fromhex(case["tweak"])
    assert f.crypt(pt, [len(pt)], tweak, False) == ct
    assert f.crypt(ct, [len(ct)], tweak, True) == pt
    assert f.crypt(pt * 70, [len(pt)] * 70, tweak, False) == ct * 70  # two lane groups


def _check(alg: str, key: bytes, radix: int, lengths: list[int], tweak: bytes, seed: int) -> None:
    rnd = random.Random(seed)
    numerals = _pack([rnd.randrange(radix) for _ in range(sum(lengths))], radix)
    nat, ref = _native_ff1.Ff1(alg, key, radix), _reference_ff1.Ff1(alg, key, radix)
    enc = nat.crypt(numerals, lengths, tweak, False)
    assert enc == ref.crypt(numerals, lengths, tweak, False), (alg, radix, lengths, len(tweak))
    assert nat.crypt(enc, lengths, tweak, True) == numerals
    assert ref.crypt(enc, lengths, tweak, True) == numerals


def _random_key(rnd: random.Random) -> tuple[str, bytes]:
    alg = rnd.choice(["SM4", "AES"])
    return alg, rnd.randbytes(16 if alg == "SM4" else rnd.choice([16, 24, 32]))


def test_differential_ff1() -> None:
    rnd = random.Random(3801)
    done = 0
    while done < FUZZ_ROUNDS:
        alg, key = _random_key(rnd)
        radix = rnd.choice(_RADICES)
        shortest = _min_len(radix)
        count = min(rnd.randrange(1, 80), FUZZ_ROUNDS - done)
        top = rnd.choice([shortest + 2, 20, 40, 64])
        lengths = [rnd.randint(shortest, max(shortest, top)) for _ in range(count)]
        tweak = rnd.randbytes(rnd.choice([0, 1, 7, 10, 11, 15, 16, 17, 32, rnd.randrange(100)]))
        _check(alg, key, radix, lengths, tweak, rnd.randrange(2**32))
        done += count


def test_differential_ff1_fast_path_boundary() -> None:
    # both sides of radix^v < 2^64 in one batch, so both paths and their mixing are compared
    rnd = random.Random(3802)
    for radix in [2, 3, 7, 10, 16, 36, 62, 255, 256, 257, 1000, 65535, 65536]:
        v = _fast_vmax(radix)
        lengths = [n for n in range(2 * v - 2, 2 * v + 4) if n >= _min_len(radix)]
        alg, key = _random_key(rnd)
        _check(alg, key, radix, lengths * 3, rnd.randbytes(rnd.randrange(20)), radix)


@pytest.mark.parametrize("radix", [2, 10, 36, 256, 1000, 65536])
def test_cached_p_block_for_an_empty_tweak(radix: int) -> None:
    # vk_ff1_new caches CIPH_K(P) for t = 0 and every fast-path length (n <= 2 fast_vmax): every
    # such length, and the first ones past it (computed per call), with an empty tweak and with a
    # 1-byte one, singly and in one batch, SM4 and AES, against the reference
    rnd = random.Random(radix * 7)
    top = 2 * _fast_vmax(radix)
    lengths = list(range(_min_len(radix), top + 3))
    for alg in ("SM4", "AES"):
        key = rnd.randbytes(16 if alg == "SM4" else 32)
        nat, ref = _native_ff1.Ff1(alg, key, radix), _reference_ff1.Ff1(alg, key, radix)
        for tweak in (b"", b"\x00"):
            _check(alg, key, radix, lengths, tweak, radix + len(tweak))
            for n in lengths:
                numerals = _pack([rnd.randrange(radix) for _ in range(n)], radix)
                for decrypt in (False, True):
                    got = bytes(nat.crypt_one(numerals, tweak, decrypt))
                    assert got == bytes(ref.crypt_one(numerals, tweak, decrypt)), (alg, n, tweak)


@pytest.mark.parametrize(
    ("radix", "longest"), [(10, 300), (2, 400), (36, 200), (62, 120), (256, 80), (65536, 40)]
)
def test_differential_ff1_long_values(radix: int, longest: int) -> None:
    # multi-precision path: radix^n far beyond 2^128
    rnd = random.Random(radix)
    for alg in ("SM4", "AES"):
        key = rnd.randbytes(16 if alg == "SM4" else 32)
        lengths = sorted({rnd.randint(_min_len(radix), longest) for _ in range(6)} | {longest})
        _check(alg, key, radix, lengths, rnd.randbytes(rnd.randrange(40)), longest)


def test_differential_ff1_values_too_large_to_group() -> None:
    # more than 64 KiB of work space per value: multi-precision groups of one value
    rnd = random.Random(9000)
    _check("AES", rnd.randbytes(32), 65536, [6000, 7, 5999], rnd.randbytes(5), 6000)


@pytest.mark.parametrize("count", [1, 2, 31, 32, 33, 63, 64, 65, 100, 128, 129])
def test_lane_groups_match_single_values(count: int) -> None:
    rnd = random.Random(count)
    f = _native_ff1.Ff1("SM4", rnd.randbytes(16), 10)
    lengths = [rnd.choice([6, 16, 19, 40]) for _ in range(count)]
    numerals = bytes(rnd.randrange(10) for _ in range(sum(lengths)))
    batch = f.crypt(numerals, array("I", lengths), b"tw", False)
    singles, pos = [], 0
    for n in lengths:
        singles.append(f.crypt(numerals[pos : pos + n], [n], b"tw", False))
        pos += n
    assert batch == b"".join(singles)


def test_long_tweak_and_empty_batch() -> None:
    rnd = random.Random(5)
    _check("AES", rnd.randbytes(32), 10, [16, 16, 50], rnd.randbytes(1000), 5)
    assert _native_ff1.Ff1("SM4", bytes(16), 10).crypt(b"", [], b"", False) == b""


@settings(max_examples=80, deadline=None)
@given(
    radix=st.sampled_from(_RADICES),
    extra=st.integers(0, 30),
    tweak=st.binary(max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip_and_format(radix: int, extra: int, tweak: bytes, seed: int) -> None:
    rnd = random.Random(seed)
    n = _min_len(radix) + extra
    digits = [rnd.randrange(radix) for _ in range(n)]
    f = _native_ff1.Ff1("SM4", rnd.randbytes(16), radix)
    enc = f.crypt(_pack(digits, radix), [n], tweak, False)
    assert len(enc) == len(_pack(digits, radix))
    width = 2 if radix > 256 else 1
    assert all(
        int.from_bytes(enc[i : i + width], "little") < radix for i in range(0, len(enc), width)
    )
    assert f.crypt(enc, [n], tweak, True) == _pack(digits, radix)


def test_mismatched_buffer_and_short_values_are_refused() -> None:
    f = _native_ff1.Ff1("SM4", bytes(16), 10)
    with pytest.raises(ValueError):
        f.crypt(bytes(10), [11], b"", False)
    with pytest.raises(ValueError):
        f.crypt(bytes(10), [9], b"", False)
    with pytest.raises(ValueError):
        f.crypt(bytes(7), [6, 1], b"", False)
    wide = _native_ff1.Ff1("SM4", bytes(16), 1000)
    with pytest.raises(ValueError):
        wide.crypt(bytes(10), [10], b"", False)  # two bytes per numeral when radix > 256


@pytest.mark.parametrize("radix", [10, 36, 256, 1000, 65536])
@pytest.mark.parametrize("algorithm", ["SM4", "AES"])
def test_crypt_one_matches_crypt_and_the_reference(algorithm: str, radix: int) -> None:
    # the single-call entry (vk_ff1_crypt_one, in place in a bytearray) against the batch call
    # and the reference backend, both directions, fast and multi-precision lengths
    rnd = random.Random(radix)
    key = bytes(rnd.randrange(256) for _ in range(16 if algorithm == "SM4" else 32))
    f = _native_ff1.Ff1(algorithm, key, radix)
    ref = _reference_ff1.Ff1(algorithm, key, radix)
    for n in (_min_len(radix), 16, 2 * _fast_vmax(radix) + 3):
        digits = [rnd.randrange(radix) for _ in range(n)]
        tweak = bytes(rnd.randrange(256) for _ in range(rnd.randrange(20)))
        numerals = _pack(digits, radix)
        for decrypt in (False, True):
            one = f.crypt_one(numerals, tweak, decrypt)
            assert bytes(one) == f.crypt(numerals, [n], tweak, decrypt)
            assert bytes(one) == ref.crypt_one(numerals, tweak, decrypt)
        assert f.crypt_one(f.crypt_one(numerals, tweak, False), tweak, True) == numerals


def test_crypt_one_refuses_short_or_partial_values() -> None:
    f = _native_ff1.Ff1("SM4", bytes(16), 10)
    for bad in (b"", bytes(1)):
        with pytest.raises(ValueError):
            f.crypt_one(bad, b"", False)
    wide = _native_ff1.Ff1("SM4", bytes(16), 1000)
    with pytest.raises(ValueError):
        wide.crypt_one(bytes(9), b"", False)  # two bytes per numeral when radix > 256
    assert f.crypt_one(memoryview(bytes(8)), bytearray(b"t"), False) == f.crypt(
        bytes(8), [8], b"t", False
    )


def test_accepts_bytes_like_buffers() -> None:
    f = _native_ff1.Ff1("SM4", bytes(16), 10)
    want = f.crypt(bytes(range(10)), [10], b"tw", False)
    assert f.crypt(bytearray(range(10)), array("I", [10]), bytearray(b"tw"), False) == want
    assert f.crypt(memoryview(bytes(range(10))), (10,), memoryview(b"tw"), False) == want


def test_bad_key_or_radix_is_refused() -> None:
    with pytest.raises(ValueError):
        _native_ff1.Ff1("SM4", bytes(24), 10)
    with pytest.raises(ValueError):
        _native_ff1.Ff1("AES", bytes(16), 65537)


def test_key_object_refuses_pickling_and_hides_material() -> None:
    key = bytes(range(16))
    f = _native_ff1.Ff1("SM4", key, 10)
    assert key.hex() not in repr(f)
    with pytest.raises(TypeError):
        pickle.dumps(f)


_PATH_SCRIPT = """
import json, random
from vaultkit.hazmat.bindings import _native_ff1, native
ffi, lib = native()
rnd = random.Random(11)
lengths = [rnd.choice([6, 16, 19, 45]) for _ in range(70)]
numerals = bytes(rnd.randrange(10) for _ in range(sum(lengths)))
out = {"sm4_impl": ffi.string(lib.vk_sm4_impl()).decode()}
for alg, key in (("SM4", bytes(range(16))), ("AES", bytes(range(32)))):
    f = _native_ff1.make_ff1(alg, key, 10)
    out[alg] = [type(f).__module__, f.crypt(numerals, lengths, b"tweak", False).hex()]
print(json.dumps(out))
"""


def test_portable_sm4_path_gives_identical_results() -> None:
    rnd = random.Random(11)
    lengths = [rnd.choice([6, 16, 19, 45]) for _ in range(70)]
    numerals = bytes(rnd.randrange(10) for _ in range(sum(lengths)))
    want = {
        alg: _reference_ff1.Ff1(alg, key, 10).crypt(numerals, lengths, b"tweak", False).hex()
        for alg, key in (("SM4", bytes(range(16))), ("AES", bytes(range(32))))
    }
    env = {**os.environ, "VAULTKIT_CPU_MASK": "0"}
    proc = subprocess.run(
        [sys.executable, "-c", _PATH_SCRIPT], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["sm4_impl"] == "portable-ct"
    assert got["SM4"] == ["vaultkit.hazmat.bindings._native_ff1", want["SM4"]]
    # no AES-NI: the native class hands AES to the reference implementation
    assert got["AES"] == ["vaultkit.hazmat.bindings._reference_ff1", want["AES"]]
