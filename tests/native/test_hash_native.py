"""Native hash area (native/src/sm3.c, hmac_sm3.c) against the reference backend
(cryptography/OpenSSL): standard vectors, differential tests on random keys and messages of
0..4 KiB, lane refills at every batch size, runs of one short length (AVX2 lockstep), and
every CPU path (portable, AVX2 8 lanes, AVX-512 16 lanes) in subprocesses with
VAULTKIT_CPU_MASK."""

from __future__ import annotations

import json
import os
import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultkit.hazmat import bindings
from vaultkit.hazmat.bindings import _native_hash, _reference_hash

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
FUZZ_ROUNDS = int(os.environ.get("VAULTKIT_FUZZ_ROUNDS", "10000"))
_STANDARD = json.loads((VECTORS / "standard_vectors.json").read_text())


def test_native_hash_area_is_built() -> None:
    assert "hash" in bindings.native_areas(), "native hash missing: bash scripts/build-native.sh"


@pytest.mark.parametrize("case", _STANDARD["sm3"], ids=lambda c: c["message_hex"][:16])
def test_sm3_standard_vectors(case: dict[str, str]) -> None:
    # GB/T 32905-2016 Annex A
    msg = bytes.fromhex(case["message_hex"])
    assert _native_hash.Sm3().digest(msg).hex() == case["digest"]
    assert _native_hash.Sm3().digest_many([msg] * 9) == [bytes.fromhex(case["digest"])] * 9


@pytest.mark.parametrize("case", _STANDARD["hmac_sm3_gmt0042"], ids=lambda c: c["key"][:12])
def test_hmac_sm3_standard_vectors(case: dict[str, str]) -> None:
    # GM/T 0042-2015 Appendix D.3
    h = _native_hash.HmacSm3(bytes.fromhex(case["key"]))
    msg = bytes.fromhex(case["message_hex"])
    assert h.digest(msg).hex() == case["mac"]
    assert h.digest_many([msg] * 17) == [bytes.fromhex(case["mac"])] * 17


def _random_batch(rnd: random.Random, count: int) -> list[bytes]:
    # mostly short messages (blind-index inputs), some up to 4 KiB, every padding boundary
    edges = [0, 1, 31, 32, 55, 56, 63, 64, 65, 119, 120, 127, 128]
    sizes = [
        rnd.choice(edges) if rnd.random() < 0.3 else rnd.randrange(rnd.choice([200, 200, 4097]))
        for _ in range(count)
    ]
    return [rnd.randbytes(n) for n in sizes]


def test_differential_sm3() -> None:
    rnd = random.Random(3201)
    ref, nat = _reference_hash.Sm3(), _native_hash.Sm3()
    done = 0
    while done < FUZZ_ROUNDS:
        batch = _random_batch(rnd, min(rnd.randrange(1, 400), FUZZ_ROUNDS - done))
        assert nat.digest_many(batch) == ref.digest_many(batch)
        assert nat.digest(batch[0]) == ref.digest(batch[0])
        done += len(batch)


def test_differential_hmac_sm3() -> None:
    rnd = random.Random(3202)
    done = 0
    while done < FUZZ_ROUNDS:
        key = rnd.randbytes(rnd.choice([0, 1, 16, 32, 63, 64, 65, 100, rnd.randrange(0, 300)]))
        ref, nat = _reference_hash.HmacSm3(key), _native_hash.HmacSm3(key)
        batch = _random_batch(rnd, min(rnd.randrange(1, 200), FUZZ_ROUNDS - done))
        assert nat.digest_many(batch) == ref.digest_many(batch)
        assert nat.digest(batch[-1]) == ref.digest(batch[-1])
        done += len(batch)


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 100])
def test_batch_sizes_around_lane_counts(count: int) -> None:
    rnd = random.Random(count)
    batch = [rnd.randbytes(rnd.choice([0, 32, 64, 200, 1000])) for _ in range(count)]
    key = rnd.randbytes(32)
    assert _native_hash.Sm3().digest_many(batch) == _reference_hash.Sm3().digest_many(batch)
    assert _native_hash.HmacSm3(key).digest_many(batch) == _reference_hash.HmacSm3(key).digest_many(
        batch
    )


@settings(max_examples=60, deadline=None)
@given(key=st.binary(max_size=130), datas=st.lists(st.binary(max_size=300), max_size=40))
def test_batch_equals_single_calls(key: bytes, datas: list[bytes]) -> None:
    h = _native_hash.HmacSm3(key)
    assert h.digest_many(datas) == [h.digest(d) for d in datas]
    assert _native_hash.Sm3().digest_many(datas) == [_native_hash.Sm3().digest(d) for d in datas]


def test_accepts_bytes_like_items() -> None:
    items = [bytearray(b"abc"), memoryview(b"abcd"), b"x" * 70]
    want = [_reference_hash.Sm3().digest(bytes(i)) for i in items]
    assert _native_hash.Sm3().digest_many(items) == want


def test_refuses_items_whose_length_is_not_their_byte_size() -> None:
    wide = memoryview(bytes(8)).cast("I")  # len 2, 8 bytes
    with pytest.raises(TypeError):
        _native_hash.Sm3().digest_many([wide])


def test_hmac_key_refuses_pickling_and_hides_material() -> None:
    key = b"\x01secret-key-material"
    h = _native_hash.HmacSm3(key)
    assert "secret" not in repr(h) and key.hex() not in repr(h)
    with pytest.raises(TypeError):
        pickle.dumps(h)


def _crypto_hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 by cryptography (OpenSSL), independent of both vaultkit backends."""
    from cryptography.hazmat.primitives import hashes, hmac

    h = hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


def _python_hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 by RFC 2104 over the pure-Python SM3 of the reference backend."""
    sm3 = _reference_hash.Sm3().digest
    k0 = (sm3(key) if len(key) > 64 else key).ljust(64, b"\0")
    inner = sm3(bytes(b ^ 0x36 for b in k0) + data)
    return sm3(bytes(b ^ 0x5C for b in k0) + inner)


@settings(max_examples=80, deadline=None)
@given(
    key=st.binary(max_size=100),
    length=st.integers(0, 70),
    count=st.integers(0, 40),
    tail=st.lists(st.binary(max_size=80), max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_one_length_batches_equal_cryptography(
    key: bytes, length: int, count: int, tail: list[bytes], seed: int
) -> None:
    """Issue 16: a run of messages of one length <= 55 bytes (blind-index rows) is hashed 8 at
    a time in lockstep on AVX2 (one inner and one outer block each); the run may end in a
    remainder and be followed by other lengths. Against cryptography's HMAC-SM3 and the pure-
    Python reference on random keys, lengths and counts."""
    rnd = random.Random(seed)
    datas = [rnd.randbytes(length) for _ in range(count)] + tail
    got = _native_hash.HmacSm3(key).digest_many(datas)
    assert got == [_crypto_hmac_sm3(key, d) for d in datas]
    assert got[:9] == [_python_hmac_sm3(key, d) for d in datas[:9]]


_PATH_SCRIPT = """
import json, random, sys
from vaultkit.hazmat.bindings import _native_hash, native
ffi, lib = native()
rnd = random.Random(7)
datas = [rnd.randbytes(rnd.randrange(0, 700)) for _ in range(300)]
key = rnd.randbytes(40)
rows = [rnd.randbytes(19) for _ in range(203)] + datas[:5]  # one length, then others
print(json.dumps({
    "rows": [d.hex() for d in _native_hash.HmacSm3(key).digest_many(rows)],
    "impl": ffi.string(lib.vk_sm3_impl()).decode(),
    "sm3": [d.hex() for d in _native_hash.Sm3().digest_many(datas)],
    "hmac": [d.hex() for d in _native_hash.HmacSm3(key).digest_many(datas)],
}))
"""


def test_every_cpu_path_gives_identical_results() -> None:
    _ffi, lib = bindings.native()
    features = lib.vk_cpu_features()
    rnd = random.Random(7)
    datas = [rnd.randbytes(rnd.randrange(0, 700)) for _ in range(300)]
    key = rnd.randbytes(40)
    want_sm3 = [d.hex() for d in _reference_hash.Sm3().digest_many(datas)]
    want_hmac = [d.hex() for d in _reference_hash.HmacSm3(key).digest_many(datas)]
    rows = [rnd.randbytes(19) for _ in range(203)] + datas[:5]
    want_rows = [d.hex() for d in _reference_hash.HmacSm3(key).digest_many(rows)]
    expected = {"0": "portable", str(0x3F): "avx2-8way" if features & 0x4 else "portable"}
    expected[""] = (
        "avx512-16way" if features & 0x40 else "avx2-8way" if features & 0x4 else "portable"
    )
    for mask, impl in expected.items():
        env = {k: v for k, v in os.environ.items() if k != "VAULTKIT_CPU_MASK"}
        if mask:
            env["VAULTKIT_CPU_MASK"] = mask
        proc = subprocess.run(
            [sys.executable, "-c", _PATH_SCRIPT],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        got = json.loads(proc.stdout)
        assert got["impl"] == impl, (mask, got["impl"])
        assert got["sm3"] == want_sm3, mask
        assert got["hmac"] == want_hmac, mask
        assert got["rows"] == want_rows, mask


def test_single_calls_accept_bytes_like() -> None:
    want = _reference_hash.Sm3().digest(b"abc")
    assert _native_hash.Sm3().digest(bytearray(b"abc")) == want
    assert _native_hash.Sm3().digest(memoryview(b"abc")) == want
    key = bytearray(range(20))
    assert _native_hash.HmacSm3(key).digest(bytearray(b"x")) == _reference_hash.HmacSm3(
        bytes(key)
    ).digest(b"x")


def test_batches_beyond_one_split_group() -> None:
    """The digests are cut 4096 per struct call: batches around and past that size."""
    rnd = random.Random(4096)
    key = rnd.randbytes(32)
    for count in (4095, 4096, 4097, 9000):
        batch = [rnd.randbytes(rnd.choice([0, 19, 32, 70])) for _ in range(count)]
        assert _native_hash.Sm3().digest_many(batch) == _reference_hash.Sm3().digest_many(batch)
        got = _native_hash.HmacSm3(key).digest_many(batch)
        assert got == _reference_hash.HmacSm3(key).digest_many(batch)
