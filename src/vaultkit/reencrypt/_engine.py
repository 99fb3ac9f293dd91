"""Online, resumable re-encryption of database columns (the engine behind ``vaultkit reencrypt``).

How it works (at the SQLAlchemy Core level, on any dialect):

1. The table is reflected (``schema.table`` for another schema; its contexts name it as
   ``vaultkit.columns.table_name`` does, like the ORM); it needs a primary key (one column or
   several: keyset pagination compares the key tuple, row contexts use ``row_key``).
2. A **survey** reads the columns in primary-key order and classifies every value from its
   envelope header alone (:func:`vaultkit.reencrypt.classify`): NULL, plaintext, or ciphertext
   under (key, version). Nothing is decrypted. A column mixing plaintext and ciphertext is refused
   unless plaintext is being protected (``plaintext_key``), before anything is written.
3. The **migration** walks the table again in primary-key order, ``batch_size`` rows at a
   time (keyset pagination: ``WHERE (pk...) > (:last...) ORDER BY pk... LIMIT n``). Each batch
   is one transaction: stale values are decrypted with ``Vault.decrypt_many`` and encrypted
   under the key's primary version with ``Vault.encrypt_many`` (plaintext is encrypted
   directly, and its blind index computed), then written with a compare-and-set
   ``UPDATE t SET c = :new WHERE pk = :pk AND c = :old``. A concurrent application write changes
   ``c``, so the update matches no row and the application's value stays.
   **Blind-index columns** (``blind_index`` targets) are rebuilt in the same batches: the
   source value is decrypted (or detokenized, or read as plaintext), its index recomputed
   under the index key's primary version from ``blind_index_input`` and compared; a different
   index is written with ``UPDATE t SET ix = :new WHERE pk = :pk AND src = :src AND ix = :old``
   (before the source column's own update in that batch, which the source compare needs).
4. Values that lost such a race are picked up by another pass (at most ``max_passes``); a final
   **verification** survey reports what is left.

Resumable without a state file: values already under the primary version are skipped from their
header (an index: from the recomputed index), so re-running after a crash (each batch commits
atomically or not at all) continues where it stopped and never re-encrypts a value twice.

**Row binding** (docs/sqlalchemy.md, "Context binding"): ``bind_row`` opens and seals each value
under its row's context (the primary key, or the natural key's columns, read in the same
batch). ``rebind`` is the move of a column to row binding: every ciphertext is opened (the
header does not say whether it is bound), values that open only under the column-only context
(written unbound) are sealed again under their row, and a final pass counts what is still
unbound (``ColumnSurvey.unbound``). Bound values are skipped, so a rerun after a crash continues
and a rerun after completion writes nothing.

(One module above ~400 lines: survey, passes and compare-and-set are one algorithm; what it
reports is ``_report``'s, the stored-column format ``vaultkit.columns``'.)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vaultkit.columns import (
    Classifier,
    Form,
    Stored,
    blind_index_input,
    classify_token,
    column_context,
    encode_value,
    format_token,
    parse_token,
    row_key,
    split_table_name,
    table_name,
)
from vaultkit.errors import DecryptionError, RowBindingError
from vaultkit.keys import KeyRing, KeyState
from vaultkit.policy import is_authentication_column
from vaultkit.reencrypt import _cas
from vaultkit.reencrypt._report import BlindIndexTarget, ColumnSurvey, ReencryptError, Summary

if TYPE_CHECKING:
    from vaultkit import Vault

__all__ = ["Reencryptor"]


Progress = Callable[[int], None]  # called with the number of rows just processed


class _Contexts(TypedDict, total=False):
    """The Vault's context keyword arguments: one shared ``context`` or one per row."""

    context: dict[str, str]
    contexts: list[dict[str, str]]


class Reencryptor:
    """Moves every value of ``columns`` of ``table`` to its key's primary version.

    With ``plaintext_key`` the columns hold plaintext being protected in place: plaintext values
    are encrypted under that key (text form in text columns, binary form in binary ones) and,
    with ``blind_index``, their blind index column is filled in the same compare-and-set update.
    ``bind_row``: each ciphertext is bound to its row: True the primary key (SQLAlchemy
    ``bind_row=True``, or ``"auto"`` on a client-assigned key), a sequence of column names a
    natural key (``bind_row="account_no"``). ``rebind``: with ``bind_row``, values written
    without row binding are bound (see the module docs); without it such a value raises
    ``RowBindingError`` naming ``--bind-row``.
    """

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

    def _contexts(self, column: str, pks: Sequence[tuple[object, ...]]) -> _Contexts:
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
        where = f"table {self._tname}, column {column}, primary key {row_key(failed)}"
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

    # -- survey ----------------------------------------------------------------------------
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

    def survey(self, progress: Progress | None = None) -> list[ColumnSurvey]:
        """Counts per column (nothing written). Ciphertexts and tokens are counted from their
        headers alone; with row binding each ciphertext is also opened, as a run opens it
        (``_open``), since only that tells a bound value from one written unbound
        (``ColumnSurvey.unbound``: what ``--bind-row`` would rebind). The plaintexts are
        dropped at once."""
        counts: list[Counter[Stored]] = [Counter() for _ in self._columns]
        unbound: Counter[str] = Counter()
        indexes = {s: ColumnSurvey(t.column) for s, t in self._blind.items()}
        classify_ = self._classify
        after: tuple[object, ...] | None = None
        with self._engine.connect() as conn:
            while True:
                rows = conn.execute(self._select(after, max(self._batch_size, 5000))).all()
                if not rows:
                    break
                keys, values = self._split(rows)
                for c, counter in zip(self._columns, counts, strict=True):
                    counter.update(map(classify_, values[c]))
                    if self._bind_row:
                        unbound[c] += self._count_unbound(c, keys, values[c])
                for source, survey in indexes.items():
                    self._survey_index(source, survey, keys, values)
                after = keys[-1]
                if progress:
                    progress(len(rows))
        surveys = [
            self._tally(c, counter) for c, counter in zip(self._columns, counts, strict=True)
        ]
        for survey in surveys:
            survey.unbound = unbound[survey.column]
        return [*surveys, *indexes.values()]

    def _count_unbound(
        self, column: str, keys: Sequence[tuple[object, ...]], values: Sequence[object]
    ) -> int:
        """How many of one batch's ciphertexts of a row-bound ``column`` open only under the
        column-only context (written unbound)."""
        items = [
            (k, v) for k, v in zip(keys, values, strict=True) if self._classify(v).is_ciphertext
        ]
        if not items:
            return 0
        _, unbound = self._open(
            column, [k for k, _ in items], [v for _, v in items], unbound_ok=True
        )
        return sum(unbound)

    def count_unbound(self) -> Counter[str]:
        """Per column, the ciphertexts that open only under the column-only context (written
        unbound): the ``unbound`` counts of :meth:`survey`."""
        return Counter({s.column: s.unbound for s in self.survey()[: len(self._columns)]})

    # -- blind indexes -----------------------------------------------------------------------
    def _source_plaintexts(
        self, source: str, keys: Sequence[tuple[object, ...]], values: Sequence[object]
    ) -> list[str | bytes | None]:
        """The index input of each row's source value (None for NULL): ciphertexts decrypted
        (text as str, what the ORM's ``str`` columns index), tokens detokenized, plaintext as
        it is. Nothing of it leaves this process."""
        out: list[str | bytes | None] = [None] * len(values)
        groups: dict[tuple[str, int, Form], list[int]] = {}
        for i, v in enumerate(values):
            s = self._classify(v)
            if s.form is Form.NULL:
                continue
            if s.form is Form.PLAINTEXT:
                raw = bytes(v) if isinstance(v, bytearray | memoryview) else v
                out[i] = blind_index_input((raw,))
            else:
                groups.setdefault((*self._version_of(s), s.form), []).append(i)
        for (key_name, version, form), idx in groups.items():
            ctx = self._contexts(source, [keys[i] for i in idx])
            olds = [values[i] for i in idx]
            if form is Form.TOKEN:
                plain: Sequence[bytes | str] = self._vault.detokenize_many(
                    key_name,
                    [parse_token(o)[1] for o in olds],
                    format=self._format,
                    version=version,
                    context=ctx["context"],  # tokens: never row-bound (__init__ refuses it)
                )
            else:
                plain, _ = self._open(source, [keys[i] for i in idx], olds)
            for i, p in zip(idx, plain, strict=True):
                out[i] = blind_index_input((_text(p),))
        return out

    def _index_of(
        self, source: str, inputs: Sequence[str | bytes | None], version: int | None
    ) -> list[bytes | None]:
        """Each input's index under ``version`` (None: primary); None for a NULL source."""
        target = self._blind[source]
        present = [i for i, x in enumerate(inputs) if x is not None]
        out: list[bytes | None] = [None] * len(inputs)
        if present:
            made = self._vault.blind_index_many(
                target.key_name,
                [inputs[i] for i in present],
                context=column_context(self._tname, source),
                bits=target.bits,
                version=version,
            )
            for i, ix in zip(present, made, strict=True):
                out[i] = ix
        return out

    def _survey_index(
        self,
        source: str,
        survey: ColumnSurvey,
        keys: Sequence[tuple[object, ...]],
        values: dict[str, list[object]],
    ) -> None:
        """Count an index column's rows by the key version their index was computed under
        (recomputed under every readable version; an index matching none is ``unmatched``)."""
        target = self._blind[source]
        stored = [_bytes(v) for v in values[target.column]]
        inputs = self._source_plaintexts(source, keys, values[source])
        survey.rows += len(stored)
        pending = [i for i, x in enumerate(inputs) if x is not None]
        survey.nulls += len(stored) - len(pending)
        primary = self._primary_version(target.key_name)
        readable = list(self._vault.keys.readable_versions(target.key_name))
        for version in [primary, *(v for v in readable if v != primary)]:
            if not pending:
                break
            made = self._index_of(source, [inputs[i] for i in pending], version)
            left = []
            for i, ix in zip(pending, made, strict=True):
                if ix == stored[i]:
                    survey.by_version[(target.key_name, version)] += 1
                    if version == primary:
                        survey.current += 1
                else:
                    left.append(i)
            pending = left
        survey.unmatched += len(pending)

    def _rebuild(
        self, source: str, keys: Sequence[tuple[object, ...]], values: dict[str, list[object]]
    ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        """Compare-and-set parameters for one batch's stale indexes of ``source``: (rows whose
        index is set, rows whose index is NULL). Rows already indexed under the primary
        version are skipped (a rerun does nothing)."""
        target = self._blind[source]
        inputs = self._source_plaintexts(source, keys, values[source])
        if self._from_plaintext and source in self._columns:
            # plaintext being protected: its index goes with the protecting update
            inputs = [
                None if self._classify(v).form is Form.PLAINTEXT else x
                for v, x in zip(values[source], inputs, strict=True)
            ]
        fresh = self._index_of(source, inputs, None)
        set_, null = [], []
        for key, src, old, new in zip(
            keys, values[source], values[target.column], fresh, strict=True
        ):
            old = _bytes(old)
            if new is None or new == old:
                continue
            p = {**self._key_params(key), "vk_src": src, "vk_new": new}
            if old is None:
                null.append(p)
            else:
                set_.append({**p, "vk_old": old})
        return set_, null

    def _index_update(self, source: str, *, null: bool) -> _cas.Statement:
        column = self._blind[source].column
        return _cas.index_update(
            self._table, self._pks, [source], column, self._engine.dialect, null=null
        )

    def _key_params(self, key: tuple[object, ...]) -> dict[str, object]:
        return _cas.key_params(key)

    def _tally(self, column: str, counter: Counter[Stored]) -> ColumnSurvey:
        survey = ColumnSurvey(column, rows=sum(counter.values()))
        for s, n in counter.items():
            if s.form is Form.NULL:
                survey.nulls += n
            elif s.form is Form.PLAINTEXT:
                survey.plaintext += n
            else:
                name, version = self._version_of(s)
                survey.by_version[(name, version)] += n
                if version == self._primary_version(name):
                    survey.current += n
        return survey

    def check(self, surveys: Sequence[ColumnSurvey]) -> None:
        """Refuse what cannot be migrated safely, before anything is written."""
        for s in surveys:
            ciphertexts = sum(s.by_version.values())
            if not self._from_plaintext and s.plaintext:
                mixed = f"mixes {s.plaintext} plaintext and {ciphertexts} ciphertext values"
                raise ReencryptError(
                    f"column {self._tname}.{s.column} "
                    + (mixed if ciphertexts else f"holds {s.plaintext} plaintext values")
                    + "; protect plaintext with --from-plaintext --key NAME"
                )
            lost = {kv: n for kv, n in s.by_version.items() if kv in self._destroyed()}
            if lost:
                where = ", ".join(f"{n} under {k} v{v}" for (k, v), n in sorted(lost.items()))
                raise ReencryptError(
                    f"column {self._tname}.{s.column} holds values under destroyed key "
                    f"versions ({where}); they can never be decrypted (clear them first)"
                )

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

    # -- migration ---------------------------------------------------------------------------
    def run(
        self, progress: Progress | None = None, *, surveyed: Sequence[ColumnSurvey] | None = None
    ) -> Summary:
        """Migrate, pass after pass, until nothing is stale (or ``max_passes``), then verify."""
        summary = Summary()
        if self._key is not None:
            self._primary_version(self._key)  # KeyNotFoundError before any write
        self.check(surveyed if surveyed is not None else self.survey())
        start = time.perf_counter()
        for _ in range(self._max_passes):
            summary.passes += 1
            rewritten, conflicts, rows = self._pass(progress if summary.passes == 1 else None)
            summary.rewritten += rewritten
            summary.conflicts += conflicts
            summary.rows = max(summary.rows, rows)
            if conflicts == 0:  # nothing lost to the application: another pass finds nothing
                break
        summary.seconds = time.perf_counter() - start
        summary.final = self.survey()  # (row-bound: with what is still unbound)
        return summary

    def _pass(self, progress: Progress | None) -> tuple[int, int, int]:
        after: tuple[object, ...] | None = None
        rewritten = conflicts = rows_seen = 0
        start = time.perf_counter()
        statements = {
            c: (self._update(c, index=False), self._update(c, index=True)) for c in self._columns
        }
        index_statements = {
            s: (self._index_update(s, null=False), self._index_update(s, null=True))
            for s in self._blind
        }
        while True:
            with self._engine.begin() as conn:
                rows = conn.execute(self._select(after, self._batch_size)).all()
                if not rows:
                    break
                keys, values = self._split(rows)
                # indexes first: their compare-and-set includes the source value read
                work = [(index_statements[s], self._rebuild(s, keys, values)) for s in self._blind]
                work += [
                    (statements[c], self._rewrite(c, list(zip(keys, values[c], strict=True))))
                    for c in self._columns
                ]
                for pair, batches in work:
                    for statement, params in zip(pair, batches, strict=True):
                        if params:
                            done = self._execute(conn, statement, params)
                            rewritten += done
                            conflicts += len(params) - done
                after = keys[-1]
            rows_seen += len(rows)
            if progress:
                progress(len(rows))
            if self._max_rate:
                ahead = rows_seen / self._max_rate - (time.perf_counter() - start)
                if ahead > 0:
                    time.sleep(ahead)
        return rewritten, conflicts, rows_seen

    def _update(self, column: str, *, index: bool) -> _cas.Statement:
        """The compare-and-set UPDATE (``_cas``); ``index``: also set the column's blind index."""
        target = self._blind.get(column)
        return _cas.column_update(
            self._table,
            self._pks,
            column,
            self._engine.dialect,
            index_column=target.column if index and target is not None else None,
        )

    def _execute(
        self, conn: Connection, statement: _cas.Statement, params: list[dict[str, object]]
    ) -> int:
        return _cas.execute(conn, self._engine.dialect, statement, params)

    def _rewrite(
        self, column: str, values: list[tuple[tuple[object, ...], object]]
    ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        """Compare-and-set parameters for the stale values of one column in one batch:
        (ciphertexts and tokens moved to the primary version, plaintext protected)."""
        stale: list[tuple[tuple[object, ...], object, Stored]] = []
        plain: list[tuple[tuple[object, ...], object]] = []
        for pk, value in values:
            s = self._classify(value)
            if s.form is Form.NULL:
                continue
            if s.form is Form.PLAINTEXT:
                if self._from_plaintext:
                    plain.append((pk, value))
                # else: written by someone since the survey; reported by the verification
            elif not self._is_current(s) or (self._rebind and s.form is not Form.TOKEN):
                stale.append((pk, value, s))  # (rebinding: every ciphertext, see _migrate)
        return (
            self._migrate(column, stale) if stale else [],
            self._protect(column, plain) if plain else [],
        )

    def _migrate(
        self, column: str, stale: list[tuple[tuple[object, ...], object, Stored]]
    ) -> list[dict[str, object]]:
        """Open stale values and seal them again under the primary version, one batch per
        (key, version, form)."""
        groups: dict[tuple[str, int, Form], list[int]] = {}
        for i, (_, _, st) in enumerate(stale):
            groups.setdefault((*self._version_of(st), st.form), []).append(i)
        params: list[dict[str, object]] = []
        for (key_name, version, form), idx in groups.items():
            pks = [stale[i][0] for i in idx]
            olds = [stale[i][1] for i in idx]
            ctx = self._contexts(column, pks)
            if form is Form.TOKEN:
                tokens = [parse_token(o)[1] for o in olds]
                plain: Sequence[bytes | str] = self._vault.detokenize_many(
                    key_name,
                    tokens,
                    format=self._format,
                    version=version,
                    context=ctx["context"],  # tokens: never row-bound (__init__ refuses it)
                )
            else:
                plain, unbound = self._open(column, pks, olds)
                if self._rebind and version == self._primary_version(key_name):
                    # current and bound already: nothing to write (a rerun writes nothing)
                    keep = [j for j, u in enumerate(unbound) if u]
                    if not keep:
                        continue
                    pks = [pks[j] for j in keep]
                    olds = [olds[j] for j in keep]
                    plain = [plain[j] for j in keep]
                    ctx = self._contexts(column, pks)
            sealed = self._seal(key_name, plain, ctx, form)
            params += [
                {**self._key_params(pk), "vk_old": old, "vk_new": new}
                for pk, old, new in zip(pks, olds, sealed, strict=True)
            ]
        return params

    def _seal(
        self, key_name: str, values: Sequence[bytes | str], ctx: _Contexts, form: Form
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

    def _protect(
        self, column: str, plain: list[tuple[tuple[object, ...], object]]
    ) -> list[dict[str, object]]:
        """Encrypt (or tokenize) plaintext values and compute their blind index."""
        assert self._key is not None
        pks = [pk for pk, _ in plain]
        originals = [bytes(v) if isinstance(v, bytearray | memoryview) else v for _, v in plain]
        if self._format is not None:
            form = Form.TOKEN
        elif isinstance(self._table.c[column].type, sa.String):
            form = Form.TEXT
        else:
            form = Form.BINARY
        # tokens of the value's text; ciphertexts of the ORM's encoding of the value (columns)
        values: list[str | bytes] = (
            [v if isinstance(v, str | bytes) else str(v) for v in originals]
            if form is Form.TOKEN
            else [encode_value(v) for v in originals]
        )
        sealed = self._seal(self._key, values, self._contexts(column, pks), form)
        params = [
            {**self._key_params(pk), "vk_old": old, "vk_new": new}
            for (pk, old), new in zip(plain, sealed, strict=True)
        ]
        target = self._blind.get(column)
        if target is not None:
            # The blind index binds the column, not the row, so equal values match.
            indexes = self._vault.blind_index_many(
                target.key_name,
                [blind_index_input((v,)) for v in originals],
                context=column_context(self._tname, column),
                bits=target.bits,
            )
            for p, ix in zip(params, indexes, strict=True):
                p["vk_bidx"] = ix
        return params


def _bytes(v: object) -> object:
    """A driver's buffer as ``bytes`` (so it compares equal to an index); other values as
    they are."""
    return bytes(v) if isinstance(v, bytearray | memoryview) else v


def _text(p: bytes | str) -> str | bytes:
    """A decrypted source value as the ORM's ``str`` column hands it to its index (UTF-8 text);
    bytes that are not UTF-8 stay bytes (a ``bytes`` column)."""
    if isinstance(p, str):
        return p
    try:
        return p.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return p
