"""The column types' use of ``vaultkit.policy`` (levels) and ``vaultkit.masking`` (display)."""

from __future__ import annotations

from typing import Any

from vaultkit.errors import PolicyError

__all__ = ["check_reversible", "mask"]


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


def mask(kind: str, value: Any) -> str:
    """The display form of ``value`` under the masking policy of ``kind``."""
    from vaultkit import masking

    return masking.mask(kind, value)  # type: ignore[no-any-return]
