"""Unified social credit code tokens (GB 32100-2015): the entity code encrypted over the
31-character alphabet, check characters recomputed."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.identifiers import (
    USCC_ALPHABET,
    normalize_uscc,
    org_code_check_char,
    uscc_check_char,
)
from vaultkit.tokens._base import Crypt, Ff1For, check_domain, check_strings

__all__ = ["UsccFormat"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class UsccFormat:
    """18-character unified social credit codes.

    Kept: the first ``keep_prefix`` characters (8: registration authority, organisation type
    and the 6-digit administrative division code). Encrypted with FF1 over the GB 32100 alphabet
    (radix 31): the organisation code body, characters ``keep_prefix+1 .. 16``. With
    ``org_code_check=True`` (the default) character 17 is the GB 11714 check character of the
    organisation code: inputs must carry a valid one and tokens get a recomputed one; with
    ``False`` character 17 is encrypted too. Character 18 (GB 32100 check) is always recomputed.
    """

    keep_prefix: int = 8
    org_code_check: bool = True

    def __post_init__(self) -> None:
        v = self.keep_prefix
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 16:
            raise VaultkitTypeError("UsccFormat.keep_prefix must be an int in 0..16")
        if not isinstance(self.org_code_check, bool):
            raise VaultkitTypeError("UsccFormat.org_code_check must be a bool")
        check_domain(31, self._end - v, kind="uscc", fix="keep fewer characters")
        if self.org_code_check and v > 8:
            raise VaultkitTypeError("UsccFormat: with org_code_check, keep_prefix is at most 8")

    @property
    def _end(self) -> int:
        return 16 if self.org_code_check else 17

    @property
    def label(self) -> str:
        return f"uscc/{self.keep_prefix}/{'org' if self.org_code_check else 'plain'}"

    def tokenize_many(self, ff1: Ff1For, values: Sequence[str], tweak: bytes) -> list[str]:
        return self._run(ff1(31, USCC_ALPHABET).encrypt_many, values, tweak, "codes")

    def detokenize_many(self, ff1: Ff1For, tokens: Sequence[str], tweak: bytes) -> list[str]:
        return self._run(ff1(31, USCC_ALPHABET).decrypt_many, tokens, tweak, "code tokens")

    def _run(self, crypt: Crypt, values: Sequence[str], tweak: bytes, what: str) -> list[str]:
        codes = [normalize_uscc(v) for v in check_strings(values, what)]
        if self.org_code_check:
            for code in codes:
                if org_code_check_char(code[8:16]) != code[16]:
                    raise InputFormatError(
                        "bad organisation code check character (GB 11714); use "
                        "UsccFormat(org_code_check=False) for codes without one",
                        code,
                        kind="uscc",
                    )
        k, end = self.keep_prefix, self._end
        enc = crypt([c[k:end] for c in codes], tweak)
        out = []
        for code, e in zip(codes, enc, strict=True):
            body = code[:k] + e
            if self.org_code_check:
                body += org_code_check_char(body[8:16])
            out.append(body + uscc_check_char(body))
        return out
