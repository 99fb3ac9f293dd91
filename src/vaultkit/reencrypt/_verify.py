"""``vaultkit verify``: read every protected value of a database back, and list what does not.

Encrypted values are found by their envelope header in every string and binary column (no
catalogue needed) and decrypted under their column context: the catalogue's row binding when
the column is catalogued, else the column context and, failing that, the row-bound context of
the primary key. Token columns and blind-index columns are known only from the catalogue
(``vaultkit.catalog``): a token is detokenized under the version its stored form names; a blind
index is recomputed from its source (decrypted) under every readable version of its key and
must equal one of them (so a ciphertext moved to another row of an indexed column is found
even when it still decrypts). Nothing is written; no value leaves this module (a finding names
table, column and primary key, never a value).

What could not be read (a table the connection may not read, a catalogued column that is
missing, an index whose sources pass through application code) is listed as ``unread``: the
check proves nothing about it and is not reported as passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from vaultkit.catalog import CATALOG_TABLE, ProtectedColumn, Protection, load
from vaultkit.columns import (
    Form,
    blind_index_input,
    classify,
    column_context,
    parse_token,
    row_key,
    table_name,
)
from vaultkit.errors import AccessDeniedError, InputFormatError, VaultkitError
from vaultkit.reencrypt._count import visible_tables

if TYPE_CHECKING:
    from vaultkit import Vault

__all__ = ["Finding", "Verification", "verify_database"]

_BATCH = 1000
_Row = sa.Row[tuple[object, ...]]  # a batch row: the key columns, then the candidates
_Plain = bytes | str | None  # a value opened (decrypted or detokenized); None: NULL or bad


@dataclass(frozen=True)
class Finding:
    """One bad value: where it is and what is wrong, never the value."""

    table: str
    column: str
    key: str  # the row's primary key (row_key text), "" when the table has none
    problem: str


@dataclass
class Verification:
    values: int = 0  # protected values checked (and found good or bad)
    tables: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings and not self.unread


def verify_database(engine: Engine, vault: Vault, *, table: str | None = None) -> Verification:
    """Check every protected value of the database (or of ``table``); see the module docs."""
    out = Verification()
    catalogue = load(engine) or []
    by_place = {(c.table, c.column): c for c in catalogue}
    try:
        tables = visible_tables(engine, only=table)
    except sa.exc.NoSuchTableError:
        from vaultkit.reencrypt._report import ReencryptError

        raise ReencryptError(f"no table {table!r}") from None
    seen = set()
    for t in tables:
        if t.name == CATALOG_TABLE:
            continue
        name = table_name(t.name, t.schema)
        seen.add(name)
        entries = {c.name: by_place.get((name, c.name)) for c in t.columns}
        try:
            with engine.connect() as conn:
                _TableCheck(vault, t, name, entries, out).run(conn)
        except sa.exc.DBAPIError as exc:  # permission denied, ...: proves nothing about it
            out.unread.append(f"{name}: could not be read ({type(exc.orig).__name__})")
            continue
        out.tables.append(name)
    for c in catalogue:
        if (table is None or c.table == table) and c.table not in seen:
            out.unread.append(f"{c.where}: catalogued, but the table does not exist")
    return out


class _TableCheck:
    def __init__(
        self,
        vault: Vault,
        t: sa.Table,
        name: str,
        entries: dict[str, ProtectedColumn | None],
        out: Verification,
    ) -> None:
        self.vault, self.t, self.name, self.out = vault, t, name, out
        self.pks = list(t.primary_key.columns)
        self.entries = entries
        self.candidates = [
            c.name
            for c in t.columns
            if isinstance(c.type, sa.String | sa.LargeBinary) and c not in self.pks
        ]
        self.indexes: list[ProtectedColumn] = []
        for c in list(entries.values()):
            if c is None or c.protection is not Protection.BLIND_INDEX:
                continue
            if len(c.source) != 1 or c.transformed or c.bits is None:
                out.unread.append(
                    f"{c.where}: a compound or transformed blind index (its sources pass "
                    "through application code)"
                )
            elif c.source[0] not in t.c:
                out.unread.append(f"{c.where}: its source column {c.source[0]} does not exist")
            else:
                self.indexes.append(c)

    def run(self, conn: Connection) -> None:
        cols = [self.t.c[n] for n in self.candidates]
        if not cols:
            return
        q = sa.select(*self.pks, *cols)
        if self.pks:
            q = q.order_by(*self.pks)
        result = conn.execution_options(yield_per=_BATCH).execute(q)
        n = len(self.pks)
        for rows in result.partitions(_BATCH):
            keys = [row_key(list(r[:n])) if n else "" for r in rows]
            values = {c: [r[n + i] for r in rows] for i, c in enumerate(self.candidates)}
            plain: dict[str, list[_Plain]] = {}
            for c in self.candidates:
                entry = self.entries.get(c)
                if entry is not None and entry.protection is Protection.BLIND_INDEX:
                    continue
                plain[c] = self._column(c, keys, rows, values[c])
            for ix in self.indexes:
                self._index(ix, keys, values[ix.column], values[ix.source[0]], plain)

    # -- encrypted and token columns ------------------------------------------------------
    def _bad(self, column: str, key: str, problem: str) -> None:
        self.out.findings.append(Finding(self.name, column, key, problem))

    def _column(
        self, column: str, keys: list[str], rows: Sequence[_Row], values: list[object]
    ) -> list[_Plain]:
        """Each value's plaintext (None: NULL, bad or not protected); findings recorded."""
        entry = self.entries.get(column)
        if entry is not None and entry.protection is Protection.TOKEN:
            return self._tokens(column, entry, keys, values)
        out: list[_Plain] = [None] * len(values)
        ctx = column_context(self.name, column)
        for i, v in enumerate(values):
            s = classify(v)
            if s.form is Form.NULL:
                continue
            if not s.is_ciphertext:
                if entry is not None:
                    self.out.values += 1
                    self._bad(column, keys[i], "not a vaultkit ciphertext (plaintext or damaged)")
                continue
            self.out.values += 1
            # a ciphertext header was found: text, or binary (a driver's buffer)
            data = cast("bytes | str", bytes(v) if isinstance(v, bytearray | memoryview) else v)
            opened = self._open(data, ctx, column, entry, rows[i], keys[i])
            if opened is None:
                continue
            out[i] = opened
        return out

    def _open(
        self,
        data: bytes | str,
        ctx: dict[str, str],
        column: str,
        entry: ProtectedColumn | None,
        row: _Row,
        key: str,
    ) -> bytes | None:
        contexts: list[dict[str, str]]
        if entry is not None and entry.row_key is not None:
            names = entry.row_key or tuple(c.name for c in self.pks)
            if any(n not in self.t.c for n in names):
                self._bad(column, key, "its row-key columns do not exist")
                return None
            rk = row_key([row._mapping[self.t.c[n]] for n in names])
            contexts = [column_context(self.name, column, rk)]
        elif entry is not None or not self.pks:
            contexts = [ctx]
        else:  # not catalogued: the column context, then the primary key's row context
            contexts = [ctx, column_context(self.name, column, key)]
        for c in contexts:
            try:
                return self.vault.decrypt(data, context=c, force=True)
            except AccessDeniedError:
                raise  # the principal's grants, not the data: nothing was checked
            except VaultkitError:
                continue
        self._bad(column, key, "does not decrypt (damaged, moved, or its key version is gone)")
        return None

    def _tokens(
        self, column: str, entry: ProtectedColumn, keys: list[str], values: list[object]
    ) -> list[_Plain]:
        out: list[_Plain] = [None] * len(values)
        ctx = column_context(self.name, column)
        for i, v in enumerate(values):
            if v is None:
                continue
            self.out.values += 1
            try:
                version, token = parse_token(v)
            except InputFormatError:
                self._bad(column, keys[i], "not a stored token")
                continue
            try:
                out[i] = self.vault.detokenize(
                    entry.key_name, token, format=entry.detail, context=ctx, version=version
                )
            except AccessDeniedError:
                raise
            except VaultkitError:
                self._bad(column, keys[i], f"does not detokenize under version {version}")
        return out

    # -- blind indexes ---------------------------------------------------------------------
    def _index(
        self,
        ix: ProtectedColumn,
        keys: list[str],
        stored: list[object],
        sources: list[object],
        plain: dict[str, list[_Plain]],
    ) -> None:
        source = ix.source[0]
        opened = plain.get(source)
        ctx = column_context(self.name, source)
        assert ix.bits is not None
        for i, (st, src) in enumerate(zip(stored, sources, strict=True)):
            st = bytes(st) if isinstance(st, bytearray | memoryview) else st
            if src is None:
                if st is not None:
                    self.out.values += 1
                    self._bad(ix.column, keys[i], "an index without a source value")
                continue
            self.out.values += 1
            if st is None:
                self._bad(ix.column, keys[i], "no index for a source value")
                continue
            value: object = opened[i] if opened is not None else None
            if value is None:
                if classify(src).is_protected or (
                    self.entries.get(source) is not None
                ):  # its source is bad: reported there
                    continue
                value = bytes(src) if isinstance(src, bytearray | memoryview) else src
            if isinstance(value, bytes):
                try:
                    value = value.decode("utf-8")
                except UnicodeDecodeError:
                    pass
            try:
                found = self.vault.blind_index_candidates(
                    ix.key_name, blind_index_input((value,)), context=ctx, bits=ix.bits
                )
            except AccessDeniedError:
                raise
            except VaultkitError:
                self._bad(ix.column, keys[i], "its index key cannot be used")
                continue
            if st not in found:
                self._bad(
                    ix.column,
                    keys[i],
                    "does not match its source under any readable version (moved value, "
                    "damaged index, or an index under a retired version)",
                )
