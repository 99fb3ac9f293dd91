"""FF1 format-preserving encryption (NIST SP 800-38G) over SM4 or AES, with an explicit key.

Hazmat: FF1 is deterministic. Equal (value, tweak) pairs give equal outputs, and the tweak and
alphabet are part of the key's meaning: changing either changes every token. Use
``vaultkit.tokens`` for card, ID and phone numbers.

Values are strings over an alphabet (radix <= 62 by default: the first ``radix`` characters of
``0-9a-zA-Z``; any alphabet of distinct characters with ``alphabet=``) or lists of integer
numerals (always accepted; the only form for radix > 62 without an alphabet). Each method returns
the same form it was given. Domain: ``radix ** len(value) >= 1_000_000`` (SP 800-38G Rev. 1
draft minimum; refused with :class:`~vaultkit.errors.DomainTooSmallError`) and at most
2^32 - 1 numerals. Characters outside the alphabet raise
:class:`~vaultkit.errors.InputFormatError` (value masked); tweaks are at most 2^32 - 1 bytes.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Literal, TypeVar, cast, overload

from vaultkit.errors import (
    DomainTooSmallError,
    InputFormatError,
    UnsupportedAlgorithmError,
    VaultkitTypeError,
)
from vaultkit.hazmat import _fast
from vaultkit.hazmat._args import SecretHolder, require_bytes, require_key

__all__ = ["DEFAULT_ALPHABET", "FF1", "MAX_LENGTH", "MAX_RADIX", "MIN_DOMAIN", "MIN_RADIX"]

DEFAULT_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
MIN_RADIX = 2
MAX_RADIX = 65536  # SP 800-38G 5.1: radix in [2..2^16]
MIN_DOMAIN = 1_000_000  # SP 800-38G Rev. 1 (2pd): radix^minlen >= 1,000,000
MAX_LENGTH = 2**32 - 1  # SP 800-38G 5.2: maxlen <= 2^32
MAX_TWEAK = 2**32 - 1  # SP 800-38G 5.2: maxTlen <= 2^32 - 1 bytes
_KEY_SIZES = {"SM4": (16,), "AES": (16, 24, 32)}
_INVALID = 0xFF  # marks a byte outside an ASCII alphabet (ASCII alphabets have radix <= 128)
_DIGITS_MAX = 19  # decimal strings up to this length: vk_ff1_crypt_digits (native backend)
_NOT_DIGITS = 2**64 - 1  # what it returns for input it does not take

V = TypeVar("V", str, list[int])
# vk_ff1_crypt_digits(handle, tweak, len(tweak), ascii_digits, length, decrypt) (_fast.ff1_digits)
_CryptDigits = Callable[[object, bytes, int, bytes, int, int], int]


class FF1(SecretHolder):
    """FF1 with ``cipher="SM4"`` (16-byte key) or ``"AES"`` (16/24/32-byte key).

    ``radix`` defaults to ``len(alphabet)`` when an alphabet is given, else 10. The backend in
    use when the object is created does the work; ``encrypt_many`` makes one backend call.
    """

    __slots__ = (
        "_alphabet",
        "_crypt_digits",
        "_decode",
        "_digits_min",
        "_encode",
        "_handle",
        "_impl",
        "_index",
        "_min_len",
        "_radix",
        "_split",
    )

    def __init__(
        self,
        key: bytes,
        *,
        cipher: Literal["SM4", "AES"] = "SM4",
        radix: int | None = None,
        alphabet: str | None = None,
    ) -> None:
        if cipher not in _KEY_SIZES:
            raise UnsupportedAlgorithmError("FF1 cipher must be 'SM4' or 'AES'")
        material = require_key(key, _KEY_SIZES[cipher], f"FF1-{cipher}")
        if alphabet is not None:
            if not isinstance(alphabet, str):
                raise VaultkitTypeError("alphabet must be a str")
            if len(set(alphabet)) != len(alphabet):
                raise UnsupportedAlgorithmError("FF1 alphabet characters must be distinct")
            if radix is not None and radix != len(alphabet):
                raise UnsupportedAlgorithmError("FF1 radix must equal len(alphabet)")
            radix = len(alphabet)
        elif radix is None:
            radix = 10
        if isinstance(radix, bool) or not isinstance(radix, int):
            raise VaultkitTypeError("radix must be an int")
        if not MIN_RADIX <= radix <= MAX_RADIX:
            raise UnsupportedAlgorithmError("FF1 radix must be in 2..65536")
        if alphabet is None and radix <= len(DEFAULT_ALPHABET):
            alphabet = DEFAULT_ALPHABET[:radix]
        self._radix = radix
        self._alphabet = alphabet
        self._min_len = next(n for n in range(2, 21) if radix**n >= MIN_DOMAIN)
        self._index: dict[str, int] = {c: i for i, c in enumerate(alphabet or "")}
        self._encode: bytes | None = None
        self._decode: bytes | None = None
        self._split = not any(c.isspace() for c in alphabet or "")
        if alphabet is not None and alphabet.isascii():
            # byte -> numeral table (0xFF outside the alphabet) and its inverse
            enc = bytearray([_INVALID]) * 256
            for i, c in enumerate(alphabet):
                enc[ord(c)] = i
            self._encode = bytes(enc)
            self._decode = alphabet.encode("ascii").ljust(256, b"\0")
        self._impl = _fast.ff1(cipher, material, radix)
        # decimal strings on the native backend: single calls through vk_ff1_crypt_digits, for
        # lengths _digits_min.._DIGITS_MAX (_digits_min is past _DIGITS_MAX when there is none,
        # so the length test alone turns the path off)
        digits = _fast.ff1_digits(self._impl) if alphabet == "0123456789" else None
        self._crypt_digits: _CryptDigits = _no_digits
        self._handle: object = None
        self._digits_min = _DIGITS_MAX + 1
        if digits is not None:
            self._crypt_digits = cast("_CryptDigits", digits[0])  # takes the handle it comes with
            self._handle = digits[1]
            self._digits_min = self._min_len

    @property
    def radix(self) -> int:
        return self._radix

    @property
    def alphabet(self) -> str | None:
        """The alphabet of string values (``None``: integer numeral lists only)."""
        return self._alphabet

    @property
    def min_length(self) -> int:
        """Shortest allowed value: the least n with radix^n >= 1,000,000."""
        return self._min_len

    @overload
    def encrypt(self, value: str, tweak: bytes = b"") -> str: ...
    @overload
    def encrypt(self, value: list[int], tweak: bytes = b"") -> list[int]: ...
    def encrypt(self, value: str | list[int], tweak: bytes = b"") -> str | list[int]:
        """FF1.Encrypt (SP 800-38G 6.2 Algorithm 7) of one value."""
        # single calls are what most code makes. 6..19 decimal digits on the native backend: the
        # digits in, the number out, one C call that checks the digits (UTF-8 bytes of anything
        # else are not digits); what it refuses, and every other value, takes _one, which names
        # the rule. A lone surrogate (encode() raises) is left to _one outside the handler: the
        # error holds the value
        if type(value) is str and type(tweak) is bytes and len(tweak) <= MAX_TWEAK:
            try:
                raw = value.encode()
            except UnicodeEncodeError:
                raw = b""
            k = len(raw)
            if self._digits_min <= k <= _DIGITS_MAX and k <= MAX_LENGTH:
                n = self._crypt_digits(self._handle, tweak, len(tweak), raw, k, 0)
                if n != _NOT_DIGITS:
                    out = f"{n}"
                    return out if len(out) == k else out.zfill(k)
        return self._one(value, tweak, False)

    @overload
    def decrypt(self, value: str, tweak: bytes = b"") -> str: ...
    @overload
    def decrypt(self, value: list[int], tweak: bytes = b"") -> list[int]: ...
    def decrypt(self, value: str | list[int], tweak: bytes = b"") -> str | list[int]:
        """FF1.Decrypt (SP 800-38G 6.2 Algorithm 8) of one value."""
        # the fast path of encrypt, decrypting
        if type(value) is str and type(tweak) is bytes and len(tweak) <= MAX_TWEAK:
            try:
                raw = value.encode()
            except UnicodeEncodeError:
                raw = b""
            k = len(raw)
            if self._digits_min <= k <= _DIGITS_MAX and k <= MAX_LENGTH:
                n = self._crypt_digits(self._handle, tweak, len(tweak), raw, k, 1)
                if n != _NOT_DIGITS:
                    out = f"{n}"
                    return out if len(out) == k else out.zfill(k)
        return self._one(value, tweak, True)

    def encrypt_many(self, values: Sequence[V], tweak: bytes = b"") -> list[V]:
        """``encrypt`` of each value under one tweak, in one backend call."""
        return cast("list[V]", self._many(values, tweak, False))

    def decrypt_many(self, values: Sequence[V], tweak: bytes = b"") -> list[V]:
        """``decrypt`` of each value under one tweak, in one backend call."""
        return cast("list[V]", self._many(values, tweak, True))

    # -- implementation ------------------------------------------------------------------------

    def _one(self, value: object, tweak: object, decrypt: bool) -> str | list[int]:
        if type(tweak) is not bytes or len(tweak) > MAX_TWEAK:
            tweak = _tweak(tweak)
        encode = self._encode
        if encode is not None and type(value) is str and value.isascii():
            # fast path, ASCII alphabet: numerals are alphabet indexes (SP 800-38G 4.1); UTF-8
            # is ASCII here, and the codec default is the quickest to call. One value: the
            # backend's crypt_one (no lengths array); the rules are those of _many_ascii.
            numerals = value.encode().translate(encode)
            n = len(numerals)
            if _INVALID in numerals or n < self._min_len or n > MAX_LENGTH:
                self._many((value,), tweak, decrypt)  # raises the precise error
            out = self._impl.crypt_one(numerals, tweak, decrypt)
            return out.translate(self._decode).decode()
        result: str | list[int] = self._many((value,), tweak, decrypt)[0]
        return result

    def _many(self, values: object, tweak: object, decrypt: bool) -> list[str] | list[list[int]]:
        tweak = _tweak(tweak)
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise VaultkitTypeError("values must be a sequence of values")
        if not values:
            return []
        if type(values[0]) is str:
            if self._alphabet is None:
                raise VaultkitTypeError("radix > 62 without an alphabet takes integer lists")
            strings = cast("Sequence[str]", values)  # each item is checked below
            if self._encode is not None:
                return self._many_ascii(strings, tweak, decrypt)
            numerals, lengths = self._numerals(self._strings_to_numerals(strings))
            out = self._crypt(numerals, lengths, tweak, decrypt)
            return ["".join(self._alphabet[d] for d in ds) for ds in out]
        numerals, lengths = self._numerals([self._int_list(v) for v in values])
        return self._crypt(numerals, lengths, tweak, decrypt)

    def _many_ascii(self, values: Sequence[str], tweak: bytes, decrypt: bool) -> list[str]:
        """One translate over the joined batch, one backend call, one translate back: the
        per-value Python work is what limits a native batch, so every step here is a C loop."""
        assert self._encode is not None and self._decode is not None
        try:
            joined = "".join(values)
        except TypeError:
            raise VaultkitTypeError("values must be all str or all integer lists") from None
        if not joined.isascii():
            bad = next(v for v in values if not v.isascii())
            raise InputFormatError("character outside the FF1 alphabet", bad)
        numerals = joined.encode().translate(self._encode)
        if _INVALID in numerals:
            bad = next(v for v in values if _INVALID in v.encode("ascii").translate(self._encode))
            raise InputFormatError("character outside the FF1 alphabet", bad)
        sizes = set(map(len, values))
        shortest, longest = min(sizes), max(sizes)
        if shortest < self._min_len or longest > MAX_LENGTH:
            self._check_lengths(shortest, longest)
        count = len(values)
        if len(sizes) == 1:
            lengths = array("I", [shortest]) * count
        else:
            lengths = array("I", map(len, values))
        out = self._impl.crypt(numerals, lengths, tweak, decrypt)
        text = (out if type(out) is bytes else bytes(out)).translate(self._decode)
        if len(sizes) == 1 and self._split and shortest <= 64:
            # equal lengths: interleave a space after each value (one strided copy per numeral
            # position), then one C-level split
            step = shortest + 1
            spaced = bytearray(b" ") * (count * step - 1)
            for k in range(shortest):
                spaced[k::step] = text[k::shortest]
            return spaced.decode("ascii").split()
        text_str = text.decode("ascii")
        if len(sizes) == 1:
            return [text_str[i : i + shortest] for i in range(0, len(text_str), shortest)]
        ends = accumulate(lengths)
        return [text_str[e - n : e] for e, n in zip(ends, lengths, strict=True)]

    def _strings_to_numerals(self, values: Sequence[str]) -> list[list[int]]:
        index = self._index
        out = []
        for v in values:
            if type(v) is not str:
                raise VaultkitTypeError("values must be all str or all integer lists")
            try:
                out.append([index[c] for c in v])
            except KeyError:
                raise InputFormatError("character outside the FF1 alphabet", v) from None
        return out

    def _int_list(self, value: object) -> list[int]:
        # exact int: a bool is not a numeral
        if not isinstance(value, list | tuple) or set(map(type, value)) - {int}:
            raise VaultkitTypeError("FF1 numerals must be a list of int")
        if value and (min(value) < 0 or max(value) >= self._radix):
            raise InputFormatError(f"numeral outside 0..{self._radix - 1}", value)
        return list(value)

    def _numerals(self, digit_lists: list[list[int]]) -> tuple[bytes, array[int]]:
        lengths = array("I", map(len, digit_lists))
        self._check_lengths(min(lengths), max(lengths))
        flat = [d for ds in digit_lists for d in ds]
        if self._radix <= 256:
            return bytes(flat), lengths
        wide = array("H", flat)  # interface: 2 bytes little-endian per numeral
        if sys.byteorder == "big":
            wide.byteswap()
        return wide.tobytes(), lengths

    def _crypt(
        self, numerals: bytes, lengths: array[int], tweak: bytes, decrypt: bool
    ) -> list[list[int]]:
        out = bytes(self._impl.crypt(numerals, lengths, tweak, decrypt))
        if self._radix <= 256:
            flat = list(out)
        else:
            wide = array("H")
            wide.frombytes(out)
            if sys.byteorder == "big":
                wide.byteswap()
            flat = wide.tolist()
        ends = accumulate(lengths)
        return [flat[e - n : e] for e, n in zip(ends, lengths, strict=True)]

    def _check_lengths(self, shortest: int, longest: int) -> None:
        if shortest < self._min_len:  # SP 800-38G Rev. 1: radix^len >= 1,000,000
            raise DomainTooSmallError(
                f"FF1 domain too small: radix {self._radix} needs at least {self._min_len} "
                f"numerals (radix^len >= {MIN_DOMAIN:,}); got {shortest}"
            )
        if longest > MAX_LENGTH:
            raise InputFormatError("FF1 value longer than 2^32 - 1 numerals")


def _no_digits(handle: object, tweak: bytes, tlen: int, digits: bytes, n: int, dec: int) -> int:
    """The C call's stand-in where there is none (never called: _digits_min is out of reach)."""
    return _NOT_DIGITS  # pragma: no cover


def _tweak(tweak: object) -> bytes:
    t = require_bytes("tweak", tweak)
    if len(t) > MAX_TWEAK:
        raise InputFormatError("FF1 tweak is at most 2^32 - 1 bytes", t)
    return t
