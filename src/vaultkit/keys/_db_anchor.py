"""A rollback anchor in the application database: the ``vaultkit_keyring_anchor`` table.

For key rings used with ``reencrypt`` or the ORM, whose data already lives in a database: a
copy of yesterday's key store put back on disk does not roll the database back with it.

Table (SQLAlchemy Core, created on first use if missing)::

    vaultkit_keyring_anchor(
        ring_id     VARCHAR(32) PRIMARY KEY,  -- hex ring id
        generation  BIGINT NOT NULL,          -- highest store generation written
        updated     TIMESTAMP WITH TIME ZONE NOT NULL
    )

:meth:`DatabaseAnchor.advance` is a compare-and-set: ``UPDATE ... SET generation = :g WHERE
ring_id = :r AND generation < :g``, or an ``INSERT`` for a ring not yet recorded (a concurrent
insert of the same ring loses on the primary key and retries the update). The counter only ever
grows, whatever the order in which concurrent writers commit, on PostgreSQL and SQLite alike.
Anyone who can write the table can lower the counter: the anchor is as trustworthy as the
database's access control (give the key ring's writers their own role for it).
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import TYPE_CHECKING

from vaultkit._nopickle import NoPickle
from vaultkit.errors import KMSError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["TABLE_NAME", "DatabaseAnchor"]

TABLE_NAME = "vaultkit_keyring_anchor"
_RETRIES = 20


class DatabaseAnchor(NoPickle):
    """A rollback anchor (:class:`~vaultkit.keys.Anchor`) in the ``vaultkit_keyring_anchor``
    table of ``engine``'s database (created if missing). ``close()`` leaves the engine open:
    it belongs to the caller."""

    __slots__ = ("_engine", "_table")

    def __init__(self, engine: Engine) -> None:
        import sqlalchemy as sa

        self._engine = engine
        # typed by inference: an annotation would spell SQLAlchemy 2.1's Table[...] default,
        # which holds Any
        self._table = sa.Table(
            TABLE_NAME,
            sa.MetaData(),
            sa.Column("ring_id", sa.String(32), primary_key=True),
            sa.Column("generation", sa.BigInteger, nullable=False),
            sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        )
        try:
            self._table.create(engine, checkfirst=True)
        except sa.exc.SQLAlchemyError as exc:
            # a concurrent creator may have won the race: the table is there either way
            if not sa.inspect(engine).has_table(TABLE_NAME):
                raise KMSError(
                    f"cannot create the rollback anchor table: {type(exc).__name__}"
                ) from None

    def read(self, ring_id: str) -> int | None:
        import sqlalchemy as sa

        t = self._table
        try:
            with self._engine.connect() as conn:
                value = conn.execute(
                    sa.select(t.c.generation).where(t.c.ring_id == ring_id)
                ).scalar_one_or_none()
        except sa.exc.SQLAlchemyError as exc:
            raise KMSError(f"cannot read the rollback anchor: {type(exc).__name__}") from None
        return None if value is None else int(value)

    def advance(self, ring_id: str, generation: int) -> None:
        import sqlalchemy as sa

        t = self._table
        for _ in range(_RETRIES):
            now = _dt.datetime.now(_dt.timezone.utc)
            try:
                with self._engine.begin() as conn:
                    # compare-and-set: never lowers the counter, whoever commits last
                    done = conn.execute(
                        sa.update(t)
                        .where(t.c.ring_id == ring_id, t.c.generation < generation)
                        .values(generation=generation, updated=now)
                    ).rowcount
                    if done:
                        return
                    exists = conn.execute(
                        sa.select(t.c.generation).where(t.c.ring_id == ring_id)
                    ).scalar_one_or_none()
                    if exists is not None:
                        return  # already at or past ``generation``
                    conn.execute(
                        sa.insert(t).values(ring_id=ring_id, generation=generation, updated=now)
                    )
                    return
            except sa.exc.IntegrityError:
                continue  # another writer inserted the row first: compare-and-set again
            except sa.exc.OperationalError:
                # SQLite "database is locked" past its busy timeout, a PostgreSQL serialization
                # failure: nothing was written, try again
                time.sleep(0.05)
                continue
            except sa.exc.SQLAlchemyError as exc:
                raise KMSError(
                    f"cannot advance the rollback anchor: {type(exc).__name__}"
                ) from None
        raise KMSError("cannot advance the rollback anchor: concurrent writers kept conflicting")

    def close(self) -> None:
        """Nothing of its own: the engine belongs to the caller."""

    def __repr__(self) -> str:
        return f"DatabaseAnchor(url={self._engine.url.render_as_string(hide_password=True)!r})"
