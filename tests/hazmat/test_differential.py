"""Differential tests: the native backend against the reference (the oracle), public API.

Random inputs per area; ``VAULTKIT_FUZZ_ROUNDS`` scales the number of batches (``make fuzz``
runs a million). Areas whose native module is not built yet compare the reference with itself
through the fallback, which still checks the public layer; test_package.py requires the native
extension wherever a compiler exists.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

import pytest

from vaultkit.hazmat import aead, bindings, hashes
from vaultkit.hazmat.ff1 import FF1
from vaultkit.hazmat.sm4 import SM4

ROUNDS = int(os.environ.get("VAULTKIT_FUZZ_ROUNDS", "20"))

pytestmark = pytest.mark.fuzz


def _both(make: Callable[[], Any], call: Callable[[Any], Any]) -> None:
    results = {}
    for name in bindings.available():
        with bindings.use(name):
            results[name] = call(make())
    assert len({repr(r) for r in results.values()}) == 1, sorted(results)


def _rng(seed: int) -> random.Random:
    return random.Random(seed)


@pytest.mark.parametrize("seed", range(ROUNDS))
def test_differential_sm4(seed: int) -> None:
    r = _rng(seed)
    key = r.randbytes(16)
    data = r.randbytes(16 * r.randrange(0, 300))
    _both(lambda: SM4(key), lambda c: (c.encrypt_blocks(data), c.decrypt_blocks(data)))


@pytest.mark.parametrize("seed", range(ROUNDS))
def test_differential_gcm(seed: int) -> None:
    r = _rng(seed)
    cls, size = r.choice([(aead.SM4GCM, 16), (aead.AES256GCM, 32), (aead.AESGCM, 16)])
    key = r.randbytes(size)
    n = r.randrange(1, 40)
    nonces = [r.randbytes(12) for _ in range(n)]
    datas = [
        r.randbytes(r.choice([0, 1, 15, 16, 17, 32, 100, r.randrange(0, 2000)])) for _ in range(n)
    ]
    ads = [r.randbytes(r.randrange(0, 50)) for _ in range(n)]
    with bindings.use("reference"):
        sealed = cls(key).encrypt_many(nonces, datas, ads)
    bad = [s if i % 3 else s[:-1] + bytes([s[-1] ^ 1]) for i, s in enumerate(sealed)]

    def check(a: Any) -> Any:
        assert a.encrypt_many(nonces, datas, ads) == sealed
        assert a.decrypt_many(nonces, sealed, ads) == datas
        assert [a.encrypt(n_, d, ad) for n_, d, ad in zip(nonces, datas, ads)] == sealed
        opened = a._impl.open_many(nonces, bad, ads)
        return [o is None for o in opened]

    _both(lambda: cls(key), check)


@pytest.mark.parametrize("seed", range(ROUNDS))
def test_differential_ff1(seed: int) -> None:
    r = _rng(seed)
    cipher = r.choice(["SM4", "AES"])
    key = r.randbytes(16 if cipher == "SM4" else r.choice([16, 24, 32]))
    radix = r.choice([2, 10, 16, 26, 36, 62, 255, 256, 257, 1000, 65535, 65536])
    f_ref = FF1(key, cipher=cipher, radix=radix)
    values = [
        [r.randrange(radix) for _ in range(r.randrange(f_ref.min_length, f_ref.min_length + 30))]
        for _ in range(r.randrange(1, 30))
    ]
    tweak = r.randbytes(r.randrange(0, 40))

    def check(f: FF1) -> Any:
        out = f.encrypt_many(values, tweak)
        assert f.decrypt_many(out, tweak) == values
        return out

    _both(lambda: FF1(key, cipher=cipher, radix=radix), check)


@pytest.mark.parametrize("seed", range(ROUNDS))
def test_differential_hash(seed: int) -> None:
    r = _rng(seed)
    key = r.randbytes(r.choice([16, 32, 64, 65, 100]))
    msgs = [
        r.randbytes(r.choice([0, 1, 55, 56, 63, 64, 65, r.randrange(0, 3000)])) for _ in range(20)
    ]
    _both(lambda: None, lambda _: (hashes.sm3_many(msgs), hashes.hmac_sm3_many(key, msgs)))
