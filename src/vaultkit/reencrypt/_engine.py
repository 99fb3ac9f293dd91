"""Online, resumable re-encryption of database columns (the engine behind ``vaultkit reencrypt``).

How it works (at the SQLAlchemy Core level, on any dialect):

1. The table is reflected (``schema.table`` for another schema; its contexts name it as
   ``vaultkit.columns.table_name`` does, like the ORM); it needs a primary key (one column or
   several: keyset pagination compares the key tuple, row contexts use ``row_key``).
2. A **survey** reads the columns in primary-key order and classifies every value from its
   envelope header alone (:func:`vaultkit.reencrypt.classify`): NULL, plaintext, or ciphertext
   under (key, version), without decrypting. A column mixing plaintext and ciphertext is refused
   unless plaintext is being protected (``plaintext_key``), before anything is written. (A
   row-bound column's ciphertexts are also opened, as the migration opens them, to count the
   values written unbound: the header does not say.)
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

Who does what: the job, its contexts and value operations are ``_job``'s, the survey
``_survey``'s, blind indexes ``_indexes``', the compare-and-set statements ``_cas``', what it
reports ``_report``'s, the stored-column format ``vaultkit.columns``'; this module is the
migration (passes of batches, each value moved or protected).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from vaultkit.columns import (
    Form,
    Stored,
    blind_index_input,
    column_context,
    encode_value,
    parse_token,
)
from vaultkit.reencrypt import _cas
from vaultkit.reencrypt._job import Progress
from vaultkit.reencrypt._report import ColumnSurvey, Summary
from vaultkit.reencrypt._survey import SurveyJob

__all__ = ["Reencryptor"]


class Reencryptor(SurveyJob):
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
