"""What every token format implements, and the helpers they share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from vaultkit.errors import DomainTooSmallError, InputFormatError, VaultkitTypeError
from vaultkit.hazmat.ff1 import FF1, MIN_DOMAIN

__all__ = [
    "Ff1For",
    "TokenFormat",
    "check_domain",
    "check_strings",
    "group_by_length",
    "split_rows",
]

# FF1 under the selected key version for a radix (and optional alphabet).
Ff1For = Callable[[int, "str | None"], FF1]


@runtime_checkable
class TokenFormat(Protocol):
    """A token format: turns values into tokens of the same shape and back.

    ``label`` names the format and its options; it goes into the tweak, so two formats never
    share a tweak. Implementations validate every input and make one FF1 batch call per FF1
    instance (per cycle-walking round), never one per value.
    """

    @property
    def label(self) -> str: ...

    def tokenize_many(self, ff1: Ff1For, values: Sequence[str], tweak: bytes) -> list[str]: ...

    def detokenize_many(self, ff1: Ff1For, tokens: Sequence[str], tweak: bytes) -> list[str]: ...


def check_strings(values: object, what: str) -> list[str]:
    """``values`` as a list of str (a sequence of str is required)."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise VaultkitTypeError(f"{what} must be a sequence of str")
    out = list(values)
    if not all(type(v) is str for v in out):
        raise VaultkitTypeError(f"{what} must be str")
    return out


def check_domain(radix: int, length: int, *, kind: str, fix: str) -> None:
    """SP 800-38G Rev. 1: refuse FF1 domains below radix^len = 1,000,000, naming the fix."""
    if radix**length < MIN_DOMAIN:
        raise DomainTooSmallError(
            f"{kind}: {length} characters of radix {radix} to encrypt give {radix**length:,} "
            f"token values, below the {MIN_DOMAIN:,} SP 800-38G Rev. 1 requires; {fix}"
        )


def group_by_length(values: Sequence[str]) -> dict[int, list[int]]:
    """Indexes of ``values`` grouped by length (one group when all lengths are equal)."""
    lengths = list(map(len, values))
    if not lengths or min(lengths) == max(lengths):
        return {lengths[0] if lengths else 0: list(range(len(values)))}
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(lengths):
        groups.setdefault(n, []).append(i)
    return groups


def split_rows(text: str, n: int) -> list[str]:
    """``text`` cut into rows of ``n`` characters."""
    return [text[i : i + n] for i in range(0, len(text), n)]


def first_bad(values: Sequence[str], ok: bytes, rule: str, kind: str) -> InputFormatError:
    """The error for the first value whose ``ok`` byte is 0."""
    i = ok.index(0)
    return InputFormatError(rule, values[i], kind=kind)
