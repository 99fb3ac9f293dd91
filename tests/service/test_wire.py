"""The key service's wire encoding has one owner, ``vaultkit.service._wire``: what the client
encodes the server's models accept and decode back to the same value, and the client imports no
server dependency through it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vaultkit.blindindex import Compound
from vaultkit.errors import (
    AccessDeniedError,
    DecryptionError,
    InputFormatError,
    KMSError,
    VaultkitTypeError,
)
from vaultkit.service import _wire
from vaultkit.service.models import BlindIndexRequest, ErrorResponse, KeysResponse, to_context


def test_context_round_trip_through_the_models() -> None:
    context = {"table": "客户", "column": "name", "row": b"\x00\xff"}
    sent = _wire.encode_context(context)
    parsed = BlindIndexRequest.model_validate(
        {"key": "k", "value": "v", "context": sent, "bits": 32}
    )
    assert to_context(parsed.context) == context


@pytest.mark.parametrize(
    "value, kind",
    [
        ("张三", None),
        (b"\x01\x02", None),
        (("1234", 1990), Compound(("mobile_last4", "birth_year"))),
    ],
)
def test_index_value_and_kind_round_trip(value: object, kind: object) -> None:
    body = {
        "key": "k",
        "value": _wire.encode_index_value(value),
        "context": {},
        "bits": 16,
        "kind": _wire.encode_kind(kind),
    }
    parsed = BlindIndexRequest.model_validate(body)
    assert _wire.decode_index_value(parsed.value) == value
    assert _wire.decode_kind(parsed.kind) == kind


def test_plaintexts_all_text_or_all_base64() -> None:
    assert _wire.encode_plaintexts(["a", "张"]) == (["a", "张"], "utf-8")
    sent, encoding = _wire.encode_plaintexts(["a", b"\xff"])
    assert encoding == "base64"
    assert [_wire.decode_plaintext(t, encoding) for t in sent] == [b"a", b"\xff"]
    with pytest.raises(InputFormatError, match="plaintext is not valid base64"):
        _wire.decode_plaintext("not base64!", "base64")


def test_key_metadata_round_trip(tmp_path: Path) -> None:
    from vaultkit.keys import KeyRing, LocalKMS

    ring = KeyRing.create(tmp_path / "r.vk", LocalKMS(passphrase="p" * 16, scrypt_n=2**10))
    try:
        ring.create_key("a", algorithm="SM4-GCM")
        ring.rotate_key("a")
        infos = ring.keys()
        wire = KeysResponse.model_validate({"keys": _wire.encode_keys(infos)}).model_dump()
        back = _wire.decode_keys(wire["keys"])
        for info in infos:
            got = back[info.name]
            assert (got.key_id, got.algorithm, got.created) == (
                info.key_id,
                info.algorithm,
                info.created,
            )
            assert [(v.version, v.state, v.created) for v in got.versions] == [
                (v.version, v.state, v.created) for v in info.versions
            ]
            assert got.primary_version == info.primary_version
    finally:
        ring.close()


def test_errors_round_trip() -> None:
    body = ErrorResponse.model_validate(
        _wire.encode_error("InputFormatError", "bad", rule="the rule", where=None)
    ).model_dump(exclude_none=True)
    exc = _wire.decode_error(400, body, "http://x")
    assert isinstance(exc, InputFormatError) and exc.rule == "the rule" and str(exc) == "bad"
    decryption = _wire.decode_error(
        422, _wire.encode_error("DecryptionError", "", where="item 3"), "u"
    )
    assert isinstance(decryption, DecryptionError) and decryption.where == "item 3"
    denied = _wire.decode_error(403, _wire.encode_error("AccessDeniedError", "no"), "u")
    assert isinstance(denied, AccessDeniedError)
    assert isinstance(
        _wire.decode_error(400, _wire.encode_error("RequestError", "x"), "u"), VaultkitTypeError
    )
    assert isinstance(_wire.decode_error(502, None, "u"), KMSError)


def test_the_client_loads_no_server_dependency() -> None:
    code = "import sys, vaultkit.remote; print(*sys.modules)"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        ).stdout.split()
    )
    assert "vaultkit.service._wire" in loaded  # the probe works
    assert not {m for m in loaded if m.split(".")[0] in ("fastapi", "pydantic", "starlette")}
