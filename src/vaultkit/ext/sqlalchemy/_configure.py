"""``configure(vault, Base)``: bind every protected column of a model's metadata to a Vault."""

from __future__ import annotations

import copy
import difflib
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, Table
from sqlalchemy.sql.schema import ColumnDefault

from vaultkit.columns import column_context, table_name
from vaultkit.errors import KeyNotFoundError, UnsupportedAlgorithmError, VaultkitTypeError
from vaultkit.ext.sqlalchemy import _engine, _ordering, _orm, _rowread, _search
from vaultkit.ext.sqlalchemy._base import Protected
from vaultkit.ext.sqlalchemy._binding import ColumnBinding
from vaultkit.ext.sqlalchemy._types import BlindIndex, Encrypted, Tokenized

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

    from vaultkit.vault import Vault

__all__ = ["configure"]


def configure(
    vault: Vault,
    target: type | MetaData,
    *,
    engine: Engine | AsyncEngine | None = None,
    accept_visible_parameters: bool = False,
) -> None:
    """Bind the protected columns of ``target`` to ``vault``.

    ``target`` is a declarative base (or any mapped class: its metadata's tables are bound and
    the ORM events are installed on it and its subclasses) or a ``MetaData`` (Core only). Call it
    once at start-up, after the models are declared and before the first statement; calling it
    again re-binds (for example to another Vault in tests). It checks every declaration before
    binding any (fail fast, docs/sqlalchemy.md "Binding a model to a Vault"):
    ``KeyNotFoundError`` for a key missing from the ring ("did you mean"),
    ``UnsupportedAlgorithmError`` for a key whose algorithm does not fit the column type
    (``Encrypted``: AEAD, ``Tokenized``: FF1, ``BlindIndex``: HMAC), ``PolicyError`` for a
    blind-index length outside the planner's bounds for its declared ``rows``, and
    ``VaultkitTypeError`` for a declaration that cannot work (a searchable column without its
    BlindIndex, an unknown source or row-key column). Token formats and kinds are checked when
    the column type is declared (``UnknownKindError``, "did you mean").

    ``engine`` (an Engine or AsyncEngine; call again for more engines) gets the batch paths:
    results are decrypted with one ``decrypt_many`` per fetched batch and multi-row INSERTs
    encrypted with one ``encrypt_many`` per column (see ``_engine``). Without it every value
    takes its own ``Vault`` call; the results are the same. An engine created without
    ``hide_parameters=True`` is refused (``VaultkitTypeError``): SQLAlchemy's own errors would
    print the statement's plaintext parameters; ``accept_visible_parameters=True`` accepts it
    (a development engine with SQL echo, say).
    """
    found = getattr(target, "metadata", None)
    base: type | None
    if isinstance(target, MetaData):
        metadata, base = target, None
    elif isinstance(found, MetaData):
        metadata, base = found, target
    else:
        raise VaultkitTypeError("configure() takes a declarative base or a MetaData")
    if engine is not None and not accept_visible_parameters:
        _check_hidden_parameters(engine)
    for table in metadata.tables.values():  # every declaration first: nothing half-bound
        for column in table.columns:
            if isinstance(column.type, Protected):
                _check(vault, table, column)
    seen: set[int] = set()
    for table in metadata.tables.values():
        for column in list(table.columns):
            t = column.type
            if isinstance(t, Protected):
                if id(t) in seen:  # one instance shared by two columns: split it
                    split = copy.copy(t)
                    split.unshare()
                    column.type = t = split
                seen.add(id(t))
                _bind(vault, table, column)
    _engine.forget_write_plans(metadata.tables.values())
    _search.install()
    _rowread.install()
    _ordering.install()
    if engine is not None:
        _engine.install(engine)
        _record_catalog(metadata, engine)
    if base is not None:
        _orm.install(base)
        registry = getattr(base, "registry", None)
        if registry is not None:
            _orm.forget_plans(registry.mappers)


def _check_hidden_parameters(engine: Engine | AsyncEngine) -> None:
    sync = getattr(engine, "sync_engine", engine)
    if not getattr(sync, "hide_parameters", False):
        raise VaultkitTypeError(
            "configure(engine=...): create the engine with hide_parameters=True; SQLAlchemy's "
            "errors otherwise print the statement's parameters, which are plaintext before the "
            "column types protect them (accept_visible_parameters=True to accept that)"
        )


def _needs(t: Protected) -> tuple[str, str]:
    """The key algorithm property a column type needs (``vaultkit.keys.Algorithm``), in words."""
    if isinstance(t, Encrypted):
        return "is_aead", "an AEAD key (SM4-GCM, AES-256-GCM)"
    if isinstance(t, Tokenized):
        return "is_ff1", "an FF1 key (FF1-SM4, FF1-AES)"
    return "is_mac", "an HMAC key (HMAC-SM3, HMAC-SHA256), separate from the column's"


def _check(vault: Vault, table: Table, column: Column[object]) -> None:
    """A declaration's key exists and fits, its index length fits the planner."""
    t = column.type
    if not isinstance(t, Protected):
        return
    where = f"table {table.fullname}, column {column.name}"
    provider = vault.keys
    info = getattr(provider, "key_info", None)  # metadata only: no key material unwrapped
    try:
        key = info(t.key_name) if callable(info) else provider.primary_key(t.key_name)
    except KeyNotFoundError:
        raise KeyNotFoundError(
            f"no key {t.key_name!r} for {where}{_did_you_mean(vault, t.key_name)}"
        ) from None
    test, need = _needs(t)
    if getattr(key.algorithm, test) is not True:
        raise UnsupportedAlgorithmError(
            f"{where}: key {t.key_name!r} is {key.algorithm.label}; a {type(t).__name__} "
            f"column needs {need}"
        )
    if isinstance(t, BlindIndex):
        t.check_length(where)


def _did_you_mean(vault: Vault, name: str) -> str:
    names = getattr(vault.keys, "keys", None)
    if not callable(names):
        return ""
    try:
        known = [k.name for k in names()]
    except Exception:  # a provider that cannot list its keys: no suggestion
        return ""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _bind(vault: Vault, table: Table, column: Column[object]) -> None:
    t = column.type
    if not isinstance(t, Protected):
        return
    binding = ColumnBinding(vault, table_name(table.name, table.schema), column.name, t.key_name)
    where = binding.where
    if isinstance(t, BlindIndex):
        missing = [s for s in t.source if s not in table.c]
        if missing:
            raise VaultkitTypeError(f"{where}: no source column {', '.join(missing)}")
        name = table.c[t.source[0]].name if len(t.source) == 1 else column.name
        binding.index_context = column_context(binding.table, name)
        if column.default is None:
            ColumnDefault(t.insert_default)._set_parent_with_dispatch(column)
        elif getattr(column.default, "arg", None) != t.insert_default:
            raise VaultkitTypeError(f"{where}: a BlindIndex column has no default of its own")
    elif isinstance(t, Encrypted):
        binding.search_column = _index_column(table, column, t, where)
        t.resolve_row_key(table)
        if t.row_key:
            missing = [n for n in t.row_key if n not in table.c]
            if missing:
                raise VaultkitTypeError(f"{where}: no row-key column {', '.join(missing)}")
    t.bind(binding)


def _record_catalog(metadata: MetaData, engine: Engine | AsyncEngine) -> None:
    """Record the declarations in the database's protected-column catalogue (``vaultkit.catalog``:
    what ``key retire --db`` and ``vaultkit verify`` read). An AsyncEngine cannot run it here:
    call ``await conn.run_sync(lambda c: vaultkit.catalog.record_metadata(metadata, c))``."""
    from sqlalchemy.engine import Engine

    from vaultkit.catalog import record_metadata

    if isinstance(engine, Engine):
        record_metadata(metadata, engine)


def _index_column(table: Table, column: Column[object], t: Encrypted, where: str) -> str | None:
    if not t.searchable:
        return None
    found = [
        c.key
        for c in table.columns
        if isinstance(c.type, BlindIndex)
        and c.type.source == (column.key,)
        and (t.searchable is True or c.key == t.searchable)
    ]
    if len(found) != 1:
        raise VaultkitTypeError(
            f"{where} is searchable: declare exactly one BlindIndex column with "
            f"source={column.key!r}" + ("" if t.searchable is True else f" named {t.searchable!r}")
        )
    return found[0]
