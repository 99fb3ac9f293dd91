"""Searching through the key service while an index or token key has older versions: a
RemoteVault finds exactly the rows an in-process Vault over the same ring finds.

During a rotation (the old version still active) both find every row, under either version.
Once the old version is retired, the ORM search still finds the rows under the primary version
and refuses, naming the fix, a value whose rows are under the retired one. The stored forms under
the retired version that refusal needs are the Vault's to compute
(``retired_index_candidates``, ``retired_token_candidates``): the service computes them for a
RemoteVault, which never holds key material, so both doors answer alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.ext._support import sample
from tests.ext.models import Base, Customer
from tests.service.conftest import Principals, Server, open_ring
from vaultkit.errors import AccessDeniedError, KeyStateError
from vaultkit.ext.sqlalchemy import configure
from vaultkit.remote import RemoteVault
from vaultkit.service.limits import MAX_ITEMS
from vaultkit.vault import Vault

KEYS = {"index": "customers.id_no.bidx", "token": "customers.card"}
COLUMN = {"index": "id_no", "token": "card_no"}
CTX = {"table": "t", "column": "c"}
CARD = "6222020200112233446"


def _wait_for(remote: RemoteVault, key: str, state: str, version: int) -> None:
    """Until the service (re-reading the ring within 0.25 s) and the client's metadata agree."""
    deadline = time.monotonic() + 30
    while remote.keys.key_info(key).versions[version - 1].state.value != state:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # the client's metadata cache of the other keys


def _rows_across_rotation(
    remote: RemoteVault, ring_path: Path, tmp_path: Path, key: str
) -> tuple[list[dict[str, object]], str]:
    """Two rows written under version 1 of ``key``, two under version 2 (through the
    service), version 1 still active; the SQLite URL."""
    url = f"sqlite:///{tmp_path / 'retired.sqlite'}"
    engine = create_engine(url, hide_parameters=True)
    configure(remote, Base, engine=engine)
    Base.metadata.create_all(engine)
    rows = [sample(i) for i in range(4)]
    with Session(engine) as s:
        s.add_all(Customer(**r) for r in rows[:2])
        s.commit()
    operator = open_ring(ring_path)  # as `vaultkit key rotate` in another process
    assert operator.rotate_key(key) == 2
    operator.close()
    _wait_for(remote, key, "active", 1)
    with Session(engine) as s:
        s.add_all(Customer(**r) for r in rows[2:])
        s.commit()
    engine.dispose()
    return rows, url


def _per_row(
    vault: Vault | RemoteVault,
    url: str,
    rows: list[dict[str, object]],
    query: Callable[[Session, dict[str, object]], object],
) -> list[object]:
    """``query(session, row)`` for each row through ``vault`` ("KeyStateError" where refused)."""
    engine = create_engine(url, hide_parameters=True)
    configure(vault, Base, engine=engine)
    out: list[object] = []
    try:
        with Session(engine) as s:
            for r in rows:
                try:
                    out.append(query(s, r))
                except KeyStateError:
                    out.append("KeyStateError")
    finally:
        engine.dispose()
    return out


def _found(
    vault: Vault | RemoteVault, url: str, column: str, rows: list[dict[str, object]]
) -> list[object]:
    """The ids each row's value finds."""

    def search(s: Session, r: dict[str, object]) -> object:
        return sorted(s.scalars(select(Customer.id).where(getattr(Customer, column) == r[column])))

    return _per_row(vault, url, rows, search)


@pytest.mark.parametrize("kind", ["index", "token"])
def test_search_during_rotation_finds_every_row(
    remote: RemoteVault, local: Vault, ring_path: Path, tmp_path: Path, kind: str
) -> None:
    rows, url = _rows_across_rotation(remote, ring_path, tmp_path, KEYS[kind])
    want = [[0], [1], [2], [3]]
    assert _found(remote, url, COLUMN[kind], rows) == want
    assert _found(local, url, COLUMN[kind], rows) == want


def test_vault_answers_match_after_retire(
    remote: RemoteVault, local: Vault, ring_path: Path
) -> None:
    """Candidates, and the refusal of a retired version, are the in-process Vault's."""
    token = remote.tokenize("c.card", CARD, format="card", context=CTX)
    before = remote.blind_index_candidates("c.bidx", "x", context=CTX, bits=32)
    operator = open_ring(ring_path)
    for key in ("c.card", "c.bidx"):
        operator.rotate_key(key)
        operator.retire_version(key, 1)
    operator.close()
    _wait_for(remote, "c.bidx", "retired", 1)
    for vault in (remote, local):
        assert vault.keys.readable_versions("c.bidx") == [2]
        got = vault.blind_index_candidates("c.bidx", "x", context=CTX, bits=32)
        assert got == local.blind_index_candidates("c.bidx", "x", context=CTX, bits=32)
        assert got != before  # the primary version's index only
        with pytest.raises(KeyStateError):
            vault.detokenize("c.card", token, format="card", context=CTX, version=1)
        with pytest.raises(KeyStateError):
            vault.blind_index("c.bidx", "x", context=CTX, bits=32, version=1)


def _luhn(digits: str) -> str:
    """``digits`` with its Luhn check digit appended (ISO/IEC 7812-1, annex B)."""
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return digits + str((10 - total % 10) % 10)


def test_retired_candidates_match_local(
    remote: RemoteVault, local: Vault, ring_path: Path, principals: Principals, server: Server
) -> None:
    """The stored forms under retired versions, asked of the service, are the in-process
    Vault's bytes; a retired version still cannot be written under, on either side; without
    the grant tokenize/blind_index need, the service refuses them."""
    values = [CARD, "6222020200112233453"]
    for vault in (remote, local):
        assert vault.retired_index_candidates("c.bidx", "x", context=CTX, bits=32) == []
        assert vault.retired_token_candidates("c.card", values, format="card", context=CTX) == []
    index_v1 = local.blind_index("c.bidx", "x", context=CTX, bits=32, version=1)
    tokens_v1 = local.tokenize_many("c.card", values, format="card", context=CTX, version=1)
    operator = open_ring(ring_path)
    for key in ("c.card", "c.bidx"):
        operator.rotate_key(key)
        operator.retire_version(key, 1)
    operator.close()
    _wait_for(remote, "c.card", "retired", 1)
    _wait_for(remote, "c.bidx", "retired", 1)
    for vault in (remote, local):
        got = vault.retired_index_candidates("c.bidx", "x", context=CTX, bits=32)
        assert got == [(1, index_v1)]
        tokens = vault.retired_token_candidates("c.card", values, format="card", context=CTX)
        assert tokens == [(1, t) for t in tokens_v1]
        with pytest.raises(KeyStateError):  # never a write under the retired version
            vault.tokenize("c.card", CARD, format="card", context=CTX, version=1)
        with pytest.raises(KeyStateError):
            vault.blind_index("c.bidx", "x", context=CTX, bits=32, version=1)
    # a batch the client splits (over the service's item limit) keeps the Vault's order
    many = [_luhn(f"6222020200112{i:05d}") for i in range(MAX_ITEMS + 3)]
    split = remote.retired_token_candidates("c.card", many, format="card", context=CTX)
    assert split == local.retired_token_candidates("c.card", many, format="card", context=CTX)
    # the teller may reveal masked values only: neither computation is allowed it
    with RemoteVault(server.url, token=principals.tokens["teller"]) as teller:
        with pytest.raises(AccessDeniedError):
            teller.retired_index_candidates("c.bidx", "x", context=CTX, bits=32)
        with pytest.raises(AccessDeniedError):
            teller.retired_token_candidates("c.card", values, format="card", context=CTX)


@pytest.mark.parametrize("kind", ["index", "token"])
def test_search_after_retire_matches_local(
    remote: RemoteVault, local: Vault, ring_path: Path, tmp_path: Path, kind: str
) -> None:
    rows, url = _rows_across_rotation(remote, ring_path, tmp_path, KEYS[kind])
    operator = open_ring(ring_path)
    operator.retire_version(KEYS[kind], 1)
    operator.close()
    _wait_for(remote, KEYS[kind], "retired", 1)
    # local: rows under version 2 found, values under retired version 1 refused (named fix)
    want = ["KeyStateError", "KeyStateError", [2], [3]]
    assert _found(local, url, COLUMN[kind], rows) == want
    assert _found(remote, url, COLUMN[kind], rows) == want


def _read(vault: Vault | RemoteVault, url: str, rows: list[dict[str, object]]) -> list[object]:
    """Each row's card number as read through ``vault``."""

    def read(s: Session, r: dict[str, object]) -> object:
        return s.scalars(select(Customer.card_no).where(Customer.id == r["id"])).one()

    return _per_row(vault, url, rows, read)


def test_reading_tokens_after_retire_matches_local(
    remote: RemoteVault, local: Vault, ring_path: Path, tmp_path: Path
) -> None:
    """A token under a retired version is refused alike (no detokenize force, in either)."""
    rows, url = _rows_across_rotation(remote, ring_path, tmp_path, KEYS["token"])
    operator = open_ring(ring_path)
    operator.retire_version(KEYS["token"], 1)
    operator.close()
    _wait_for(remote, KEYS["token"], "retired", 1)
    want = ["KeyStateError", "KeyStateError", rows[2]["card_no"], rows[3]["card_no"]]
    assert _read(local, url, rows) == want
    assert _read(remote, url, rows) == want
