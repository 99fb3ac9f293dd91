"""What a blind-index column MACs for one row's source values (docs/sqlalchemy.md, "Blind
indexes"): the ORM's ``BlindIndex``, ``vaultkit reencrypt --from-plaintext`` and any other door
compute the index of the same value from this input, so a search finds rows every door wrote.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

__all__ = ["blind_index_input"]

_U32 = struct.Struct(">I")

# a callable per source value (any argument type: the application's own function)
Transform = Callable[..., object] | None


def blind_index_input(
    values: Sequence[object], transform: Sequence[Transform] | None = None
) -> str | bytes:
    """The input of the blind index of one row's source ``values`` (none of them None).

    One source: a str as it is (the indexer normalizes text), bytes as they are, anything else
    as the UTF-8 of its ``str``. Several sources: each part (str as UTF-8) length-prefixed with
    a 4-byte big-endian length, concatenated (injective). ``transform``: an optional callable
    per source, applied first (e.g. last 4 digits, birth year).
    """
    parts: list[bytes] = []
    for i, v in enumerate(values):
        if transform is not None:
            t = transform[i]
            if t is not None:
                v = t(v)
        if len(values) == 1 and isinstance(v, str):
            return v
        raw = v if isinstance(v, bytes) else str(v).encode("utf-8")
        parts += (_U32.pack(len(raw)), raw)
    return b"".join(parts) if len(values) > 1 else parts[1]
