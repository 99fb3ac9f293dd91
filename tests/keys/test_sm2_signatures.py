"""SM2 digital signatures (GM/T 0003.2-2012, GB/T 32918.2-2016): ``vaultkit.keys.sm2.sign/verify``.

Known answers, round trips, tampering, and cross-checks in both directions against two
independent implementations that run here: gmssl (``CryptSM2.sign_with_sm3``/``verify_with_sm3``,
whose Z_A is the standard's with the default identifier "1234567812345678") and OpenSSL 3
(``openssl pkeyutl -rawin -digest sm3`` on the key files vaultkit writes).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from gmssl import sm2 as gmssl_sm2
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultkit.errors import InputFormatError, InvalidKeyError, VaultkitTypeError
from vaultkit.keys import sm2
from vaultkit.keys._sm2_curve import SM2P256V1, Curve

# -- known answers -------------------------------------------------------------------------------
# Example 1: the 256-bit test curve of GM/T 0003.2-2012 Annex A (also draft-shen-sm2-ecdsa-02
# section 5 and OpenSSL's test/sm2_internal_test.c), identifier "ALICE123@YAHOO.COM".
TEST_CURVE = Curve(
    p=0x8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3,
    a=0x787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498,
    b=0x63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A,
    n=0x8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7,
    g=(
        0x421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D,
        0x0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2,
    ),
)
EXAMPLES = [
    pytest.param(
        TEST_CURVE,
        b"ALICE123@YAHOO.COM",
        0x128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263,
        (
            0x0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A,
            0x7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857,
        ),
        (
            0xF4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A,  # Z_A
            0xB524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76,  # e
        ),
        0x6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F,
        0x40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1,
        0x6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7,
        id="GM/T 0003.2 Annex A test curve",
    ),
    # Example 2: the recommended curve, GM/T 0003.5-2012 / GB/T 32918.5-2017 Annex A
    # (identifier "1234567812345678", message "message digest").
    pytest.param(
        SM2P256V1,
        b"1234567812345678",
        0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8,
        (
            0x09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020,
            0xCCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13,
        ),
        None,
        0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21,
        0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3,
        0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA,
        id="GM/T 0003.5 recommended curve",
    ),
]


@pytest.mark.parametrize(("curve", "uid", "d", "public", "z_e", "k", "r", "s"), EXAMPLES)
def test_standard_examples(
    curve: Curve,
    uid: bytes,
    d: int,
    public: tuple[int, int],
    z_e: tuple[int, int] | None,
    k: int,
    r: int,
    s: int,
) -> None:
    assert curve.mul(d, curve.g) == public
    digest = sm2._digest(curve, uid, public, b"message digest")
    if z_e is not None:  # the standard prints Z_A and e for the test curve
        assert int.from_bytes(sm2._z(curve, uid, public), "big") == z_e[0]
        assert digest == z_e[1]
    assert sm2._sign_digest(curve, d, digest, lambda: k) == (r, s)
    signature = sm2._encode_signature(r, s)
    assert sm2._verify_digest(curve, public, digest, signature)
    assert not sm2._verify_digest(curve, public, digest + 1, signature)


def test_recommended_curve_example_through_public_api() -> None:
    d = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
    public = sm2.public_key_of(d)
    r = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
    s = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA
    assert sm2.verify(public, b"message digest", sm2._encode_signature(r, s))
    assert sm2.verify(public, b"message digest", sm2.sign(d, b"message digest"))


def test_docs_example_runs() -> None:
    import re

    doc = (Path(__file__).parents[2] / "docs" / "sm2.md").read_text()
    block = re.search(r"```python\n(.*?)```", doc, re.S)
    assert block is not None
    exec(compile(block.group(1), "docs/sm2.md", "exec"), {})


# -- behaviour ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pair() -> tuple[str, str]:
    return sm2.generate_keypair()


@settings(max_examples=15, deadline=None)
@given(message=st.binary(max_size=300), uid=st.binary(max_size=40))
def test_round_trip(pair: tuple[str, str], message: bytes, uid: bytes) -> None:
    private, public = pair
    signature = sm2.sign(private, message, uid=uid)
    assert sm2.verify(public, message, signature, uid=uid)
    assert sm2._decode_signature(signature) is not None
    assert sm2._encode_signature(*sm2._decode_signature(signature)) == signature  # canonical
    assert not sm2.verify(public, message, signature, uid=uid + b"x")


def test_signatures_are_randomized(pair: tuple[str, str]) -> None:
    private, _ = pair
    assert sm2.sign(private, b"m") != sm2.sign(private, b"m")


def test_every_bit_flip_is_refused(pair: tuple[str, str]) -> None:
    private, public = pair
    message = b"pay 100 to 6222 0000"
    signature = sm2.sign(private, message)
    for i in range(len(message) * 8):
        flipped = bytearray(message)
        flipped[i // 8] ^= 1 << (i % 8)
        assert not sm2.verify(public, bytes(flipped), signature)
    for i in range(len(signature) * 8):
        flipped = bytearray(signature)
        flipped[i // 8] ^= 1 << (i % 8)
        assert not sm2.verify(public, message, bytes(flipped))


def test_other_key_refused(pair: tuple[str, str]) -> None:
    private, _ = pair
    _, other = sm2.generate_keypair()
    assert not sm2.verify(other, b"m", sm2.sign(private, b"m"))


def _der_int(v: bytes) -> bytes:
    return bytes([0x02, len(v)]) + v


def _seq(body: bytes) -> bytes:
    return bytes([0x30, len(body)]) + body


def test_strict_der_and_ranges(pair: tuple[str, str]) -> None:
    private, public = pair
    signature = sm2.sign(private, b"m")
    r, s = sm2._decode_signature(signature)  # type: ignore[misc]
    n = SM2P256V1.n

    def enc(v: int, pad: int = 0) -> bytes:
        return _der_int(b"\x00" * pad + v.to_bytes(v.bit_length() // 8 + 1, "big"))

    bad = [
        b"",
        signature + b"\x00",  # trailing data
        signature[:-1],
        b"\x31" + signature[1:],  # SET, not SEQUENCE
        _seq(enc(r, 1) + enc(s)),  # non-minimal INTEGER
        _seq(enc(r) + enc(s) + enc(1)),  # a third INTEGER
        _seq(enc(r)),
        bytes([0x30, 0x81, len(signature) - 2]) + signature[2:],  # long-form length
        _seq(enc(0) + enc(s)),  # r = 0
        _seq(enc(r) + enc(0)),  # s = 0
        _seq(enc(r + n) + enc(s)),  # r >= n (same value mod n)
        _seq(enc(r) + enc(s + n)),
        _seq(_der_int(b"\xff" + r.to_bytes(32, "big")[1:]) + enc(s)),  # negative
        _seq(enc(n - s) + enc(s)),  # r + s = n
    ]
    assert sm2.verify(public, b"m", _seq(enc(r) + enc(s)))
    for signature_bytes in bad:
        assert not sm2.verify(public, b"m", signature_bytes)


def test_malformed_keys_raise_typed_errors(pair: tuple[str, str]) -> None:
    private, public = pair
    signature = sm2.sign(private, b"m")
    for key in ("", "04" + "00" * 64, public[:-2] + "zz", "04" + "01" * 64):
        with pytest.raises(InvalidKeyError):
            sm2.verify(key, b"m", signature)
    for key in ("", "00" * 32, f"{SM2P256V1.n - 1:064x}", "g" * 64):
        with pytest.raises(InvalidKeyError) as info:
            sm2.sign(key, b"m")
        assert key not in str(info.value) or not key
    with pytest.raises(VaultkitTypeError):
        sm2.sign(private, "text")  # type: ignore[arg-type]
    with pytest.raises(VaultkitTypeError):
        sm2.verify(public, b"m", "sig")  # type: ignore[arg-type]
    with pytest.raises(InputFormatError):
        sm2.sign(private, b"m", uid=b"x" * 8192)


def test_private_key_and_nonce_never_in_errors(pair: tuple[str, str]) -> None:
    private, _ = pair
    with pytest.raises(VaultkitTypeError) as info:
        sm2.sign(private, None)  # type: ignore[arg-type]
    chain = [info.value, info.value.__context__, info.value.__cause__]
    assert all(private not in repr(e) for e in chain)


# -- independent implementations ---------------------------------------------------------------
def test_gmssl_verifies_vaultkit_and_vaultkit_verifies_gmssl(pair: tuple[str, str]) -> None:
    private, public = pair
    engine = gmssl_sm2.CryptSM2(private_key=private, public_key=public[2:])
    for message in (b"", b"abc", bytes(range(256)) * 3):
        r, s = sm2._decode_signature(sm2.sign(private, message))  # type: ignore[misc]
        assert engine.verify_with_sm3(f"{r:064x}{s:064x}", message)
        raw = engine.sign_with_sm3(message)
        ours = sm2._encode_signature(int(raw[:64], 16), int(raw[64:], 16))
        assert sm2.verify(public, message, ours)
        assert not sm2.verify(public, message + b"!", ours)


def test_gmssl_with_another_identifier(pair: tuple[str, str]) -> None:
    """gmssl hard-codes the default identifier in sign_with_sm3; its sign() takes e directly,
    computed here from an independently built Z_A (hashlib's SM3)."""
    import hashlib

    private, public = pair
    uid = b"operator@bank.example"
    fields = (SM2P256V1.a, SM2P256V1.b, *SM2P256V1.g)
    z = hashlib.new(
        "sm3",
        (len(uid) * 8).to_bytes(2, "big")
        + uid
        + b"".join(v.to_bytes(32, "big") for v in fields)
        + bytes.fromhex(public[2:]),
    ).digest()
    e = hashlib.new("sm3", z + b"msg").digest()
    engine = gmssl_sm2.CryptSM2(private_key=private, public_key=public[2:])
    raw = engine.sign(e, f"{1 + 12345:064x}")
    assert sm2.verify(
        public, b"msg", sm2._encode_signature(int(raw[:64], 16), int(raw[64:], 16)), uid=uid
    )
    r, s = sm2._decode_signature(sm2.sign(private, b"msg", uid=uid))  # type: ignore[misc]
    assert engine.verify(f"{r:064x}{s:064x}", e)


@pytest.fixture
def openssl() -> str:
    path = shutil.which("openssl")
    assert path, "openssl is needed for the SM2 interoperability tests"
    version = subprocess.run([path, "version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("OpenSSL 3."), version  # pkeyutl -rawin -digest needs OpenSSL 3
    return path


def test_openssl_both_directions_on_vaultkit_key_files(
    tmp_path: Path, openssl: str, pair: tuple[str, str]
) -> None:
    private, public = pair
    key, pub, msg = tmp_path / "op.key", tmp_path / "op.pub", tmp_path / "msg"
    sm2.save_private_key(key, private)
    sm2.save_public_key(pub, public)
    msg.write_bytes(b"vaultkit backup header\x00\xff")
    # OpenSSL 3.0's pkeyutl uses an empty identifier unless told: pass the standard's default
    distid = ["-pkeyopt", "distid:1234567812345678"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([openssl, *args], capture_output=True, text=True, check=False)

    assert run("pkey", "-in", str(key), "-noout").returncode == 0
    assert run("pkey", "-pubin", "-in", str(pub), "-noout").returncode == 0

    # vaultkit signs, OpenSSL verifies
    sig = tmp_path / "vk.sig"
    sig.write_bytes(sm2.sign(private, msg.read_bytes()))
    common = ["-rawin", "-digest", "sm3", "-in", str(msg), "-sigfile", str(sig), *distid]
    ok = run("pkeyutl", "-verify", "-pubin", "-inkey", str(pub), *common)
    assert ok.returncode == 0 and "Verified Successfully" in ok.stdout, ok.stdout + ok.stderr
    sig.write_bytes(sm2.sign(private, msg.read_bytes() + b"x"))
    assert run("pkeyutl", "-verify", "-pubin", "-inkey", str(pub), *common).returncode != 0

    # OpenSSL signs, vaultkit verifies
    out = tmp_path / "ossl.sig"
    signed = run(
        "pkeyutl", "-sign", "-inkey", str(key), "-rawin", "-digest", "sm3",
        "-in", str(msg), "-out", str(out), *distid,
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    assert sm2.verify(public, msg.read_bytes(), out.read_bytes())
    assert not sm2.verify(public, msg.read_bytes() + b"x", out.read_bytes())

    # with no distid both sides agree on the empty identifier
    empty = tmp_path / "empty.sig"
    assert run(
        "pkeyutl", "-sign", "-inkey", str(key), "-rawin", "-digest", "sm3",
        "-in", str(msg), "-out", str(empty),
    ).returncode == 0  # fmt: skip
    assert sm2.verify(public, msg.read_bytes(), empty.read_bytes(), uid=b"")
