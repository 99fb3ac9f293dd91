"""The column types' use of ``vaultkit.policy`` (levels) and ``vaultkit.masking`` (display)."""

from __future__ import annotations

from typing import Any

from vaultkit.errors import PolicyError

__all__ = ["check_reversible", "mask", "mask_kind_of_format"]

# token formats (vaultkit.tokens) whose masking kind (vaultkit.masking) has another name
_MASK_KIND_OF_FORMAT = {"card": "card_no"}


def _level_name(level: Any) -> str:
    return str(getattr(level, "name", level)).upper()


def check_reversible(level: Any, kind: str | None) -> None:
    """Refuse a reversible column (encrypted or tokenized) declared C3 (JR/T 0171-2020)."""
    if level is None:
        return
    if _level_name(level) == "C3":
        raise PolicyError(
            "C3 data (passwords, PINs, CVN2, track data, ...) is never stored reversibly: "
            "store a one-way verifier instead" + (f" (kind {kind})" if kind else "")
        )


def mask_kind_of_format(format: str) -> str:
    return _MASK_KIND_OF_FORMAT.get(format, format)


def mask(kind: str, value: Any) -> str:
    """The display form of ``value`` under the masking policy of ``kind`` (any value: as text)."""
    from vaultkit import masking

    return masking.mask(kind, value if isinstance(value, str) else str(value))
