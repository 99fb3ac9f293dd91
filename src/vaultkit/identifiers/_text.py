"""Input clean-up shared by the identifier normalizers.

Only what users expect is accepted: full-width forms of ASCII digits and letters (as typed with a
Chinese input method), the ideographic space, and, where a normalizer says so, spaces and hyphens
used as group separators. Anything else stays as typed and fails validation.
"""

from __future__ import annotations

from collections.abc import Callable

from vaultkit.errors import InputFormatError, VaultkitTypeError

__all__ = ["FULL_WIDTH", "SEPARATORS", "clean", "passes"]

# U+FF10..U+FF19 full-width digits, U+FF21..U+FF3A / U+FF41..U+FF5A full-width letters,
# U+FF0D full-width hyphen-minus, U+3000 ideographic space.
FULL_WIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): chr(0x30 + i) for i in range(10)},
        **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
        **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
        "\uff0d": "-",
        "\u3000": " ",
    }
)

SEPARATORS = str.maketrans("", "", " -")


def clean(value: str, *, separators: bool) -> str:
    """Full-width forms folded to ASCII, surrounding white space removed; with ``separators``
    also every space and hyphen inside."""
    text = value.translate(FULL_WIDTH).strip()
    if separators:
        text = text.translate(SEPARATORS)
    return text


def passes(normalize: Callable[..., str], value: object, **options: bool) -> bool:
    """True if ``normalize(value, **options)`` accepts ``value`` (the ``is_*`` predicates)."""
    try:
        normalize(value, **options)
    except (InputFormatError, VaultkitTypeError):
        return False
    return True
