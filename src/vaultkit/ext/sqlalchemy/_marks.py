"""The mark a rewritten blind-index comparison carries, so exact search can find it.

The column types build ``index IN (candidates)``; :func:`mark` hangs a :class:`Search` on its IN
parameter (which survives cloning, negation and SQLAlchemy's parameter extraction, and is not
part of the statement cache key). A :class:`Search` holds keyed digests of the normalized query
values, never the values: compiled statements stay in SQLAlchemy's cache with their first
parameters.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnElement

from vaultkit._nopickle import NoPickle
from vaultkit.blindindex import KINDS

if TYPE_CHECKING:
    from vaultkit.ext.sqlalchemy._types import BlindIndex

__all__ = ["Search", "digest", "mark", "may_hold_marks", "search_of"]

_ATTR = "_vaultkit_search"
_SECRET = os.urandom(32)  # keys the digests of query values (per process)
_text = KINDS["text"]


class Search(NoPickle):
    """What one rewritten comparison looks for: its index type and the digests of the
    normalized query values (``BlindIndex.value_of`` of each value tuple, NFKC-stripped text or
    bytes as is: what the index MACs), and ``retired``: ``(version, index)`` of the values
    under each retired version of the index key (rows indexed under them would be missed)."""

    __slots__ = ("digests", "retired", "type")

    def __init__(
        self,
        type_: BlindIndex,
        values: Iterable[Sequence[Any]],
        retired: Sequence[tuple[int, bytes]] = (),
    ) -> None:
        self.type = type_
        self.digests = frozenset(digest(type_, v) for v in values)
        self.retired = tuple(retired)

    def matches(self, source_values: Sequence[Any]) -> bool:
        if any(v is None for v in source_values):
            return False
        return digest(self.type, source_values) in self.digests

    def __repr__(self) -> str:
        return f"Search(<{len(self.digests)} values>)"


def digest(type_: BlindIndex, values: Sequence[Any]) -> bytes:
    v = type_.value_of(values)
    raw = v if isinstance(v, bytes) else _text(v).encode("utf-8")
    return hashlib.blake2b(raw, key=_SECRET, digest_size=16).digest()


def mark(
    clause: ColumnElement[bool],
    type_: BlindIndex,
    values: Iterable[Sequence[Any]],
    retired: Sequence[tuple[int, bytes]] = (),
) -> ColumnElement[bool]:
    """Mark ``clause`` (``index IN (candidates)``, as built) as a blind-index comparison."""
    right = getattr(clause, "right", None)
    if isinstance(right, BindParameter):
        right.__dict__[_ATTR] = Search(type_, values, retired)
    return clause


def may_hold_marks(stmt: Any) -> bool:
    """False when no bind parameter of ``stmt`` carries a :class:`Search` (nothing to walk).

    Reads the bind parameters of the statement's cache key, which SQLAlchemy memoizes on the
    statement and computes for its statement cache anyway, so a statement without a blind-index
    comparison costs no walk of its own. True (walk it) when the statement has no cache key.
    """
    try:
        key = stmt._generate_cache_key()
    except Exception:  # not a cacheable element: let the caller walk it
        return True
    if key is None:
        return True
    return any(_ATTR in b.__dict__ for b in key.bindparams)


def search_of(elem: Any) -> Search | None:
    """The :class:`Search` of a marked comparison (``IN`` or, negated, ``NOT IN``), else None."""
    if isinstance(elem, BinaryExpression) and isinstance(elem.right, BindParameter):
        s = elem.right.__dict__.get(_ATTR)
        if s is not None and elem.operator in (operators.in_op, operators.not_in_op):
            return s  # type: ignore[no-any-return]
    return None
