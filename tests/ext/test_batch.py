"""The batch paths: one decrypt_many per fetched batch, one encrypt_many per multi-row INSERT,
and errors that name the primary key; engines without them take the per-value path."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select, text

from tests.ext._support import sample
from tests.ext.models import Base, Customer
from vaultkit.errors import DecryptionError
from vaultkit.ext.sqlalchemy import configure
from vaultkit.vault import Vault

N = 40
COUNTED = (
    "encrypt",
    "encrypt_many",
    "encrypt_text",
    "encrypt_text_many",
    "decrypt",
    "decrypt_many",
    "blind_index",
    "blind_index_many",
    "tokenize",
    "tokenize_many",
    "detokenize_many",
)


@pytest.fixture
def calls(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter: Counter = Counter()
    cls = type(vault)
    for name in COUNTED:
        original = getattr(cls, name)

        def counted(self: Any, *a: Any, _name: str = name, _f: Any = original, **k: Any) -> Any:
            counter[_name] += 1
            return _f(self, *a, **k)

        monkeypatch.setattr(cls, name, counted)
    return counter


@pytest.fixture
def engines(tmp_path, vault: Vault) -> Iterator[tuple[Any, Any]]:
    batched = create_engine(f"sqlite:///{tmp_path / 'b.sqlite'}", hide_parameters=True)
    plain = create_engine(f"sqlite:///{tmp_path / 'p.sqlite'}", hide_parameters=True)
    configure(vault, Base, engine=batched)
    for e in (batched, plain):
        Base.metadata.create_all(e)
    yield batched, plain
    for e in (batched, plain):
        e.dispose()


def _rows() -> list[dict]:
    return [{k: v for k, v in sample(i).items() if k != "note"} for i in range(N)]


def test_batched_engine_uses_batch_calls(engines: tuple, calls: Counter) -> None:
    batched, _ = engines
    with batched.begin() as conn:
        conn.execute(insert(Customer.__table__), _rows())
    assert calls["encrypt"] == calls["encrypt_text"] == calls["blind_index"] == 0
    # one call per protected column (9; encrypt_text_many calls encrypt_many for its 3)
    assert (calls["encrypt_many"], calls["encrypt_text_many"]) == (9, 3)
    assert calls["blind_index_many"] == 2  # id_no_bidx and the compound mobile_year
    assert (calls["tokenize"], calls["tokenize_many"]) == (0, 1)
    calls.clear()
    with batched.connect() as conn:
        rows = conn.execute(select(Customer.__table__).order_by(Customer.id)).all()
    assert calls["decrypt"] == 0 and calls["decrypt_many"] == 9
    assert calls["detokenize_many"] == 1
    assert [r.balance for r in rows] == [r["balance"] for r in _rows()]


def test_per_value_engine_gives_the_same_results(engines: tuple, calls: Counter) -> None:
    for e in engines:
        with e.begin() as conn:
            conn.execute(insert(Customer.__table__), _rows())
    assert (calls["encrypt_many"], calls["encrypt_text_many"]) == (9, 3)
    assert (calls["encrypt"], calls["encrypt_text"]) == (9 * N, 3 * N)
    results = []
    for e in engines:
        with e.connect() as conn:
            results.append(conn.execute(select(Customer.__table__).order_by(Customer.id)).all())
            assert (
                conn.execute(
                    select(Customer.id).where(Customer.id_no == _rows()[5]["id_no"])
                ).scalar_one()
                == 5
            )
    assert results[0] == results[1]


def test_streamed_fetchmany_and_orm(engines: tuple, calls: Counter) -> None:
    from sqlalchemy.orm import Session

    batched, _ = engines
    with Session(batched) as s:
        s.add_all(Customer(**sample(i)) for i in range(N))
        s.commit()
    calls.clear()
    with Session(batched) as s:
        seen = [c.note for c in s.scalars(select(Customer).execution_options(yield_per=16))]
    assert seen == [sample(i)["note"] for i in range(N)]
    # 9 columns, a few fetchmany batches (not one call per row: that would be 360); the
    # row-bound note is opened per row by the ORM
    assert calls["decrypt"] == N and calls["decrypt_many"] % 9 == 0
    assert 27 <= calls["decrypt_many"] <= 36


def test_batch_error_names_the_primary_key(engines: tuple) -> None:
    batched, _ = engines
    with batched.begin() as conn:
        conn.execute(insert(Customer.__table__), _rows())
        conn.execute(
            text(
                "UPDATE vk_customers SET name = (SELECT id_no FROM vk_customers "
                "WHERE id = 3) WHERE id = 17"
            )
        )
    with batched.connect() as conn, pytest.raises(DecryptionError) as e:
        conn.execute(select(Customer.__table__)).all()
    assert str(e.value) == "decryption failed (table vk_customers, column name, primary key 17)"


def test_textual_sql_takes_the_per_value_path(engines: tuple) -> None:
    batched, _ = engines
    with batched.begin() as conn:
        conn.execute(insert(Customer.__table__), _rows()[:2])
        raw = conn.execute(text("SELECT name FROM vk_customers ORDER BY id")).scalars().all()
        typed = (
            conn.execute(
                text("SELECT name FROM vk_customers ORDER BY id").columns(Customer.__table__.c.name)
            )
            .scalars()
            .all()
        )
    assert all(isinstance(r, bytes) for r in raw)
    assert typed == [r["name"] for r in _rows()[:2]]


class _Recording(Vault):
    __slots__ = ("decrypts",)

    def decrypt_many(self, *a: Any, **k: Any) -> Any:
        self.decrypts += 1
        return super().decrypt_many(*a, **k)


def test_reconfigure_reaches_cached_statements(engines: tuple, vault: Vault) -> None:
    batched, _ = engines
    stmt = select(Customer.__table__).order_by(Customer.id)
    with batched.begin() as conn:
        conn.execute(insert(Customer.__table__), _rows()[:3])
        first = conn.execute(stmt).all()  # compiled, cached, planned with the first binding
    other = _Recording(vault.keys)
    other.decrypts = 0
    configure(other, Base, engine=batched)
    with batched.connect() as conn:
        assert conn.execute(stmt).all() == first
    assert other.decrypts == 9


@pytest.mark.parametrize("bad", ["9:6222020000000000000", "1:not-a-card", "no prefix"])
def test_bad_token_names_the_primary_key(engines: tuple, bad: str) -> None:
    batched, plain = engines
    for e in engines:
        with e.begin() as conn:
            conn.execute(insert(Customer.__table__), _rows()[:8])
            conn.execute(text("UPDATE vk_customers SET card_no = :bad WHERE id = 6"), {"bad": bad})
    with batched.connect() as conn, pytest.raises(DecryptionError) as e:
        conn.execute(select(Customer.__table__)).all()
    assert str(e.value).endswith("(table vk_customers, column card_no, primary key 6)")
    with plain.connect() as conn, pytest.raises(DecryptionError) as e:
        conn.execute(select(Customer.card_no)).all()
    assert str(e.value).endswith("(table vk_customers, column card_no)")


def test_lightweight_table_insert_on_a_batched_engine(engines: tuple[Any, Any]) -> None:
    """A multi-row INSERT into a lightweight ``table()`` (no ``Table``, so no columns of ours
    and no ``.info``) runs as SQLAlchemy runs it: the batch path has nothing to do there."""
    from sqlalchemy import column, table

    batched, _ = engines
    plain_table = table("plain_notes", column("note"))
    with batched.begin() as conn:
        conn.execute(text("CREATE TABLE plain_notes (note TEXT)"))
        conn.execute(insert(plain_table), [{"note": "a"}, {"note": "b"}])
        assert conn.execute(text("SELECT count(*) FROM plain_notes")).scalar_one() == 2
