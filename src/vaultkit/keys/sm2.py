"""SM2 (GM/T 0003-2012, GB/T 32918) key pairs, key files and public-key encryption.

Public functions (used by ``vaultkit sm2 keygen`` and :class:`~vaultkit.keys.SM2Recipients`):

* :func:`generate_keypair` ``-> (private_hex, public_hex)``: 64 hex digits (the scalar ``d``)
  and 130 hex digits (``04 || x || y``);
* :func:`public_key_of` ``(private_hex) -> public_hex``;
* :func:`save_private_key` ``(path, private_hex)`` writes PKCS#8 PEM (mode 0600, refuses to
  overwrite); :func:`save_public_key` ``(path, public_hex)`` writes SubjectPublicKeyInfo PEM.
  Both are what ``openssl pkey`` reads and writes for SM2 keys;
* :func:`load_private_key` / :func:`load_public_key` ``(path) -> hex`` read those PEM forms,
  SEC1 ``EC PRIVATE KEY`` PEM, or bare hex;
* :func:`encrypt` ``(public_hex, message) -> bytes`` / :func:`decrypt` ``(private_hex,
  ciphertext) -> bytes``: GM/T 0003.4 public-key encryption, ciphertext ``C1 || C3 || C2`` with
  ``C1 = 04 || x1 || y1`` (65 bytes), ``C3`` the 32-byte SM3 check value.

* :func:`sign` ``(private_hex, message, *, uid) -> bytes`` / :func:`verify` ``(public_hex,
  message, signature, *, uid) -> bool``: GM/T 0003.2-2012 (GB/T 32918.2-2016) digital
  signatures, DER ``SEQUENCE { INTEGER r, INTEGER s }`` over ``e = SM3(Z_A || M)``, the form
  OpenSSL's ``pkeyutl -rawin -digest sm3`` and gmssl's ``sign_with_sm3`` use.

The curve arithmetic is :mod:`vaultkit.keys._sm2_curve` (pure Python, a Montgomery ladder with
no key-dependent branches; a few tens of ms per operation: fine for wrapping keys and signing
headers, not for bulk data). vaultkit does not use gmssl's ``encrypt``, ``decrypt`` or ``sign``:
they draw the ephemeral scalar from Python's non-cryptographic ``random`` and ``decrypt`` never
checks C3. Here the scalars come from :mod:`secrets`, C1 is checked to lie on the curve and C3
is compared in constant time. gmssl and OpenSSL serve as independent implementations in the
tests.

One module (about 450 lines) because it is one public API over one algorithm, and this module
is that API (``vaultkit.keys.sm2``): the key encodings and the three SM2 operations share the
point and scalar checks; the arithmetic already lives apart (``_sm2_curve``).
"""

from __future__ import annotations

import base64
import hmac
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from vaultkit.errors import InputFormatError, InvalidKeyError, KMSError, VaultkitTypeError
from vaultkit.hazmat.hashes import sm3
from vaultkit.keys._sm2_curve import SM2P256V1, Curve

__all__ = [
    "decrypt",
    "encrypt",
    "fingerprint",
    "generate_keypair",
    "load_private_key",
    "load_public_hex",
    "load_public_key",
    "public_key_of",
    "save_private_key",
    "save_public_key",
    "sign",
    "verify",
]

# GM/T 0003.5-2012 recommended curve parameters
_CURVE = SM2P256V1
_P, _A, _B, _N = _CURVE.p, _CURVE.a, _CURVE.b, _CURVE.n
_G = f"{_CURVE.g[0]:064x}{_CURVE.g[1]:064x}"
DEFAULT_UID = b"1234567812345678"  # GM/T 0009-2012 clause 10: the default distinguishing identifier

_OID_EC = bytes.fromhex("06072a8648ce3d0201")  # 1.2.840.10045.2.1 id-ecPublicKey
_OID_SM2 = bytes.fromhex("06082a811ccf5501822d")  # 1.2.156.10197.1.301 sm2p256v1


# -- arithmetic --------------------------------------------------------------------------------
def _mul(k: int, point_hex: str) -> tuple[int, int]:
    point = _CURVE.mul(k, (int(point_hex[:64], 16), int(point_hex[64:128], 16)))
    if point is None:  # not reached: k in [1, n-1] and points of prime order n
        raise KMSError("SM2 point at infinity")
    return point


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < _P and 0 <= y < _P and (y * y - (x * x * x + _A * x + _B)) % _P == 0


def _point_hex(x: int, y: int) -> str:
    return f"{x:064x}{y:064x}"


def _kdf(z: bytes, klen: int) -> bytes:
    # GM/T 0003.4-2012 5.4.3: SM3(Z || ct) for ct = 1, 2, ... (32-bit big-endian)
    out = b"".join(sm3(z + ct.to_bytes(4, "big")) for ct in range(1, (klen + 31) // 32 + 1))
    return out[:klen]


def _parse_public(public_hex: str) -> tuple[int, int]:
    text = public_hex.strip().lower()
    if len(text) == 130 and text.startswith("04"):
        text = text[2:]
    if len(text) != 128 or not re.fullmatch(r"[0-9a-f]+", text):
        raise InvalidKeyError("an SM2 public key is 04 || x || y in hex (130 digits)")
    x, y = int(text[:64], 16), int(text[64:], 16)
    if not _on_curve(x, y):
        raise InvalidKeyError("SM2 public key is not a point of the curve")
    return x, y


def _parse_private(private_hex: str) -> int:
    text = private_hex.strip().lower()
    if len(text) != 64 or not re.fullmatch(r"[0-9a-f]+", text):
        raise InvalidKeyError("an SM2 private key is 64 hex digits")
    d = int(text, 16)
    if not 1 <= d <= _N - 2:
        raise InvalidKeyError("SM2 private key out of range")
    return d


def generate_keypair() -> tuple[str, str]:
    """A new SM2 key pair ``(private_hex, public_hex)`` (GM/T 0003.1 6.1)."""
    d = 1 + secrets.randbelow(_N - 2)
    return f"{d:064x}", public_key_of(f"{d:064x}")


def public_key_of(private_hex: str) -> str:
    """``04 || x || y`` (hex) of ``d * G``."""
    x, y = _mul(_parse_private(private_hex), _G)
    return "04" + _point_hex(x, y)


def load_public_hex(public_hex: str) -> str:
    """``public_hex`` checked (a point of the curve) and normalized to ``04 || x || y``."""
    x, y = _parse_public(public_hex)
    return "04" + _point_hex(x, y)


def fingerprint(public_hex: str) -> bytes:
    """First 8 bytes of SM3 over the 65-byte public key: names a recipient in wrapped keys."""
    x, y = _parse_public(public_hex)
    return sm3(b"\x04" + bytes.fromhex(_point_hex(x, y)))[:8]


def encrypt(public_hex: str, message: bytes) -> bytes:
    """GM/T 0003.4-2012 6.1 encryption of ``message``: ``C1 || C3 || C2``."""
    px, py = _parse_public(public_hex)
    if not message:
        raise KMSError("SM2 encrypts a non-empty message")
    while True:
        k = 1 + secrets.randbelow(_N - 1)  # A1
        x1, y1 = _mul(k, _G)  # A2
        x2, y2 = _mul(k, _point_hex(px, py))  # A4 (h = 1: A3 holds)
        b2 = x2.to_bytes(32, "big") + y2.to_bytes(32, "big")
        t = _kdf(b2, len(message))  # A5
        if any(t):
            break
    c2 = bytes(m ^ s for m, s in zip(message, t, strict=True))  # A6
    c3 = sm3(b2[:32] + message + b2[32:])  # A7
    return b"\x04" + x1.to_bytes(32, "big") + y1.to_bytes(32, "big") + c3 + c2


def decrypt(private_hex: str, ciphertext: bytes) -> bytes:
    """GM/T 0003.4-2012 7.1 decryption; ``KMSError`` for anything that does not check out."""
    d = _parse_private(private_hex)
    if len(ciphertext) < 65 + 32 + 1 or ciphertext[0] != 4:
        raise KMSError("not an SM2 ciphertext")
    x1, y1 = int.from_bytes(ciphertext[1:33], "big"), int.from_bytes(ciphertext[33:65], "big")
    if not _on_curve(x1, y1):  # B1
        raise KMSError("SM2 ciphertext does not decrypt")
    c3, c2 = ciphertext[65:97], ciphertext[97:]
    x2, y2 = _mul(d, _point_hex(x1, y1))  # B3
    b2 = x2.to_bytes(32, "big") + y2.to_bytes(32, "big")
    t = _kdf(b2, len(c2))  # B4
    message = bytes(c ^ s for c, s in zip(c2, t, strict=True))  # B5
    if not any(t) or not hmac.compare_digest(sm3(b2[:32] + message + b2[32:]), c3):  # B6
        raise KMSError("SM2 ciphertext does not decrypt")
    return message


# -- signatures: GM/T 0003.2-2012, GB/T 32918.2-2016 ----------------------------------------
_MAX_UID_SIZE = 0xFFFF // 8  # ENTL_A is the identifier's length in bits, in two bytes


def _bytes_arg(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise VaultkitTypeError(f"{what} must be bytes")
    return bytes(value)


def _uid(uid: object) -> bytes:
    data = _bytes_arg(uid, "uid")
    if len(data) > _MAX_UID_SIZE:
        raise InputFormatError(f"an SM2 distinguishing identifier is at most {_MAX_UID_SIZE} bytes")
    return data


def _z(curve: Curve, uid: bytes, public: tuple[int, int]) -> bytes:
    """5.5: Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)."""
    size = (curve.p.bit_length() + 7) // 8
    fields = (curve.a, curve.b, *curve.g, *public)
    entl = (len(uid) * 8).to_bytes(2, "big")
    return sm3(entl + uid + b"".join(v.to_bytes(size, "big") for v in fields))


def _digest(curve: Curve, uid: bytes, public: tuple[int, int], message: bytes) -> int:
    """6.1 A1-A2 (and 7.1 B3-B4): e = SM3(Z_A || M) as an integer."""
    return int.from_bytes(sm3(_z(curve, uid, public) + message), "big")


def _sign_digest(curve: Curve, d: int, e: int, nonce: Callable[[], int]) -> tuple[int, int]:
    """6.1 A3-A6 for the digest ``e``; ``nonce()`` draws k in [1, n-1] (fixed in the tests)."""
    n = curve.n
    # (1 + d)^-1 mod n, blinded: the inversion (a variable-time algorithm) only sees (1 + d) * b
    b = 1 + secrets.randbelow(n - 1)
    inverse = b * pow((1 + d) * b % n, -1, n) % n
    while True:
        k = nonce()  # A3
        point = curve.mul(k, curve.g)  # A4
        if point is None:
            continue
        r = (e + point[0]) % n  # A5
        s = inverse * (k - r * d) % n  # A6
        if r != 0 and (r + k) % n != 0 and s != 0:  # else back to A3 (probability ~2^-255)
            return r, s


def _der_integer(v: int) -> bytes:
    return _der(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big"))  # sign bit stays clear


def _encode_signature(r: int, s: int) -> bytes:
    return _der(0x30, _der_integer(r) + _der_integer(s))


def _decode_signature(signature: bytes) -> tuple[int, int] | None:
    """``(r, s)`` from strict DER (short lengths, minimal positive INTEGERs, nothing after),
    or ``None``. A 256-bit curve's signature is at most 72 bytes, so every length is short."""
    if len(signature) < 8 or signature[0] != 0x30 or signature[1] != len(signature) - 2:
        return None
    body, values, i = signature[2:], [], 0
    for _ in range(2):
        if i + 2 > len(body) or body[i] != 0x02:
            return None
        size = body[i + 1]
        if not 1 <= size <= 33 or i + 2 + size > len(body):
            return None
        value = body[i + 2 : i + 2 + size]
        if value[0] & 0x80 or (size > 1 and value[0] == 0 and not value[1] & 0x80):
            return None  # negative, or not minimal
        values.append(int.from_bytes(value, "big"))
        i += 2 + size
    if i != len(body):
        return None
    return values[0], values[1]


def sign(private_hex: str, message: bytes, *, uid: bytes = DEFAULT_UID) -> bytes:
    """GM/T 0003.2-2012 6.1 signature of ``message`` by ``private_hex`` with the signer's
    distinguishing identifier ``uid``: DER ``SEQUENCE { INTEGER r, INTEGER s }``.

    ``k`` comes from :mod:`secrets`; neither ``k`` nor the key appears in any error.
    """
    data = _bytes_arg(message, "message")
    ident = _uid(uid)
    d = _parse_private(private_hex)
    public = _CURVE.mul(d, _CURVE.g)
    assert public is not None  # d in [1, n-2]
    e = _digest(_CURVE, ident, public, data)
    r, s = _sign_digest(_CURVE, d, e, lambda: 1 + secrets.randbelow(_N - 1))
    return _encode_signature(r, s)


def verify(public_hex: str, message: bytes, signature: bytes, *, uid: bytes = DEFAULT_UID) -> bool:
    """GM/T 0003.2-2012 7.1: whether ``signature`` (strict DER) is ``public_hex``'s signature
    of ``message`` under ``uid``. ``False`` for every bad or malformed signature;
    ``InvalidKeyError`` only for a malformed public key."""
    public = _parse_public(public_hex)
    data = _bytes_arg(message, "message")
    raw = _bytes_arg(signature, "signature")
    ident = _uid(uid)
    return _verify_digest(_CURVE, public, _digest(_CURVE, ident, public, data), raw)


def _verify_digest(curve: Curve, public: tuple[int, int], e: int, signature: bytes) -> bool:
    decoded = _decode_signature(signature)
    if decoded is None:
        return False
    r, s = decoded
    n = curve.n
    if not (1 <= r < n and 1 <= s < n):  # B1, B2
        return False
    t = (r + s) % n  # B5
    if t == 0:
        return False
    point = curve.add(curve.mul(s, curve.g), curve.mul(t, public))  # B6
    if point is None:
        return False
    return (e + point[0]) % n == r  # B7


# -- DER / PEM -------------------------------------------------------------------------------
def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    """Top-level TLVs of ``data`` (definite lengths only)."""
    items, i = [], 0
    while i < len(data):
        if i + 2 > len(data):
            raise ValueError
        tag, n = data[i], data[i + 1]
        i += 2
        if n & 0x80:
            size = n & 0x7F
            if size == 0 or size > 4 or i + size > len(data):
                raise ValueError
            n = int.from_bytes(data[i : i + size], "big")
            i += size
        if i + n > len(data):
            raise ValueError
        items.append((tag, data[i : i + n]))
        i += n
    return items


def _pem(label: str, der: bytes) -> str:
    b64 = base64.b64encode(der).decode()
    lines = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def _unpem(text: str) -> tuple[str, bytes] | None:
    m = re.search(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", text, re.S)
    if m is None:
        return None
    try:
        return m.group(1), base64.b64decode("".join(m.group(2).split()), validate=True)
    except ValueError:
        raise InvalidKeyError("damaged PEM key file") from None


def _spki(public_hex: str) -> bytes:
    x, y = _parse_public(public_hex)
    point = b"\x04" + bytes.fromhex(_point_hex(x, y))
    return _der(0x30, _der(0x30, _OID_EC + _OID_SM2) + _der(0x03, b"\x00" + point))


def _pkcs8(private_hex: str) -> bytes:
    d = _parse_private(private_hex)
    public = bytes.fromhex(public_key_of(private_hex))
    ec = _der(
        0x30,
        _der(0x02, b"\x01")
        + _der(0x04, d.to_bytes(32, "big"))
        + _der(0xA1, _der(0x03, b"\x00" + public)),
    )
    return _der(0x30, _der(0x02, b"\x00") + _der(0x30, _OID_EC + _OID_SM2) + _der(0x04, ec))


def _private_from_ec(der: bytes) -> str:
    # RFC 5915 ECPrivateKey: SEQUENCE { INTEGER 1, OCTET STRING d, [0] params, [1] public }
    ((tag, body),) = _der_items(der)
    items = _der_items(body)
    if tag != 0x30 or items[0] != (0x02, b"\x01") or items[1][0] != 0x04:
        raise ValueError
    return items[1][1].rjust(32, b"\x00").hex()


def _read_text(path: str | os.PathLike[str]) -> str:
    try:
        return Path(path).read_text(encoding="ascii")
    except OSError as exc:
        raise InvalidKeyError(
            f"cannot read SM2 key file {os.fspath(path)!r}: {exc.strerror or type(exc).__name__}"
        ) from None
    except UnicodeDecodeError:
        # not str(exc): it quotes a byte of the file, which may be key material
        raise InvalidKeyError(f"SM2 key file {os.fspath(path)!r} is not PEM or hex text") from None


def _write_new(path: str | os.PathLike[str], text: str, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise KMSError(f"{os.fspath(path)} exists; not overwriting a key file") from None
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(text)


def save_private_key(path: str | os.PathLike[str], private_hex: str) -> None:
    """Write ``private_hex`` as PKCS#8 PEM, mode 0600; refuses to overwrite."""
    _write_new(path, _pem("PRIVATE KEY", _pkcs8(private_hex)), 0o600)


def save_public_key(path: str | os.PathLike[str], public_hex: str) -> None:
    """Write ``public_hex`` as SubjectPublicKeyInfo PEM (``-----BEGIN PUBLIC KEY-----``)."""
    _write_new(path, _pem("PUBLIC KEY", _spki(public_hex)), 0o644)


def load_private_key(path: str | os.PathLike[str]) -> str:
    """Private key (64 hex digits) from PKCS#8 or SEC1 PEM, or a file of hex."""
    text = _read_text(path)
    pem = _unpem(text)
    if pem is None:
        value = text.strip()
        _parse_private(value)
        return value.lower()
    label, der = pem
    try:
        if label == "EC PRIVATE KEY":
            value = _private_from_ec(der)
        elif label == "PRIVATE KEY":
            ((tag, body),) = _der_items(der)
            items = _der_items(body)
            if tag != 0x30 or items[0] != (0x02, b"\x00") or items[2][0] != 0x04:
                raise ValueError
            if _OID_SM2 not in items[1][1]:
                raise InvalidKeyError("the PEM key is not an SM2 key")
            value = _private_from_ec(items[2][1])
        else:
            raise InvalidKeyError(f"expected an SM2 private key, found {label}")
    except (ValueError, IndexError):
        raise InvalidKeyError("malformed SM2 private key file") from None
    _parse_private(value)
    return value


def load_public_key(path: str | os.PathLike[str]) -> str:
    """Public key (``04 || x || y``, 130 hex digits) from SubjectPublicKeyInfo PEM or hex."""
    text = _read_text(path)
    pem = _unpem(text)
    if pem is None:
        x, y = _parse_public(text)
        return "04" + _point_hex(x, y)
    label, der = pem
    if label != "PUBLIC KEY":
        raise InvalidKeyError(f"expected an SM2 public key, found {label}")
    try:
        ((tag, body),) = _der_items(der)
        alg, bits = _der_items(body)
        if tag != 0x30 or bits[0] != 0x03 or bits[1][:1] != b"\x00":
            raise ValueError
    except ValueError:
        raise InvalidKeyError("malformed SM2 public key file") from None
    if _OID_SM2 not in alg[1]:
        raise InvalidKeyError("the PEM key is not an SM2 key")
    x, y = _parse_public(bits[1][1:].hex())
    return "04" + _point_hex(x, y)
