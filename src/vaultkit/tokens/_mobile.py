"""Mobile number tokens: the 3-digit network prefix kept, the other 8 digits FF1-encrypted."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from vaultkit.errors import VaultkitTypeError
from vaultkit.identifiers import normalize_mobile
from vaultkit.identifiers._batch import mobile_rows
from vaultkit.tokens._base import Crypt, Ff1For, check_domain, check_strings

__all__ = ["MobileFormat"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class MobileFormat:
    """11-digit mainland mobile numbers (``1[3-9]`` + 9 digits).

    The first ``keep_prefix`` digits (3: the network prefix, 号段) are kept and the rest
    FF1-encrypted (radix 10), so tokens are valid-looking numbers of the same carrier. Inputs may
    carry spaces, hyphens, full-width digits and a +86 prefix; tokens are plain 11 digits.
    """

    keep_prefix: int = 3

    def __post_init__(self) -> None:
        v = self.keep_prefix
        if isinstance(v, bool) or not isinstance(v, int) or not 2 <= v <= 11:
            raise VaultkitTypeError("MobileFormat.keep_prefix must be an int in 2..11")
        check_domain(
            10, 11 - v, kind="mobile", fix="keep at most 5 digits (MobileFormat(keep_prefix=3))"
        )

    @property
    def label(self) -> str:
        return f"mobile/{self.keep_prefix}"

    def tokenize_many(self, ff1: Ff1For, values: Sequence[str], tweak: bytes) -> list[str]:
        return self._run(ff1(10, None).encrypt_many, values, tweak, "mobile numbers")

    def detokenize_many(self, ff1: Ff1For, tokens: Sequence[str], tweak: bytes) -> list[str]:
        return self._run(ff1(10, None).decrypt_many, tokens, tweak, "mobile tokens")

    def _run(self, crypt: Crypt, values: Sequence[str], tweak: bytes, what: str) -> list[str]:
        numbers = check_strings(values, what)
        joined = "".join(numbers)
        if not (joined.isascii() and mobile_rows(joined.encode("ascii"), numbers, b"")):
            numbers = [normalize_mobile(v) for v in numbers]
        k = self.keep_prefix
        enc = crypt([v[k:] for v in numbers], tweak)
        return [v[:k] + e for v, e in zip(numbers, enc, strict=True)]
