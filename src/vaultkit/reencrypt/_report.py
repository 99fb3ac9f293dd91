"""What a re-encryption is asked and what it reports: targets, per-column surveys, summaries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from vaultkit.errors import VaultkitError

__all__ = ["BlindIndexTarget", "ColumnSurvey", "ReencryptError", "Summary"]


class ReencryptError(VaultkitError, ValueError):
    """The table or columns cannot be re-encrypted as asked (nothing was changed)."""


@dataclass(frozen=True)
class BlindIndexTarget:
    """A blind-index column of a source column: filled when the source's plaintext is
    protected, rebuilt under the index key's primary version otherwise."""

    column: str
    key_name: str
    bits: int


@dataclass
class ColumnSurvey:
    """Counts of one column's values by what they are."""

    column: str
    rows: int = 0
    nulls: int = 0
    plaintext: int = 0
    current: int = 0  # ciphertexts under their key's primary version
    by_version: Counter[tuple[str, int]] = field(default_factory=Counter)  # (key name, version)
    unmatched: int = 0  # blind index: equal to its source's index under no readable version
    unbound: int = 0  # rebinding: ciphertexts that still open only under the column context

    @property
    def stale(self) -> int:
        return sum(self.by_version.values()) - self.current + self.unmatched

    def as_dict(self) -> dict[str, object]:
        return {
            "column": self.column,
            "rows": self.rows,
            "nulls": self.nulls,
            "plaintext": self.plaintext,
            "current": self.current,
            "stale": self.stale,
            "unmatched": self.unmatched,
            "unbound": self.unbound,
            "by_version": [
                {"key": k, "version": v, "count": n}
                for (k, v), n in sorted(self.by_version.items())
            ],
        }


@dataclass
class Summary:
    """What a run did: values rewritten, races lost to the application, passes, final survey."""

    rows: int = 0
    rewritten: int = 0
    conflicts: int = 0
    passes: int = 0
    seconds: float = 0.0
    final: list[ColumnSurvey] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(s.stale == 0 and s.plaintext == 0 and s.unbound == 0 for s in self.final)

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "rewritten": self.rewritten,
            "conflicts": self.conflicts,
            "passes": self.passes,
            "seconds": round(self.seconds, 3),
            "complete": self.complete,
            "columns": [s.as_dict() for s in self.final],
        }
