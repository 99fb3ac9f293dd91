"""FieldCipher's batches run through hazmat's flat GCM calls (one buffer in, one out): what one
backend seals the other opens, item by item equal to the single-field path, for one context or
one per item, equal or mixed lengths, empty plaintexts and batches of every small size."""

from __future__ import annotations

import random

import pytest

from vaultkit.envelope import FieldCipher, encode_context
from vaultkit.errors import DecryptionError
from vaultkit.hazmat import bindings
from vaultkit.keys import Algorithm, DataKey, KeyState


def _cipher(algorithm: Algorithm, backend: str) -> FieldCipher:
    key = DataKey(
        name="t.c",
        key_id=7,
        version=3,
        algorithm=algorithm,
        state=KeyState.PRIMARY,
        material=bytes(range(algorithm.key_size)),
    )
    with bindings.use(backend):  # type: ignore[arg-type]
        cipher = FieldCipher(key)
        cipher.seal(b"", b"")  # derives the writer's subkey on this backend
        return cipher


@pytest.mark.parametrize("algorithm", [Algorithm.SM4_GCM, Algorithm.AES_256_GCM])
@pytest.mark.parametrize("count", [1, 2, 3, 5, 40])
@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("per_item", [True, False])
def test_batches_cross_backends(
    algorithm: Algorithm, count: int, uniform: bool, per_item: bool
) -> None:
    rng = random.Random(f"{algorithm}{count}{uniform}{per_item}")
    sizes = [rng.choice([0, 1, 16, 31, 300]) for _ in range(count)]
    plain = [rng.randbytes(16 if uniform else n) for n in sizes]
    contexts = [encode_context({"table": "t", "column": "c", "row": str(i)}) for i in range(count)]
    ctx: bytes | list[bytes] = contexts if per_item else contexts[0]
    ciphers = {name: _cipher(algorithm, name) for name in bindings.available()}
    for sealer in ciphers.values():
        sealed = sealer.seal_many(plain, ctx)
        assert len(sealed) == count and len(set(sealed)) == count
        for name, opener in ciphers.items():
            assert opener.open_many(sealed, ctx) == plain, name
            singles = [
                opener.open(s, contexts[i] if per_item else ctx) for i, s in enumerate(sealed)
            ]  # type: ignore[arg-type]
            assert singles == plain
        if count > 1:
            swapped = [sealed[1], sealed[0], *sealed[2:]]
            wrong = contexts if per_item else [contexts[0]] * count
            if per_item:
                for opener in ciphers.values():
                    with pytest.raises(DecryptionError) as info:
                        opener.open_many(swapped, wrong)
                    assert info.value.where == "item 0"
