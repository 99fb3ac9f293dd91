"""The mixin every object holding key material, plaintext or a session uses to refuse pickling."""

from __future__ import annotations

from typing import NoReturn

__all__ = ["NoPickle"]


class NoPickle:
    """Mixin for objects that hold secrets or sessions: pickling (and copying) is refused."""

    __slots__ = ()

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds secrets and cannot be pickled")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds secrets and cannot be pickled")

    def __getstate__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds secrets and cannot be pickled")
