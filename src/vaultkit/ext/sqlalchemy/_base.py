"""What the column types share (``_Protected``): a key name, a binding, the result processor
and the search rewrite of ``==``/``IN``.

Every constructor argument is stored under its own name and is hashable, so ``cache_ok = True``
holds (SQLAlchemy builds the statement cache key from them). What a type is bound to (Vault,
table, column) is set by :func:`vaultkit.ext.sqlalchemy.configure` and is not part of the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.operators import OperatorType
from sqlalchemy.types import TypeDecorator, TypeEngine

from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.sqlalchemy._binding import ColumnBinding, NotConfiguredError
from vaultkit.ext.sqlalchemy._results import LatestOpened, Opened

if TYPE_CHECKING:
    from sqlalchemy.sql.type_api import _BindProcessorType, _ResultProcessorType

__all__ = ["Blob", "Protected", "bound", "refused"]

_EQ_OPS = (operators.eq, operators.ne)
_IN_OPS = (operators.in_op, operators.not_in_op)
_NEGATED = (operators.ne, operators.not_in_op)
# Sorting and de-duplicating by a stored value (any protected type, blind indexes included):
# refused where built; the bare-column forms (order_by(col), ...) at compile time (_ordering).
_ORDERING = {
    operators.desc_op: "ORDER BY",
    operators.asc_op: "ORDER BY",
    operators.nulls_first_op: "ORDER BY",
    operators.nulls_last_op: "ORDER BY",
    operators.distinct_op: "DISTINCT",
}
# Comparisons a ciphertext cannot answer without decrypting the table (which queries never do).
_REFUSED = frozenset(
    (
        operators.lt,
        operators.le,
        operators.gt,
        operators.ge,
        operators.between_op,
        operators.like_op,
        operators.ilike_op,
        operators.not_like_op,
        operators.not_ilike_op,
        operators.startswith_op,
        operators.endswith_op,
        operators.contains_op,
        operators.regexp_match_op,
        operators.add,
        operators.sub,
        operators.concat_op,
    )
)


class Blob(LargeBinary):
    """``LargeBinary`` that binds ``bytes`` as they are where the driver takes them natively
    (sqlite3, psycopg, asyncpg) instead of wrapping each in the DBAPI's ``Binary`` (on SQLite a
    ``memoryview``: one object per value for the garbage collector to track)."""

    _NATIVE_BYTES = frozenset({"sqlite", "postgresql"})

    def bind_processor(self, dialect: Dialect) -> _BindProcessorType[bytes] | None:
        if dialect.name in self._NATIVE_BYTES:
            return None
        processor: _BindProcessorType[bytes] | None = super().bind_processor(dialect)  # type: ignore[no-untyped-call]
        return processor


def bound(type_: Protected) -> ColumnBinding:
    binding = type_.binding
    if binding is None:
        raise NotConfiguredError(
            f"a {type(type_).__name__} column (key {type_.key_name!r}) is not bound to a Vault: "
            "call vaultkit.ext.sqlalchemy.configure(vault, Base) before using the model"
        )
    return binding


def refused(clause: str, name: str, type_: object) -> VaultkitTypeError:
    what = type(type_).__name__
    return VaultkitTypeError(
        f"{name}: {clause} on a protected column ({what}) is refused: it would "
        f"{'sort' if clause == 'ORDER BY' else 'group'} by the stored "
        f"{'MAC' if what == 'BlindIndex' else 'ciphertext or token'}, not by the value "
        "(queries never decrypt the table); order or group by a plain column, or in Python "
        "after loading"
    )


def _is_sql(value: object) -> bool:
    return isinstance(value, ColumnElement) or hasattr(value, "__clause_element__")


def _python_values(other: Iterable[object], where: str) -> list[object]:
    values = list(other)
    if any(_is_sql(v) for v in values):
        raise VaultkitTypeError(
            f"{where}: IN over a protected column takes Python values "
            "(a SQL expression would need the plaintext in the database)"
        )
    return values


# what a protected type stores in: bytes or text, as an instance or a class
_Impl = TypeEngine[bytes] | TypeEngine[str] | type[TypeEngine[bytes]] | type[TypeEngine[str]]


class Protected(TypeDecorator[object]):
    """What the three types share: a key name, a binding and the search rewrite."""

    impl: _Impl = LargeBinary
    cache_ok = True
    key_name: str
    compares_stored = False  # True: ==/IN compare the stored values as they are (BlindIndex)
    # One slot shared with the copies SQLAlchemy makes per dialect (TypeDecorator.dialect_impl
    # copies the instance), so configure() re-binding reaches them too.
    _binding_slot: list[ColumnBinding | None]

    def __init__(self) -> None:
        super().__init__()
        self._binding_slot = [None]
        self.latest = LatestOpened()  # shared with the dialect copies too (a weak reference)

    @property
    def binding(self) -> ColumnBinding | None:
        return self._binding_slot[0]

    def bind(self, binding: ColumnBinding | None) -> None:
        """Set by ``configure``; a copy of the type (``copy.copy``) must call ``unshare`` first."""
        self._binding_slot[0] = binding
        self.latest.reset()

    def unshare(self) -> None:
        self._binding_slot = [None]
        self.latest = LatestOpened()

    def __getstate__(self) -> dict[str, object]:
        # a pickled type (e.g. inside a pickled MetaData) carries no Vault and no plaintext
        state = {k: v for k, v in self.__dict__.items() if k not in ("latest", "_binding_slot")}
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._binding_slot = [None]
        self.latest = LatestOpened()

    def _open_one(self, stored: object) -> object:
        """The per-value path of the result processor (for stored values not batch-opened)."""
        return self.process_result_value(stored, None)  # type: ignore[arg-type]

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> _ResultProcessorType[object] | None:
        # TypeDecorator's composes impl's processor and process_result_value; where the impl
        # has none, the values the batch read path opened (``_results``) are looked up first.
        impl = self.impl_instance.result_processor(dialect, coltype)
        if impl is None and getattr(self, "row_key", None) is None:
            # (never for row-bound columns: a stored value must be opened under its own row)
            return self.latest.processor(self._open_one)
        result = self.process_result_value

        def process(value: object) -> object:
            if value is None:
                return None
            if type(value) is Opened:  # a row-bound value opened under its row (_rowread)
                return value.value
            return result(value if impl is None else impl(value), dialect)

        return process

    # SQLAlchemy's default cache key reads only positional __init__ arguments; ours are
    # keyword-only, so every constructor argument is listed here (all hashable).
    _CACHE_ARGS: tuple[str, ...] = ()

    @property
    def _static_cache_key(self) -> tuple[object, ...]:
        return (type(self), *((k, self.__dict__[k]) for k in self._CACHE_ARGS))

    def _equal_to(self, expr: ColumnElement[object], values: list[object]) -> ColumnElement[bool]:
        raise NotImplementedError

    class Comparator(TypeDecorator.Comparator[object]):
        # SQLAlchemy's signature: the operands are whatever the expression was given
        def operate(self, op: OperatorType, *other: Any, **kwargs: Any) -> ColumnElement[Any]:
            type_ = self.expr.type
            name = getattr(self.expr, "key", "?")
            if isinstance(type_, Protected) and op in _ORDERING:
                raise refused(_ORDERING[op], name, type_)
            if not isinstance(type_, Protected) or type_.compares_stored:
                return super().operate(op, *other, **kwargs)
            if op in _EQ_OPS and other and other[0] is not None and not _is_sql(other[0]):
                # (column == column compares stored forms: SQLAlchemy itself needs that)
                values = [other[0]]
            elif op in _IN_OPS and other and not isinstance(other[0], ColumnElement):
                values = _python_values(other[0], name)
                if any(v is None for v in values):
                    raise VaultkitTypeError(f"{name}: IN with None; use .is_(None)")
            elif op in _REFUSED:
                raise VaultkitTypeError(
                    f"{name}: a protected column supports only ==, !=, IN and IS NULL "
                    "(queries never decrypt the table)"
                )
            else:
                return super().operate(op, *other, **kwargs)
            clause = type_._equal_to(self.expr, values)
            return ~clause if op in _NEGATED else clause

    comparator_factory = Comparator
