"""vaultkit.hazmat.sm4: argument checks, round trips, key hygiene (vectors: test_vectors_sm4.py)."""

from __future__ import annotations

import pickle

import pytest

from vaultkit.errors import InputFormatError, InvalidKeyError, VaultkitTypeError
from vaultkit.hazmat.sm4 import SM4

KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_block_round_trip(backend: str) -> None:
    c = SM4(KEY)
    block = bytes(range(16))
    assert c.decrypt_block(c.encrypt_block(block)) == block
    data = bytes(range(256)) * 2
    ct = c.encrypt_blocks(data)
    assert len(ct) == len(data) and ct[:16] == c.encrypt_block(data[:16])
    assert c.decrypt_blocks(ct) == data
    assert c.encrypt_blocks(b"") == b""


@pytest.mark.parametrize("size", [0, 15, 17, 24, 32])
def test_bad_key_size(size: int) -> None:
    with pytest.raises(InvalidKeyError):
        SM4(bytes(size))


def test_bad_block_sizes() -> None:
    c = SM4(KEY)
    for bad in (b"", bytes(15), bytes(17), bytes(32)):
        with pytest.raises(InputFormatError):
            c.encrypt_block(bad)
        with pytest.raises(InputFormatError):
            c.decrypt_block(bad)
    with pytest.raises(InputFormatError):
        c.encrypt_blocks(bytes(17))
    with pytest.raises(InputFormatError):
        c.decrypt_blocks(bytes(31))
    with pytest.raises(VaultkitTypeError):
        c.encrypt_block("0123456789abcdef")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        SM4("0123456789abcdef")  # type: ignore[arg-type]


def test_no_repr_no_pickle() -> None:
    c = SM4(KEY)
    assert KEY.hex() not in repr(c) and "0123" not in repr(c)
    with pytest.raises(TypeError):
        pickle.dumps(c)
