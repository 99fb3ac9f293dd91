"""Re-encryption of DataFrames after a key rotation: ``reencrypt`` (only the stale rows, with
their old and new stored values) and ``survey`` (counts per key version, from headers).

A stored value is classified from its envelope header or token prefix alone
(:mod:`vaultkit.columns`): values already under their key's primary version are never
decrypted. A blind index is stale when it differs from its sources' index under the index
key's primary version (recomputed from the sources' plaintext, as ``vaultkit reencrypt``
does). File datasets are written to a new path, never in place; ``survey`` the new path before
swapping (docs/spark.md, "Re-encryption").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa

from vaultkit.columns import Classifier, Form, Stored, classify_token, format_token, parse_token
from vaultkit.errors import VaultkitTypeError
from vaultkit.ext.spark._arrays import arrow_type, contexts, protect_arrays, reveal_array
from vaultkit.ext.spark._frames import spark_type
from vaultkit.ext.spark._plan import Columns, EncryptOp, IndexOp, Model, Op, TokenOp, plan
from vaultkit.ext.spark._rowbind import Catalog
from vaultkit.ext.spark._spec import VaultSpec
from vaultkit.ext.spark._workers import vault_for
from vaultkit.reencrypt import ColumnSurvey

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from vaultkit.vault import Vault

__all__ = ["NEW", "reencrypt", "survey"]

NEW = "_new"  # the suffix of a column's new stored value in reencrypt's output


class _Keys:
    """Key names and primary versions of one worker's Vault (metadata only, cached)."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._names: dict[int, str] = {}
        self._primary: dict[str, int] = {}
        self._readable: dict[str, list[int]] = {}

    def name(self, key_id: int, version: int) -> str:
        found = self._names.get(key_id)
        if found is None:
            keys = self.vault.keys
            listing = getattr(keys, "keys", None)
            if callable(listing):
                self._names.update({k.key_id: k.name for k in listing()})
            if key_id not in self._names:
                self._names[key_id] = keys.key_by_id(key_id, version, force=True).name
            found = self._names[key_id]
        return found

    def primary(self, key_name: str) -> int:
        v = self._primary.get(key_name)
        if v is None:
            v = self._primary[key_name] = int(self.vault.keys.primary_key(key_name).version)
        return v

    def readable(self, key_name: str) -> list[int]:
        vs = self._readable.get(key_name)
        if vs is None:
            vs = self._readable[key_name] = list(self.vault.keys.readable_versions(key_name))
        return vs


def _check(df: DataFrame, ops: Sequence[Op], pk: Sequence[str]) -> None:
    by_name = {op.column: op for op in ops}
    missing = sorted({c for op in ops for c in (op.column, *op.inputs)} - set(df.columns))
    missing += [k for k in pk if k not in df.columns]
    if missing:
        raise VaultkitTypeError(f"the DataFrame has no column {', '.join(sorted(set(missing)))}")
    for op in ops:
        if isinstance(op, IndexOp):
            for s in op.source:
                if s in df.columns and s not in by_name and s not in pk:
                    continue  # a plaintext source column
                if s in by_name and isinstance(by_name[s], IndexOp):
                    raise VaultkitTypeError(f"{op.where}: a blind index of a blind index")


def _sources(
    vault: Vault, ops: Mapping[str, Op], op: IndexOp, arrays: Mapping[str, pa.Array]
) -> list[list[object]]:
    """Each source column's plaintext values (protected sources opened, also retired ones)."""
    out = []
    for s in op.source:
        src = ops.get(s)
        if src is None:
            out.append(arrays[s].to_pylist())
            continue
        keys = [arrays[k] for k in src.inputs[1:]] if isinstance(src, EncryptOp) else []
        out.append(reveal_array(vault, src, arrays[s], keys, force=True).to_pylist())
    return out


def _stale_encrypted(
    vault: Vault, keys: _Keys, op: EncryptOp, arrays: Mapping[str, pa.Array], classify: Classifier
) -> list[object]:
    values = arrays[op.column].to_pylist()
    primary = keys.primary(op.key_name)
    groups: dict[tuple[str, int], list[int]] = {}
    for i, v in enumerate(values):
        s: Stored = classify(v)
        if not s.is_ciphertext:
            continue  # NULL; plaintext is counted by survey, not rewritten here
        name = keys.name(s.key_id, s.version)
        if name != op.key_name or s.version != primary:
            groups.setdefault((name, s.version), []).append(i)
    new: list[object] = [None] * len(values)
    row_keys = [arrays[k] for k in op.inputs[1:]]
    for idx in groups.values():
        ctx = contexts(op, row_keys, idx)
        plain = vault.decrypt_many([values[i] for i in idx], force=True, **ctx)
        if op.text:
            sealed: Sequence[bytes | str] = vault.encrypt_text_many(op.key_name, plain, **ctx)
        else:
            sealed = vault.encrypt_many(op.key_name, plain, **ctx)
        del plain
        for i, x in zip(idx, sealed, strict=True):
            new[i] = x
    return new


def _stale_tokens(
    vault: Vault, keys: _Keys, op: TokenOp, arrays: Mapping[str, pa.Array]
) -> list[object]:
    values = arrays[op.column].to_pylist()
    primary = keys.primary(op.key_name)
    groups: dict[int, list[int]] = {}
    for i, v in enumerate(values):
        s = classify_token(v)
        if s.form is Form.TOKEN and s.version != primary:
            groups.setdefault(s.version, []).append(i)
    new: list[object] = [None] * len(values)
    ctx = op.context()
    for version, idx in groups.items():
        plain = vault.detokenize_many(
            op.key_name,
            [parse_token(values[i])[1] for i in idx],
            format=op.format,
            context=ctx,
            version=version,
        )
        tokens = vault.tokenize_many(
            op.key_name, plain, format=op.format, context=ctx, version=primary
        )
        for i, t in zip(idx, tokens, strict=True):
            new[i] = format_token(primary, t)
    return new


def _stale_index(
    vault: Vault, ops: Mapping[str, Op], op: IndexOp, arrays: Mapping[str, pa.Array]
) -> list[object]:
    sources = _sources(vault, ops, op, arrays)
    fresh = protect_arrays(vault, op, [pa.array(s) for s in sources])
    stored = arrays[op.column].to_pylist()
    return [
        None if f is None or f == s else f for f, s in zip(fresh.to_pylist(), stored, strict=True)
    ]


def reencrypt(
    df: DataFrame,
    spec: VaultSpec,
    *,
    pk: str | Sequence[str],
    columns: Columns = None,
    model: Model = None,
    table: str | None = None,
    catalog: Catalog = None,
) -> DataFrame:
    """The rows of ``df`` with a stale listed column: the primary key (and any plaintext source
    column of a listed blind index), then for each listed column ``c`` its stored value as read
    (``c``: the compare-and-set's old value) and ``c_new``, its value under the key's primary
    version (NULL where ``c`` is current).

    Encrypted and token columns are classified from their headers (current values are never
    opened); blind-index columns are recomputed from their sources (which must be listed when
    protected). One ``mapInArrow`` pass; rows with nothing stale are dropped in the worker.
    ``catalog``: as for :func:`~vaultkit.ext.spark.protect` (resolves ``bind_row="auto"``)."""
    keys_ = (pk,) if isinstance(pk, str) else tuple(pk)
    ops = plan(columns=columns, model=model, table=table, pk=keys_, catalog=catalog)
    _check(df, ops, keys_)
    from pyspark.sql import types as T

    # plaintext sources of blind indexes: passed through (a merge compares them too)
    extra = list(
        dict.fromkeys(
            s
            for op in ops
            if isinstance(op, IndexOp)
            for s in op.source
            if s not in keys_ and s not in {o.column for o in ops}
        )
    )
    fields = [df.schema[k] for k in (*keys_, *extra)]
    for op in ops:
        t = spark_type(arrow_type(op))
        fields += [T.StructField(op.column, t, True), T.StructField(op.column + NEW, t, True)]
    schema = T.StructType(fields)
    ops_ = tuple(ops)
    by_name = {op.column: op for op in ops}

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        vault = vault_for(spec)
        meta = _Keys(vault)
        classify = Classifier()
        for batch in batches:
            arrays = {n: batch.column(n) for n in batch.schema.names}
            news: dict[str, list[object]] = {}
            for op in ops_:
                if isinstance(op, EncryptOp):
                    news[op.column] = _stale_encrypted(vault, meta, op, arrays, classify)
                elif isinstance(op, TokenOp):
                    news[op.column] = _stale_tokens(vault, meta, op, arrays)
                else:
                    news[op.column] = _stale_index(vault, by_name, op, arrays)
            keep = [
                i for i in range(batch.num_rows) if any(n[i] is not None for n in news.values())
            ]
            if not keep:
                continue
            take = pa.array(keep, pa.int64())
            out: list[pa.Array] = [arrays[k].take(take) for k in (*keys_, *extra)]
            for op in ops_:
                new = news[op.column]
                out += [
                    arrays[op.column].take(take),
                    pa.array([new[i] for i in keep], arrow_type(op)),
                ]
            yield pa.RecordBatch.from_arrays(
                out,
                schema=pa.schema(
                    [pa.field(f.name, a.type) for f, a in zip(schema.fields, out, strict=True)]
                ),
            )

    return df.mapInArrow(run, schema)


def survey(
    df: DataFrame,
    spec: VaultSpec,
    *,
    columns: Columns = None,
    model: Model = None,
    table: str | None = None,
    pk: str | Sequence[str] | None = None,
    catalog: Catalog = None,
) -> list[ColumnSurvey]:
    """Counts of each listed column's values by key version (``vaultkit.reencrypt``'s
    :class:`~vaultkit.reencrypt.ColumnSurvey`), from headers only; a blind index by the
    readable version its sources' index matches (``unmatched`` when none). ``catalog``: as for
    :func:`~vaultkit.ext.spark.protect` (resolves ``bind_row="auto"``)."""
    ops = plan(columns=columns, model=model, table=table, pk=pk, catalog=catalog)
    keys_ = (pk,) if isinstance(pk, str) else tuple(pk or ())
    _check(df, ops, keys_)
    ops_ = tuple(ops)
    by_name = {op.column: op for op in ops}
    schema = "column string, what string, key string, version long, current boolean, n long"

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        vault = vault_for(spec)
        meta = _Keys(vault)
        classify = Classifier()
        counts: Counter[tuple[str, str, str, int, bool]] = Counter()
        for batch in batches:
            arrays = {n: batch.column(n) for n in batch.schema.names}
            for op in ops_:
                _count(vault, meta, by_name, op, arrays, classify, counts)
        names = ["column", "what", "key", "version", "current", "n"]
        found = [(*k, n) for k, n in counts.items()]
        yield pa.RecordBatch.from_pydict(
            {name: [row[i] for row in found] for i, name in enumerate(names)},
            schema=pa.schema(
                [
                    ("column", pa.string()),
                    ("what", pa.string()),
                    ("key", pa.string()),
                    ("version", pa.int64()),
                    ("current", pa.bool_()),
                    ("n", pa.int64()),
                ]
            ),
        )

    rows = (
        df.mapInArrow(run, schema)
        .groupBy("column", "what", "key", "version", "current")
        .sum("n")
        .collect()
    )
    out = {op.column: ColumnSurvey(op.column) for op in ops}
    for r in rows:
        s, n = out[r["column"]], int(r["sum(n)"])
        s.rows += n
        if r["what"] == "null":
            s.nulls += n
        elif r["what"] == "plaintext":
            s.plaintext += n
        elif r["what"] == "unmatched":
            s.unmatched += n
        else:
            s.by_version[(r["key"], int(r["version"]))] += n
            s.current += n if r["current"] else 0
    return list(out.values())


def _count(
    vault: Vault,
    meta: _Keys,
    ops: Mapping[str, Op],
    op: Op,
    arrays: Mapping[str, pa.Array],
    classify: Classifier,
    counts: Counter[tuple[str, str, str, int, bool]],
) -> None:
    c = op.column
    if isinstance(op, IndexOp):
        sources = _sources(vault, ops, op, arrays)
        stored = arrays[c].to_pylist()
        present = [i for i, s in enumerate(stored) if s is not None]
        counts[(c, "null", "", 0, False)] += len(stored) - len(present)
        # an index whose sources are NULL matches nothing
        pending = [i for i in present if all(src[i] is not None for src in sources)]
        counts[(c, "unmatched", "", 0, False)] += len(present) - len(pending)
        primary = meta.primary(op.key_name)
        for version in [primary, *(v for v in meta.readable(op.key_name) if v != primary)]:
            if not pending:
                break
            cols = [[s[i] for i in pending] for s in sources]
            made = vault.blind_index_many(
                op.key_name,
                [_index_input(op, [col[j] for col in cols]) for j in range(len(pending))],
                context=op.context(),
                bits=op.bits,
                version=version,
            )
            left = []
            for i, ix in zip(pending, made, strict=True):
                if ix == stored[i]:
                    counts[(c, "index", op.key_name, version, version == primary)] += 1
                else:
                    left.append(i)
            pending = left
        counts[(c, "unmatched", "", 0, False)] += len(pending)
        return
    for v in arrays[c].to_pylist():
        s = classify_token(v) if isinstance(op, TokenOp) else classify(v)
        if s.form is Form.NULL:
            counts[(c, "null", "", 0, False)] += 1
        elif s.form is Form.PLAINTEXT:
            counts[(c, "plaintext", "", 0, False)] += 1
        else:
            name = op.key_name if s.form is Form.TOKEN else meta.name(s.key_id, s.version)
            counts[(c, "value", name, s.version, s.version == meta.primary(name))] += 1


def _index_input(op: IndexOp, values: list[object]) -> str | bytes:
    from vaultkit.columns import blind_index_input

    return blind_index_input(values, op.transform)
