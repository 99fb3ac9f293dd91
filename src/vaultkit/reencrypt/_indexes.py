"""Blind-index columns of a re-encryption: their sources' index inputs, surveyed and rebuilt.

An index is a truncated MAC of its source value: it names neither key nor version. So it is
recomputed from the source (decrypted, detokenized or read as plaintext: ``blind_index_input``)
under each readable version of the index key and compared (survey), and rebuilt under the
primary version with a compare-and-set on the source and the old index (``_cas``).
"""

from __future__ import annotations

from collections.abc import Sequence

from vaultkit.columns import Form, blind_index_input, column_context, parse_token
from vaultkit.reencrypt import _cas
from vaultkit.reencrypt._job import Job
from vaultkit.reencrypt._report import ColumnSurvey

__all__ = ["IndexJob"]


class IndexJob(Job):
    """The blind-index part of a job (``blind_index`` targets)."""

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
