"""GCM records (``vk_gcm_records_seal``, ``vk_gcm_records_open``; the single-field path of
vaultkit.envelope): one message stored as head || nonce || ciphertext || tag, associated data
head || ad, nonce = base + counter. Both backends against cryptography/OpenSSL (AES-GCM, and SM4
through ``Cipher(SM4, GCM)``), and the C contract: failed tags release nothing, sizes are byte
counts, counters outside 0..2^64 - 1 are refused before C."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.native._asan import run_under_asan
from vaultkit.hazmat import bindings
from vaultkit.hazmat.bindings import _native_cipher, _reference_cipher

ROUNDS = int(os.environ.get("VAULTKIT_FUZZ_ROUNDS", "10000")) // 5
SPACE = 1 << 96


def _openssl_seal(algorithm: str, key: bytes, nonce: bytes, data: bytes, ad: bytes) -> bytes:
    if algorithm == "AES":
        return AESGCM(key).encrypt(nonce, data, ad)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(ad)
    return enc.update(data) + enc.finalize() + enc.tag


def _expected(algorithm: str, key: bytes, head: bytes, base: bytes, counter: int, data: bytes,
              ad: bytes) -> bytes:  # fmt: skip
    """The record as the Python path built it before: head + nonce + GCM(nonce, data, head + ad)."""
    nonce = ((int.from_bytes(base, "big") + counter) % SPACE).to_bytes(12, "big")
    return head + nonce + _openssl_seal(algorithm, key, nonce, data, head + ad)


def _gcms(algorithm: str, key: bytes) -> list[object]:
    return [_native_cipher.Gcm(algorithm, key), _reference_cipher.Gcm(algorithm, key)]


@pytest.mark.parametrize("algorithm", ["AES", "SM4"])
def test_records_equal_openssl_and_open_on_both_backends(algorithm: str) -> None:
    rng = random.Random(f"records-{algorithm}")
    for i in range(ROUNDS):
        key = rng.randbytes(32 if algorithm == "AES" else 16)
        head_len = 58 if i % 2 else rng.randrange(0, 80)  # 58: a field header
        head, ad = rng.randbytes(head_len), rng.randbytes(rng.randrange(0, 90))
        data = rng.randbytes(rng.randrange(0, 301))
        counter = rng.choice([0, 1, rng.randrange(1 << 32), rng.randrange(1 << 64)])
        base = rng.randrange(SPACE - counter).to_bytes(12, "big")  # base + counter < 2^96
        want = _expected(algorithm, key, head, base, counter, data, ad)
        native, reference = _gcms(algorithm, key)
        for gcm in (native, reference):
            assert gcm.records(head, base).seal(counter, data, ad) == want  # type: ignore[attr-defined]
            assert gcm.records(head).open(want, ad) == data  # type: ignore[attr-defined]
        flip = rng.randrange(head_len, len(want))  # the head is not read: its copy is hashed
        bad = bytearray(want)
        bad[flip] ^= 1 << rng.randrange(8)
        cut = want[: rng.randrange(len(want))]
        for gcm in (native, reference):
            records = gcm.records(head)  # type: ignore[attr-defined]
            assert records.open(bytes(bad), ad) is None
            assert records.open(cut, ad) is None
            assert records.open(want, ad + b"x") is None
            if head_len:  # the head is authenticated: another head, another AD
                assert gcm.records(bytes([head[0] ^ 1]) + head[1:]).open(want, ad) is None  # type: ignore[attr-defined]


@pytest.mark.parametrize("algorithm", ["AES", "SM4"])
def test_nonce_is_base_plus_counter_with_carries(algorithm: str) -> None:
    key = bytes(range(32 if algorithm == "AES" else 16))
    head = b"h" * 58
    for base_int, counter in [
        ((1 << 64) - 1, 1),  # carry out of the low 64 bits
        ((1 << 32) - 1, (1 << 32) + 5),
        (SPACE - (1 << 32) - 1, (1 << 32) - 1),  # the largest offset a FieldCipher draws
        (0x0102030405060708090A0B0C, 0),
    ]:
        base = base_int.to_bytes(12, "big")
        for gcm in _gcms(algorithm, key):
            record = gcm.records(head, base).seal(counter, b"data", b"ctx")  # type: ignore[attr-defined]
            assert record[58:70] == (base_int + counter).to_bytes(12, "big")
            assert record == _expected(algorithm, key, head, base, counter, b"data", b"ctx")


def test_counters_outside_64_bits_and_bad_bases_are_refused_before_c() -> None:
    for gcm in _gcms("SM4", bytes(16)):
        records = gcm.records(b"head", bytes(12))  # type: ignore[attr-defined]
        for counter in (-1, 1 << 64):
            with pytest.raises(OverflowError):
                records.seal(counter, b"x", b"")
        with pytest.raises(ValueError, match="12 bytes"):
            gcm.records(b"head", bytes(11))  # type: ignore[attr-defined]


class _Lying(bytes):
    """A bytes subclass whose len() is not its size: C must get the real size."""

    def __len__(self) -> int:
        return 2


def test_record_calls_use_the_byte_count_not_len() -> None:
    g = _native_cipher.Gcm("SM4", bytes(16))
    want = g.records(b"head", bytes(12)).seal(3, b"abcdef", b"ad")
    lying = g.records(_Lying(b"head"), _Lying(bytes(12)))
    assert lying.seal(3, _Lying(b"abcdef"), _Lying(b"ad")) == want
    assert lying.open(_Lying(want), _Lying(b"ad")) == b"abcdef"


def test_failed_tag_releases_no_plaintext_in_c() -> None:
    """vk_gcm_records_open returns -1 and leaves the output zeroed; -2 (nothing written) for a
    record too short for its head, nonce and tag."""
    ffi, lib = bindings.native()
    key, data = bytes(range(16)), b"secret plaintext" * 4
    g = _native_cipher.Gcm("SM4", key)
    records = g.records(b"h" * 58, bytes(12))
    record = bytearray(records.seal(9, data, b"ctx"))
    record[-1] ^= 0x40
    out = ffi.new("uint8_t[]", len(data))
    ffi.memmove(out, b"\xff" * len(data), len(data))
    assert lib.vk_gcm_records_open(records._r, bytes(record), len(record), b"ctx", 3, out) == -1
    assert ffi.buffer(out)[:] == bytes(len(data))
    ffi.memmove(out, b"\xff" * len(data), len(data))
    assert lib.vk_gcm_records_open(records._r, bytes(record[:85]), 85, b"ctx", 3, out) == -2
    assert ffi.buffer(out)[:] == b"\xff" * len(data)
    assert records.open(bytes(record), b"ctx") is None


def test_in_place_and_copying_outputs_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The record calls write into the bytes they return where C's writes land there (CPython);
    the copying path (other implementations) gives the same bytes."""
    if sys.implementation.name == "cpython":
        assert _native_cipher._BYTES_OUT
    g = _native_cipher.Gcm("AES", bytes(32))
    records = g.records(b"h" * 58, bytes(12))
    sealed = {n: records.seal(n, bytes(n), b"ctx") for n in (0, 1, 31, 300)}
    opened = {n: records.open(s, b"ctx") for n, s in sealed.items()}
    monkeypatch.setattr(_native_cipher, "_BYTES_OUT", not _native_cipher._BYTES_OUT)
    for n, s in sealed.items():
        assert records.seal(n, bytes(n), b"ctx") == s
        assert records.open(s, b"ctx") == opened[n] == bytes(n)
        assert records.open(s[:-1] + bytes([s[-1] ^ 1]), b"ctx") is None


def test_records_outlive_the_gcm_object_they_borrow() -> None:
    """vk_gcm_records borrows its vk_gcm: the Python object keeps the Gcm alive."""
    import gc

    records = _native_cipher.Gcm("SM4", bytes(16)).records(b"head", bytes(12))
    gc.collect()
    record = records.seal(1, b"data", b"")
    assert records.open(record, b"") == b"data"
    assert _reference_cipher.Gcm("SM4", bytes(16)).records(b"head").open(record, b"") == b"data"


def test_records_memory_safety_under_asan(tmp_path: Path) -> None:
    """tests/native/ctgrind/asan_gcm_records.c: exact-size heap buffers, random records."""
    run_under_asan(tmp_path, "asan_gcm_records", "400", "40")
