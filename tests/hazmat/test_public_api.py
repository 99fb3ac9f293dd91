"""The hazmat public surface is deliberate: changing it means changing this test."""

from __future__ import annotations

import importlib

import pytest

API = {
    "vaultkit.hazmat": ["aead", "bindings", "ff1", "flat", "hashes", "sm4"],
    "vaultkit.hazmat.aead": ["AES256GCM", "AESGCM", "AESSIV", "SM4CCM", "SM4GCM", "TAG_SIZE"],
    "vaultkit.hazmat.ff1": [
        "DEFAULT_ALPHABET",
        "FF1",
        "MAX_LENGTH",
        "MAX_RADIX",
        "MIN_DOMAIN",
        "MIN_RADIX",
    ],
    "vaultkit.hazmat.flat": ["FlatBuffer"],
    "vaultkit.hazmat.hashes": [
        "DIGEST_SIZE",
        "MIN_HMAC_KEY_SIZE",
        "hmac_sha256",
        "hmac_sha256_many",
        "hmac_sm3",
        "hmac_sm3_many",
        "sm3",
        "sm3_many",
    ],
    "vaultkit.hazmat.sm4": ["BLOCK_SIZE", "KEY_SIZE", "SM4"],
}


@pytest.mark.parametrize("module", sorted(API))
def test_all_is_frozen(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == API[module]
    for name in mod.__all__:
        assert hasattr(mod, name) or importlib.import_module(f"{module}.{name}")


def test_method_names() -> None:
    from vaultkit.hazmat import aead, ff1, sm4

    for cls in (aead.SM4GCM, aead.AES256GCM, aead.AESGCM, aead.SM4CCM):
        for name in ("encrypt", "decrypt", "encrypt_many", "decrypt_many"):
            assert callable(getattr(cls, name))
    for cls in (aead.SM4GCM, aead.AES256GCM, aead.AESGCM):  # GCM only: the flat batches
        for name in ("encrypt_flat", "decrypt_flat"):
            assert callable(getattr(cls, name))
    assert not hasattr(aead.SM4CCM, "encrypt_flat")
    for name in ("encrypt", "decrypt", "encrypt_many", "decrypt_many"):
        assert callable(getattr(ff1.FF1, name))
    for name in ("encrypt_block", "decrypt_block", "encrypt_blocks", "decrypt_blocks"):
        assert callable(getattr(sm4.SM4, name))
