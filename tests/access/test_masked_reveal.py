"""reveal_masked: a principal with only that operation sees masked values and nothing that
returns a plaintext; no plaintext is returned or reachable (return value, exception chain,
traceback frames, audit record)."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from tests.access.conftest import kms
from tests.access.test_vault_access import _frames_hold
from vaultkit import Vault
from vaultkit.audit import Trail
from vaultkit.errors import AccessDeniedError, AuditError, InputFormatError, UnknownKindError
from vaultkit.keys import KeyRing
from vaultkit.masking import mask

CTX = {"table": "customers", "column": "id_no", "row": "7"}
VALUES = {
    "cn_id": "11010519491231002X",
    "mobile": "13812345678",
    "name": "欧阳娜娜",
    "card_no": "6222021234567890128",
}


@pytest.fixture
def made(ring_path: Path) -> dict[str, Any]:
    with KeyRing.open(ring_path, kms()) as ring, Vault(ring) as v:
        return {
            "cts": {k: v.encrypt("customers.id_no", val, context=CTX) for k, val in VALUES.items()},
            "token": v.tokenize(
                "customers.card_token", VALUES["card_no"], format="card_no", context=CTX
            ),
            "not_utf8": v.encrypt("customers.id_no", b"\xff\xfe" + b"1234", context=CTX),
        }


@pytest.fixture
def teller(ring_path: Path, made: dict[str, Any]) -> Any:
    ring = KeyRing.open(ring_path, kms())
    ring.grant("teller", keys="customers.*", operations={"reveal_masked"})
    v = Vault(ring, principal="teller")
    yield v
    v.close()
    ring.close()


def test_masked_values_follow_each_kinds_rule(teller: Vault, made: dict[str, Any]) -> None:
    for kind, value in VALUES.items():
        shown = teller.decrypt_masked(made["cts"][kind], context=CTX, kind=kind)
        assert shown == mask(kind, value) and shown != value
    assert teller.decrypt_masked_many(
        [made["cts"]["cn_id"], made["cts"]["mobile"]], context=CTX, kind="cn_id"
    ) == [mask("cn_id", VALUES["cn_id"]), mask("cn_id", VALUES["mobile"])]
    token = made["token"]
    card = VALUES["card_no"]
    shown = teller.detokenize_masked("customers.card_token", token, format="card_no", context=CTX)
    assert shown == mask("card_no", card) == "622202*********0128"
    assert (
        teller.detokenize_masked_many(
            "customers.card_token", [token, token], format="card_no", context=CTX, kind="card"
        )
        == [mask("card_no", card)] * 2
    )


def test_reveal_masked_reaches_nothing_that_returns_plaintext(
    teller: Vault, made: dict[str, Any]
) -> None:
    ct, token = made["cts"]["cn_id"], made["token"]
    plaintext_calls = [
        lambda: teller.decrypt(ct, context=CTX),
        lambda: teller.decrypt_text(ct, context=CTX),
        lambda: teller.decrypt_many([ct], context=CTX),
        lambda: teller.decrypt_text_many([ct], context=CTX),
        lambda: teller.detokenize("customers.card_token", token, format="card_no", context=CTX),
        lambda: teller.detokenize_many(
            "customers.card_token", [token], format="card_no", context=CTX
        ),
        # searching by blind index confirms guesses: not part of reveal_masked either
        lambda: teller.blind_index("customers.name_bidx", "x", context=CTX, bits=16),
    ]
    for call in plaintext_calls:
        with pytest.raises(AccessDeniedError) as info:
            call()
        assert not _frames_hold(info.value, VALUES["cn_id"])
        assert not _frames_hold(info.value, VALUES["card_no"])


def test_a_kind_that_is_not_one_is_refused_before_decrypting(
    teller: Vault, made: dict[str, Any]
) -> None:
    events: list[Any] = []
    v = Vault(teller.keys, principal="teller", audit=events.append)
    with pytest.raises(UnknownKindError):
        v.decrypt_masked(made["cts"]["cn_id"], context=CTX, kind="plaintext")
    assert events == []
    with pytest.raises(TypeError):  # a custom format says nothing about how to mask
        v.detokenize_masked("customers.card_token", made["token"], format=object(), context=CTX)


def test_an_unmaskable_plaintext_raises_without_it(teller: Vault, made: dict[str, Any]) -> None:
    for call in (
        lambda: teller.decrypt_masked(made["not_utf8"], context=CTX, kind="cn_id"),
        lambda: teller.decrypt_masked_many([made["not_utf8"]], context=CTX, kind="cn_id"),
    ):
        with pytest.raises(InputFormatError) as info:
            call()
        err = info.value
        assert err.__context__ is None and err.__cause__ is None
        assert "1234" not in str(err) and err.masked_value is None
        assert not _frames_hold(err, "1234")


def test_a_failing_audit_record_leaves_no_plaintext_behind(
    ring_path: Path, made: dict[str, Any]
) -> None:
    def hook(event: Any) -> None:
        if event.operation.endswith("_masked"):
            raise AuditError("the audit record could not be written")  # fail closed

    with KeyRing.open(ring_path, kms()) as ring:
        ring.grant("teller", keys="customers.*", operations={"reveal_masked"})
        with Vault(ring, principal="teller", audit=hook) as v:
            for call in (
                lambda: v.decrypt_masked(made["cts"]["cn_id"], context=CTX, kind="cn_id"),
                lambda: v.decrypt_masked_many([made["cts"]["cn_id"]], context=CTX, kind="cn_id"),
                lambda: v.detokenize_masked(
                    "customers.card_token", made["token"], format="card_no", context=CTX
                ),
                lambda: v.detokenize_masked_many(
                    "customers.card_token", [made["token"]], format="card_no", context=CTX
                ),
            ):
                with pytest.raises(AuditError) as info:
                    call()
                assert not _frames_hold(info.value, VALUES["cn_id"])
                assert not _frames_hold(info.value, VALUES["card_no"])
                assert info.value.__context__ is None


def test_no_plaintext_in_the_audit_trail_or_the_results(
    ring_path: Path, made: dict[str, Any], tmp_path: Path
) -> None:
    with KeyRing.open(ring_path, kms()) as ring:
        ring.grant("teller", keys="customers.*", operations={"reveal_masked"})
        path = tmp_path / "audit.jsonl"
        with Trail.open(path, ring) as trail, Vault(ring, principal="teller", audit=trail) as v:
            results = [
                v.decrypt_masked(made["cts"]["cn_id"], context=CTX, kind="cn_id"),
                *v.decrypt_masked_many([made["cts"]["mobile"]], context=CTX, kind="mobile"),
                v.detokenize_masked(
                    "customers.card_token", made["token"], format="card_no", context=CTX
                ),
            ]
        text = path.read_text()
    gc.collect()
    for value in VALUES.values():
        assert value not in text and value not in repr(results)
    assert '"operation":"decrypt_masked"' in text and '"operation":"detokenize_masked"' in text
