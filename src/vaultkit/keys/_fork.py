"""Fork safety for the key layer's objects that hold locks or cached keys.

A lock some other thread of the parent held at ``fork()`` time stays held in the child (that
thread does not exist there), so its first use would wait forever; and a cached DEK or a token
session belongs to the parent. Objects that register here get their ``_after_fork()`` called in
the child, where they replace their locks and drop what they cached.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["ForkAware", "track"]


class ForkAware(Protocol):
    def _after_fork(self) -> None: ...


_LIVE: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def track(obj: ForkAware) -> None:
    """Call ``obj._after_fork()`` in every child forked while ``obj`` is alive."""
    _LIVE.add(obj)


def _after_fork_in_child() -> None:
    for obj in list(_LIVE):
        obj._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
