"""The batch read path's opened values live with the result, not on the column type.

Column types are ``cache_ok`` and live as long as the model; the values a fetch decrypted are
held by that result's cursor and reach the type's result processor through a weak reference
only (``_results.LatestOpened``), so once the results are consumed and dropped no plaintext is
reachable from the type object.
"""

from __future__ import annotations

import gc
import types
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from tests.ext._support import Db, sample
from tests.ext.models import Customer

_SKIP = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.CodeType)


def _reachable(root: object, limit: int = 200_000) -> Iterator[object]:
    """Objects reachable from ``root`` by strong references (not through classes, modules or
    functions, whose globals reach everything)."""
    seen = {id(root)}
    todo = [root]
    while todo and len(seen) < limit:
        obj = todo.pop()
        yield obj
        for ref in gc.get_referents(obj):
            if id(ref) not in seen and not isinstance(ref, _SKIP):
                seen.add(id(ref))
                todo.append(ref)


def _holds(root: object, secrets: set[Any]) -> bool:
    return any(type(o) in (str, bytes) and o in secrets for o in _reachable(root))


def test_no_plaintext_reachable_from_the_type_after_results_are_dropped(db: Db) -> None:
    rows = [sample(i) for i in range(40)]
    with db.session() as s:
        s.add_all(Customer(**r) for r in rows)
        s.commit()
    names = {r["name"] for r in rows}
    mobiles = {r["mobile"] for r in rows}
    name_type = Customer.__table__.c.name.type
    mobile_type = Customer.__table__.c.mobile.type

    with db.engine.connect() as conn:
        result = conn.execute(sa.select(Customer.__table__.c.name, Customer.__table__.c.mobile))
        got = result.all()
        assert {r.name for r in got} == names  # opened (by the batch path where installed)
        del result, got
    with db.session() as s:
        loaded = s.scalars(sa.select(Customer)).all()
        assert {c.mobile for c in loaded} == mobiles
        del loaded
    gc.collect()

    assert not _holds(name_type, names)
    assert not _holds(mobile_type, mobiles)
    assert name_type.latest.current() is None


def test_batch_path_values_are_used_while_the_result_lives(db: Db) -> None:
    """The opened values are found through the type while their result is alive (the batch
    path is not silently replaced by one decryption per value); none without the batch path."""
    with db.session() as s:
        s.add_all(Customer(**sample(i)) for i in range(10))
        s.commit()
    name_type = Customer.__table__.c.name.type
    with db.engine.connect() as conn:
        result = conn.execute(sa.select(Customer.__table__.c.name))
        rows = result.fetchmany(5)
        opened = name_type.latest.current()
        if db.kind == "sqlite-per-value":
            assert opened is None
        else:
            assert opened is not None and len(opened) == 5
        assert {r.name for r in rows} <= {sample(i)["name"] for i in range(10)}
        result.close()
