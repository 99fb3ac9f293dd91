"""Field ciphertext format v1: header layout, inspect, text form, context encoding."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaultkit.envelope import (
    Header,
    _context,
    _textcodec,
    encode_context,
    inspect,
    peek,
    peek_prefix,
)
from vaultkit.envelope import _format as f
from vaultkit.errors import DecryptionError, InputFormatError, VaultkitTypeError
from vaultkit.keys import Algorithm

contexts = st.dictionaries(st.text(max_size=6), st.text(max_size=6) | st.binary(max_size=6))


def _norm(ctx: dict) -> dict:
    return {k: v.encode() if isinstance(v, str) else v for k, v in ctx.items()}


@given(contexts, contexts)
def test_context_encoding_is_injective(a: dict, b: dict) -> None:
    assert (encode_context(a) == encode_context(b)) == (_norm(a) == _norm(b))


def test_context_encoding_layout() -> None:
    enc = encode_context({"table": "t", "column": b"c"})
    assert enc == (
        struct.pack(">I", 2)
        + struct.pack(">I", 6)
        + b"column"
        + struct.pack(">I", 1)
        + b"c"
        + struct.pack(">I", 5)
        + b"table"
        + struct.pack(">I", 1)
        + b"t"
    )
    assert encode_context({}) == b"\x00\x00\x00\x00"


def test_context_rejects_other_types() -> None:
    with pytest.raises(VaultkitTypeError):
        encode_context({"row": 42})  # type: ignore[dict-item]
    with pytest.raises(VaultkitTypeError):
        encode_context([("a", "b")])  # type: ignore[arg-type]


def _ciphertext(alg: Algorithm = Algorithm.SM4_GCM, key_id: int = 7, version: int = 3) -> bytes:
    return (
        f.fixed_header(alg, key_id, version)
        + b"S" * 16
        + b"C" * 32
        + b"N" * 12
        + b"x" * 5
        + b"T" * 16
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: encode_context({"row": "42\ud800secret"}),
        lambda: encode_context({"k\ud800secret": "v"}),
        lambda: _context.encode_contexts([{"t": "x", "row": f"{i}\ud800secret"} for i in range(9)]),
        lambda: _context.encode_contexts([{"t": "x", "row": "\ud800secret"} for _ in range(9)]),
        lambda: _context.encode_contexts([{"t\ud800secret": "x", "row": str(i)} for i in range(9)]),
    ],
)
def test_context_with_a_lone_surrogate_is_refused_without_the_value(make) -> None:
    # UnicodeEncodeError would carry the whole string in .object (and in __context__)
    with pytest.raises(InputFormatError) as exc:
        make()
    assert "secret" not in str(exc.value)
    assert exc.value.__context__ is None and exc.value.__cause__ is None


def test_header_layout_and_inspect() -> None:
    ct = _ciphertext()
    assert ct[:10] == bytes([1, 1, 0, 0, 0, 7, 0, 0, 0, 3])
    assert f.HEADER_LEN == 58 and f.MIN_LEN == 86
    h = inspect(ct)
    assert h == Header(1, Algorithm.SM4_GCM, 7, 3, b"S" * 16)
    assert inspect(f.to_text(ct)) == h


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x01" * 85,
        b"\x02" + _ciphertext()[1:],
        b"\x01\x10" + _ciphertext()[2:],
        b"\x01\x7f" + _ciphertext()[2:],
    ],
)
def test_inspect_refuses_non_ciphertexts(bad: bytes) -> None:
    with pytest.raises(DecryptionError):
        inspect(bad)


@given(st.binary(min_size=0, max_size=200))
def test_text_form_round_trip(data: bytes) -> None:
    text = f.to_text(data)
    assert text.startswith("vk1.") and text.isascii() and "=" not in text
    assert f.from_text(text) == data


@pytest.mark.parametrize("bad", ["", "vk2.AAAA", "vk1.A", "vk1.AA==", "vk1.AB", "vk1.A+/A", "AQID"])
def test_text_form_refuses_malformed(bad: str) -> None:
    with pytest.raises(DecryptionError):
        f.from_text(bad)


batches = st.lists(
    st.fixed_dictionaries(
        {"table": st.sampled_from(["t"]), "row": st.text(max_size=3) | st.binary(max_size=3)},
        optional={"column": st.sampled_from(["c", "d"]) | st.just(b"c")},
    ),
    max_size=30,
)


@given(batches)
def test_batch_context_encoding_equals_single(contexts: list[dict]) -> None:
    from vaultkit.envelope._context import encode_contexts

    assert encode_contexts(contexts) == [encode_context(c) for c in contexts]


def test_batch_context_encoding_checks_values() -> None:
    from vaultkit.envelope._context import encode_contexts

    good = [{"t": "x", "row": str(i)} for i in range(10)]
    with pytest.raises(VaultkitTypeError):
        encode_contexts([*good, {"t": "x", "row": 5}])
    with pytest.raises(VaultkitTypeError):
        encode_contexts([{"t": 1, "row": str(i)} for i in range(10)])
    assert encode_contexts([{"a": "b"}] * 9) == [encode_context({"a": "b"})] * 9
    with pytest.raises(VaultkitTypeError):
        encode_contexts([{1: "x", 2: str(i)} for i in range(10)])  # type: ignore[misc]
    mixed = [{"t": "x", "row": v} for v in ("é", b"\xff", bytearray(b"a"), memoryview(b"b"))] * 3
    assert encode_contexts(mixed) == [encode_context(c) for c in mixed]
    two = [{"t": str(i % 3), "row": str(i), "k": b"%d" % (i % 2)} for i in range(20)]
    assert encode_contexts(two) == [encode_context(c) for c in two]


def test_peek_reads_key_and_version_of_either_form() -> None:
    ct = _ciphertext(Algorithm.AES_256_GCM, key_id=9, version=4)
    for value in (ct, bytearray(ct), memoryview(ct), f.to_text(ct)):
        assert peek(value) == (9, 4)
        assert peek_prefix(value) is not None
    assert peek_prefix(ct) == peek_prefix(ct[:-1] + b"y")  # a cache key: the header only
    assert peek_prefix(f.to_text(ct)) != peek_prefix(ct)


def test_peek_tolerates_what_is_not_a_ciphertext() -> None:
    ct = _ciphertext()
    bad_version = b"\x02" + ct[1:]
    bad_alg = ct[:1] + b"\x09" + ct[2:]
    junk = "vk1." + "!" * 120  # long enough, but no base64 to decode
    for value in [None, 42, "", "plain text", "vk1.", ct[:-30], bad_version, bad_alg, junk]:
        assert peek(value) is None
    for value in [None, 42, "", "vk1.", ct[: f.MIN_LEN - 1], f.to_text(ct)[:20]]:
        assert peek_prefix(value) is None


@given(st.one_of(st.none(), st.integers(), st.text(max_size=120), st.binary(max_size=120)))
def test_peek_agrees_with_inspect_and_never_raises(value: object) -> None:
    ref = peek(value)
    try:
        h = inspect(value)  # type: ignore[arg-type]
    except (DecryptionError, VaultkitTypeError):
        return
    assert ref == (h.key_id, h.version)  # whatever inspect accepts, peek reads the same


# -- batch text form: decoded and encoded in bulk, exactly as strict as one by one -------------
_TEXT_CHARS = st.sampled_from(list("AQgw-_+/.=* \n\u00e9") + [chr(c) for c in range(0x21, 0x7F, 7)])


@given(st.integers(min_value=8, max_value=40), st.integers(min_value=0, max_value=130))
def test_text_many_equals_one_by_one(n: int, size: int) -> None:
    datas = [bytes([i % 256]) * size for i in range(n)]
    datas = [d[:-1] + bytes([255 - i % 256]) if d else d for i, d in enumerate(datas)]
    texts = _textcodec.to_text_many(datas)
    assert texts == [f.to_text(d) for d in datas]
    assert _textcodec.from_text_many(texts) == datas


def test_text_many_across_runs() -> None:
    import os

    datas = [os.urandom(118) for _ in range(2 * 1024 + 5)]
    texts = _textcodec.to_text_many(datas)
    assert texts == [f.to_text(d) for d in datas]
    assert _textcodec.from_text_many(texts) == datas
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    bad = texts[:]
    last = alphabet.index(bad[1500][-1])  # 118 bytes: its 2 high bits are data, 4 low unused
    bad[1500] = bad[1500][:-1] + alphabet[(last & 0x30) | 1]
    with pytest.raises(DecryptionError):
        f.from_text(bad[1500])
    with pytest.raises(DecryptionError) as exc:
        _textcodec.from_text_many(bad)
    assert exc.value.where == "item 1500"


@given(
    st.integers(min_value=86, max_value=100),
    st.integers(min_value=0, max_value=11),
    st.integers(min_value=0, max_value=200),
    _TEXT_CHARS,
)
def test_text_many_refuses_what_one_by_one_refuses(
    size: int, item: int, position: int, char: str
) -> None:
    """Any one character of one text replaced: the batch decodes it exactly as ``from_text``
    does, or names that item in its ``DecryptionError``."""
    datas = [bytes([i]) * size for i in range(12)]
    texts = [f.to_text(d) for d in datas]
    t = texts[item]
    position %= len(t)
    texts[item] = t[:position] + char + t[position + 1 :]
    try:
        single = f.from_text(texts[item])
    except DecryptionError:
        with pytest.raises(DecryptionError) as exc:
            _textcodec.from_text_many(texts)
        assert exc.value.where == f"item {item}"
    else:
        assert _textcodec.from_text_many(texts) == [*datas[:item], single, *datas[item + 1 :]]


def test_binary_many_names_the_bad_item() -> None:
    good = f.to_text(b"\x01" * 90)
    with pytest.raises(DecryptionError, match="item 2"):
        _textcodec.to_binary_many([b"\x01" * 90, good, "vk1.A"])
    with pytest.raises(VaultkitTypeError):
        _textcodec.to_binary_many([b"x", 5])  # type: ignore[list-item]
    data = [b"\x01" * 90, bytearray(b"\x02" * 90), good]
    assert _textcodec.to_binary_many(data) == [b"\x01" * 90, b"\x02" * 90, b"\x01" * 90]
