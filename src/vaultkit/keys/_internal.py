"""The key layer's internal API: what vaultkit's facade (:class:`vaultkit.Vault`, in
``vaultkit._facade``) uses beyond the package's public exports. Not for applications: it changes
with vaultkit, without notice.

- :class:`CachedKeys` / :class:`CacheEntry`: the DEK cache over a caller's
  :class:`~vaultkit.keys.KeyProvider` (bounded in time and uses; an entry carries what the
  facade attaches to its key version, e.g. the field cipher).
- :func:`track` / :class:`ForkAware`: fork safety, an object's ``_after_fork()`` runs in a
  forked child (fresh locks, dropped caches).
"""

from vaultkit.keys._cache import CachedKeys, CacheEntry
from vaultkit.keys._fork import ForkAware, track

__all__ = ["CacheEntry", "CachedKeys", "ForkAware", "track"]
