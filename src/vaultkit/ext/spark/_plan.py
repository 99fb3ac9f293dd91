"""Column declarations -> what a Spark job does per column (plain, picklable plans).

The declarations are the ORM's own objects (``Encrypted``, ``Tokenized``, ``BlindIndex`` of
``vaultkit.ext.sqlalchemy``), given one by one (``columns={"card_no": Tokenized(...)}`` with
``table=``) or taken from a mapped model or ``Table`` (``model=Customer``). The contexts, the
token stored form, the value codec and the blind-index input are :mod:`vaultkit.columns`', as
in the ORM, so a value Spark writes is read by the ORM and the CLI and the other way round. An
``Encrypted`` column's row binding is resolved here, on the driver (:mod:`._rowbind`:
``bind_row="auto"`` is never guessed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias, cast

from vaultkit.catalog import ProtectedColumn
from vaultkit.columns import column_context, table_name
from vaultkit.columns._blind import Transform
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.spark._rowbind import Catalog, records_of, row_key
from vaultkit.ext.sqlalchemy import BlindIndex, Encrypted, Tokenized
from vaultkit.ext.sqlalchemy._binding import client_assigned_key

if TYPE_CHECKING:
    from sqlalchemy import Table

__all__ = ["Columns", "Declaration", "EncryptOp", "IndexOp", "Model", "Op", "TokenOp", "plan"]

Declaration = Encrypted | Tokenized | BlindIndex  # a protected column's declaration (the ORM's)
# which columns: names -> declarations (with table=), or names of a model's (None: all of them)
Columns = Mapping[str, Declaration] | Sequence[str] | None
Model: TypeAlias = "type | Table | None"  # a mapped class or a Table


@dataclass(frozen=True)
class EncryptOp:
    column: str
    key_name: str
    python_type: type
    text: bool  # storage="text": the "vk1." form in a string column
    table: str
    row_key: tuple[str, ...] | None  # the columns whose values bind each row (None: unbound)
    kind: str | None

    @property
    def where(self) -> str:
        return f"table {self.table}, column {self.column}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.column, *(self.row_key or ()))

    def context(self) -> dict[str, str]:
        return column_context(self.table, self.column)


@dataclass(frozen=True)
class TokenOp:
    column: str
    key_name: str
    format: str
    table: str
    kind: str | None

    @property
    def where(self) -> str:
        return f"table {self.table}, column {self.column}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.column,)

    def context(self) -> dict[str, str]:
        return column_context(self.table, self.column)


@dataclass(frozen=True)
class IndexOp:
    column: str
    key_name: str
    source: tuple[str, ...]
    bits: int
    table: str
    transform: tuple[Transform, ...] | None

    @property
    def where(self) -> str:
        return f"table {self.table}, column {self.column}"

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.source

    def context(self) -> dict[str, str]:
        # as the ORM binds it: a single-source index MACs under its source column's context
        name = self.source[0] if len(self.source) == 1 else self.column
        return column_context(self.table, name)


Op = EncryptOp | TokenOp | IndexOp


def op_of(
    declaration: object,
    *,
    table: str,
    column: str,
    pk: Sequence[str] = (),
    client_key: bool | None = None,
    recorded: ProtectedColumn | None = None,
    names: Mapping[str, str] | None = None,
) -> Op:
    """The plan of one declared column of ``table``. ``client_key``: whether the table's
    primary key is assigned by the client (a model's table; None without one): it resolves
    ``bind_row="auto"`` as ``configure`` does, whether or not anything configured the model
    (a Spark job usually does not). ``recorded``: the catalogue's row of the column (resolves
    ``"auto"`` without a model; checks an explicit binding). An ``"auto"`` left unresolved is
    refused (``RowBindingError``, :mod:`._rowbind`)."""
    if isinstance(declaration, Encrypted):
        key = row_key(
            declaration,
            table=table,
            column=column,
            client_key=client_key,
            recorded=recorded,
            names=names,
        )
        if key == ():
            if not pk:
                raise VaultkitTypeError(
                    f"table {table}, column {column} is row-bound to the primary key: give pk="
                )
            key = tuple(pk)
        return EncryptOp(
            column,
            declaration.key_name,
            declaration.python_type,
            declaration.text,
            table,
            key,
            declaration.kind,
        )
    if isinstance(declaration, Tokenized):
        return TokenOp(column, declaration.key_name, declaration.format, table, declaration.kind)
    if isinstance(declaration, BlindIndex):
        return IndexOp(
            column,
            declaration.key_name,
            declaration.source,
            declaration.bits,
            table,
            declaration.transform,
        )
    raise VaultkitTypeError(
        f"{column}: declare it with vaultkit.ext.sqlalchemy.Encrypted, Tokenized or BlindIndex "
        f"(got {type(declaration).__name__})"
    )


def plan(
    *,
    columns: Columns,
    model: Model,
    table: str | None,
    pk: str | Sequence[str] | None,
    catalog: Catalog = None,
) -> list[Op]:
    """The plans of the listed columns: ``columns`` maps names to declarations (with
    ``table``), or, with ``model`` (a mapped class or a ``Table``), names the model's protected
    columns to take (all of them when None). ``catalog``: the protected-column catalogue (a
    database or its rows, read here on the driver): resolves ``bind_row="auto"`` without a
    model, and refuses a binding that contradicts its record."""
    keys = (pk,) if isinstance(pk, str) else tuple(pk or ())
    if model is None:
        if not isinstance(columns, Mapping) or not columns:
            raise VaultkitTypeError(
                "give columns={name: Encrypted(...)|Tokenized(...)|BlindIndex(...)} with "
                "table=, or model= (a SQLAlchemy model)"
            )
        if not table:
            raise VaultkitTypeError("columns= needs table= (the name the contexts bind)")
        records = records_of(catalog, table)
        return [
            op_of(d, table=table, column=c, pk=keys, recorded=records.get(c))
            for c, d in columns.items()
        ]
    if isinstance(columns, Mapping):
        raise VaultkitTypeError("with model=, columns= lists names (the model declares them)")
    # a Table, or a mapped class's; checked just below (by what a Table has, as before)
    t = cast("Table", getattr(model, "__table__", model))
    if not hasattr(t, "columns") or not hasattr(t, "primary_key"):
        raise VaultkitTypeError("model= is a mapped class or a Table")
    name = table or table_name(t.name, t.schema)
    keys = keys or tuple(c.name for c in t.primary_key.columns)
    declared = {
        c.name: c.type for c in t.columns if isinstance(c.type, Encrypted | Tokenized | BlindIndex)
    }
    wanted = list(declared) if columns is None else list(columns)
    unknown = [c for c in wanted if c not in declared]
    if unknown:
        raise VaultkitTypeError(
            f"{', '.join(unknown)}: not a protected column of {name} "
            f"(protected: {', '.join(declared)})"
        )
    by_key = {c.key: c.name for c in t.columns}
    client_key = client_assigned_key(t)
    records = records_of(catalog, name)
    ops: list[Op] = []
    for c in wanted:
        op = op_of(
            declared[c],
            table=name,
            column=c,
            pk=keys,
            client_key=client_key,
            recorded=records.get(c),
            names=by_key,
        )
        if isinstance(op, IndexOp):  # the ORM names sources by column key
            op = IndexOp(
                op.column,
                op.key_name,
                tuple(by_key.get(s, s) for s in op.source),
                op.bits,
                op.table,
                op.transform,
            )
        elif isinstance(op, EncryptOp) and op.row_key and declared[c].row_key:
            op = EncryptOp(
                op.column,
                op.key_name,
                op.python_type,
                op.text,
                op.table,
                tuple(by_key.get(s, s) for s in op.row_key),
                op.kind,
            )
        ops.append(op)
    return ops
