"""Resident ID tokens (GB 11643-1999): address code kept, birth date and sequence encrypted
into a real date and a sequence, check character recomputed."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Sequence

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.identifiers import normalize_cn_id
from vaultkit.tokens._base import Ff1For, check_strings

__all__ = ["CnIdFormat"]

_FIRST_DAY = datetime.date(1900, 1, 1)
_DAYS = (datetime.date(2099, 12, 31) - _FIRST_DAY).days + 1  # 73,049 days
# day index (5 digits) <-> YYYYMMDD, for every day of 1900-01-01 .. 2099-12-31
_DATE_OF = tuple((_FIRST_DAY + datetime.timedelta(days=d)).strftime("%Y%m%d") for d in range(_DAYS))
_DAY_OF = {s: f"{d:05d}" for d, s in enumerate(_DATE_OF)}
_DATE_OF_DAY = {f"{d:05d}": s for d, s in enumerate(_DATE_OF)}
_DAY_LIMIT = f"{_DAYS:05d}"
_CHECK = "10X98765432"  # GB 11643 / ISO 7064 MOD 11-2: check character by S mod 11
_CHECK_VALUE = {c: (1 - i) % 11 for i, c in enumerate(_CHECK)}  # S + value(c) = 1 (mod 11)
# sequence 000..999 <-> (sequence // 2 as 3 digits, parity)
_HALF = {f"{s:03d}": f"{s // 2:03d}" for s in range(1000)}
_FROM_HALF = {(f"{h:03d}", p): f"{2 * h + p:03d}" for h in range(500) for p in (0, 1)}


@dataclasses.dataclass(frozen=True)
class CnIdFormat:
    """18-character resident ID numbers.

    The 6-digit address code is kept. The birth date ``D`` (day index 0..73,048 counted from
    1900-01-01, so 1900-01-01..2099-12-31) and the 3-digit sequence ``S`` form the 8-digit
    numeral ``x = D * 1000 + S``, which FF1 (radix 10, 8 digits) encrypts with cycle walking
    until the result is again a day index below 73,049 (1.37 rounds on average). The token's
    date and sequence are read back from it and the check character is recomputed, so tokens
    pass GB 11643 validators. With ``keep_sex=True``, ``x = D * 1000 + S // 2`` walks until
    ``S // 2 < 500`` as well, and the parity of ``S`` (the sex) is kept (2.74 rounds on
    average).

    Inputs: 18 characters with a valid check character and a birth date in the domain above
    (other real dates are refused: outside the token domain). Lower-case ``x`` and full-width
    characters are accepted. 15-digit numbers are refused; convert them first with
    :func:`vaultkit.identifiers.upgrade_legacy_cn_id`.
    """

    keep_sex: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.keep_sex, bool):
            raise VaultkitTypeError("CnIdFormat.keep_sex must be a bool")

    @property
    def label(self) -> str:
        return f"cn_id/{'sex' if self.keep_sex else 'all'}"

    def tokenize_many(self, ff1: Ff1For, values: Sequence[str], tweak: bytes) -> list[str]:
        return self._run(ff1(10, None).encrypt_many, values, tweak, "ID numbers")

    def detokenize_many(self, ff1: Ff1For, tokens: Sequence[str], tweak: bytes) -> list[str]:
        return self._run(ff1(10, None).decrypt_many, tokens, tweak, "ID tokens")

    def _normalize(self, values: list[str]) -> list[str]:
        joined = "".join(values)
        if "x" in joined:
            values = [v.upper() for v in values]
            joined = joined.upper()
        # fast path: 18 ASCII characters each, digits except an X in the check position
        fast = (
            joined.isascii()
            and all(len(v) == 18 for v in values)
            and joined.count("X") == joined[17::18].count("X")
            and (joined.replace("X", "").isdigit() or not joined)
        )
        if not fast:
            values = [normalize_cn_id(v) for v in values]
        # GB 11643: sum(a_i * 2^(18-i)) = 2 * int(a_1..a_17 in base 13) (mod 11), as 13 = 2
        bad = [
            i
            for i, v in enumerate(values)
            if (2 * int(v[:17], 13) + _CHECK_VALUE[v[17]]) % 11 != 1 or v[6:14] not in _DAY_OF
        ]
        if bad:
            v = values[bad[0]]
            normalize_cn_id(v)  # a bad check character or an impossible date raises here
            raise InputFormatError(
                "birth date outside the token domain 1900-01-01..2099-12-31", v, kind="cn_id"
            )
        return values

    def _run(
        self,
        crypt: Callable[[list[str], bytes], list[str]],
        values: Sequence[str],
        tweak: bytes,
        what: str,
    ) -> list[str]:
        originals = check_strings(values, what)
        ids = self._normalize(originals)
        if self.keep_sex:
            xs = [_DAY_OF[v[6:14]] + _HALF[v[14:17]] for v in ids]
        else:
            xs = [_DAY_OF[v[6:14]] + v[14:17] for v in ids]
        ys = self._walk(crypt, xs, tweak)
        if self.keep_sex:
            bodies = [
                v[:6] + _DATE_OF_DAY[y[:5]] + _FROM_HALF[y[5:], ord(v[16]) & 1]
                for v, y in zip(ids, ys, strict=True)
            ]
        else:
            bodies = [v[:6] + _DATE_OF_DAY[y[:5]] + y[5:] for v, y in zip(ids, ys, strict=True)]
        # GB 11643 check character: "10X98765432"[S mod 11], S = 2 * int(body, 13) (mod 11)
        return [b + _CHECK[2 * int(b, 13) % 11] for b in bodies]

    def _walk(
        self, crypt: Callable[[list[str], bytes], list[str]], xs: list[str], tweak: bytes
    ) -> list[str]:
        """Cycle walking: re-encrypt (in one batch call per round) the values outside the domain
        until every value is inside it."""
        out = crypt(xs, tweak)
        limit, sex = _DAY_LIMIT, self.keep_sex
        pending = [i for i, y in enumerate(out) if y[:5] >= limit or (sex and y[5] >= "5")]
        while pending:
            again = crypt([out[i] for i in pending], tweak)
            still = []
            for i, y in zip(pending, again, strict=True):
                out[i] = y
                if y[:5] >= limit or (sex and y[5] >= "5"):
                    still.append(i)
            pending = still
        return out
