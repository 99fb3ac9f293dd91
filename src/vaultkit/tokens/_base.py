"""What every token format implements, and the helpers they share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from vaultkit.errors import DomainTooSmallError, VaultkitTypeError
from vaultkit.hazmat import _fast
from vaultkit.hazmat.ff1 import FF1, MIN_DOMAIN

__all__ = [
    "Crypt",
    "Ff1For",
    "TokenFormat",
    "check_domain",
    "check_strings",
    "column_rows",
    "group_by_length",
    "native_tokens",
]

# FF1 under the selected key version for a radix (and optional alphabet).
Ff1For = Callable[[int, "str | None"], FF1]
# One FF1 batch direction: FF1.encrypt_many or FF1.decrypt_many (values, tweak) -> values.
Crypt = Callable[[list[str], bytes], list[str]]


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


def native_tokens(ff1: FF1) -> _fast.TokenArea | None:
    """The native token area (``hazmat._fast.native_tokens``) when it can run the
    batch for ``ff1`` (native backend in use, ``ff1`` on the native FF1, radix 10), else None: the
    caller then runs its pure-Python path, which gives the same tokens."""
    if _NATIVE_TOKEN is not None and _NATIVE_TOKEN.available_for(ff1):
        return _NATIVE_TOKEN
    return None


_NATIVE_TOKEN = _fast.native_tokens()


def check_strings(values: object, what: str) -> list[str]:
    """``values`` as a list of str (a sequence of str is required)."""
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise VaultkitTypeError(f"{what} must be a sequence of str")
    out = values if type(values) is list else list(values)
    try:
        "".join(out)  # a C-level type check of every item
    except TypeError:
        raise VaultkitTypeError(f"{what} must be str") from None
    return out


def check_domain(radix: int, length: int, *, kind: str, fix: str) -> None:
    """SP 800-38G Rev. 1: refuse FF1 domains below radix^len = 1,000,000, naming the fix."""
    if radix**length < MIN_DOMAIN:
        raise DomainTooSmallError(
            f"{kind}: {length} characters of radix {radix} to encrypt give {radix**length:,} "
            f"token values, below the {MIN_DOMAIN:,} SP 800-38G Rev. 1 requires; {fix}"
        )


def group_by_length(values: Sequence[str]) -> dict[int, Sequence[int]]:
    """Indexes of ``values`` grouped by length (one ``range`` when all lengths are equal)."""
    sizes = set(map(len, values))
    if len(sizes) <= 1:
        return {sizes.pop() if sizes else 0: range(len(values))}
    groups: dict[int, list[int]] = {}
    for i, n in enumerate(map(len, values)):
        groups.setdefault(n, []).append(i)
    return dict(groups)


def column_rows(
    buf: bytes | bytearray, n: int, start: int = 0, width: int | None = None
) -> list[str]:
    """Rows of the ``width`` columns from ``start`` of an ``n``-column ASCII batch without spaces,
    as str: one strided copy per column into a space-separated buffer, then one C-level split
    (no per-row Python work)."""
    width = n if width is None else width
    rows = len(buf) // n
    if not rows or not width:
        return [""] * rows
    step = width + 1
    spaced = bytearray(b" ") * (rows * step - 1)
    for k in range(width):
        spaced[k::step] = buf[start + k :: n]
    return spaced.decode("ascii").split(" ")
