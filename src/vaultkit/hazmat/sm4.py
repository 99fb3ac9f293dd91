"""SM4 block cipher (GB/T 32907-2016) with an explicit key: single blocks and ECB.

Hazmat: ECB leaks equal blocks. Use it only to build modes; ``vaultkit.hazmat.aead.SM4GCM``
is the authenticated encryption to use for data.
"""

from __future__ import annotations

from vaultkit.errors import InputFormatError
from vaultkit.hazmat import _fast
from vaultkit.hazmat._args import SecretHolder, require_bytes, require_key

__all__ = ["BLOCK_SIZE", "KEY_SIZE", "SM4"]

BLOCK_SIZE = 16
KEY_SIZE = 16


class SM4(SecretHolder):
    """SM4 with a 16-byte key. The backend in use when it is created does the work."""

    __slots__ = ("_impl",)

    def __init__(self, key: bytes) -> None:
        material = require_key(key, (KEY_SIZE,), "SM4")
        self._impl = _fast.block_cipher("SM4", material)

    def encrypt_block(self, block: bytes) -> bytes:
        """Encrypt exactly one 16-byte block."""
        return bytes(self._impl.encrypt_blocks(_block(block)))

    def decrypt_block(self, block: bytes) -> bytes:
        """Decrypt exactly one 16-byte block."""
        return bytes(self._impl.decrypt_blocks(_block(block)))

    def encrypt_blocks(self, data: bytes) -> bytes:
        """ECB encryption of a multiple of 16 bytes (each block independently)."""
        return bytes(self._impl.encrypt_blocks(_blocks(data)))

    def decrypt_blocks(self, data: bytes) -> bytes:
        """ECB decryption of a multiple of 16 bytes."""
        return bytes(self._impl.decrypt_blocks(_blocks(data)))


def _block(block: object) -> bytes:
    data = require_bytes("block", block)
    if len(data) != BLOCK_SIZE:
        raise InputFormatError("an SM4 block is exactly 16 bytes", data)
    return data


def _blocks(blocks: object) -> bytes:
    data = require_bytes("data", blocks)
    if len(data) % BLOCK_SIZE:
        raise InputFormatError("SM4 ECB data must be a multiple of 16 bytes", data)
    return data
