"""Rate limits of grants (``max_per_minute``): a sliding 60-second window per grant, **per
process**.

Each process counts the items its own Vaults were allowed under each grant (keyed by ring,
principal and key pattern; every Vault of the process over that ring shares the count). N
processes under one principal may together reach N times the limit: a limit across processes
is the key service's (``vaultkit serve``), where every request goes through one process.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque

__all__ = ["WINDOW", "admit", "reset"]

WINDOW = 60.0  # seconds
_windows: dict[tuple[str, str, str], deque[tuple[float, int]]] = {}
_totals: dict[tuple[str, str, str], int] = {}
_lock = threading.Lock()


def admit(grant_id: tuple[str, str, str], count: int, limit: int) -> bool:
    """Whether ``count`` more items fit in the last minute's ``limit`` for ``grant_id``; if
    they do, they are counted. A batch larger than the limit never fits."""
    now = time.monotonic()
    with _lock:
        window = _windows.setdefault(grant_id, deque())
        total = _totals.get(grant_id, 0)
        while window and window[0][0] <= now - WINDOW:
            total -= window.popleft()[1]
        if total + count > limit:
            _totals[grant_id] = total
            return False
        window.append((now, count))
        _totals[grant_id] = total + count
        return True


def reset() -> None:
    """Forget every count (and take a fresh lock: a forked child's may be held)."""
    global _lock
    _lock = threading.Lock()
    _windows.clear()
    _totals.clear()


os.register_at_fork(after_in_child=reset)
