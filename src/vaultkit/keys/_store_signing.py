"""Signed key stores: an operator's SM2 signature over the stored body.

The store's MAC (under a key derived from the ring key) proves the body was written by someone
holding a KEK. For SM2 recipient KEKs that is anyone: wrapping needs only the recipients'
public keys, so whoever holds them can make a store of their own choosing (their own ring key,
their own DEKs) that the recovery key opens. A **signed** store also carries::

    "signature": {"signer": HEX, "sig": HEX}

``signer`` is the signer's fingerprint (:func:`vaultkit.keys.sm2.fingerprint`, first 8 bytes of
SM3 of its public key), ``sig`` the DER SM2 signature (GM/T 0003.2, default distinguishing
identifier) over ``b"vaultkit keyring signature v1\\x00" || canonical(BODY)``, the exact
authenticated body including its ``generation``. A reader configured with trusted signer public
keys refuses, with :class:`~vaultkit.errors.SignatureError`, a store that is unsigned, signed by
another key, or whose signature does not verify; a reader without trusted signers ignores the
signature (existing unsigned stores keep opening).

SM2 (and the cipher code under it) is imported by the methods that sign or check: a ring opened
without signer or trusted signers never loads it, so its KEK's KDF runs before the ciphers are
resident (docs/stream.md).
"""

from __future__ import annotations

from collections.abc import Iterable

from vaultkit.errors import SignatureError, VaultkitTypeError
from vaultkit.keys._ring_doc import SignatureDoc, StoreDoc

__all__ = ["StoreSigner", "TrustedStoreSigners", "signature_message"]

_LABEL = b"vaultkit keyring signature v1\x00"


def signature_message(canonical_body: bytes) -> bytes:
    return _LABEL + canonical_body


class StoreSigner:
    """An operator's SM2 private key (hex) that signs every store the ring writes."""

    __slots__ = ("_private", "fingerprint", "public_key")

    def __init__(self, private_key: str) -> None:
        if not isinstance(private_key, str):
            raise VaultkitTypeError("signer is an SM2 private key (hex str)")
        from vaultkit.keys import sm2

        self.public_key = sm2.public_key_of(private_key)  # checks the key
        self.fingerprint = sm2.fingerprint(self.public_key)
        self._private = private_key

    def sign(self, canonical_body: bytes) -> SignatureDoc:
        from vaultkit.keys import sm2

        signature = sm2.sign(self._private, signature_message(canonical_body))
        return {"signer": self.fingerprint.hex(), "sig": signature.hex()}

    def __repr__(self) -> str:
        return f"StoreSigner(fingerprint={self.fingerprint.hex()})"


class TrustedStoreSigners:
    """The SM2 public keys whose signature a reader requires on the key store."""

    __slots__ = ("_keys",)

    def __init__(self, public_keys: Iterable[str]) -> None:
        if isinstance(public_keys, str | bytes):
            raise VaultkitTypeError("trusted_signers is a list of SM2 public keys (hex)")
        from vaultkit.keys import sm2

        keys = [sm2.load_public_hex(k) for k in public_keys]
        if not keys:
            raise VaultkitTypeError("trusted_signers is empty: no store would open")
        self._keys = {sm2.fingerprint(k): k for k in keys}

    def trusts(self, fingerprint: bytes) -> bool:
        return fingerprint in self._keys

    def check(self, where: object, outer: StoreDoc, canonical_body: bytes) -> None:
        """Refuse (SignatureError) unless ``outer`` carries a trusted signer's valid signature
        of ``canonical_body``."""
        from vaultkit.keys import sm2

        block = outer.get("signature")
        if block is None:
            raise SignatureError(
                f"the key store {where} is not signed (a trusted signer is required)"
            )
        try:
            fingerprint = bytes.fromhex(block["signer"])
            signature = bytes.fromhex(block["sig"])
        except (TypeError, KeyError, ValueError, AttributeError):
            raise SignatureError(f"the key store {where} has a malformed signature") from None
        public = self._keys.get(fingerprint)
        if public is None:
            raise SignatureError(
                f"the key store {where} is signed by {fingerprint.hex()}, not a trusted signer"
            )
        if not sm2.verify(public, signature_message(canonical_body), signature):
            raise SignatureError(f"the signature of the key store {where} does not verify")
