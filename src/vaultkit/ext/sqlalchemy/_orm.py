"""ORM wiring: row-bound contexts and blind indexes on UPDATE (the masked accessor is
``_masked``'s).

A TypeDecorator sees one value, never its row. Row-bound columns are therefore encrypted in the
mapper's ``before_insert``/``before_update`` events (where the instance and its key are known),
passed to the statement as :class:`Sealed`, restored to plaintext in ``after_*``, and decrypted in
the instance ``load``/``refresh`` events, so their errors can name the primary key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper
from sqlalchemy.orm.attributes import flag_modified

from vaultkit.columns import column_context, row_key
from vaultkit.columns._context import row_key_shown
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.sqlalchemy._base import bound
from vaultkit.ext.sqlalchemy._binding import key_defaults
from vaultkit.ext.sqlalchemy._results import RowBound
from vaultkit.ext.sqlalchemy._sealed import Sealed, plaintext_of
from vaultkit.ext.sqlalchemy._types import BlindIndex, Encrypted

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import InstanceState
    from sqlalchemy.sql.elements import ColumnElement

__all__ = ["Protected", "install"]

_PLAN = "vaultkit.plan"


class _RowBoundAttr:
    __slots__ = ("attr", "key_attrs", "key_defaults", "type")

    def __init__(
        self,
        attr: str,
        type_: Encrypted,
        key_attrs: tuple[str, ...],
        key_defaults: tuple[Callable[[], Any] | None, ...],
    ) -> None:
        self.attr = attr
        self.type = type_
        self.key_attrs = key_attrs
        self.key_defaults = key_defaults  # Python-side defaults of the key, computed first


class _IndexAttr:
    __slots__ = ("attr", "sources", "type")

    def __init__(self, attr: str, type_: BlindIndex, sources: tuple[str, ...]) -> None:
        self.attr = attr
        self.type = type_
        self.sources = sources


class _Plan:
    """What one mapper's events have to do (computed once per mapper and configure)."""

    __slots__ = ("indexes", "pk_attrs", "row_bound")

    def __init__(self, mapper: Mapper[object]) -> None:
        attr_of: dict[ColumnElement[object], str] = {
            c: mapper.get_property_by_column(c).key for c in mapper.columns
        }
        by_key: dict[str, ColumnElement[object]] = {c.key: c for c in mapper.local_table.columns}
        self.pk_attrs = tuple(attr_of[c] for c in mapper.primary_key)
        self.row_bound: list[_RowBoundAttr] = []
        self.indexes: list[_IndexAttr] = []
        for column, attr in attr_of.items():
            t = column.type
            if isinstance(t, Encrypted) and t.row_key is not None:
                names = t.row_key
                cols = [by_key[n] for n in names] if names else list(mapper.primary_key)
                keys = tuple(attr_of[c] for c in cols)
                self.row_bound.append(_RowBoundAttr(attr, t, keys, key_defaults(cols)))
            elif isinstance(t, BlindIndex):
                self.indexes.append(
                    _IndexAttr(attr, t, tuple(attr_of[by_key[s]] for s in t.source))
                )


def plan(mapper: Mapper[object]) -> _Plan:
    info = mapper.class_manager.info
    p = info.get(_PLAN)
    if p is None:
        p = info[_PLAN] = _Plan(mapper)
    assert isinstance(p, _Plan)
    return p


def forget_plans(mappers: Iterable[Mapper[object]]) -> None:
    for m in mappers:
        m.class_manager.info.pop(_PLAN, None)


def _where(rb: _RowBoundAttr, label: str, values: list[object]) -> str:
    b = bound(rb.type)
    return f"{b.where}, {label} {row_key_shown(values)}" if values else b.where


def _seal_row_bound(
    target: object, state: InstanceState[object], p: _Plan, *, changed_only: bool
) -> None:
    d = state.dict
    for rb in p.row_bound:
        value = d.get(rb.attr)
        if value is None or type(value) is Sealed:
            continue
        if changed_only and not any(
            state.attrs[a].history.has_changes() for a in (rb.attr, *rb.key_attrs)
        ):
            continue  # neither the value nor its row key changed: the ciphertext still fits
        if not changed_only:  # INSERT: a key the client computes (default=uuid4) is set now
            _fill_key(target, rb)
        key = [d.get(a) for a in rb.key_attrs]
        b = bound(rb.type)
        if any(k is None for k in key):
            raise VaultkitTypeError(
                f"{b.where} is bound to the row key {rb.key_attrs}, which is not assigned before "
                "the INSERT (autoincrement keys are assigned by the database afterwards): assign "
                "it before flush or bind to a natural key"
            )
        ctx = column_context(b.table, b.column, row_key(key))
        if changed_only and not state.attrs[rb.attr].history.has_changes():
            flag_modified(target, rb.attr)  # only its row key changed: UPDATE it too
        d[rb.attr] = Sealed(rb.type.seal(value, ctx, _where(rb, "row", key)), value)


def _fill_key(target: object, rb: _RowBoundAttr) -> None:
    """Assign the unset row-key attributes that have a Python-side default, as the INSERT
    would, so the value is sealed under the key the row gets (docs/sqlalchemy.md)."""
    d = inspect(target).dict
    for attr, default in zip(rb.key_attrs, rb.key_defaults, strict=True):
        if default is not None and d.get(attr) is None:
            setattr(target, attr, default())


def _restore(target: object) -> None:
    d = inspect(target).dict
    for k, v in d.items():
        if type(v) is Sealed:
            d[k] = v.plaintext


def _before_insert(mapper: Mapper[object], connection: Connection, target: object) -> None:
    p = plan(mapper)
    if p.row_bound:
        _seal_row_bound(target, inspect(target), p, changed_only=False)


def _before_update(mapper: Mapper[object], connection: Connection, target: object) -> None:
    p = plan(mapper)
    state = inspect(target)
    for ix in p.indexes:
        if any(state.attrs[s].history.has_changes() for s in ix.sources):
            values = tuple(plaintext_of(getattr(target, s)) for s in ix.sources)
            setattr(target, ix.attr, ix.type.compute(values))
    if p.row_bound:
        _seal_row_bound(target, state, p, changed_only=True)


def _after_write(mapper: Mapper[object], connection: Connection, target: object) -> None:
    if plan(mapper).row_bound:
        _restore(target)


def _open_row_bound(target: object, *_: object) -> None:
    state = inspect(target)
    p = plan(state.mapper)
    d = state.dict
    for rb in p.row_bound:
        value = d.get(rb.attr)
        if type(value) is not RowBound:
            continue
        b = bound(rb.type)
        unloaded = [a for a in rb.key_attrs if a not in d]
        if unloaded:  # (opening under a missing key would fail as if tampered with)
            raise VaultkitTypeError(
                f"{b.where} is row-bound to {', '.join(rb.key_attrs)}, not loaded with it: "
                f"load {', '.join(unloaded)} too (do not defer a row key)"
            )
        key = [d.get(a) for a in rb.key_attrs]
        ctx = column_context(b.table, b.column, row_key(key))
        d[rb.attr] = rb.type.open_row(
            value.stored, ctx, _where(rb, "primary key", [d.get(a) for a in p.pk_attrs])
        )


_MAPPER_EVENTS = (
    ("before_insert", _before_insert),
    ("before_update", _before_update),
    ("after_insert", _after_write),
    ("after_update", _after_write),
)
_INSTANCE_EVENTS = (("load", _open_row_bound), ("refresh", _open_row_bound))


def install(base: type) -> None:
    """Listen on ``base`` (a declarative base or mapped class) and its subclasses, once."""
    for name, fn in (*_MAPPER_EVENTS, *_INSTANCE_EVENTS):
        if not event.contains(base, name, fn):
            event.listen(base, name, fn, propagate=True)


class Protected:
    """Mixin for models with protected columns: ``customer.masked("card_no")``."""

    __slots__ = ()

    def masked(self, attr: str) -> str | None:
        from vaultkit.ext.sqlalchemy._masked import masked  # (it uses this module's plans)

        return masked(self, attr)
