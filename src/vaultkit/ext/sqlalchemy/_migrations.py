"""Alembic support: protected columns rendered as their storage types, and the schema step of
protecting an existing plaintext column (docs/sqlalchemy.md, "Migrations with Alembic").

A migration must run without the application's code or a Vault (it runs long after the model
changed, on a machine without keys). So autogenerate writes the *storage* type of a protected
column (``sa.Text()``, ``sa.LargeBinary()``, ``sa.String(length=80)``,
``sa.LargeBinary(length=2)``), through :func:`render_item`, which ``env.py`` passes to
``context.configure(render_item=...)``. Alembic compares types by their implementation, so the
next autogenerate sees no change. The data step (encrypting the values) is
``vaultkit reencrypt --from-plaintext``, run after ``alembic upgrade``; :func:`protect_column`
makes the schema step and says what to run next.
"""

from __future__ import annotations

import logging
from typing import Literal, TypedDict, TypeVar

import sqlalchemy as sa

from vaultkit.blindindex import plan
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.sqlalchemy._base import Protected
from vaultkit.ext.sqlalchemy._types import BlindIndex, Encrypted, Tokenized

# what a protected column is stored as
StorageType = sa.types.TypeEngine[str] | sa.types.TypeEngine[bytes]

__all__ = ["protect_column", "render_item", "storage_type", "unprotect_column"]

_log = logging.getLogger("alembic.runtime.migration")  # printed by alembic.ini's default logging
T = TypeVar("T")  # the Python type of the column's existing SQL type


class _Using(TypedDict, total=False):
    """The dialect keyword arguments of ``alter_column`` a storage change needs."""

    postgresql_using: str


def storage_type(type_: Protected) -> StorageType:
    """The plain SQLAlchemy type a protected column is stored as."""
    if isinstance(type_, Encrypted):
        return sa.Text() if type_.text else sa.LargeBinary()
    if isinstance(type_, Tokenized):
        return sa.String(length=type_.length)
    if isinstance(type_, BlindIndex):
        return sa.LargeBinary(length=(type_.bits + 7) // 8)
    raise VaultkitTypeError(f"not a vaultkit column type: {type(type_).__name__}")


def render_item(type_: str, obj: object, autogen_context: object) -> str | Literal[False]:
    """Alembic ``render_item`` hook: a protected column's type as its storage type.

    In ``env.py``: ``context.configure(..., render_item=vaultkit.ext.sqlalchemy.render_item)``
    (in both the offline and the online function). Other items render as Alembic renders them
    (``False``); an ``env.py`` with its own hook calls this one first.
    """
    if type_ == "type" and isinstance(obj, Protected):
        rendered = repr(storage_type(obj))  # e.g. Text(), LargeBinary(length=2)
        return f"sa.{rendered}"
    return False


def protect_column(
    table: str,
    column: str,
    *,
    existing_type: sa.types.TypeEngine[T],
    key: str,
    storage: Literal["text", "binary"] = "text",
    index_column: str | None = None,
    index_key: str | None = None,
    rows: int | None = None,
    bits: int | None = None,
    schema: str | None = None,
    bind_row: bool = False,
) -> str:
    """The schema step of protecting the plaintext column ``table.column`` (call it in a
    migration's ``upgrade()``). Returns, and logs, the data step to run after ``alembic
    upgrade``: the ``vaultkit reencrypt --from-plaintext`` command.

    * ``storage="text"``: the column becomes ``TEXT`` (the ``"vk1."`` form is longer than the
      plaintext); ``"binary"``: ``LargeBinary``, the text converted to its UTF-8 bytes
      (PostgreSQL ``convert_to``, SQLite ``CAST AS BLOB``) so the data step reads bytes.
    * ``index_column``: adds a blind-index column ``LargeBinary(ceil(bits/8))`` with an index,
      ``bits`` from the planner for ``rows`` (as ``BlindIndex(rows=...)`` chooses) unless
      given; ``index_key`` is its HMAC key.
    * ``bind_row=True``: the model binds the column to its rows (``Encrypted``'s default
      ``bind_row="auto"`` on a key the client assigns, or ``bind_row=True``): the data step
      seals each value under its row (``--bind-row``). The model's ``configure(...,
      engine=...)`` refuses a binding that differs from what the data step recorded.

    Run in a batch (``op.batch_alter_table``), so SQLite, which cannot alter a column's type,
    gets the table copied. Undo with :func:`unprotect_column` only before the data step.
    """
    from alembic import op

    if storage not in ("text", "binary"):
        raise VaultkitTypeError('storage is "text" or "binary"')
    if index_column is not None:
        if index_key is None:
            raise VaultkitTypeError("index_column needs index_key (its HMAC key)")
        if bits is None:
            if rows is None:
                raise VaultkitTypeError(
                    "index_column needs rows= (the planner picks bits) or bits="
                )
            bits = plan(rows=rows).bits
    dialect = op.get_bind().dialect.name
    new_type: StorageType = sa.Text() if storage == "text" else sa.LargeBinary()
    using: _Using = {}
    if storage == "binary" and dialect == "postgresql":
        using["postgresql_using"] = f"convert_to({_quote(column)}, 'UTF8')"
    with op.batch_alter_table(table, schema=schema) as batch:
        batch.alter_column(column, type_=new_type, existing_type=existing_type, **using)
        if index_column is not None:
            assert bits is not None
            batch.add_column(sa.Column(index_column, sa.LargeBinary((bits + 7) // 8)))
            batch.create_index(f"ix_{table}_{index_column}", [index_column])
    if storage == "binary" and dialect == "sqlite":  # CAST(... AS BLOB): its UTF-8 bytes
        op.execute(_recast(table, column, schema, sa.LargeBinary()))
    target = f"{schema}.{table}" if schema else table
    command = (
        f"vaultkit reencrypt --db URL --table {target} --column {column} --from-plaintext "
        f"--key {key}"
    )
    if index_column is not None:
        command += f" --blind-index {column}:{index_column}:{index_key}:{bits}"
        if rows is not None:  # the length was planned for the table's expected rows
            command += f" --rows {rows}"
    if bind_row:
        command += " --bind-row"
    _log.info("vaultkit: %s.%s is ready; now run: %s", target, column, command)
    return command


def unprotect_column(
    table: str,
    column: str,
    *,
    existing_type: sa.types.TypeEngine[T],
    storage: Literal["text", "binary"] = "text",
    index_column: str | None = None,
    schema: str | None = None,
) -> None:
    """Undo :func:`protect_column` (a migration's ``downgrade()``): only before the data step,
    while the column still holds plaintext (afterwards it holds ciphertexts; decrypting them
    back is not a schema change)."""
    from alembic import op

    dialect = op.get_bind().dialect.name
    using: _Using = {}
    if storage == "binary" and dialect == "postgresql":
        using["postgresql_using"] = f"convert_from({_quote(column)}, 'UTF8')"
    if storage == "binary" and dialect == "sqlite":
        op.execute(_recast(table, column, schema, sa.Text()))
    current: StorageType = sa.Text() if storage == "text" else sa.LargeBinary()
    with op.batch_alter_table(table, schema=schema) as batch:
        if index_column is not None:
            batch.drop_index(f"ix_{table}_{index_column}")
            batch.drop_column(index_column)
        batch.alter_column(column, type_=existing_type, existing_type=current, **using)


def _recast(table: str, column: str, schema: str | None, type_: StorageType) -> sa.Update:
    t = sa.table(table, sa.column(column), schema=schema)
    return t.update().values({column: sa.cast(t.c[column], type_)})


def _quote(name: str | None) -> str:
    if not name or '"' in name:
        raise VaultkitTypeError("a table or column name without double quotes")
    return f'"{name}"'
