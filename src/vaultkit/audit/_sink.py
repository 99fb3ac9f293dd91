"""What a trail's storage does: append a batch under an exclusive lock, read back in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from vaultkit.audit._record import AuditRecord

# given the last stored (seq, digest, time), the sealed records to append
Builder = Callable[[int, str, str | None], list[AuditRecord]]
# the sealed head value for the new last record
Header = Callable[[AuditRecord], str]


class Sink(Protocol):
    def append(self, build: Builder, header: Header) -> None:
        """Append ``build(last seq, last digest, last time)`` durably, then the head, as one
        step under an exclusive lock held across processes."""
        ...

    def lines(self) -> Iterator[str]:
        """Every stored record's text, oldest first (rotated files included)."""
        ...

    def head(self) -> str | None:
        """The stored sealed head value, if any."""
        ...

    def close(self) -> None: ...
