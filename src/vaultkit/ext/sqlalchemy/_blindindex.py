"""The ``BlindIndex`` column type and its comparator (``matches``): an HMAC of source columns,
``L`` bits (docs/sqlalchemy.md, "Choosing the index length"; the length planner is
``vaultkit.blindindex``'s, the index input ``vaultkit.columns.blind_index_input``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from vaultkit.blindindex import plan as plan_index
from vaultkit.columns import blind_index_input
from vaultkit.errors import KeyNotFoundError, PolicyError, VaultkitTypeError
from vaultkit.ext.sqlalchemy._base import Blob, Protected, bound
from vaultkit.ext.sqlalchemy._marks import mark
from vaultkit.ext.sqlalchemy._retired import retired_versions
from vaultkit.ext.sqlalchemy._sealed import plaintext_of

if TYPE_CHECKING:
    from sqlalchemy.sql.type_api import _ResultProcessorType

    class _InsertContext(Protocol):
        """SQLAlchemy's DefaultExecutionContext, as a column default sees it (its method is
        untyped there)."""

        def get_current_parameters(
            self, isolate_multiinsert_groups: bool = True
        ) -> Mapping[str, object]: ...


__all__ = ["BlindIndex"]


class BlindIndex(Protected):
    """A blind index column: HMAC (``Vault.blind_index``) of its source column(s), L bits.

    Filled on INSERT by a column default computed from the source values of the same statement
    (Core and ORM) and on ORM UPDATE when a source changes. Give the column ``index=True``.
    ``source``: one column key (the encrypted column searched with ``==``) or a tuple of keys
    (a compound index, queried with ``Model.index.matches(v1, v2, ...)``); ``transform``: an
    optional callable per source applied before hashing (e.g. last 4 digits, birth year).

    Its length (docs/sqlalchemy.md, "Choosing the index length"):

    * ``rows=R`` (the number of rows the table is expected to hold) and no ``bits``: the
      planner (:func:`vaultkit.blindindex.plan`) picks a length at which several rows share
      each index value, ``2 <= R/2^L <= sqrt(R)``;
    * ``rows=R`` and ``bits=L``: ``configure()`` refuses an ``L`` outside the planner's bounds
      for ``R`` rows (``PolicyError``), unless ``accept_identifying=True`` says the trade-off
      (an index that nearly identifies rows) is accepted;
    * ``input_bits=K``: with ``rows``, bounds the entropy of the indexed input (e.g. a
      ``transform`` keeping 4 digits: 14 bits), as :func:`vaultkit.blindindex.plan` takes it;
    * ``bits=L`` alone: as declared (nothing to check it against; declare ``rows``);
    * ``unique=True``: the full 256-bit MAC, for a column with a UNIQUE constraint. It
      identifies every row (equal values are all the database learns, but it learns all of
      them): use it only where uniqueness must be enforced by the database.
    """

    cache_ok = True
    compares_stored = True
    _CACHE_ARGS = (
        "key_name",
        "source",
        "bits",
        "transform",
        "rows",
        "input_bits",
        "unique",
        "accept_identifying",
    )
    FULL_BITS = 256  # HMAC-SM3 and HMAC-SHA256 outputs

    def __init__(
        self,
        key_name: str,
        *,
        source: str | tuple[str, ...],
        bits: int | None = None,
        rows: int | None = None,
        input_bits: int | None = None,
        unique: bool = False,
        accept_identifying: bool = False,
        transform: tuple[Callable[..., object] | None, ...] | None = None,
    ) -> None:
        if isinstance(source, str):
            source = (source,)
        source = tuple(source)
        if not source or not all(isinstance(s, str) for s in source):
            raise VaultkitTypeError("source is a column key or a tuple of column keys")
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
            raise VaultkitTypeError("rows (the expected number of rows) is an int >= 1")
        if unique:
            if bits is not None:
                raise VaultkitTypeError("unique=True is the full-length index: give no bits")
            bits = self.FULL_BITS
        elif bits is None:
            if rows is None:
                raise VaultkitTypeError(
                    "BlindIndex needs rows= (the expected row count: the planner picks the "
                    "length), bits= (an explicit length; 32 was the former default), or "
                    "unique=True (full length, identifying)"
                )
            bits = plan_index(rows=rows, input_bits=input_bits).bits
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 256:
            raise VaultkitTypeError("bits is an int in 1..256")
        if transform is not None:
            transform = tuple(transform)
            if len(transform) != len(source):
                raise VaultkitTypeError("transform has one entry (callable or None) per source")
        super().__init__()
        self.key_name = key_name
        self.source = source
        self.bits = bits
        self.rows = rows
        self.input_bits = input_bits
        self.unique = bool(unique)
        self.accept_identifying = bool(accept_identifying)
        self.transform = transform
        self.impl = Blob((bits + 7) // 8)

    def check_length(self, where: str) -> None:
        """Refuse (``PolicyError``) a declared ``bits`` outside the planner's bounds for the
        declared ``rows`` (``configure`` calls it), unless ``accept_identifying``."""
        if self.unique or self.rows is None or self.accept_identifying:
            return
        try:
            plan_index(self.bits, rows=self.rows, input_bits=self.input_bits)
        except PolicyError as exc:
            raise PolicyError(
                f"{where}: {exc}; omit bits to let the planner choose, or declare "
                "accept_identifying=True to keep this length knowingly"
            ) from None

    def value_of(self, values: Sequence[object]) -> str | bytes:
        """What is MACed for one row's source values (``vaultkit.columns.blind_index_input``)."""
        return blind_index_input(values, self.transform)

    def compute(self, values: Sequence[object]) -> bytes | None:
        """The index of one row's source values (None when any is NULL)."""
        if any(v is None for v in values):
            return None
        b = bound(self)
        try:
            return b.vault.blind_index(
                self.key_name, self.value_of(values), context=b.index_context, bits=self.bits
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def candidates(self, values: Sequence[object]) -> list[bytes]:
        """Indexes to look for: one per readable version of the index key (rotation)."""
        b = bound(self)
        try:
            return list(
                b.vault.blind_index_candidates(
                    self.key_name, self.value_of(values), context=b.index_context, bits=self.bits
                )
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def retired_candidates(self, values: Sequence[object]) -> list[tuple[int, bytes]]:
        """``(version, index)`` of ``values`` under each *retired* version of the index key.

        A retired version no longer answers searches, but its material still exists, so the
        indexes it made can be computed: a search checks that no stored index equals one of
        them (``_search``) and raises ``KeyStateError`` if one does, rather than silently
        missing those rows. A destroyed version cannot be computed (``vaultkit key destroy
        --db`` refuses while rows use it). Empty when the provider cannot list states.
        """
        b = bound(self)
        if not retired_versions(b, self.key_name):  # (metadata: no call without one)
            return []
        try:
            return list(
                b.vault.retired_index_candidates(
                    self.key_name, self.value_of(values), context=b.index_context, bits=self.bits
                )
            )
        except KeyNotFoundError:
            raise KeyNotFoundError(f"no key {self.key_name!r} for {b.where}") from None

    def insert_default(self, context: _InsertContext) -> bytes | None:
        """Column default: the index of the statement's own source values (executemany too)."""
        params = context.get_current_parameters()
        return self.compute(tuple(plaintext_of(params.get(k)) for k in self.source))

    # the index bytes pass through as is (the impl's processors only)
    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> _ResultProcessorType[object] | None:
        return self.impl_instance.result_processor(dialect, coltype)

    class Comparator(Protected.Comparator):
        def matches(self, *values: object) -> ColumnElement[bool]:
            """Rows whose source values (in ``source`` order) are ``values``."""
            type_ = self.expr.type
            assert isinstance(type_, BlindIndex)
            if len(values) != len(type_.source):
                raise VaultkitTypeError(f"matches() takes {len(type_.source)} values")
            retired = type_.retired_candidates(values)
            return mark(self.expr.in_(type_.candidates(values)), type_, [values], retired)

    comparator_factory = Comparator
