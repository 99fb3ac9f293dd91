"""Generic tokens over any alphabet: ``digits`` and ``alphanumeric``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.hazmat.ff1 import MIN_DOMAIN
from vaultkit.identifiers._text import FULL_WIDTH
from vaultkit.tokens._base import Crypt, Ff1For, check_domain, check_strings

__all__ = ["ALPHANUMERIC", "DIGITS", "AlphabetFormat"]

DIGITS = "0123456789"
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlphabetFormat:
    """Strings over ``alphabet`` (2..65536 distinct characters): the first ``keep_prefix`` and
    last ``keep_suffix`` characters are kept, the rest FF1-encrypted with radix
    ``len(alphabet)``. Values of any length are accepted as long as the encrypted part has at
    least the length the SP 800-38G Rev. 1 minimum (radix^len >= 1,000,000) requires.
    Full-width forms of ASCII characters are folded to ASCII; surrounding white space is kept
    (it is refused unless the alphabet contains it).
    """

    alphabet: str = DIGITS
    keep_prefix: int = 0
    keep_suffix: int = 0

    def __post_init__(self) -> None:
        a = self.alphabet
        if not isinstance(a, str) or len(a) < 2 or len(set(a)) != len(a):
            raise VaultkitTypeError("alphabet must be a str of at least 2 distinct characters")
        for name in ("keep_prefix", "keep_suffix"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise VaultkitTypeError(f"AlphabetFormat.{name} must be an int >= 0")

    @property
    def label(self) -> str:
        return (
            f"alphabet/{len(self.alphabet)}/{self.alphabet}/{self.keep_prefix}/{self.keep_suffix}"
        )

    @property
    def min_length(self) -> int:
        """The shortest value accepted."""
        radix, n = len(self.alphabet), 1
        while radix**n < MIN_DOMAIN:
            n += 1
        return n + self.keep_prefix + self.keep_suffix

    def tokenize_many(self, ff1: Ff1For, values: Sequence[str], tweak: bytes) -> list[str]:
        fx = ff1(len(self.alphabet), self.alphabet)
        return self._run(fx.encrypt_many, values, tweak)

    def detokenize_many(self, ff1: Ff1For, tokens: Sequence[str], tweak: bytes) -> list[str]:
        fx = ff1(len(self.alphabet), self.alphabet)
        return self._run(fx.decrypt_many, tokens, tweak)

    def _run(self, crypt: Crypt, values: Sequence[str], tweak: bytes) -> list[str]:
        items = check_strings(values, "values")
        if not "".join(items).isascii():
            items = [v.translate(FULL_WIDTH) for v in items]
        allowed = set(self.alphabet)
        kp, ks = self.keep_prefix, self.keep_suffix
        shortest = self.min_length
        for v in items:
            if len(v) < shortest:
                check_domain(
                    len(self.alphabet),
                    max(len(v) - kp - ks, 0),
                    kind="alphabet",
                    fix=f"values of this format need at least {shortest} characters "
                    "(keep fewer characters)",
                )
            if not allowed.issuperset(v):
                raise InputFormatError("character outside the format's alphabet", v)
        enc = crypt([v[kp : len(v) - ks] for v in items], tweak)
        return [v[:kp] + e + v[len(v) - ks :] for v, e in zip(items, enc, strict=True)]
