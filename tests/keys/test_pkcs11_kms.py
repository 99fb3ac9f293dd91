"""PKCS11KMS against the real SoftHSM2 token from tests/conftest.py (no mock)."""

from __future__ import annotations

import pickle
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from vaultkit import Vault
from vaultkit.errors import KeyStoreError, KMSError
from vaultkit.keys import PKCS11KMS, Algorithm, KeyRing, WrappedKey

pytestmark = pytest.mark.pkcs11

CTX = {"table": "t", "column": "c", "row": "1"}


@pytest.fixture
def make_hsm_kms(softhsm: dict[str, str]) -> Callable[..., PKCS11KMS]:
    label = "kek-" + secrets.token_hex(4)  # the token lives for the whole session

    def make(**kw: str) -> PKCS11KMS:
        args = {
            "module": softhsm["module"],
            "token_label": softhsm["token_label"],
            "pin": softhsm["pin"],
            "key_label": label,
            **kw,
        }
        return PKCS11KMS(**args)

    return make


def test_ring_round_trip_every_aead(tmp_path: Path, make_hsm_kms) -> None:
    path = tmp_path / "ring.json"
    ring = KeyRing.create(path, make_hsm_kms())
    ring.create_key("sm4")
    ring.create_key("aes", Algorithm.AES_256_GCM)
    ring.create_key("tok", Algorithm.FF1_AES256)
    with Vault(ring) as v:
        cts = {n: v.encrypt(n, b"value", context=CTX) for n in ("sm4", "aes")}
    material = ring.primary_key("tok").material
    ring.close()
    again = KeyRing.open(path, make_hsm_kms())
    with Vault(again) as v:
        assert all(v.decrypt(c, context=CTX) == b"value" for c in cts.values())
    assert again.primary_key("tok").material == material
    again.close()


def test_kek_stays_in_the_token(make_hsm_kms, softhsm) -> None:
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass

    kms = make_hsm_kms()
    kms.initialize()
    kms.wrap(b"k" * 16, associated_data=b"")
    token = pkcs11.lib(softhsm["module"]).get_token(token_label=softhsm["token_label"])
    with token.open() as session:  # shares the login of the KMS's open session
        key = session.get_key(
            object_class=ObjectClass.SECRET_KEY,
            key_type=KeyType.AES,
            label=kms.state()["key_label"] + "-v1",
        )
        assert key[Attribute.SENSITIVE] and not key[Attribute.EXTRACTABLE]
        assert key[Attribute.VALUE_LEN] == 32
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            key[Attribute.VALUE]
    kms.close()


def test_an_extractable_key_under_the_kek_label_is_refused(make_hsm_kms, softhsm) -> None:
    import pkcs11
    from pkcs11 import Attribute, KeyType

    kms = make_hsm_kms()
    label = kms.state()["key_label"] + "-v1"
    token = pkcs11.lib(softhsm["module"]).get_token(token_label=softhsm["token_label"])
    try:
        session = token.open(user_pin=softhsm["pin"], rw=True)
    except pkcs11.exceptions.UserAlreadyLoggedIn:  # another session of this process logged in
        session = token.open(rw=True)
    with session:
        session.generate_key(
            KeyType.AES,
            256,
            label=label,
            store=True,
            template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
        )
    with pytest.raises(KMSError, match="extractable"):
        kms.initialize()  # finds the planted key instead of generating one
    kms.close()


def test_associated_data_and_tampering(make_hsm_kms) -> None:
    kms = make_hsm_kms()
    kms.initialize()
    w = kms.wrap(b"D" * 32, associated_data=b"name=a")
    assert kms.unwrap(w, associated_data=b"name=a") == b"D" * 32
    with pytest.raises(KMSError):
        kms.unwrap(w, associated_data=b"name=b")
    for i in (0, len(w.blob) // 2, len(w.blob) - 1):
        bad = bytearray(w.blob)
        bad[i] ^= 1
        with pytest.raises(KMSError):
            kms.unwrap(WrappedKey(w.kek_id, w.kek_version, bytes(bad)), associated_data=b"name=a")
    kms.close()


def test_rotate_kek_in_the_token(tmp_path: Path, make_hsm_kms) -> None:
    path = tmp_path / "ring.json"
    ring = KeyRing.create(path, make_hsm_kms())
    ring.create_keys(["a", "b"])
    with Vault(ring) as v:
        ct = v.encrypt("a", b"old", context=CTX)
    assert ring.rotate_kek() == 2
    assert {ver.kek_version for k in ring.keys() for ver in k.versions} == {2}
    ring.close()
    with Vault(KeyRing.open(path, make_hsm_kms())) as v:
        assert v.decrypt(ct, context=CTX) == b"old"


_OPEN = """
import sys
from vaultkit.errors import VaultkitError
from vaultkit.keys import KeyRing, PKCS11KMS
path, module, token, pin, label = sys.argv[1:]
try:
    KeyRing.open(path, PKCS11KMS(module=module, token_label=token, pin=pin, key_label=label))
except VaultkitError as exc:
    print(type(exc).__name__, exc)
    sys.exit(2)
"""


def test_wrong_pin_and_wrong_kek(tmp_path: Path, make_hsm_kms, softhsm) -> None:
    path = tmp_path / "ring.json"
    kms = make_hsm_kms()
    KeyRing.create(path, kms).close()
    # PKCS#11 login is per process: a fresh process shows what a wrong PIN does
    args = [str(path), softhsm["module"], softhsm["token_label"]]
    label = kms.state()["key_label"]
    run = lambda pin: subprocess.run(  # noqa: E731
        [sys.executable, "-c", _OPEN, *args, pin, label], capture_output=True, text=True
    )
    bad = run("0000")
    assert bad.returncode == 2 and "PinIncorrect" in bad.stdout, bad.stdout + bad.stderr
    assert "0000" not in bad.stdout.replace("PinIncorrect", "")
    assert run(softhsm["pin"]).returncode == 0
    with pytest.raises(KMSError, match="token"):
        KeyRing.open(path, make_hsm_kms(token_label="no-such-token"))
    with pytest.raises((KeyStoreError, KMSError)):
        KeyRing.open(path, make_hsm_kms(token_label="no-such-token"))


def test_secrets_not_revealed(make_hsm_kms, softhsm) -> None:
    kms = make_hsm_kms()
    assert softhsm["pin"] not in repr(kms) and softhsm["pin"] not in str(kms.state())
    with pytest.raises(TypeError):
        pickle.dumps(kms)


def test_move_a_passphrase_ring_into_the_token(tmp_path: Path, make_hsm_kms) -> None:
    from vaultkit.keys import LocalKMS

    path = tmp_path / "ring.json"
    ring = KeyRing.create(path, LocalKMS(passphrase="pw", scrypt_n=2**10))
    ring.create_keys(["a", "b"])
    with Vault(ring) as v:
        ct = v.encrypt("a", b"into the HSM", context=CTX)
    ring.rotate_kek(to=make_hsm_kms())
    ring.close()
    with Vault(KeyRing.open(path, make_hsm_kms())) as v:
        assert v.decrypt(ct, context=CTX) == b"into the HSM"


def test_token_by_slot_or_serial(tmp_path: Path, make_hsm_kms, softhsm) -> None:
    import pkcs11

    lib = pkcs11.lib(softhsm["module"])
    token = lib.get_token(token_label=softhsm["token_label"])
    serial = (token.serial.decode() if isinstance(token.serial, bytes) else token.serial).strip()
    path = tmp_path / "ring.json"
    ring = KeyRing.create(path, make_hsm_kms(slot=token.slot.slot_id))
    ring.create_key("k")
    ring.close()
    (kek,) = KeyRing.kek_states(path)
    assert kek[1]["token_serial"] == serial  # recorded: found again by label and serial
    with KeyRing.open(path, make_hsm_kms()) as by_label:
        assert "k" in by_label
    with KeyRing.open(path, make_hsm_kms(token_serial=serial)) as by_serial:
        assert "k" in by_serial
    with pytest.raises(KMSError, match="serial"):
        KeyRing.open(path, make_hsm_kms(token_serial="0000000000000000"))
    with pytest.raises((KeyStoreError, KMSError), match="no PKCS#11 token in slot"):
        KeyRing.open(path, make_hsm_kms(slot=987654321)).keys()
