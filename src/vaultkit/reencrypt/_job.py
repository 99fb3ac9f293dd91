"""What a re-encryption job is, and what every part of it does with a value.

The table (reflected), its key and row-key columns, the columns and blind indexes asked for,
and the operations the survey, the index rebuild and the migration (``_survey``, ``_indexes``,
``_engine``) share: reading a batch in primary-key order, naming a value's key and version from
its header (``vaultkit.columns`` classifier), building contexts (``column_context``, ``row_key``),
opening values (telling bound from unbound ones) and sealing them again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vaultkit.columns import (
    Classifier,
    Form,
    Stored,
    classify_token,
    column_context,
    format_token,
    row_key,
    split_table_name,
    table_name,
)
from vaultkit.columns._context import row_key_shown
from vaultkit.errors import DecryptionError, RowBindingError
from vaultkit.keys import KeyRing, KeyState
from vaultkit.policy import is_authentication_column
from vaultkit.reencrypt import _cas
from vaultkit.reencrypt._report import BlindIndexTarget, ReencryptError

if TYPE_CHECKING:
    from vaultkit import Vault

__all__ = ["Contexts", "Job", "Progress"]


Progress = Callable[[int], None]  # called with the number of rows just processed


class Contexts(TypedDict, total=False):
    """The Vault's context keyword arguments: one shared ``context`` or one per row."""

    context: dict[str, str]
    contexts: list[dict[str, str]]


class Job:
    """One re-encryption job's table, columns, keys and value operations (the arguments are
    :class:`~vaultkit.reencrypt.Reencryptor`'s)."""

    def __init__(
        self,
        engine: Engine,
        vault: Vault,
        *,
        table: str,
        columns: Sequence[str],
        batch_size: int = 1000,
        max_rate: float | None = None,
        from_plaintext: bool = False,
        key_name: str | None = None,
        token_format: str | None = None,
        blind_index: Mapping[str, BlindIndexTarget] | None = None,
        bind_row: bool | Sequence[str] = False,
        rebind: bool = False,
        max_passes: int = 3,
    ) -> None:
        if (from_plaintext or token_format) and not key_name:
            raise ReencryptError("protecting plaintext or migrating tokens needs the key's name")
        c3 = [c for c in columns if is_authentication_column(c)]
        if (from_plaintext or token_format) and c3:
            raise ReencryptError(
                f"{', '.join(c3)}: C3 authentication data (JR/T 0171-2020) is never stored "
                "reversibly; replace it with one-way verifiers (vaultkit.policy.Verifier)"
            )
        if token_format and (bind_row or rebind):
            raise ReencryptError("tokens are bound to their column, not to rows")
        if rebind and not bind_row:
            raise ReencryptError("rebinding binds values to their rows: it needs bind_row")
        if isinstance(bind_row, str):
            bind_row = (bind_row,)
        if not columns and not blind_index:
            raise ReencryptError("name at least one column or blind index")
        if batch_size < 1:
            raise ReencryptError("batch size must be at least 1")
        if max_rate is not None and max_rate <= 0:
            raise ReencryptError("max rate must be positive")
        self._engine = engine
        self._vault = vault
        self._batch_size = batch_size
        self._max_rate = max_rate
        self._from_plaintext = from_plaintext
        self._key = key_name
        self._format = token_format
        self._bind_row = bool(bind_row)
        self._rebind = rebind
        self._max_passes = max_passes
        self._table = self._reflect(table)
        self._tname = table_name(self._table.name, self._table.schema)
        self._blind = dict(blind_index or {})
        natural = [] if isinstance(bind_row, bool) else list(bind_row)
        missing = [
            c
            for c in [*columns, *self._blind, *(b.column for b in self._blind.values()), *natural]
            if c not in self._table.c
        ]
        if missing:
            raise ReencryptError(
                f"table {table!r} has no column {', '.join(map(repr, missing))} "
                f"(columns: {', '.join(self._table.c.keys())})"
            )
        self._pks = list(self._table.primary_key.columns)
        if not self._pks:
            raise ReencryptError(f"table {table!r} needs a primary key")
        self._columns = list(dict.fromkeys(columns))
        if set(self._columns) & {c.name for c in self._pks}:
            raise ReencryptError("the primary key cannot be re-encrypted")
        # what a batch reads: key columns, columns, each index's source and index column, then
        # the natural row key's columns
        self._read = [*self._columns]
        for source, target in self._blind.items():
            self._read += [source, target.column]
        self._natural = natural
        self._read += [c for c in natural if c not in self._read]
        self._row_keys: dict[tuple[object, ...], str] = {}  # this batch: primary key -> row key
        self._names: dict[int, str] = {}
        self._primary: dict[str, int] = {}
        self._current: dict[Stored, bool] = {}
        self._classifier = Classifier()

    # -- reflection and key metadata -------------------------------------------------------
    def _reflect(self, qualified: str) -> sa.Table:
        schema, name = split_table_name(qualified)
        try:
            return sa.Table(name, sa.MetaData(), schema=schema, autoload_with=self._engine)
        except sa.exc.NoSuchTableError:
            tables = sa.inspect(self._engine).get_table_names(schema=schema)
            raise ReencryptError(
                f"no table {name!r} (tables: {', '.join(tables) or 'none'})"
            ) from None

    def _key_name(self, key_id: int, version: int) -> str:
        name = self._names.get(key_id)
        if name is None:
            keys = self._vault.keys
            if isinstance(keys, KeyRing):  # metadata only: no DEK is unwrapped to name it
                self._names.update({k.key_id: k.name for k in keys.keys()})
            if key_id not in self._names:
                self._names[key_id] = keys.key_by_id(key_id, version, force=True).name
            name = self._names[key_id]
        return name

    def _primary_version(self, key_name: str) -> int:
        v = self._primary.get(key_name)
        if v is None:
            v = self._vault.keys.primary_key(key_name).version
            self._primary[key_name] = v
        return v

    def _classify(self, value: object) -> Stored:
        if self._format is None:
            return self._classifier(value)
        return classify_token(value)

    def _version_of(self, s: Stored) -> tuple[str, int]:
        """(key name, version) of a ciphertext or token."""
        if s.form is Form.TOKEN:
            assert self._key is not None
            return self._key, s.version
        return self._key_name(s.key_id, s.version), s.version

    def _is_current(self, s: Stored) -> bool:
        current = self._current.get(s)
        if current is None:
            name, version = self._version_of(s)
            current = self._current[s] = version == self._primary_version(name)
        return current

    @property
    def table_name(self) -> str:
        """The table as contexts (and the catalogue) name it."""
        return self._tname

    def storage_of(self, column: str) -> str:
        """``text`` (string column: the ``vk1.`` form) or ``binary``."""
        return "text" if isinstance(self._table.c[column].type, sa.String) else "binary"

    @property
    def row_key_columns(self) -> tuple[str, ...] | None:
        """What values are bound to, as the catalogue records it: None (column only), ``()``
        (the primary key) or the natural key's column names."""
        return tuple(self._natural) if self._bind_row else None

    def _destroyed(self) -> set[tuple[str, int]]:
        keys = self._vault.keys
        if not isinstance(keys, KeyRing):
            return set()
        return {
            (k.name, v.version)
            for k in keys.keys()
            for v in k.versions
            if v.state is KeyState.DESTROYED
        }

    # -- contexts, opening and sealing -------------------------------------------------------
    def _contexts(self, column: str, pks: Sequence[tuple[object, ...]]) -> Contexts:
        """Vault keyword arguments: one shared context, or one per row when rows are bound
        (the row entry is ``row_key`` of the primary key's or natural key's values, as the
        ORM's)."""
        if self._bind_row:
            rk = self._row_keys
            return {"contexts": [column_context(self._tname, column, rk[pk]) for pk in pks]}
        return {"context": column_context(self._tname, column)}

    def _open(
        self,
        column: str,
        pks: Sequence[tuple[object, ...]],
        olds: Sequence[object],
        *,
        unbound_ok: bool | None = None,
    ) -> tuple[list[bytes], list[bool]]:
        """Decrypt ciphertexts of ``column`` under their contexts; with ``unbound_ok``
        (default: ``rebind``), a value that does not open under its row opens under the
        column-only context (it was written unbound). Returns the plaintexts and, per value,
        whether it was unbound: the one classification of bound and unbound values, used by
        the migration, the survey and the verification alike."""
        if unbound_ok is None:
            unbound_ok = self._rebind
        # the classifier found a ciphertext header in each: text, or binary (a driver's buffer)
        cts = cast(
            "list[bytes | str]", [bytes(o) if isinstance(o, memoryview) else o for o in olds]
        )
        try:
            plain = self._vault.decrypt_many(cts, force=True, **self._contexts(column, pks))
            return list(plain), [False] * len(cts)
        except DecryptionError:
            if not self._bind_row:
                raise
        # one by one: find the values written unbound (outside the handler: no chain)
        out: list[bytes] = []
        unbound: list[bool] = []
        failed: tuple[object, ...] | None = None
        for pk, old in zip(pks, cts, strict=True):
            p = self._decrypt_one(old, self._contexts(column, [pk])["contexts"][0])
            if p is None:
                p = self._decrypt_one(old, column_context(self._tname, column))
                if p is None or not unbound_ok:
                    failed = pk
                    break
                unbound.append(True)
            else:
                unbound.append(False)
            out.append(p)
        if failed is None:
            return out, unbound
        out.clear()  # no plaintext stays reachable from the error's traceback
        where = f"table {self._tname}, column {column}, primary key {row_key_shown(failed)}"
        if p is None:
            raise DecryptionError(where)
        del p
        raise RowBindingError(
            f"{where}: written without row binding in a row-bound column; run vaultkit "
            "reencrypt with --bind-row to bind the column's values to their rows"
        )

    def _decrypt_one(self, value: bytes | str, context: dict[str, str]) -> bytes | None:
        try:
            return self._vault.decrypt(value, context=context, force=True)
        except DecryptionError:
            return None

    def _seal(
        self, key_name: str, values: Sequence[bytes | str], ctx: Contexts, form: Form
    ) -> Sequence[bytes | str]:
        """One batch under the key's primary version, in the column's storage form."""
        if form is Form.TOKEN:
            version = self._primary_version(key_name)
            tokens = self._vault.tokenize_many(
                key_name,
                [v if isinstance(v, str) else v.decode() for v in values],
                format=self._format,
                version=version,
                context=ctx["context"],  # tokens: never row-bound (__init__ refuses it)
            )
            return [format_token(version, t) for t in tokens]
        if form is Form.TEXT:
            return self._vault.encrypt_text_many(key_name, values, **ctx)
        return self._vault.encrypt_many(key_name, values, **ctx)

    def _key_params(self, key: tuple[object, ...]) -> dict[str, object]:
        return _cas.key_params(key)

    # -- reading in primary-key order ----------------------------------------------------------
    def _select(
        self, after: tuple[object, ...] | None, limit: int
    ) -> sa.Select[tuple[object, ...]]:
        q = sa.select(*self._pks, *(self._table.c[c] for c in self._read))
        if after is not None:
            if len(self._pks) == 1:
                q = q.where(self._pks[0] > after[0])
            else:
                q = q.where(sa.tuple_(*self._pks) > sa.tuple_(*after))
        return q.order_by(*self._pks).limit(limit)

    def _split(
        self, rows: Sequence[Sequence[object]]
    ) -> tuple[list[tuple[object, ...]], dict[str, list[object]]]:
        """The key tuples of a batch, and each read column's values."""
        n = len(self._pks)
        keys = [tuple(r[:n]) for r in rows]
        values = {c: [r[n + i] for r in rows] for i, c in enumerate(self._read)}
        if self._bind_row:
            if self._natural:
                nat = [values[c] for c in self._natural]
                self._row_keys = {k: row_key([v[i] for v in nat]) for i, k in enumerate(keys)}
            else:
                self._row_keys = {k: row_key(k) for k in keys}
        return keys, values

    def count_rows(self) -> int:
        with self._engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(self._table)).scalar_one()
            )
