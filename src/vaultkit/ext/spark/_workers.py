"""One Vault per (spec, process): opened lazily by the first task a Python worker runs, reused by
every later task of that worker, dropped in a forked child, closed when the worker exits.

The cache lives here, in vaultkit, and not in the job's code: cloudpickle copies ``__main__``
into every task, so a cache kept there is rebuilt for each task, and opening a Vault costs a key
derivation (scrypt) or an HSM login (docs/spark.md, "Worker reuse"). Nothing here is pickled:
tasks carry the :class:`~vaultkit.ext.spark.VaultSpec`, never a Vault.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaultkit.ext.spark._spec import VaultSpec
    from vaultkit.keys import KeyRing
    from vaultkit.vault import Vault

__all__ = ["opens", "vault_for"]

_lock = threading.Lock()
_pid = os.getpid()
_open: dict[VaultSpec, tuple[Vault, KeyRing]] = {}
_opens: dict[VaultSpec, int] = {}  # Vaults this process opened, per spec


def _forget_after_fork() -> None:
    # A forked child must not use (nor close) its parent's key ring, sessions or cached DEKs:
    # drop the references; the child opens its own on first use.
    global _lock, _pid
    _lock = threading.Lock()
    _pid = os.getpid()
    _open.clear()
    _opens.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def vault_for(spec: VaultSpec) -> Vault:
    """This process's Vault for ``spec``, opened on first use."""
    if os.getpid() != _pid:  # (forked without the hook: e.g. by a C extension)
        _forget_after_fork()
    found = _open.get(spec)
    if found is not None:
        return found[0]
    with _lock:
        found = _open.get(spec)
        if found is None:
            found = _opened(spec)
            _open[spec] = found
    return found[0]


def _opened(spec: VaultSpec) -> tuple[Vault, KeyRing]:
    from vaultkit.vault import Vault

    ring = spec.open_ring()
    try:
        vault = Vault(ring, principal=spec.principal, audit=spec.audit_hook(ring))
    except BaseException:
        ring.close()
        raise
    _opens[spec] = _opens.get(spec, 0) + 1
    return vault, ring


def opens(spec: VaultSpec) -> int:
    """How many Vaults for ``spec`` this process has opened (with worker reuse: at most 1)."""
    return _opens.get(spec, 0)


@atexit.register
def close_all() -> None:
    """Close (wipe) this process's Vaults and rings; also at interpreter exit."""
    with _lock:
        items = list(_open.values())
        _open.clear()
    for vault, ring in items:
        vault.close()
        ring.close()
