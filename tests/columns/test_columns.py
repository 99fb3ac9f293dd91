"""``vaultkit.columns``: the stored-column format every door shares, pinned byte for byte.

The values here are what existing rows were written under (contexts, token prefixes, blind-index
inputs); a change to any of them is a format change (docs/architecture.md).
"""

from __future__ import annotations

import datetime
import decimal

import pytest

import vaultkit.columns
from vaultkit.columns import (
    Form,
    blind_index_input,
    classify_token,
    column_context,
    encode_value,
    format_token,
    parse_token,
    row_key,
    split_table_name,
    table_name,
    token_version,
)
from vaultkit.errors import InputFormatError


def test_all_is_frozen() -> None:
    assert sorted(vaultkit.columns.__all__) == [
        "Classifier",
        "Codec",
        "Form",
        "Stored",
        "blind_index_input",
        "classify",
        "classify_token",
        "codec_for",
        "column_context",
        "encode_value",
        "format_token",
        "parse_token",
        "row_key",
        "split_table_name",
        "table_name",
        "token_version",
    ]


def test_does_not_import_sqlalchemy() -> None:
    import subprocess
    import sys

    code = "import sys, vaultkit.columns; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_context_and_row_key() -> None:
    assert column_context("customers", "id_no") == {"table": "customers", "column": "id_no"}
    assert column_context("t", "c", 42) == {"table": "t", "column": "c", "row": "42"}
    assert row_key([42]) == "42"
    assert row_key(["6222", 7]) == '["6222", "7"]'
    assert row_key(["客户", 1]) == '["客户", "1"]'


def test_table_name_is_bare_in_the_default_schema() -> None:
    # what existing data was written under; schema-qualified elsewhere (the ORM's Table.fullname)
    assert table_name("kyc") == "kyc" and table_name("kyc", None) == "kyc"
    assert table_name("kyc", "core") == "core.kyc"
    assert split_table_name("core.kyc") == ("core", "kyc")
    assert split_table_name("kyc") == (None, "kyc")
    assert split_table_name(table_name("kyc", "core")) == ("core", "kyc")


@pytest.mark.parametrize(
    "stored, parsed",
    [("1:6222027315482960128", (1, "6222027315482960128")), ("12:a:b", (12, "a:b"))],
)
def test_token_form(stored: str, parsed: tuple[int, str]) -> None:
    assert format_token(*parsed) == stored
    assert parse_token(stored) == parsed
    assert token_version(stored) == parsed[0]
    assert classify_token(stored).form is Form.TOKEN
    assert classify_token(stored).version == parsed[0]


@pytest.mark.parametrize("bad", ["", "6222027315482960128", ":x", "1:", "x:1", "²:1", b"1:x", 7])
def test_not_a_stored_token(bad: object) -> None:
    assert token_version(bad) is None
    with pytest.raises(InputFormatError) as e:
        parse_token(bad)
    assert str(bad) not in str(e.value) or bad == ""
    assert classify_token(bad).form is Form.PLAINTEXT
    assert classify_token(None).form is Form.NULL


def test_blind_index_input() -> None:
    assert blind_index_input(("110105194912310021",)) == "110105194912310021"  # str as is
    assert blind_index_input((b"\x00\x01",)) == b"\x00\x01"
    assert blind_index_input((1949,)) == b"1949"
    assert blind_index_input((datetime.date(1949, 12, 31),)) == b"1949-12-31"
    # several sources: 4-byte big-endian length + UTF-8, concatenated
    assert blind_index_input(("0021", 1949)) == b"\x00\x00\x00\x040021\x00\x00\x00\x041949"
    assert blind_index_input(("6222027315482960128",), (lambda v: v[-4:],)) == "0128"
    assert blind_index_input(("a", "b"), (None, str.upper)) == b"\x00\x00\x00\x01a\x00\x00\x00\x01B"


def test_encode_value_is_the_orm_codec_of_the_value_type() -> None:
    assert encode_value("客户") == "客户".encode()
    assert encode_value(bytearray(b"ab")) == b"ab"
    assert encode_value(decimal.Decimal("1.50")) == b"1.50"
    assert encode_value(datetime.datetime(2024, 1, 2, 3, 4)) == b"2024-01-02T03:04:00"
    assert encode_value({"b": [1], "a": "风"}) == '{"a":"风","b":[1]}'.encode()
    assert encode_value(True) == b"True"  # no codec: the text of the value
    assert encode_value(1.5) == b"1.5"
