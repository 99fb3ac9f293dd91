"""One-way verifiers for C3 authentication data (passwords, PINs, CVN2).

Stored form (PHC string format; salt and hash in base64 without padding)::

    $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>      (RFC 9106)
    $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>                   (RFC 7914)

With a ``pepper`` (a secret key kept outside the database, at least 16 bytes), the secret is
first replaced by HMAC-SHA256(pepper, secret): a stolen table alone then cannot be searched
offline, which matters for 6-digit PINs whose whole space is 10^6 guesses.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
from typing import Literal

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from vaultkit._nopickle import NoPickle
from vaultkit.errors import InputFormatError, InvalidKeyError, VaultkitTypeError

__all__ = ["Verifier"]

_ARGON2 = re.compile(r"\$argon2id\$v=19\$m=(\d{1,8}),t=(\d{1,3}),p=(\d{1,3})\$([^$]+)\$([^$]+)")
_SCRYPT = re.compile(r"\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([^$]+)\$([^$]+)")
# Caps on stored parameters, so a tampered row cannot make verify() take minutes or gigabytes.
_MAX_M, _MAX_T, _MAX_P, _MAX_LN, _MAX_R = 2**21, 16, 64, 22, 32
# scrypt needs 128 * r * N bytes (RFC 7914 5): capped like Argon2id's m (2 GiB), since
# ln = 22 and r = 32 together would ask for 16 GiB (cryptography sets no limit of its own).
_MAX_SCRYPT_MEMORY = 2**31
_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates: not encodable as UTF-8


def _scrypt_memory_ok(ln: int, r: int) -> bool:
    return 128 * r * (1 << ln) <= _MAX_SCRYPT_MEMORY


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InputFormatError("stored verifier is not valid base64") from None


def _int_opt(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise VaultkitTypeError(f"{name} must be an int in {low}..{high}")
    return value


class Verifier(NoPickle):
    """Hash and verify secrets one way: Argon2id (default, RFC 9106 second recommended
    parameters: 64 MiB, 3 passes, 4 lanes) or scrypt (N = 2^17, r = 8, p = 1).

    ``hash(secret)`` returns a self-describing string with a random 16-byte salt;
    ``verify(secret, stored)`` recomputes with the stored parameters and compares in constant
    time. Secrets are str (NFKC-normalized, UTF-8) or bytes.
    """

    __slots__ = ("_algorithm", "_ln", "_m", "_p", "_pepper", "_r", "_t")

    def __init__(
        self,
        *,
        algorithm: Literal["argon2id", "scrypt"] = "argon2id",
        memory_kib: int = 65536,
        passes: int = 3,
        lanes: int = 4,
        scrypt_log2_n: int = 17,
        scrypt_r: int = 8,
        scrypt_p: int = 1,
        pepper: bytes | None = None,
    ) -> None:
        if algorithm not in ("argon2id", "scrypt"):
            raise VaultkitTypeError("algorithm must be 'argon2id' or 'scrypt'")
        self._algorithm = algorithm
        self._p = _int_opt("lanes", lanes, 1, _MAX_P)
        self._m = _int_opt("memory_kib", memory_kib, 8 * self._p, _MAX_M)
        self._t = _int_opt("passes", passes, 1, _MAX_T)
        self._ln = _int_opt("scrypt_log2_n", scrypt_log2_n, 4, _MAX_LN)
        self._r = _int_opt("scrypt_r", scrypt_r, 1, _MAX_R)
        if not _scrypt_memory_ok(self._ln, self._r):
            raise VaultkitTypeError("scrypt memory 128 * scrypt_r * 2**scrypt_log2_n exceeds 2 GiB")
        if scrypt_p != 1:
            raise VaultkitTypeError("scrypt_p must be 1")
        if pepper is not None and (not isinstance(pepper, bytes) or len(pepper) < 16):
            raise InvalidKeyError("pepper must be at least 16 bytes")
        self._pepper = pepper

    def __repr__(self) -> str:
        return f"<Verifier {self._algorithm}{' with pepper' if self._pepper else ''}>"

    def hash(self, secret: str | bytes) -> str:
        """The stored form of ``secret`` (parameters, salt and hash)."""
        data = self._prepare(secret)
        salt = os.urandom(16)
        if self._algorithm == "argon2id":
            digest = self._argon2(data, salt, self._m, self._t, self._p)
            return f"$argon2id$v=19$m={self._m},t={self._t},p={self._p}${_b64(salt)}${_b64(digest)}"
        digest = self._scrypt(data, salt, self._ln, self._r, 1)
        return f"$scrypt$ln={self._ln},r={self._r},p=1${_b64(salt)}${_b64(digest)}"

    def verify(self, secret: str | bytes, stored: str) -> bool:
        """True if ``secret`` matches ``stored``; the comparison is constant-time. Raises
        ``InputFormatError`` for a malformed stored string or out-of-range parameters."""
        if not isinstance(stored, str):
            raise VaultkitTypeError("stored verifier must be a str")
        data = self._prepare(secret)
        if found := _ARGON2.fullmatch(stored):
            m, t, p = (int(found.group(i)) for i in (1, 2, 3))
            if not (1 <= p <= _MAX_P and 8 * p <= m <= _MAX_M and 1 <= t <= _MAX_T):
                raise InputFormatError("stored Argon2id parameters out of range")
            salt, expected = _unb64(found.group(4)), _unb64(found.group(5))
            self._check_sizes(salt, expected)
            digest = self._argon2(data, salt, m, t, p, len(expected))
        elif found := _SCRYPT.fullmatch(stored):
            ln, r, p = (int(found.group(i)) for i in (1, 2, 3))
            in_range = 4 <= ln <= _MAX_LN and 1 <= r <= _MAX_R and p == 1
            if not (in_range and _scrypt_memory_ok(ln, r)):
                raise InputFormatError("stored scrypt parameters out of range")
            salt, expected = _unb64(found.group(4)), _unb64(found.group(5))
            self._check_sizes(salt, expected)
            digest = self._scrypt(data, salt, ln, r, p, len(expected))
        else:
            raise InputFormatError("not a vaultkit verifier string ($argon2id$ or $scrypt$)")
        return hmac.compare_digest(digest, expected)

    def needs_rehash(self, stored: str) -> bool:
        """True if ``stored`` was made with other parameters than this verifier's."""
        if self._algorithm == "argon2id":
            prefix = f"$argon2id$v=19$m={self._m},t={self._t},p={self._p}$"
        else:
            prefix = f"$scrypt$ln={self._ln},r={self._r},p=1$"
        return not stored.startswith(prefix)

    # -- implementation --------------------------------------------------------------------------
    def _prepare(self, secret: str | bytes) -> bytes:
        if isinstance(secret, str):
            text = unicodedata.normalize("NFKC", secret)
            # checked first: a UnicodeEncodeError (even as __context__) holds the whole secret
            if _SURROGATE.search(text):
                raise InputFormatError("a secret must be valid Unicode (no lone surrogate)")
            data = text.encode("utf-8")
        elif isinstance(secret, bytes):
            data = secret
        else:
            raise VaultkitTypeError("a secret is str or bytes")
        if self._pepper is not None:
            data = hmac.new(self._pepper, data, hashlib.sha256).digest()
        return data

    @staticmethod
    def _check_sizes(salt: bytes, expected: bytes) -> None:
        if not (8 <= len(salt) <= 64 and 16 <= len(expected) <= 64):
            raise InputFormatError("stored verifier has a bad salt or hash size")

    @staticmethod
    def _argon2(data: bytes, salt: bytes, m: int, t: int, p: int, n: int = 32) -> bytes:
        kdf = Argon2id(salt=salt, length=n, iterations=t, lanes=p, memory_cost=m)
        return kdf.derive(data)

    @staticmethod
    def _scrypt(data: bytes, salt: bytes, ln: int, r: int, p: int, n: int = 32) -> bytes:
        return Scrypt(salt=salt, length=n, n=2**ln, r=r, p=p).derive(data)
