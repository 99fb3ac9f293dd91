"""SM2 keys, files and encryption (against gmssl and OpenSSL), and the SM2Recipients KMS."""

from __future__ import annotations

import pickle
import shutil
import subprocess
from pathlib import Path

import pytest
from gmssl import sm2 as gmssl_sm2

from vaultkit import Vault
from vaultkit.errors import InvalidKeyError, KeyStoreError, KMSError
from vaultkit.keys import KeyRing, SM2Recipients, sm2


@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    return sm2.generate_keypair()


@pytest.fixture(scope="module")
def pair2() -> tuple[str, str]:
    return sm2.generate_keypair()


def test_keypair_shape(pair: tuple[str, str]) -> None:
    d, p = pair
    assert len(d) == 64 and len(p) == 130 and p.startswith("04")
    assert sm2.public_key_of(d) == p
    assert sm2.generate_keypair()[0] != d


def test_encryption_round_trip_and_randomized(pair: tuple[str, str]) -> None:
    d, p = pair
    c1, c2 = sm2.encrypt(p, b"k" * 16), sm2.encrypt(p, b"k" * 16)
    assert c1 != c2 and len(c1) == 65 + 32 + 16
    assert sm2.decrypt(d, c1) == sm2.decrypt(d, c2) == b"k" * 16


def test_interoperates_with_gmssl() -> None:
    d, p = sm2.generate_keypair()
    while p[2:].startswith("04"):  # gmssl's CryptSM2 lstrip("04")s such keys (a gmssl bug)
        d, p = sm2.generate_keypair()
    theirs = gmssl_sm2.CryptSM2(private_key=d, public_key=p[2:], mode=1)  # C1C3C2
    assert theirs.decrypt(sm2.encrypt(p, b"to gmssl")[1:]) == b"to gmssl"
    assert sm2.decrypt(d, b"\x04" + theirs.encrypt(b"from gmssl")) == b"from gmssl"


def _der(tag: int, body: bytes) -> bytes:
    assert len(body) < 0x80
    return bytes([tag, len(body)]) + body


def _der_int(value: bytes) -> bytes:
    value = value.lstrip(b"\x00") or b"\x00"
    return _der(0x02, b"\x00" + value if value[0] & 0x80 else value)


def _to_openssl(c: bytes) -> bytes:  # GM/T 0009 ASN.1 form of C1 || C3 || C2
    return _der(
        0x30, _der_int(c[1:33]) + _der_int(c[33:65]) + _der(0x04, c[65:97]) + _der(0x04, c[97:])
    )


def _from_openssl(der: bytes) -> bytes:
    items, body, i = [], der[2:], 0
    while i < len(body):
        n = body[i + 1]
        items.append(body[i + 2 : i + 2 + n])
        i += 2 + n
    x, y, c3, c2 = items
    return b"\x04" + x[-32:].rjust(32, b"\x00") + y[-32:].rjust(32, b"\x00") + c3 + c2


def test_interoperates_with_openssl(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed for the SM2 interoperability test"
    key, pub = tmp_path / "k.pem", tmp_path / "p.pem"
    run = lambda *a, **kw: subprocess.run([openssl, *a], check=True, capture_output=True, **kw)  # noqa: E731
    run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", str(key))
    run("pkey", "-in", str(key), "-pubout", "-out", str(pub))
    d, p = sm2.load_private_key(key), sm2.load_public_key(pub)
    assert sm2.public_key_of(d) == p
    (tmp_path / "m").write_bytes(b"sixteen byte key")
    run(
        "pkeyutl",
        "-encrypt",
        "-pubin",
        "-inkey",
        str(pub),
        "-in",
        str(tmp_path / "m"),
        "-out",
        str(tmp_path / "c"),
    )
    assert sm2.decrypt(d, _from_openssl((tmp_path / "c").read_bytes())) == b"sixteen byte key"
    (tmp_path / "c2").write_bytes(_to_openssl(sm2.encrypt(p, b"from vaultkit")))
    out = run("pkeyutl", "-decrypt", "-inkey", str(key), "-in", str(tmp_path / "c2"))
    assert out.stdout == b"from vaultkit"
    # and OpenSSL reads the files vaultkit writes
    sm2.save_private_key(tmp_path / "mine.pem", d)
    sm2.save_public_key(tmp_path / "mine.pub", p)
    text = run("pkey", "-in", str(tmp_path / "mine.pem"), "-pubout", text=True).stdout
    assert text == (tmp_path / "mine.pub").read_text()


def test_tampered_ciphertexts_refused(pair: tuple[str, str], pair2: tuple[str, str]) -> None:
    d, p = pair
    c = sm2.encrypt(p, b"secret key bytes")
    for i in (0, 1, 40, 70, 100, len(c) - 1):
        bad = bytearray(c)
        bad[i] ^= 1
        with pytest.raises(KMSError):
            sm2.decrypt(d, bytes(bad))
    with pytest.raises(KMSError):
        sm2.decrypt(pair2[0], c)
    with pytest.raises(KMSError):
        sm2.decrypt(d, c[:90])


def test_key_files(tmp_path: Path, pair: tuple[str, str]) -> None:
    d, p = pair
    sm2.save_private_key(tmp_path / "k.pem", d)
    sm2.save_public_key(tmp_path / "p.pem", p)
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "k.pem").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert sm2.load_private_key(tmp_path / "k.pem") == d
    assert sm2.load_public_key(tmp_path / "p.pem") == p
    with pytest.raises(KMSError, match="exists"):
        sm2.save_private_key(tmp_path / "k.pem", d)
    (tmp_path / "k.hex").write_text(d.upper() + "\n")
    (tmp_path / "p.hex").write_text(p[2:] + "\n")
    assert sm2.load_private_key(tmp_path / "k.hex") == d
    assert sm2.load_public_key(tmp_path / "p.hex") == p
    (tmp_path / "bad").write_text("04" + "00" * 64)
    with pytest.raises(InvalidKeyError, match="curve"):
        sm2.load_public_key(tmp_path / "bad")
    with pytest.raises(InvalidKeyError):
        sm2.load_private_key(tmp_path / "p.pem")


def test_recipients_wrap_without_private_key(pair, pair2) -> None:
    (d1, p1), (d2, p2) = pair, pair2
    writer = SM2Recipients(public_keys=[p1, p2])
    wrapped = writer.wrap(b"D" * 32, associated_data=b"file 1")
    with pytest.raises(KMSError, match="no private key"):
        writer.unwrap(wrapped, associated_data=b"file 1")
    for d in (d1, d2):
        reader = SM2Recipients(public_keys=[p1, p2], private_key=d)
        assert reader.unwrap(wrapped, associated_data=b"file 1") == b"D" * 32
        with pytest.raises(KMSError):
            reader.unwrap(wrapped, associated_data=b"file 2")
    only1 = SM2Recipients(public_keys=[p1]).wrap(b"D" * 16, associated_data=b"")
    with pytest.raises(KMSError):
        SM2Recipients(public_keys=[p1], private_key=d2).unwrap(only1, associated_data=b"")


def test_recipient_secrets_not_revealed(pair) -> None:
    d, _ = pair
    kms = SM2Recipients(private_key=d)
    assert d not in repr(kms) and d not in str(kms.state())
    with pytest.raises(TypeError):
        pickle.dumps(kms)


def test_key_ring_over_sm2_recipients(tmp_path: Path, pair, pair2) -> None:
    (d1, p1), (d2, p2) = pair, pair2
    path = tmp_path / "ring.json"
    ring = KeyRing.create(path, SM2Recipients(private_key=d1))
    ring.create_key("backup")
    with Vault(ring) as v:
        ct = v.encrypt("backup", b"payload", context={"file": "a"})
    # a writer with only public keys cannot open the ring
    with pytest.raises(KeyStoreError):
        KeyRing.open(path, SM2Recipients(public_keys=[p1]))
    # hand over to a new recipient: rewrap for p2, then only d2 opens it
    ring.kms.set_recipients([p2])  # type: ignore[attr-defined]
    ring.rotate_kek()
    with pytest.raises(KeyStoreError):
        KeyRing.open(path, SM2Recipients(private_key=d1))
    with Vault(KeyRing.open(path, SM2Recipients(private_key=d2))) as v:
        assert v.decrypt(ct, context={"file": "a"}) == b"payload"


def test_move_a_passphrase_ring_to_sm2_recipients(tmp_path: Path, pair) -> None:
    from vaultkit.keys import LocalKMS

    d, p = pair
    path = tmp_path / "ring.json"
    ring = KeyRing.create(path, LocalKMS(passphrase="pw", scrypt_n=2**10))
    ring.create_key("k")
    with Vault(ring) as v:
        ct = v.encrypt("k", b"moved", context={})
    assert ring.rotate_kek(to=SM2Recipients(public_keys=[p])) == 1
    assert ring.kms.kind == "sm2"
    with pytest.raises(KMSError):
        KeyRing.open(path, LocalKMS(passphrase="pw"))
    with Vault(KeyRing.open(path, SM2Recipients(private_key=d))) as v:
        assert v.decrypt(ct, context={}) == b"moved"
