"""Bank card tokens: BIN and last digits kept, the middle FF1-encrypted, Luhn kept valid."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence
from itertools import compress
from typing import Literal

from vaultkit.errors import DomainTooSmallError, InputFormatError, VaultkitTypeError
from vaultkit.hazmat.ff1 import FF1
from vaultkit.identifiers import CARD_LENGTHS, normalize_card
from vaultkit.identifiers._batch import residues, solve
from vaultkit.tokens._base import (
    Crypt,
    Ff1For,
    check_strings,
    column_rows,
    group_by_length,
    native_tokens,
)

__all__ = ["CardFormat"]

_MIN_FREE = 6  # 10^6: SP 800-38G Rev. 1 minimum domain for radix 10


def _columns(buf: bytes | bytearray, stride: int, start: int, width: int) -> bytearray:
    """Columns ``start .. start+width`` of a batch of rows ``stride`` bytes apart, as a
    ``width``-column batch."""
    out = bytearray(len(buf) // stride * width)
    for i in range(width):
        out[i::width] = buf[start + i :: stride]
    return out


def _put_columns(buf: bytearray, stride: int, start: int, part: bytes, width: int) -> None:
    """Write the ``width``-column batch ``part`` into columns ``start ..`` of ``buf``."""
    for i in range(width):
        buf[start + i :: stride] = part[i::width]


@dataclasses.dataclass(frozen=True, kw_only=True)
class CardFormat:
    """Card numbers of 12-19 digits (ISO/IEC 7812-1).

    The first ``keep_prefix`` digits (the BIN: 6, or 8 for 8-digit BINs) and the last
    ``keep_suffix`` digits (which include the check digit) are kept; the ``m`` digits between
    them are encrypted so the token passes Luhn (``luhn="valid"``) or deliberately fails it
    (``luhn="invalid"``: Luhn sum 5 mod 10, so a token can never be taken for a real card):

    * ``m >= 7``: the first ``m - 1`` middle digits are FF1-encrypted (radix 10) and the last
      middle digit is recomputed so the whole number passes Luhn;
    * ``m == 6`` (16-digit cards keeping 6 + 4): the 6 middle digits are FF1-encrypted with
      cycle walking until the number passes Luhn again (10 FF1 calls per token on average);
      only 10^5 middles are Luhn-consistent, which is what keeping 6 + 4 digits of a 16-digit
      number leaves, but FF1 itself runs on the full 10^6 domain;
    * ``m < 6``: refused with :class:`~vaultkit.errors.DomainTooSmallError` naming the fix.

    With ``luhn="invalid"`` the last middle digit is then re-solved for a Luhn sum of 5.
    Inputs must pass Luhn; spaces, hyphens and full-width digits are accepted.
    """

    keep_prefix: int = 6
    keep_suffix: int = 4
    luhn: Literal["valid", "invalid"] = "valid"

    def __post_init__(self) -> None:
        for name in ("keep_prefix", "keep_suffix"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 19:
                raise VaultkitTypeError(f"CardFormat.{name} must be an int in 0..19")
        if self.luhn not in ("valid", "invalid"):
            raise VaultkitTypeError("CardFormat.luhn must be 'valid' or 'invalid'")

    @property
    def label(self) -> str:
        return f"card/{self.keep_prefix}/{self.keep_suffix}/{self.luhn}"

    # -- batch API -------------------------------------------------------------------------------
    def tokenize_many(self, ff1: Ff1For, values: Sequence[str], tweak: bytes) -> list[str]:
        fast = self._native_batch(ff1, values, tweak, decrypt=False)
        if fast is not None:
            return fast
        originals = check_strings(values, "card numbers")
        digits = self._normalize(originals)
        return self._run(ff1, originals, digits, tweak, decrypt=False)

    def detokenize_many(self, ff1: Ff1For, tokens: Sequence[str], tweak: bytes) -> list[str]:
        fast = self._native_batch(ff1, tokens, tweak, decrypt=True)
        if fast is not None:
            return fast
        originals = check_strings(tokens, "card tokens")
        digits = self._normalize(originals)
        return self._run(ff1, originals, digits, tweak, decrypt=True)

    # -- implementation --------------------------------------------------------------------------
    def _native_batch(
        self, ff1: Ff1For, values: object, tweak: bytes, *, decrypt: bool
    ) -> list[str] | None:
        """The common batch (a list or tuple of ASCII digit strings of one valid length) in one
        join, one C call that validates and tokenizes every row in place, and one split; None
        for anything else (separators, mixed lengths, an invalid value, no native area), which
        :meth:`_run` then handles and refuses with the rule that failed."""
        if type(values) is not list and type(values) is not tuple:
            return None
        try:
            joined = " ".join(values)
        except TypeError:
            return None
        rows = len(values)
        if not rows or not joined.isascii():
            return None
        n = len(values[0])
        if not 12 <= n <= 19 or n - self.keep_prefix - self.keep_suffix < _MIN_FREE:
            return None
        fx = ff1(10, None)
        native = native_tokens(fx)
        if native is None:
            return None
        buf = bytearray(joined, "ascii")
        # a space after every row of n, and C checks that the rows are digits only: then the
        # rows are exactly the values (a value with a space or of another length fails one check)
        if len(buf) != rows * (n + 1) - 1 or buf[n :: n + 1].count(b" ") != rows - 1:
            return None
        bad = native.card(
            fx, tweak, buf, rows, n + 1, n,
            keep_prefix=self.keep_prefix, keep_suffix=self.keep_suffix,
            luhn_invalid=self.luhn == "invalid", decrypt=decrypt,
        )  # fmt: skip
        if bad is not None:
            return None  # _run starts again from the values and names the rule
        return buf.decode("ascii").split(" ")

    def _normalize(self, values: list[str]) -> list[str]:
        joined = "".join(values)
        if joined.isascii() and not joined.encode("ascii").translate(None, b"0123456789"):
            lengths = set(map(len, values))
            if lengths and (min(lengths) < 12 or max(lengths) > 19):
                bad = next(v for v in values if len(v) not in CARD_LENGTHS)
                raise InputFormatError("card number must be 12-19 digits", bad, kind="card")
            return values
        return [normalize_card(v, check_luhn=False) for v in values]

    def _run(
        self, ff1: Ff1For, originals: list[str], digits: list[str], tweak: bytes, *, decrypt: bool
    ) -> list[str]:
        out = [""] * len(digits)
        for n, idx in group_by_length(digits).items():
            if not idx:
                continue
            self._check_domain(n)
            whole = len(idx) == len(digits)
            rows = digits if whole else [digits[i] for i in idx]
            # rows separated by spaces: column operations skip the separators and the result
            # is one C-level split
            buf = bytearray((" ".join(rows) + " ").encode("ascii"))
            fx = ff1(10, None)
            native = native_tokens(fx)
            if native is not None:  # the same scheme in one C call
                bad = native.card(
                    fx, tweak, buf, len(rows), n + 1, n,
                    keep_prefix=self.keep_prefix, keep_suffix=self.keep_suffix,
                    luhn_invalid=self.luhn == "invalid", decrypt=decrypt,
                )  # fmt: skip
            else:
                bad = self._python(fx, buf, n, tweak, decrypt)
            if bad is not None:
                rule = (
                    "not a token of this card format (Luhn)"
                    if decrypt
                    else "Luhn check failed (ISO/IEC 7812-1)"
                )
                raise InputFormatError(rule, originals[idx[bad]], kind="card")
            result = buf.decode("ascii").split()
            if whole:
                return result
            for i, token in zip(idx, result, strict=True):
                out[i] = token
        return out

    def _python(self, fx: FF1, buf: bytearray, n: int, tweak: bytes, decrypt: bool) -> int | None:
        """The scheme in Python (reference and fallback of the native area): the rows of ``buf``
        (``n`` digits and a space each) in place, or the index of the first row failing Luhn."""
        expect = 5 if decrypt and self.luhn == "invalid" else 0
        ok = residues(buf, n, stride=n + 1)
        if ok.count(expect) != len(ok):
            return next(i for i, r in enumerate(ok) if r != expect)
        if decrypt:
            self._backward(fx, buf, n, tweak)
        else:
            self._forward(fx, buf, n, tweak)
        return None

    def _check_domain(self, n: int) -> None:
        kept = self.keep_prefix + self.keep_suffix
        if n - kept < _MIN_FREE:
            budget = n - _MIN_FREE
            suffix = min(self.keep_suffix, budget)
            prefix = budget - suffix
            raise DomainTooSmallError(
                f"card: a {n}-digit number keeping {self.keep_prefix} + {self.keep_suffix} "
                f"digits leaves {max(n - kept, 0)} digits to encrypt, below the 6 (10^6 values) "
                f"SP 800-38G Rev. 1 requires; keep fewer digits (at most {budget} in total, e.g. "
                f"CardFormat(keep_prefix={prefix}, keep_suffix={suffix}))"
            )

    def _forward(self, fx: FF1, buf: bytearray, n: int, tweak: bytes) -> None:
        kp, ks, s = self.keep_prefix, self.keep_suffix, n + 1
        m = n - kp - ks
        if m > _MIN_FREE:
            free = m - 1  # the last middle digit is recomputed
            enc = fx.encrypt_many(column_rows(buf, s, kp, free), tweak)
            _put_columns(buf, s, kp, "".join(enc).encode("ascii"), free)
            solve(buf, n, ks, 0, stride=s)
        else:
            self._walk(fx.encrypt_many, buf, n, tweak)
        if self.luhn == "invalid":
            solve(buf, n, ks, 5, stride=s)

    def _backward(self, fx: FF1, buf: bytearray, n: int, tweak: bytes) -> None:
        kp, ks, s = self.keep_prefix, self.keep_suffix, n + 1
        m = n - kp - ks
        if self.luhn == "invalid":
            solve(buf, n, ks, 0, stride=s)
        if m > _MIN_FREE:
            free = m - 1
            dec = fx.decrypt_many(column_rows(buf, s, kp, free), tweak)
            _put_columns(buf, s, kp, "".join(dec).encode("ascii"), free)
            solve(buf, n, ks, 0, stride=s)
        else:
            self._walk(fx.decrypt_many, buf, n, tweak)

    def _walk(self, crypt: Crypt, buf: bytearray, n: int, tweak: bytes) -> None:
        """Cycle walking (re-encrypt until the middle's Luhn contribution is unchanged, so the
        number passes Luhn again); each round is one FF1 batch call over the rows still out."""
        kp, ks = self.keep_prefix, self.keep_suffix
        m = n - kp - ks
        mid = _columns(buf, n + 1, kp, m)
        want = residues(mid, m, first=ks)
        rows = len(want)
        done: list[str] = [""] * rows
        pending = list(range(rows))
        cur = column_rows(mid, m)
        targets = want
        while pending:
            cur = crypt(cur, tweak)
            got = residues("".join(cur).encode("ascii"), m, first=ks)
            same = list(map(operator.eq, got, targets))  # back in the Luhn-consistent set
            for i, v in zip(compress(pending, same), compress(cur, same), strict=True):
                done[i] = v
            out = list(map(operator.not_, same))
            pending = list(compress(pending, out))
            cur = list(compress(cur, out))
            targets = bytes(compress(targets, out))
        _put_columns(buf, n + 1, kp, "".join(done).encode("ascii"), m)
