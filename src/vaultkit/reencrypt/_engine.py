"""Online, resumable re-encryption of database columns (the engine behind ``vaultkit reencrypt``).

How it works (at the SQLAlchemy Core level, on any dialect):

1. The table is reflected; it needs a single-column primary key.
2. A **survey** reads the columns in primary-key order and classifies every value from its
   envelope header alone (:func:`vaultkit.reencrypt.classify`): NULL, plaintext, or ciphertext
   under (key, version). Nothing is decrypted. A column mixing plaintext and ciphertext is refused
   unless plaintext is being protected (``plaintext_key``), before anything is written.
3. The **migration** walks the table again in primary-key order, ``batch_size`` rows at a time
   (keyset pagination: ``WHERE pk > :last ORDER BY pk LIMIT n``). Each batch is one transaction:
   stale values are decrypted with ``Vault.decrypt_many`` and encrypted under the key's primary
   version with ``Vault.encrypt_many`` (plaintext is encrypted directly, and its blind index
   computed), then written with a compare-and-set
   ``UPDATE t SET c = :new WHERE pk = :pk AND c = :old``. A concurrent application write changes
   ``c``, so the update matches no row and the application's value stays.
4. Values that lost such a race are picked up by another pass (at most ``max_passes``); a final
   **verification** survey reports what is left.

Resumable without a state file: values already under the primary version are skipped from their
header, so re-running after a crash (each batch commits atomically or not at all) continues where
it stopped and never re-encrypts a value twice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vaultkit.errors import VaultkitError
from vaultkit.reencrypt._stored import Form, Stored, classify

if TYPE_CHECKING:
    from vaultkit import Vault

__all__ = [
    "BlindIndexTarget",
    "ColumnSurvey",
    "ReencryptError",
    "Reencryptor",
    "Summary",
    "column_context",
]


class ReencryptError(VaultkitError, ValueError):
    """The table or columns cannot be re-encrypted as asked (nothing was changed)."""


def column_context(table: str, column: str, row: object | None = None) -> dict[str, str]:
    """The associated data of a value of ``table.column`` (and of row ``row`` when bound).

    The same mapping ``vaultkit.ext.sqlalchemy`` binds, so rows written by the ORM and rows
    re-encrypted here decrypt the same way.
    """
    ctx = {"table": table, "column": column}
    if row is not None:
        ctx["row"] = str(row)
    return ctx


@dataclass(frozen=True)
class BlindIndexTarget:
    """Where the blind index of a plaintext column goes when the column is protected."""

    column: str
    key_name: str
    bits: int


@dataclass
class ColumnSurvey:
    """Counts of one column's values by what they are."""

    column: str
    rows: int = 0
    nulls: int = 0
    plaintext: int = 0
    current: int = 0  # ciphertexts under their key's primary version
    by_version: Counter[tuple[str, int]] = field(default_factory=Counter)  # (key name, version)

    @property
    def stale(self) -> int:
        return sum(self.by_version.values()) - self.current

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "rows": self.rows,
            "nulls": self.nulls,
            "plaintext": self.plaintext,
            "current": self.current,
            "stale": self.stale,
            "by_version": [
                {"key": k, "version": v, "count": n}
                for (k, v), n in sorted(self.by_version.items())
            ],
        }


@dataclass
class Summary:
    """What a run did: values rewritten, races lost to the application, passes, final survey."""

    rows: int = 0
    rewritten: int = 0
    conflicts: int = 0
    passes: int = 0
    seconds: float = 0.0
    final: list[ColumnSurvey] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(s.stale == 0 and s.plaintext == 0 for s in self.final)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "rewritten": self.rewritten,
            "conflicts": self.conflicts,
            "passes": self.passes,
            "seconds": round(self.seconds, 3),
            "complete": self.complete,
            "columns": [s.as_dict() for s in self.final],
        }


Progress = Callable[[int], None]  # called with the number of rows just processed


class Reencryptor:
    """Moves every value of ``columns`` of ``table`` to its key's primary version.

    With ``plaintext_key`` the columns hold plaintext being protected in place: plaintext values
    are encrypted under that key (text form in text columns, binary form in binary ones) and,
    with ``blind_index``, their blind index column is filled in the same compare-and-set update.
    ``bind_row`` binds each ciphertext to its row's primary key (as the SQLAlchemy types do when
    declared with ``bind_row=True``).
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
        plaintext_key: str | None = None,
        blind_index: Mapping[str, BlindIndexTarget] | None = None,
        bind_row: bool = False,
        max_passes: int = 3,
    ) -> None:
        if not columns:
            raise ReencryptError("name at least one column")
        if batch_size < 1:
            raise ReencryptError("batch size must be at least 1")
        if max_rate is not None and max_rate <= 0:
            raise ReencryptError("max rate must be positive")
        self._engine = engine
        self._vault = vault
        self._batch_size = batch_size
        self._max_rate = max_rate
        self._plaintext_key = plaintext_key
        self._bind_row = bind_row
        self._max_passes = max_passes
        self._table = self._reflect(table)
        self._blind = dict(blind_index or {})
        missing = [
            c
            for c in [*columns, *(b.column for b in self._blind.values())]
            if c not in self._table.c
        ]
        if missing:
            raise ReencryptError(
                f"table {table!r} has no column {', '.join(map(repr, missing))} "
                f"(columns: {', '.join(self._table.c.keys())})"
            )
        pks = list(self._table.primary_key.columns)
        if len(pks) != 1:
            raise ReencryptError(f"table {table!r} needs a single-column primary key")
        self._pk = pks[0]
        self._columns = list(dict.fromkeys(columns))
        if set(self._columns) & {self._pk.name}:
            raise ReencryptError("the primary key cannot be re-encrypted")
        self._names: dict[int, str] = {}
        self._primary: dict[str, int] = {}

    # -- reflection and key metadata -------------------------------------------------------
    def _reflect(self, name: str) -> sa.Table:
        try:
            return sa.Table(name, sa.MetaData(), autoload_with=self._engine)
        except sa.exc.NoSuchTableError:
            tables = sa.inspect(self._engine).get_table_names()
            raise ReencryptError(
                f"no table {name!r} (tables: {', '.join(tables) or 'none'})"
            ) from None

    def _key_name(self, key_id: int, version: int) -> str:
        name = self._names.get(key_id)
        if name is None:
            name = self._vault.keys.key_by_id(key_id, version, force=True).name
            self._names[key_id] = name
        return name

    def _primary_version(self, key_name: str) -> int:
        v = self._primary.get(key_name)
        if v is None:
            v = self._vault.keys.primary_key(key_name).version
            self._primary[key_name] = v
        return v

    def _is_current(self, s: Stored) -> bool:
        return s.version == self._primary_version(self._key_name(s.key_id, s.version))

    def _context(self, column: str, pk: object) -> dict[str, str]:
        return column_context(self._table.name, column, pk if self._bind_row else None)

    # -- survey ----------------------------------------------------------------------------
    def _select(self, after: object | None, limit: int) -> sa.Select[Any]:
        q = sa.select(self._pk, *(self._table.c[c] for c in self._columns))
        if after is not None:
            q = q.where(self._pk > after)
        return q.order_by(self._pk).limit(limit)

    def count_rows(self) -> int:
        with self._engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(self._table)).scalar_one()
            )

    def survey(self, progress: Progress | None = None) -> list[ColumnSurvey]:
        """Counts per column, from headers only (nothing decrypted, nothing written)."""
        surveys = {c: ColumnSurvey(c) for c in self._columns}
        after: object | None = None
        with self._engine.connect() as conn:
            while True:
                rows = conn.execute(self._select(after, max(self._batch_size, 5000))).all()
                if not rows:
                    break
                for row in rows:
                    for i, c in enumerate(self._columns, start=1):
                        self._count(surveys[c], classify(row[i]))
                after = rows[-1][0]
                if progress:
                    progress(len(rows))
        return list(surveys.values())

    def _count(self, survey: ColumnSurvey, s: Stored) -> None:
        survey.rows += 1
        if s.form is Form.NULL:
            survey.nulls += 1
        elif s.form is Form.PLAINTEXT:
            survey.plaintext += 1
        else:
            name = self._key_name(s.key_id, s.version)
            survey.by_version[(name, s.version)] += 1
            if s.version == self._primary_version(name):
                survey.current += 1

    def check(self, surveys: Sequence[ColumnSurvey]) -> None:
        """Refuse what cannot be migrated safely, before anything is written."""
        for s in surveys:
            ciphertexts = sum(s.by_version.values())
            if self._plaintext_key is None and s.plaintext:
                mixed = f"mixes {s.plaintext} plaintext and {ciphertexts} ciphertext values"
                raise ReencryptError(
                    f"column {self._table.name}.{s.column} "
                    + (mixed if ciphertexts else f"holds {s.plaintext} plaintext values")
                    + "; protect plaintext with --from-plaintext --key NAME"
                )

    # -- migration ---------------------------------------------------------------------------
    def run(
        self, progress: Progress | None = None, *, surveyed: Sequence[ColumnSurvey] | None = None
    ) -> Summary:
        """Migrate, pass after pass, until nothing is stale (or ``max_passes``), then verify."""
        summary = Summary()
        if self._plaintext_key is not None:
            self._primary_version(self._plaintext_key)  # KeyNotFoundError before any write
        self.check(surveyed if surveyed is not None else self.survey())
        start = time.perf_counter()
        for _ in range(self._max_passes):
            summary.passes += 1
            rewritten, conflicts, rows = self._pass(progress if summary.passes == 1 else None)
            summary.rewritten += rewritten
            summary.conflicts += conflicts
            summary.rows = max(summary.rows, rows)
            if rewritten == 0 and conflicts == 0:
                break
            if conflicts == 0:
                break
        summary.seconds = time.perf_counter() - start
        summary.final = self.survey()
        return summary

    def _pass(self, progress: Progress | None) -> tuple[int, int, int]:
        after: object | None = None
        rewritten = conflicts = rows_seen = 0
        start = time.perf_counter()
        updates = {c: self._update_statement(c) for c in self._columns}
        while True:
            with self._engine.begin() as conn:
                rows = conn.execute(self._select(after, self._batch_size)).all()
                if not rows:
                    break
                for i, column in enumerate(self._columns, start=1):
                    params = self._rewrite(column, [(r[0], r[i]) for r in rows])
                    if params:
                        done = self._execute(conn, updates[column], params)
                        rewritten += done
                        conflicts += len(params) - done
                after = rows[-1][0]
            rows_seen += len(rows)
            if progress:
                progress(len(rows))
            if self._max_rate:
                ahead = rows_seen / self._max_rate - (time.perf_counter() - start)
                if ahead > 0:
                    time.sleep(ahead)
        return rewritten, conflicts, rows_seen

    def _update_statement(self, column: str) -> sa.Update:
        t = self._table
        values: dict[str, Any] = {column: sa.bindparam("vk_new")}
        target = self._blind.get(column)
        if target is not None and self._plaintext_key is not None:
            values[target.column] = sa.bindparam("vk_bidx")
        return (
            t.update()
            .where(self._pk == sa.bindparam("vk_pk"), t.c[column] == sa.bindparam("vk_old"))
            .values(values)
        )

    def _execute(self, conn: Connection, stmt: sa.Update, params: list[dict[str, Any]]) -> int:
        result = conn.execute(stmt, params)
        if self._engine.dialect.supports_sane_multi_rowcount and result.rowcount >= 0:
            return int(result.rowcount)
        return len(params)

    def _rewrite(self, column: str, values: list[tuple[object, Any]]) -> list[dict[str, Any]]:
        """Compare-and-set parameters for the stale values of one column in one batch."""
        stale: list[tuple[object, Any, Stored]] = []
        plain: list[tuple[object, Any]] = []
        for pk, value in values:
            s = classify(value)
            if s.form is Form.NULL:
                continue
            if s.form is Form.PLAINTEXT:
                if self._plaintext_key is None:
                    continue  # written by someone since the survey; left for the verification
                plain.append((pk, value))
            elif not self._is_current(s):
                stale.append((pk, value, s))
        params: list[dict[str, Any]] = []
        if stale:
            params += self._reencrypt(column, stale)
        if plain:
            params += self._protect(column, plain)
        return params

    def _reencrypt(
        self, column: str, stale: list[tuple[object, Any, Stored]]
    ) -> list[dict[str, Any]]:
        contexts = [self._context(column, pk) for pk, _, _ in stale]
        olds = [bytes(v) if isinstance(v, memoryview | bytearray) else v for _, v, _ in stale]
        plaintexts = self._vault.decrypt_many(olds, contexts=contexts, force=True)
        groups: dict[tuple[str, Form], list[int]] = {}
        for i, (_, _, st) in enumerate(stale):
            groups.setdefault((self._key_name(st.key_id, st.version), st.form), []).append(i)
        params: list[dict[str, Any]] = []
        for (key_name, form), idx in groups.items():
            sealed = self._seal(
                key_name,
                [plaintexts[i] for i in idx],
                [contexts[i] for i in idx],
                text=form is Form.TEXT,
            )
            params += [
                {"vk_pk": stale[i][0], "vk_old": stale[i][1], "vk_new": new}
                for i, new in zip(idx, sealed, strict=True)
            ]
        return params

    def _seal(
        self,
        key_name: str,
        values: Sequence[bytes | str],
        contexts: list[dict[str, str]],
        *,
        text: bool,
    ) -> Sequence[bytes | str]:
        """One batch under the key's primary version, in the text or the binary form."""
        if text:
            return self._vault.encrypt_text_many(key_name, values, contexts=contexts)
        return self._vault.encrypt_many(key_name, values, contexts=contexts)

    def _protect(self, column: str, plain: list[tuple[object, Any]]) -> list[dict[str, Any]]:
        assert self._plaintext_key is not None
        text = isinstance(self._table.c[column].type, sa.String)
        contexts = [self._context(column, pk) for pk, _ in plain]
        values = [v if isinstance(v, str) else str(v) for _, v in plain]
        sealed = self._seal(self._plaintext_key, values, contexts, text=text)
        params = [
            {"vk_pk": pk, "vk_old": old, "vk_new": new}
            for (pk, old), new in zip(plain, sealed, strict=True)
        ]
        target = self._blind.get(column)
        if target is not None:
            # The blind index's context is the column's (not the row's), so equal values match.
            indexes = self._vault.blind_index_many(
                target.key_name,
                values,
                context=column_context(self._table.name, column),
                bits=target.bits,
            )
            for p, ix in zip(params, indexes, strict=True):
                p["vk_bidx"] = ix
        return params


def count_under_version(engine: Engine, key_id: int, version: int) -> list[tuple[str, int]]:
    """Every ``table.column`` holding ciphertexts under (``key_id``, ``version``), with counts.

    Exhaustive (every row of every table is read, headers only): what ``key retire`` checks
    before retiring a version.
    """
    metadata = sa.MetaData()
    metadata.reflect(engine)
    found: list[tuple[str, int]] = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.LargeBinary)]
            if not columns:
                continue
            counts = Counter[str]()
            for row in conn.execution_options(yield_per=5000).execute(sa.select(*columns)):
                for c, value in zip(columns, row, strict=True):
                    s = classify(value)
                    if s.is_ciphertext and s.key_id == key_id and s.version == version:
                        counts[c.name] += 1
            found += [(f"{table.name}.{c.name}", counts[c.name]) for c in columns if counts[c.name]]
    return found
