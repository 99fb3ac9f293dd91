"""The key ring's principals: access grants and the bearer tokens of the key service.

Both live in the store body, so the store's MAC covers them: only a KEK holder changes them, a
tampered grant or token list makes the ring refuse to open (like any store tamper), and a KEK
rotation carries them over untouched (it rewraps keys, never the body's other fields).

Body fields (absent from stores that never had a grant; such stores open as before):

- ``access_control``: true once a grant was ever made. It stays true when the last grant is
  revoked: a ring that once had grants never falls back to "everyone may do everything".
- ``grants``: ``[{"principal", "keys", "operations", "max_per_minute", "expires"}, ...]``
  (:class:`vaultkit.access.Grant`).
- ``tokens``: ``[{"principal", "sm3", "created"}, ...]``: the SM3 hash (GB/T 32905-2016) of each
  bearer token :meth:`issue_token` printed; the token itself is never stored.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from vaultkit.access._grant import Grant, check_operations, check_principal
from vaultkit.errors import VaultkitTypeError
from vaultkit.keys._ring_format import _now
from vaultkit.keys._ring_versions import _RingVersions

__all__: list[str] = []

# a leaked token is recognizable by secret scanners
_TOKEN_PREFIX = "vkt_"  # noqa: S105 (a prefix, not a secret)
_TOKEN_BYTES = 32  # 256 random bits


def _token_hash(token: str) -> str:
    from vaultkit.hazmat.hashes import sm3

    return sm3(token.encode("utf-8")).hex()


class _RingGrants(_RingVersions):
    """Principals, grants and tokens of a :class:`~vaultkit.keys.KeyRing` (module docstring)."""

    __slots__ = ()

    # -- grants -----------------------------------------------------------------------------------
    def grant(
        self,
        principal: str,
        keys: str,
        operations: Iterable[str] | str,
        *,
        max_per_minute: int | None = None,
        expires: _dt.datetime | _dt.date | None = None,
    ) -> Grant:
        """Allow ``principal`` ``operations`` on the keys matching ``keys`` (shell-style).

        Operations: ``encrypt``, ``decrypt``, ``tokenize``, ``detokenize``, ``search`` (blind
        indexes) and ``reveal_masked`` (:meth:`vaultkit.Vault.decrypt_masked`). Granting the same
        principal and pattern again replaces that grant. ``max_per_minute`` limits the items a
        minute in each process; ``expires`` (a timezone-aware datetime, or a date: 00:00 UTC of
        that day) ends the grant. From the first grant on, the ring is access-controlled: a
        :class:`~vaultkit.Vault` over it needs a principal and is held to its grants.
        """
        new = Grant.make(principal, keys, operations, max_per_minute, expires)

        def change(body: dict[str, Any]) -> Grant:
            kept = [
                g
                for g in body.get("grants", [])
                if (g["principal"], g["keys"]) != (new.principal, new.keys)
            ]
            body["grants"] = [*kept, new.to_json()]
            body["access_control"] = True
            return new

        return self._mutate(change)

    def revoke(
        self,
        principal: str,
        keys: str | None = None,
        operations: Iterable[str] | str | None = None,
    ) -> int:
        """Take ``operations`` (all when None) away from ``principal``'s grants on pattern
        ``keys`` (every pattern when None); a grant left with no operation is removed. Returns
        how many grants changed. The ring stays access-controlled."""
        check_principal(principal)
        if keys is not None and not isinstance(keys, str):
            raise VaultkitTypeError("keys is the pattern of a grant (str) or None")
        ops = None if operations is None else check_operations(operations)

        def change(body: dict[str, Any]) -> int:
            changed, out = 0, []
            for g in body.get("grants", []):
                if g["principal"] != principal or (keys is not None and g["keys"] != keys):
                    out.append(g)
                    continue
                changed += 1
                left = [] if ops is None else [op for op in g["operations"] if op not in ops]
                if left:
                    out.append(dict(g, operations=left))
            if "grants" in body:
                body["grants"] = out
            return changed

        return self._mutate(change)

    def grants(self, principal: str | None = None) -> list[Grant]:
        """Every grant (of ``principal`` when given), in the order they were made."""
        with self._lock:
            self._refresh()
            stored = list(self._body.get("grants", []))
        out = [Grant.from_json(g) for g in stored]
        return out if principal is None else [g for g in out if g.principal == principal]

    @property
    def access_controlled(self) -> bool:
        """Whether the ring has (or once had) grants: a Vault over it needs a principal."""
        with self._lock:
            self._refresh()
            return bool(self._body.get("access_control", False))

    # -- bearer tokens of the key service -------------------------------------------------------
    def issue_token(self, principal: str) -> str:
        """A new bearer token for ``principal`` (256 random bits): shown once, here. The ring
        stores only its SM3 hash; :meth:`principal_for_token` maps it back."""
        check_principal(principal)
        token = _TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)

        def change(body: dict[str, Any]) -> None:
            body.setdefault("tokens", []).append(
                {"principal": principal, "sm3": _token_hash(token), "created": _now()}
            )

        self._mutate(change)
        return token

    def principal_for_token(self, token: str) -> str | None:
        """The principal ``token`` was issued to; None when it is unknown or revoked. Every
        stored hash is compared in constant time (no early exit)."""
        if not isinstance(token, str):
            return None
        digest = _token_hash(token).encode()
        with self._lock:
            self._refresh()
            stored = list(self._body.get("tokens", []))
        found: str | None = None
        for t in stored:
            if hmac.compare_digest(digest, str(t["sm3"]).encode()) and found is None:
                found = str(t["principal"])
        return found

    def revoke_tokens(self, principal: str) -> int:
        """Revoke every token of ``principal``; returns how many."""
        check_principal(principal)

        def change(body: dict[str, Any]) -> int:
            tokens = body.get("tokens", [])
            kept = [t for t in tokens if t["principal"] != principal]
            if "tokens" in body:
                body["tokens"] = kept
            return len(tokens) - len(kept)

        return self._mutate(change)
