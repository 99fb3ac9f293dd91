"""Column-expression forms of protect and reveal, for composing with other transformations::

    card = protect_udf(spec, Tokenized("customers.card", format="card"),
                       table="customers", column="card_no")
    df.withColumn("card_no", card("card_no"))

An ``arrow_udf`` on Spark >= 4.1 (Arrow arrays in and out, no pandas), a ``pandas_udf``
otherwise; both call the same array functions as :func:`protect` / :func:`reveal`, so their
outputs are equal. A UDF does one column; ``protect`` does every column in one pass (faster).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import FunctionType
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.spark._arrays import arrow_type, protect_arrays, reveal_array, revealed_type
from vaultkit.ext.spark._frames import spark_type
from vaultkit.ext.spark._plan import Declaration, EncryptOp, IndexOp, Op, op_of
from vaultkit.ext.spark._rowbind import Catalog, records_of
from vaultkit.ext.spark._spec import VaultSpec
from vaultkit.ext.spark._workers import vault_for

if TYPE_CHECKING:
    from pyspark.sql import Column

__all__ = ["has_arrow_udf", "protect_udf", "reveal_udf"]

Udf = Callable[..., "Column"]  # called with column names or Columns, gives the result Column


def has_arrow_udf() -> bool:
    """Spark >= 4.1: ``pyspark.sql.functions.arrow_udf`` exists."""
    from pyspark.sql.pandas import functions

    return hasattr(functions, "arrow_udf")


def _udf(
    f: Callable[[Sequence[pa.Array]], pa.Array], arity: int, type_: pa.DataType, engine: str | None
) -> Udf:
    engine = engine or ("arrow" if has_arrow_udf() else "pandas")
    if engine == "arrow":
        if not has_arrow_udf():
            raise VaultkitTypeError("arrow_udf needs Spark >= 4.1; use engine='pandas'")
        from pyspark.sql.pandas.functions import ArrowUDFType, arrow_udf

        return arrow_udf(lambda *a: f(a), spark_type(type_), ArrowUDFType.SCALAR)
    if engine != "pandas":
        raise VaultkitTypeError('engine is "arrow", "pandas" or None (the best available)')
    from pyspark.sql.pandas.functions import pandas_udf

    def through_pandas(*series: pd.Series) -> pd.Series:
        arrays = [pa.Array.from_pandas(s) for s in series]
        out = f(arrays)
        return out.to_pandas(types_mapper=None)

    # (its overloads are keyed by the hints _with_hints adds at run time)
    make: Callable[..., Udf] = pandas_udf
    return make(_with_hints(through_pandas, arity), spark_type(type_))


def _checked(udf: Udf, op: Op) -> Udf:
    """``udf``, refusing on the driver (``VaultkitTypeError``) a call with another number of
    columns than the plan's inputs: a row-bound column's UDF takes its row-key columns after
    the value. pyspark's attributes (``func``, ``returnType``, ``evalType``: what
    ``spark.udf.register`` reads) are kept."""
    arity = len(op.inputs)

    @functools.wraps(udf)
    def call(*cols: object, **named: object) -> Column:
        if len(cols) + len(named) != arity:
            raise VaultkitTypeError(
                f"{op.where}: the UDF takes {arity} column(s): {', '.join(op.inputs)} "
                f"(got {len(cols) + len(named)})"
            )
        return udf(*cols, **named)

    return call


def _with_hints(f: Callable[..., pd.Series], arity: int) -> Callable[..., pd.Series]:
    """``f`` with ``arity`` positional ``pd.Series`` parameters (pandas_udf reads the hints)."""
    names = [f"c{i}" for i in range(arity)]
    source = f"def g({', '.join(names)}):\n    return f({', '.join(names)})\n"
    scope: dict[str, object] = {"f": f}
    exec(source, scope)  # noqa: S102 - a fixed template; the names are generated above
    g = scope["g"]
    assert isinstance(g, FunctionType)
    g.__annotations__ = {**dict.fromkeys(names, pd.Series), "return": pd.Series}
    return g


def _op(
    declaration: Declaration,
    table: str,
    column: str,
    pk: str | Sequence[str] | None,
    catalog: Catalog,
) -> Op:
    """The column's plan, made here on the driver (an unresolved ``bind_row="auto"`` is refused
    now, not in a task)."""
    keys = (pk,) if isinstance(pk, str) else tuple(pk or ())
    recorded = records_of(catalog, table).get(column)
    return op_of(declaration, table=table, column=column, pk=keys, recorded=recorded)


def protect_udf(
    spec: VaultSpec,
    declaration: Declaration,
    *,
    table: str,
    column: str,
    pk: str | Sequence[str] | None = None,
    engine: str | None = None,
    catalog: Catalog = None,
) -> Udf:
    """A UDF giving the stored form of ``table.column`` declared by ``declaration``. Call it
    with the value column (``Encrypted``, ``Tokenized``; a row-bound ``Encrypted`` also with its
    row-key columns, in order) or the source columns (``BlindIndex``).

    An ``Encrypted`` declaration's ``bind_row="auto"`` must be resolved: by ``configure`` (for
    this table and column) or by ``catalog`` (the application database or its
    ``vaultkit.catalog`` rows); else ``RowBindingError``, naming the column and the fix."""
    op = _op(declaration, table, column, pk, catalog)
    arity = len(op.inputs)

    def run(arrays: Sequence[pa.Array]) -> pa.Array:
        if len(arrays) != arity:
            raise VaultkitTypeError(f"{op.where}: the UDF takes {arity} columns")
        return protect_arrays(vault_for(spec), op, [_plain(a) for a in arrays])

    return _checked(_udf(run, arity, arrow_type(op), engine), op)


def reveal_udf(
    spec: VaultSpec,
    declaration: Declaration,
    *,
    table: str,
    column: str,
    pk: str | Sequence[str] | None = None,
    masked: bool = False,
    engine: str | None = None,
    catalog: Catalog = None,
) -> Udf:
    """A UDF giving the value (or, ``masked``, its display mask) of a stored ``table.column``.
    Call it with the stored column (a row-bound one also with its row-key columns).
    ``catalog``: as for :func:`protect_udf`."""
    op = _op(declaration, table, column, pk, catalog)
    if isinstance(op, IndexOp):
        raise VaultkitTypeError(f"{op.where}: a blind index cannot be revealed")
    arity = len(op.inputs)

    def run(arrays: Sequence[pa.Array]) -> pa.Array:
        keys = [_plain(a) for a in arrays[1:]] if isinstance(op, EncryptOp) else []
        return reveal_array(vault_for(spec), op, _plain(arrays[0]), keys, masked=masked)

    return _checked(_udf(run, arity, revealed_type(op, masked), engine), op)


def _plain(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A single-chunk array (a pandas round trip can give a ChunkedArray)."""
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks()
    return array
