"""The survey of a re-encryption: what each column holds, before and after a run.

Ciphertexts and tokens are counted by key and version from their headers alone
(``vaultkit.columns`` classifier); row-bound columns are also opened, as the migration opens
them (``Job._open``), to count the values written unbound; blind indexes are recomputed
(``_indexes``). :meth:`SurveyJob.check` refuses what cannot be migrated safely.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from vaultkit.columns import Form, Stored
from vaultkit.reencrypt._indexes import IndexJob
from vaultkit.reencrypt._job import Progress
from vaultkit.reencrypt._report import ColumnSurvey, ReencryptError

__all__ = ["SurveyJob"]


class SurveyJob(IndexJob):
    """The survey part of a job: counts, and the checks made before anything is written."""

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
