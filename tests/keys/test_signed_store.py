"""Signed key stores (issue 12): an operator SM2 key signs the stored body (generation
included); readers with trusted signers refuse unsigned, foreign-signed or altered stores with
SignatureError. Without signatures, anyone holding an SM2 recovery recipient's public key can
forge a store the recovery key opens: shown below, and refused by a reader with trusted signers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vaultkit import Vault
from vaultkit.errors import SignatureError
from vaultkit.keys import KeyRing, SM2Recipients, sm2

from .conftest import local_kms

CTX = {"table": "t", "column": "c", "row": "1"}


@pytest.fixture(scope="module")
def operator() -> tuple[str, str]:
    return sm2.generate_keypair()


def test_signed_store_opens_for_trusted_readers(ring_path: Path, operator) -> None:
    private, public = operator
    with KeyRing.create(ring_path, local_kms(), signer=private) as ring:
        ring.create_key("k")
        assert ring.signed_by == sm2.fingerprint(public).hex()
    outer = json.loads(ring_path.read_text())
    assert outer["signature"]["signer"] == sm2.fingerprint(public).hex()
    assert "mac" in outer  # the MAC stays
    with KeyRing.open(ring_path, local_kms(), trusted_signers=[public]) as reader:
        assert "k" in reader
    with KeyRing.open(ring_path, local_kms()) as plain:  # no trusted signers: opens as before
        assert "k" in plain


def test_unsigned_and_foreign_signed_stores_are_refused(ring_path: Path, operator) -> None:
    _, public = operator
    stranger, _ = sm2.generate_keypair()
    with KeyRing.create(ring_path, local_kms()) as ring:
        ring.create_key("k")
    with pytest.raises(SignatureError, match="not signed"):
        KeyRing.open(ring_path, local_kms(), trusted_signers=[public])
    with KeyRing.open(ring_path, local_kms(), signer=stranger) as ring:
        ring.rotate_key("k")  # now signed by the stranger
    with pytest.raises(SignatureError, match="not a trusted signer"):
        KeyRing.open(ring_path, local_kms(), trusted_signers=[public])


def test_signature_covers_the_exact_body(ring_path: Path, operator) -> None:
    """A signature moved onto another body (here: the same store one generation earlier, with
    the later store's signature) does not verify."""
    private, public = operator
    with KeyRing.create(ring_path, local_kms(), signer=private) as ring:
        ring.create_key("k")
        first = json.loads(ring_path.read_text())
        ring.rotate_key("k")
        second = json.loads(ring_path.read_text())
    first["signature"] = second["signature"]
    ring_path.write_text(json.dumps(first))
    with pytest.raises(SignatureError, match="does not verify"):
        KeyRing.open(ring_path, local_kms(), trusted_signers=[public])
    KeyRing.open(ring_path, local_kms()).close()  # MAC intact: only the signature is wrong


def test_sign_with_an_existing_store_and_writes_stay_signed(ring_path: Path, operator) -> None:
    private, public = operator
    with KeyRing.create(ring_path, local_kms()) as ring:
        ring.create_key("k")
        generation = ring.store_generation
        ring.sign_with(private)
        assert ring.store_generation == generation + 1
    reader = KeyRing.open(ring_path, local_kms(), trusted_signers=[public])
    # a writer without the signer key cannot turn the signed store back into an unsigned one
    with KeyRing.open(ring_path, local_kms()) as careless:
        with pytest.raises(SignatureError, match="pass signer="):
            careless.rotate_key("k")
    # nor can a reader that requires signatures write unsigned or with an untrusted key
    with pytest.raises(SignatureError):
        reader.rotate_key("k")
    assert reader.key_info("k").primary_version == 1
    with KeyRing.open(ring_path, local_kms(), signer=private, trusted_signers=[public]) as op:
        op.rotate_key("k")
    assert reader.key_info("k").primary_version == 2  # reloaded, still verified
    reader.close()


def test_a_store_forged_with_the_recovery_public_key_is_refused(tmp_path: Path, operator) -> None:
    """The forgery: the attacker knows only the SM2 recovery recipient's public key, and writes
    a store of their own (their own ring key and DEKs) in place of the real one. The recovery key
    opens it and the application would encrypt under the attacker's DEK; a reader configured
    with the trusted operator key refuses it."""
    private, public = operator
    recovery_private, recovery_public = sm2.generate_keypair()
    path = tmp_path / "ring.json"
    with KeyRing.create(path, local_kms(), signer=private) as real:
        real.add_kek(SM2Recipients(public_keys=[recovery_public]), name="recovery")
        real.create_key("k")
    path.unlink()
    with KeyRing.create(path, SM2Recipients(public_keys=[recovery_public])) as forged:
        forged.create_key("k")  # the attacker's DEK, which the attacker can recover
    # without trusted signers the forgery is accepted: the app would encrypt under it
    with (
        KeyRing.open(path, SM2Recipients(private_key=recovery_private)) as victim,
        Vault(victim) as v,
    ):
        assert v.decrypt(v.encrypt("k", b"salary", context=CTX), context=CTX) == b"salary"
    with pytest.raises(SignatureError, match="not signed"):
        KeyRing.open(path, SM2Recipients(private_key=recovery_private), trusted_signers=[public])
    # signing it with the attacker's own key does not help
    attacker, _ = sm2.generate_keypair()
    with KeyRing.open(path, SM2Recipients(private_key=recovery_private)) as forged:
        forged.sign_with(attacker)
    with pytest.raises(SignatureError, match="not a trusted signer"):
        KeyRing.open(path, SM2Recipients(private_key=recovery_private), trusted_signers=[public])


def test_trusted_signers_must_be_public_keys(ring_path: Path) -> None:
    from vaultkit.errors import VaultkitTypeError

    KeyRing.create(ring_path, local_kms()).close()
    with pytest.raises(VaultkitTypeError):
        KeyRing.open(ring_path, local_kms(), trusted_signers="04abcd")
    with pytest.raises(VaultkitTypeError):
        KeyRing.open(ring_path, local_kms(), trusted_signers=[])
