"""``protect`` and ``reveal``: every listed column of a DataFrame in one ``mapInArrow`` pass.

One Python pass over each Arrow batch does every column (tokenize, encrypt, blind index; or
detokenize, decrypt, masked reveal) with one batch call per column and key version, in the
worker's own Vault (:mod:`._workers`). The schema keeps its column order and nullability; a
protected column takes its stored type (binary or string), a revealed one its value type; a
blind-index column the DataFrame does not have yet is appended at the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.spark._arrays import arrow_type, protect_arrays, reveal_array, revealed_type
from vaultkit.ext.spark._plan import Columns, EncryptOp, IndexOp, Model, Op, plan
from vaultkit.ext.spark._rowbind import Catalog
from vaultkit.ext.spark._spec import VaultSpec
from vaultkit.ext.spark._workers import vault_for

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.types import DataType, StructType

__all__ = ["protect", "reveal", "spark_type"]


def spark_type(type_: pa.DataType) -> DataType:
    """The Spark SQL type of an Arrow type this module produces."""
    from pyspark.sql import types as T

    if pa.types.is_binary(type_):
        return T.BinaryType()
    if pa.types.is_string(type_):
        return T.StringType()
    if pa.types.is_int64(type_):
        return T.LongType()
    if pa.types.is_decimal(type_):
        return T.DecimalType(type_.precision, type_.scale)
    if pa.types.is_date32(type_):
        return T.DateType()
    return T.TimestampNTZType()


def _check_inputs(df: DataFrame, ops: Sequence[Op]) -> None:
    names = set(df.columns)
    missing = sorted({c for op in ops for c in op.inputs if c not in names})
    if missing:
        raise VaultkitTypeError(
            f"the DataFrame has no column {', '.join(missing)} (columns: {', '.join(df.columns)})"
        )


def _schema(df: DataFrame, types: dict[str, pa.DataType]) -> StructType:
    from pyspark.sql import types as T

    fields = [
        T.StructField(f.name, spark_type(types[f.name]), f.nullable) if f.name in types else f
        for f in df.schema.fields
    ]
    present = {f.name for f in fields}
    fields += [T.StructField(n, spark_type(t), True) for n, t in types.items() if n not in present]
    return T.StructType(fields)


def protect(
    df: DataFrame,
    spec: VaultSpec,
    *,
    columns: Columns = None,
    model: Model = None,
    table: str | None = None,
    pk: str | Sequence[str] | None = None,
    catalog: Catalog = None,
) -> DataFrame:
    """``df`` with the listed columns protected as the ORM stores them (one ``mapInArrow``).

    ``columns={"card_no": Tokenized(...), ...}`` with ``table=`` (the name their contexts bind),
    or ``model=Customer`` (a SQLAlchemy model or ``Table``: its declarations, optionally only
    ``columns=[names]``). ``pk``: the primary-key column(s) of row-bound columns (a model's
    own primary key by default). Blind indexes are computed from their source columns'
    plaintext (protected in the same pass).

    An ``Encrypted`` column's ``bind_row="auto"`` is resolved on the driver from ``model``, from
    its ``configure`` resolution, or from ``catalog`` (the application database, or
    ``vaultkit.catalog`` rows: what the ORM recorded); else ``RowBindingError`` names the
    column and the fix (docs/spark.md). ``catalog`` also refuses a binding contradicting it."""
    ops = plan(columns=columns, model=model, table=table, pk=pk, catalog=catalog)
    _check_inputs(df, ops)
    types = {op.column: arrow_type(op) for op in ops}
    schema = _schema(df, types)
    names = list(schema.fieldNames())
    ops_ = tuple(ops)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        vault = vault_for(spec)
        for batch in batches:
            arrays = {n: batch.column(n) for n in batch.schema.names}
            made = {
                op.column: protect_arrays(vault, op, [arrays[c] for c in op.inputs]) for op in ops_
            }
            arrays.update(made)
            yield pa.RecordBatch.from_arrays([arrays[n] for n in names], names=names)

    return df.mapInArrow(run, schema)


def reveal(
    df: DataFrame,
    spec: VaultSpec,
    *,
    columns: Columns = None,
    model: Model = None,
    table: str | None = None,
    pk: str | Sequence[str] | None = None,
    masked: bool | Sequence[str] = False,
    catalog: Catalog = None,
) -> DataFrame:
    """``df`` with the listed protected columns opened to their values (one ``mapInArrow``);
    blind-index columns are left as they are. ``masked``: True (every listed column) or a list
    of names revealed only in their display mask (by the column's ``kind``, or its token
    format's), e.g. ``622202*********0128``. ``catalog``: as for :func:`protect`."""
    ops = plan(columns=columns, model=model, table=table, pk=pk, catalog=catalog)
    mask = set(op.column for op in ops) if masked is True else set(masked or ())
    unknown = mask - {op.column for op in ops}
    if unknown:
        raise VaultkitTypeError(f"masked= names columns not revealed: {', '.join(sorted(unknown))}")
    opened = [op for op in ops if not isinstance(op, IndexOp)]
    _check_inputs(df, opened)
    types = {op.column: revealed_type(op, op.column in mask) for op in opened}
    schema = _schema(df, types)
    names = list(schema.fieldNames())
    jobs = tuple((op, op.column in mask) for op in opened)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        vault = vault_for(spec)
        for batch in batches:
            arrays = {n: batch.column(n) for n in batch.schema.names}
            made = {
                op.column: reveal_array(
                    vault,
                    op,
                    arrays[op.column],
                    [arrays[k] for k in op.inputs[1:]] if isinstance(op, EncryptOp) else (),
                    masked=m,
                )
                for op, m in jobs
            }
            arrays.update(made)
            yield pa.RecordBatch.from_arrays([arrays[n] for n in names], names=names)

    return df.mapInArrow(run, schema)
