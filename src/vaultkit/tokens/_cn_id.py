"""Resident ID tokens (GB 11643-1999): address code kept, birth date and sequence encrypted
into a real date and a sequence, check character recomputed."""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Iterable, Sequence
from itertools import compress

from vaultkit.errors import InputFormatError, VaultkitTypeError
from vaultkit.hazmat.ff1 import FF1
from vaultkit.identifiers import normalize_cn_id
from vaultkit.identifiers._batch import cn_id_rows, id_check_chars, id_sums
from vaultkit.tokens._base import Crypt, Ff1For, check_strings, column_rows, native_tokens

__all__ = ["CnIdFormat"]

_DAYS = 73_049  # 1900-01-01 .. 2099-12-31
_LIMIT = f"{_DAYS:05d}000"  # an 8-digit numeral at or above it has a day index >= 73,049
_DD = tuple(f"{d:02d}" for d in range(1, 32))
_GE5 = bytes(int(48 + 5 <= b <= 48 + 9) for b in range(256))
# sequence 000..999 <-> (sequence // 2 as 3 digits, parity)
_HALF = {f"{s:03d}": f"{s // 2:03d}" for s in range(1000)}
# (S // 2 as 3 digits) + (last digit of S) -> S
_FROM_HALF = {f"{h:03d}{d}": f"{2 * h + d % 2:03d}" for h in range(500) for d in range(10)}


@functools.cache
def _calendar() -> tuple[dict[str, str], dict[str, str]]:
    """YYYYMMDD -> day index (5 digits, 0 = 1900-01-01) and back, for 1900-01-01..2099-12-31.
    Built on first use (about 15 MB), then shared."""
    dates: list[str] = []
    for y in range(1900, 2100):
        feb = 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28  # Gregorian
        for m, days in enumerate((31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1):
            month = f"{y}{m:02d}"
            dates += [month + d for d in _DD[:days]]
    assert len(dates) == _DAYS
    index = [f"{i:05d}" for i in range(_DAYS)]
    return dict(zip(dates, index, strict=True)), dict(zip(index, dates, strict=True))


def _upper_x(joined: str) -> bytes | None:
    """The joined batch as ASCII with a lower-case check character ``x`` accepted (None: not
    ASCII); :func:`~vaultkit.identifiers._batch.cn_id_rows` then checks the shape."""
    return joined.encode("ascii").replace(b"x", b"X") if joined.isascii() else None


@dataclasses.dataclass(frozen=True, kw_only=True)
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
        fx = ff1(10, None)
        if native_tokens(fx) is not None:
            return self._native(fx, values, tweak, "ID numbers", decrypt=False)
        return self._run(fx.encrypt_many, values, tweak, "ID numbers")

    def detokenize_many(self, ff1: Ff1For, tokens: Sequence[str], tweak: bytes) -> list[str]:
        fx = ff1(10, None)
        if native_tokens(fx) is not None:
            return self._native(fx, tokens, tweak, "ID tokens", decrypt=True)
        return self._run(fx.decrypt_many, tokens, tweak, "ID tokens")

    def _native(
        self, fx: FF1, values: Sequence[str], tweak: bytes, what: str, *, decrypt: bool
    ) -> list[str]:
        """The scheme of :meth:`_run` in one C call (``vk_token_cn_id``) on the rows joined by
        spaces; the same tokens."""
        originals = values if type(values) is list else check_strings(values, what)
        try:
            joined = " ".join(originals)
        except TypeError:
            check_strings(originals, what)  # raises, naming the rule
            raise
        if not originals:
            return []
        raw = _upper_x(joined)
        if raw is None or not cn_id_rows(raw, originals, b" "):
            raw = " ".join([normalize_cn_id(v) for v in originals]).encode("ascii")
        buf = bytearray(raw)
        native = native_tokens(fx)
        assert native is not None  # the caller chose this path because it is available
        bad = native.cn_id(
            fx, tweak, buf, len(originals), 19, keep_sex=self.keep_sex, decrypt=decrypt
        )
        if bad is not None:
            normalize_cn_id(originals[bad])  # a bad check character or impossible date raises
            raise InputFormatError(
                "birth date outside the token domain 1900-01-01..2099-12-31",
                originals[bad],
                kind="cn_id",
            )
        return buf.decode("ascii").split(" ")

    def _normalize(self, values: list[str]) -> bytearray:
        """The batch as one row-major ASCII buffer of valid 18-character numbers."""
        raw = _upper_x("".join(values))
        if raw is None or not cn_id_rows(raw, values, b""):
            raw = "".join([normalize_cn_id(v) for v in values]).encode("ascii")
        buf = bytearray(raw)
        sums = id_sums(buf, with_check=True)  # ISO 7064 MOD 11-2: 1 for a valid number
        if sums.count(1) != len(values):
            normalize_cn_id(values[next(i for i, r in enumerate(sums) if r != 1)])  # raises
        return buf

    def _run(self, crypt: Crypt, values: Sequence[str], tweak: bytes, what: str) -> list[str]:
        originals = check_strings(values, what)
        if not originals:
            return []
        buf = self._normalize(originals)
        day_of, date_of = _calendar()
        days = list(map(day_of.get, column_rows(buf, 18, 6, 8)))
        if None in days:
            i = days.index(None)
            normalize_cn_id(originals[i])  # an impossible date raises here
            raise InputFormatError(
                "birth date outside the token domain 1900-01-01..2099-12-31",
                originals[i],
                kind="cn_id",
            )
        # x = D (5 digits) || S or S // 2 (3 digits), built column by column, one split
        rows = len(days)
        day_bytes = "".join(days).encode("ascii")  # type: ignore[arg-type]  # no None left
        seq_bytes: bytes | bytearray
        if self.keep_sex:
            halves = map(_HALF.__getitem__, column_rows(buf, 18, 14, 3))
            seq_bytes, seq_at, seq_stride = "".join(halves).encode("ascii"), 0, 3
        else:
            seq_bytes, seq_at, seq_stride = buf, 14, 18
        spaced = bytearray(b" ") * (9 * rows)
        for k in range(5):
            spaced[k::9] = day_bytes[k::5]
        for k in range(3):
            spaced[5 + k :: 9] = seq_bytes[seq_at + k :: seq_stride]
        ys = self._walk(crypt, spaced.decode("ascii").split(), tweak)
        yb = "".join(ys).encode("ascii")
        dates = "".join(map(date_of.__getitem__, column_rows(yb, 8, 0, 5))).encode("ascii")
        if self.keep_sex:  # S from S // 2 and the parity of the original S (kept)
            keys = map(str.__add__, column_rows(yb, 8, 5, 3), column_rows(buf, 18, 16, 1))
            seq, width = "".join(map(_FROM_HALF.__getitem__, keys)).encode("ascii"), 3
        else:
            seq, width = yb[5:], 8  # columns 5..7 of the 8-column yb
        out = bytearray(b" ") * (19 * rows)  # rows of 18 + a space: one split at the end
        for k in range(6):
            out[k::19] = buf[k::18]  # address code kept
        for k in range(8):
            out[6 + k :: 19] = dates[k::8]
        for k in range(3):
            out[14 + k :: 19] = seq[k::width]
        id_check_chars(out, stride=19)  # GB 11643 check character recomputed
        return out.decode("ascii").split()

    def _walk(self, crypt: Crypt, xs: list[str], tweak: bytes) -> list[str]:
        """Cycle walking: re-encrypt (in one batch call per round) the values outside the domain
        until every value is inside it."""
        out = crypt(xs, tweak)
        pending = self._outside(out, range(len(out)))
        while pending:
            again = crypt([out[i] for i in pending], tweak)
            for i, y in zip(pending, again, strict=True):
                out[i] = y
            pending = self._outside(again, pending)
        return out

    def _outside(self, ys: list[str], index: Sequence[int]) -> list[int]:
        """Indexes (from ``index``) of the values of ``ys`` outside the domain."""
        bad: Iterable[bool] = map(_LIMIT.__le__, ys)  # day index >= 73,049
        if self.keep_sex:  # or S // 2 >= 500
            high = "".join(ys).encode("ascii")[5::8].translate(_GE5)
            bad = map(operator.or_, bad, high)
        return list(compress(index, bad))
