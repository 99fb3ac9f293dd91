"""``vaultkit reencrypt --from-plaintext`` encrypts a value as the ORM's ``Encrypted`` encodes it.

It encrypted ``str(value)``, which differs from the ORM's codec for datetimes (``str`` puts a
space between date and time, the ORM ``isoformat()``'s "T") and for JSON values (``str`` gives
Python's repr, which ``Encrypted(python_type=dict)`` cannot read back). Both now use
``vaultkit.columns.encode_value``; for the types where they agreed the bytes are unchanged.
The blind index keeps its own input (``vaultkit.columns.blind_index_input``), as the ORM's.
"""

from __future__ import annotations

import datetime
import decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from vaultkit import Vault
from vaultkit.columns import blind_index_input, codec_for, column_context
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.reencrypt import BlindIndexTarget, Reencryptor

UTC8 = datetime.timezone(datetime.timedelta(hours=8))
CASES: list[tuple[type, Any, bytes]] = [
    (datetime.datetime, datetime.datetime(2024, 1, 2, 3, 4, 5), b"2024-01-02T03:04:05"),
    (
        datetime.datetime,
        datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC8),
        b"2024-01-02T03:04:05.000006+08:00",
    ),
    (dict, {"b": 1, "a": ["x", 2]}, b'{"a":["x",2],"b":1}'),
    (dict, ["风险", 1], '["风险",1]'.encode()),
    # unchanged: these always agreed
    (str, "测试客户", "测试客户".encode()),
    (bytes, b"\x00\xff", b"\x00\xff"),
    (int, -42, b"-42"),
    (decimal.Decimal, decimal.Decimal("1.50"), b"1.50"),
    (datetime.date, datetime.date(2024, 1, 2), b"2024-01-02"),
]


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    ring = KeyRing.create(tmp_path / "r.vk", LocalKMS(passphrase="x", scrypt_n=2**10))
    ring.create_key("k")
    ring.create_key("k.bidx", algorithm="HMAC-SM3")
    return Vault(ring)


@pytest.mark.parametrize("python_type, value, encoded", CASES)
def test_protect_encrypts_the_orm_encoding(
    tmp_path: Path, vault: Vault, python_type: type, value: Any, encoded: bytes
) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB, v_bidx BLOB)")
    r = Reencryptor(
        engine,
        vault,
        table="t",
        columns=["v"],
        from_plaintext=True,
        key_name="k",
        blind_index={"v": BlindIndexTarget("v_bidx", "k.bidx", 16)},
    )
    (params,) = r._protect("v", [((1,), value)])
    ctx = column_context("t", "v")
    plaintext = vault.decrypt(params["vk_new"], context=ctx)
    assert plaintext == encoded
    assert codec_for(python_type).decode(plaintext) == value  # what the ORM reads back
    index_input = blind_index_input((value,))
    assert params["vk_bidx"] == vault.blind_index("k.bidx", index_input, context=ctx, bits=16)
    engine.dispose()
