"""A trail in a database table (SQLite or PostgreSQL), one transaction per batch.

Tables: ``<table>`` (``seq`` primary key, the queryable fields, and ``record``: the canonical
JSON that is hashed and sealed) and ``<table>_head`` (one row, ``id = 1``: the last seq and
digest and the sealed head value). A batch locks the head row (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), appends, updates the head and commits: writers in
many processes serialize on that row, and the chain state is never stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import sqlalchemy as sa

from vaultkit.audit._record import GENESIS
from vaultkit.audit._sink import Builder, Header

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.pool import ConnectionPoolEntry


class SqlSink:
    def __init__(self, url: str, *, table: str) -> None:
        parsed = sa.engine.make_url(url)
        self._sqlite = parsed.get_backend_name() == "sqlite"
        args: dict[str, object] = {"timeout": 30} if self._sqlite else {"connect_timeout": 5}
        self.engine = sa.create_engine(
            parsed, hide_parameters=True, connect_args=args, pool_pre_ping=True
        )
        if self._sqlite:
            # pysqlite's own transaction handling off; BEGIN IMMEDIATE takes the write lock first
            @sa.event.listens_for(self.engine, "connect")
            def _connect(dbapi: sqlite3.Connection, _rec: ConnectionPoolEntry) -> None:
                dbapi.isolation_level = None
                dbapi.execute("PRAGMA synchronous=FULL")

            @sa.event.listens_for(self.engine, "begin")
            def _begin(conn: sa.Connection) -> None:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        meta = sa.MetaData()
        self.records = sa.Table(
            table,
            meta,
            sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("time", sa.String(32), nullable=False, index=True),
            sa.Column("principal", sa.String(200)),
            sa.Column("operation", sa.String(40), nullable=False),
            sa.Column("key_name", sa.String(200)),
            sa.Column("outcome", sa.String(10), nullable=False),
            sa.Column("count", sa.BigInteger, nullable=False),
            sa.Column("record", sa.Text, nullable=False),
        )
        self.heads = sa.Table(
            f"{table}_head",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("seq", sa.BigInteger, nullable=False),
            sa.Column("digest", sa.String(64), nullable=False),
            sa.Column("time", sa.String(32)),
            sa.Column("value", sa.Text),
        )
        self._meta = meta
        self._ready = False

    def _setup(self) -> None:
        if self._ready:
            return
        for attempt in (1, 2):  # another process may create the same tables at the same time
            try:
                self._meta.create_all(self.engine, checkfirst=True)
                with self.engine.begin() as conn:
                    if conn.execute(sa.select(self.heads.c.id)).first() is None:
                        conn.execute(
                            self.heads.insert().values(
                                id=1, seq=0, digest=GENESIS, time=None, value=None
                            )
                        )
                break
            except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
                if attempt == 2:
                    raise
        self._ready = True

    def append(self, build: Builder, header: Header) -> None:
        self._setup()
        h = self.heads
        with self.engine.begin() as conn:
            query = sa.select(h.c.seq, h.c.digest, h.c.time).where(h.c.id == 1)
            if not self._sqlite:
                query = query.with_for_update()
            row = conn.execute(query).one()
            records = build(int(row.seq), str(row.digest), row.time)
            if not records:
                return
            conn.execute(
                self.records.insert(),
                [
                    {
                        "seq": r.seq,
                        "time": r.time,
                        "principal": r.principal,
                        "operation": r.operation,
                        "key_name": r.key,
                        "outcome": r.outcome,
                        "count": r.count,
                        "record": r.to_json(),
                    }
                    for r in records
                ],
            )
            last = records[-1]
            conn.execute(
                h.update()
                .where(h.c.id == 1)
                .values(seq=last.seq, digest=last.digest, time=last.time, value=header(last))
            )

    def lines(self) -> Iterator[str]:
        insp = sa.inspect(self.engine)
        if not insp.has_table(self.records.name):
            return
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=5000).execute(
                sa.select(self.records.c.record).order_by(self.records.c.seq)
            )
            for (text,) in result:
                yield str(text)

    def head(self) -> str | None:
        if not sa.inspect(self.engine).has_table(self.heads.name):
            return None
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(self.heads.c.value).where(self.heads.c.id == 1)).scalar()
        return None if value is None else str(value)

    def close(self) -> None:
        self.engine.dispose()
