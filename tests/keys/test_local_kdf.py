"""LocalKMS's passphrase KDF is scrypt as RFC 7914 defines it (the standard library's, which
loads no cipher module: a key ring's KDF runs before the ciphers are imported, issue 16), and
``vaultkit.keys`` imports each public name on first use."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from vaultkit.hazmat import _fast
from vaultkit.keys import LocalKMS, WrappedKey
from vaultkit.keys._local import _scrypt

# RFC 7914 section 12: (passphrase, salt, N, r, p, 64-byte output)
RFC7914 = [
    (b"", b"", 16, 1, 1,
     "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
     "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"),
    (b"password", b"NaCl", 1024, 8, 16,
     "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
     "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"),
    (b"pleaseletmein", b"SodiumChloride", 16384, 8, 1,
     "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
     "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"),
]  # fmt: skip


@pytest.mark.parametrize(("secret", "salt", "n", "r", "p", "expected"), RFC7914)
def test_the_kdf_matches_rfc_7914(
    secret: bytes, salt: bytes, n: int, r: int, p: int, expected: str
) -> None:
    assert _scrypt(bytearray(secret), salt, n, r, p, 64).hex() == expected


@pytest.mark.parametrize("seed", range(6))
def test_a_kek_derived_with_cryptography_scrypt_opens_what_local_kms_wraps(seed: int) -> None:
    """Random costs, salts and passphrases: the KEK LocalKMS uses is cryptography's Scrypt of
    the stored salt and costs (a key wrapped under that KEK by hand unwraps, and back)."""
    rng = random.Random(seed)
    n, r, p = 2 ** rng.randint(10, 12), rng.randint(1, 8), rng.randint(1, 2)
    algorithm = rng.choice(["SM4-GCM", "AES-256-GCM"])
    passphrase = os.urandom(rng.randint(1, 40))
    kms = LocalKMS(passphrase=passphrase, algorithm=algorithm, scrypt_n=n, scrypt_r=r, scrypt_p=p)
    kms.initialize()
    [version] = kms.state()["versions"]  # type: ignore[misc]
    assert (version["n"], version["r"], version["p"]) == (n, r, p)
    length = 16 if algorithm == "SM4-GCM" else 32
    kek = Scrypt(salt=bytes.fromhex(version["salt"]), length=length, n=n, r=r, p=p).derive(
        passphrase
    )
    dek, nonce = os.urandom(32), os.urandom(12)
    by_hand = nonce + _fast.aead(algorithm, kek).encrypt(nonce, dek, b"ad")
    assert kms.unwrap(WrappedKey(kms.kek_id, 1, by_hand), associated_data=b"ad") == dek
    wrapped = kms.wrap(dek, associated_data=b"ad")
    blob = wrapped.blob
    assert _fast.aead(algorithm, kek).decrypt(blob[:12], blob[12:], b"ad") == dek


_LAZY = """
import sys
import vaultkit.keys as keys
keys.LocalKMS, keys.KeyRing, keys.Algorithm
heavy = sorted(m for m in sys.modules if m.startswith(("cryptography", "vaultkit.hazmat.bindings")))
assert heavy == [], heavy
for name in keys.__all__:
    assert getattr(keys, name).__module__.startswith("vaultkit.keys."), name
assert set(keys.__all__) <= set(dir(keys))
assert callable(keys.sm2.fingerprint)
try:
    keys.NoSuchName
except AttributeError as exc:
    assert "NoSuchName" in str(exc)
else:
    raise AssertionError("no AttributeError")
print("ok")
"""


def test_vaultkit_keys_imports_each_name_on_first_use() -> None:
    proc = subprocess.run([sys.executable, "-c", _LAZY], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr
