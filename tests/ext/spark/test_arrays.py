"""protect_arrays' string fast path (the ``str`` codec's UTF-8 cut from the Arrow buffer, no
per-value encoding) seals exactly the codec's bytes, keeps NULLs, and refuses an Arrow string
array holding invalid UTF-8 with a typed error that quotes nothing. (No SparkSession needed.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from vaultkit.columns import codec_for, column_context
from vaultkit.errors import InputFormatError
from vaultkit.ext.spark._arrays import protect_arrays
from vaultkit.ext.spark._plan import op_of
from vaultkit.ext.sqlalchemy import Encrypted
from vaultkit.keys import KeyRing, LocalKMS
from vaultkit.vault import Vault

VALUES = ["李", None, "", "ＡＢＣ１２３ 全角", "x" * 3000, None, "Ünïcödé 测试 🙂", "plain"]


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    ring = KeyRing.create(tmp_path / "r.vk", LocalKMS(passphrase="p", scrypt_n=2**10))
    ring.create_key("t.name")
    with Vault(ring) as v:
        yield v
    ring.close()


@pytest.mark.parametrize("type_", [pa.string(), pa.large_string()])
@pytest.mark.parametrize("storage", ["binary", "text"])
def test_string_fast_path_seals_the_codecs_bytes(
    vault: Vault, type_: pa.DataType, storage: str
) -> None:
    op = op_of(Encrypted("t.name", storage=storage, bind_row=False), table="t", column="name")
    sealed = protect_arrays(vault, op, [pa.array(VALUES, type_)])
    assert sealed.type == (pa.string() if storage == "text" else pa.binary())
    got = sealed.to_pylist()
    ctx = column_context("t", "name")
    for value, stored in zip(VALUES, got, strict=True):
        if value is None:
            assert stored is None
        else:
            assert vault.decrypt(stored, context=ctx) == codec_for(str).encode(value)


def test_invalid_utf8_in_a_string_array_is_refused_without_its_bytes(vault: Vault) -> None:
    op = op_of(Encrypted("t.name", bind_row=False), table="t", column="name")
    data = b"ok" + b"SECRET\xff\xfe"
    offsets = pa.array([0, 2, 10], pa.int32()).buffers()[1]
    bad = pa.Array.from_buffers(pa.string(), 2, [None, offsets, pa.py_buffer(data)])
    with pytest.raises(InputFormatError, match="valid Unicode") as info:
        protect_arrays(vault, op, [bad])
    assert "SECRET" not in str(info.value) and info.value.__context__ is None
