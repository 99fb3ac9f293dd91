"""The mark a rewritten search comparison carries, so exact search and the retired-version check
can find it.

The column types build ``index IN (candidates)`` (``BlindIndex``) or ``tokens IN (stored forms)``
(``Tokenized``, marked only while its key has retired versions); :func:`mark` hangs a
:class:`Search` on its IN parameter (which survives cloning, negation and SQLAlchemy's
parameter extraction, and is not part of the statement cache key). A :class:`Search` holds
keyed digests of the normalized query values, never the values: compiled statements stay in
SQLAlchemy's cache with their first parameters.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnElement

from vaultkit._nopickle import NoPickle
from vaultkit.blindindex import KINDS

if TYPE_CHECKING:
    from vaultkit.ext.sqlalchemy._types import BlindIndex, Tokenized

__all__ = ["Search", "digest", "mark", "may_hold_marks", "search_of"]

_ATTR = "_vaultkit_search"
_SECRET = os.urandom(32)  # keys the digests of query values (per process)
_text = KINDS["text"]


class Search(NoPickle):
    """What one rewritten comparison looks for: its column type; the digests of the normalized
    query values (``BlindIndex.value_of`` of each value tuple, NFKC-stripped text or bytes as
    is: what the index MACs); ``retired``: ``(version, stored form)`` of the values under each
    retired version of the key (rows holding one would be missed: ``_search`` refuses them);
    ``collides``: the candidates may include rows that do not hold a query value (a truncated
    blind index), so exact search filters them. A token comparison does not collide (a token
    is a bijection of the value) and has no digests: it is marked for ``retired`` only."""

    __slots__ = ("collides", "digests", "retired", "type")

    def __init__(
        self,
        type_: BlindIndex | Tokenized,
        values: Iterable[Sequence[object]],
        retired: Sequence[tuple[int, bytes | str]] = (),
        *,
        collides: bool = True,
    ) -> None:
        self.type = type_
        # (a token comparison passes no values: only a BlindIndex's values are digested)
        self.digests = frozenset(digest(type_, v) for v in values)  # type: ignore[arg-type]
        self.retired = tuple(retired)
        self.collides = collides

    def matches(self, source_values: Sequence[object]) -> bool:
        if any(v is None for v in source_values):
            return False
        # (called by exact search, for colliding, i.e. BlindIndex, comparisons only)
        return digest(self.type, source_values) in self.digests  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"Search(<{len(self.digests)} values>)"


def digest(type_: BlindIndex, values: Sequence[object]) -> bytes:
    v = type_.value_of(values)
    raw = v if isinstance(v, bytes) else _text(v).encode("utf-8")
    return hashlib.blake2b(raw, key=_SECRET, digest_size=16).digest()


def mark(
    clause: ColumnElement[bool],
    type_: BlindIndex | Tokenized,
    values: Iterable[Sequence[object]],
    retired: Sequence[tuple[int, bytes | str]] = (),
    *,
    collides: bool = True,
) -> ColumnElement[bool]:
    """Mark ``clause`` (``column IN (candidates)``, as built, with an expanding parameter) as a
    search comparison (:class:`Search`)."""
    right = getattr(clause, "right", None)
    if isinstance(right, BindParameter):
        right.__dict__[_ATTR] = Search(type_, values, retired, collides=collides)
    return clause


def may_hold_marks(stmt: object) -> bool:
    """False when no bind parameter of ``stmt`` carries a :class:`Search` (nothing to walk).

    Reads the bind parameters of the statement's cache key, which SQLAlchemy memoizes on the
    statement and computes for its statement cache anyway, so a statement without a marked
    comparison costs no walk of its own. True (walk it) when the statement has no cache key.
    """
    try:
        key = stmt._generate_cache_key()  # type: ignore[attr-defined]  # (any element's)
    except Exception:  # not a cacheable element: let the caller walk it
        return True
    if key is None:
        return True
    return any(_ATTR in b.__dict__ for b in key.bindparams)


def search_of(elem: object) -> Search | None:
    """The :class:`Search` of a marked comparison (``IN`` or, negated, ``NOT IN``), else None."""
    if isinstance(elem, BinaryExpression) and isinstance(elem.right, BindParameter):
        s = elem.right.__dict__.get(_ATTR)
        if s is not None and elem.operator in (operators.in_op, operators.not_in_op):
            return s  # type: ignore[no-any-return]
    return None
