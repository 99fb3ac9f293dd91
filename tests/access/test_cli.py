"""The access-control commands and the doors running under a principal, through the real
console script (`python -m vaultkit`) as a subprocess."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from tests.cli._run import PASSPHRASE, env_for, fails, ok, vk
from vaultkit.audit import read
from vaultkit.keys import KeyRing, LocalKMS

CTX = ("--table", "customers", "--column", "card_no")
CARDS = ["6222021234567890128", "6228480402564890018"]


@pytest.fixture
def ring_path(tmp_path: Path) -> Path:
    path = tmp_path / "ring.json"
    with KeyRing.create(path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**10)) as ring:
        ring.create_key("customers.card", "FF1-SM4")
        ring.create_key("customers.id_no")
    return path


def _grants(env: dict[str, str]) -> dict:
    return json.loads(ok(vk("grants", "--json", env=env)))


def test_grant_grants_revoke(ring_path: Path) -> None:
    env = env_for(ring_path)
    assert _grants(env) == {"access_controlled": False, "grants": []}
    assert "no grants" in ok(vk("grants", env=env))
    made = json.loads(
        ok(
            vk(
                "grant",
                "teller-app",
                "--keys",
                "customers.*",
                "--ops",
                "reveal_masked, detokenize",
                "--max-per-minute",
                "60",
                "--expires",
                "2099-01-31",
                "--json",
                env=env,
            )
        )
    )
    assert made == {
        "principal": "teller-app",
        "keys": "customers.*",
        "operations": ["detokenize", "reveal_masked"],
        "max_per_minute": 60,
        "expires": "2099-01-31T00:00:00+00:00",
    }
    ok(
        vk(
            "grant",
            "batch",
            "--keys",
            "*",
            "--ops",
            "encrypt",
            "--expires",
            "2099-01-31T18:00:00+08:00",
            env=env,
        )
    )
    listed = _grants(env)
    assert listed["access_controlled"] is True
    assert [g["principal"] for g in listed["grants"]] == ["teller-app", "batch"]
    assert listed["grants"][1]["expires"] == "2099-01-31T10:00:00+00:00"
    table = ok(vk("grants", env=env))
    assert "teller-app" in table and "customers.*" in table
    out = json.loads(ok(vk("revoke", "teller-app", "--ops", "detokenize", "--json", env=env)))
    assert out == {"principal": "teller-app", "grants_changed": 1, "tokens": 0}
    assert _grants(env)["grants"][0]["operations"] == ["reveal_masked"]
    ok(vk("revoke", "batch", env=env))
    assert [g["principal"] for g in _grants(env)["grants"]] == ["teller-app"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--keys", "*", "--ops", "steal"), "unknown operation"),
        (("--keys", "*", "--ops", ","), "--ops lists operations"),
        (("--keys", "*", "--ops", "decrypt", "--expires", "soon"), "--expires"),
        (("--keys", "*", "--ops", "decrypt", "--max-per-minute", "0"), "max-per-minute"),
    ],
)
def test_bad_grants_are_usage_errors(ring_path: Path, args: tuple[str, ...], message: str) -> None:
    env = env_for(ring_path)
    fails(vk("grant", "app", *args, env=env), message)
    assert _grants(env)["access_controlled"] is False


def test_doors_run_under_the_principal(ring_path: Path) -> None:
    env = env_for(ring_path)
    ok(vk("grant", "tokenizer", "--keys", "customers.*", "--ops", "tokenize", env=env))
    ok(vk("grant", "teller-app", "--keys", "customers.*", "--ops", "reveal_masked", env=env))
    stdin = "\n".join(CARDS) + "\n"
    # a ring with grants refuses a caller without a principal
    fails(
        vk("tokenize", "--key", "customers.card", "--format", "card", *CTX, env=env, stdin=stdin),
        "principal",
    )
    tokens = ok(
        vk(
            "tokenize",
            "--key",
            "customers.card",
            "--format",
            "card",
            *CTX,
            "--principal",
            "tokenizer",
            env=env,
            stdin=stdin,
        )
    ).splitlines()
    assert len(tokens) == 2
    # VAULTKIT_PRINCIPAL: a principal with only reveal_masked cannot detokenize
    teller = {**env, "VAULTKIT_PRINCIPAL": "teller-app"}
    proc = vk(
        "detokenize",
        "--key",
        "customers.card",
        "--format",
        "card",
        *CTX,
        env=teller,
        stdin="\n".join(tokens) + "\n",
    )
    fails(proc, "access denied: principal 'teller-app' may not detokenize on key 'customers.card'")
    assert not any(c in proc.stdout + proc.stderr for c in CARDS)
    # nor tokenize (no grant), while the tokenizer cannot detokenize what it made
    fails(
        vk(
            "tokenize", "--key", "customers.card", "--format", "card", *CTX, env=teller, stdin=stdin
        ),
        "may not tokenize",
    )
    fails(
        vk(
            "detokenize",
            "--key",
            "customers.card",
            "--format",
            "card",
            *CTX,
            "--principal",
            "tokenizer",
            env=env,
            stdin="\n".join(tokens) + "\n",
        ),
        "may not detokenize",
    )


def test_a_teller_detokenizes_masked_only(ring_path: Path) -> None:
    env = env_for(ring_path)
    tokens = ok(
        vk(
            "tokenize",
            "--key",
            "customers.card",
            "--format",
            "card",
            *CTX,
            env=env,
            stdin="\n".join(CARDS) + "\n",
        )
    ).splitlines()
    ok(vk("grant", "teller-app", "--keys", "customers.*", "--ops", "reveal_masked", env=env))
    teller = {**env, "VAULTKIT_PRINCIPAL": "teller-app"}
    shown = ok(
        vk(
            "detokenize",
            "--key",
            "customers.card",
            "--format",
            "card",
            *CTX,
            "--masked",
            "card",
            env=teller,
            stdin="\n".join(tokens) + "\n",
        )
    ).splitlines()
    assert shown == ["622202*********0128", "622848*********0018"]
    fails(
        vk(
            "detokenize",
            "--key",
            "customers.card",
            "--format",
            "card",
            *CTX,
            "--masked",
            "nope",
            env=teller,
            stdin=tokens[0] + "\n",
        ),
        "unknown mask kind",
    )


def test_denied_door_calls_are_recorded(ring_path: Path, tmp_path: Path) -> None:
    trail = tmp_path / "audit.jsonl"
    env = {**env_for(ring_path), "VAULTKIT_AUDIT": str(trail)}
    ok(
        vk(
            "grant",
            "teller-app",
            "--keys",
            "customers.*",
            "--ops",
            "reveal_masked",
            "--principal",
            "ops",
            env=env,
        )
    )
    fails(
        vk(
            "detokenize",
            "--key",
            "customers.card",
            "--format",
            "card",
            *CTX,
            "--principal",
            "teller-app",
            env=env,
            stdin="62220212345678901\n",
        ),
        "access denied",
    )
    records = list(read(trail))
    assert [(r.operation, r.principal, r.outcome) for r in records] == [
        ("grant", "ops", "ok"),
        ("detokenize", "teller-app", "denied"),
    ]
    assert records[0].key == "principal:teller-app keys:customers.*"
    assert "intact: 2 records" in ok(vk("audit", "verify", str(trail), env=env))


def test_principal_token_is_printed_once_and_stored_as_a_hash(ring_path: Path) -> None:
    env = env_for(ring_path)
    proc = vk("principal", "token", "svc-batch", env=env)
    token = ok(proc).strip()
    assert token.startswith("vkt_") and "shown once" in proc.stderr
    assert token not in ring_path.read_text()
    with KeyRing.open(ring_path, LocalKMS(passphrase=PASSPHRASE)) as ring:
        assert ring.principal_for_token(token) == "svc-batch"
    # no command shows it again
    assert token not in ok(vk("grants", "--json", env=env))
    out = json.loads(ok(vk("revoke", "svc-batch", "--tokens", "--json", env=env)))
    assert out["tokens"] == 1
    with KeyRing.open(ring_path, LocalKMS(passphrase=PASSPHRASE)) as ring:
        assert ring.principal_for_token(token) is None


def test_key_operations_are_recorded_with_the_operator(ring_path: Path, tmp_path: Path) -> None:
    trail = tmp_path / "ops.jsonl"
    env = {**env_for(ring_path), "VAULTKIT_AUDIT": str(trail)}
    ops = {**env, "VAULTKIT_PRINCIPAL": "ops-alice"}
    ok(vk("key", "create", "accounts.no", env=ops))
    ok(vk("key", "rotate", "accounts.no", "--principal", "ops-bob", env=env))
    ok(vk("key", "retire", "accounts.no", "--version", "1", "--yes", env=ops))
    ok(vk("key", "activate", "accounts.no", "--version", "1", env=ops))
    ok(vk("key", "retire", "accounts.no", "--version", "1", "--yes", env=ops))
    ok(vk("key", "destroy", "accounts.no", "--version", "1", "--yes", "--force", env=ops))
    ok(vk("kek", "rotate", env=env))  # no principal: the OS user
    ok(vk("grant", "teller", "--keys", "*", "--ops", "decrypt", env=ops))
    ok(vk("revoke", "teller", env=ops))
    fails(vk("key", "rotate", "accounts.nope", env=ops), "no key named")
    records = [(r.operation, r.key, r.version, r.principal, r.outcome) for r in read(trail)]
    assert records == [
        ("key create", "accounts.no", 1, "ops-alice", "ok"),
        ("key rotate", "accounts.no", 2, "ops-bob", "ok"),
        ("key retire", "accounts.no", 1, "ops-alice", "ok"),
        ("key activate", "accounts.no", 1, "ops-alice", "ok"),
        ("key retire", "accounts.no", 1, "ops-alice", "ok"),
        ("key destroy", "accounts.no", 1, "ops-alice", "ok"),
        ("kek rotate", "kek:passphrase", 2, getpass.getuser(), "ok"),
        ("grant", "principal:teller keys:*", None, "ops-alice", "ok"),
        ("revoke", "principal:teller", None, "ops-alice", "ok"),
        ("key rotate", "accounts.nope", None, "ops-alice", "error"),
    ]
    assert "intact: 10 records" in ok(vk("audit", "verify", str(trail), env=env))


def test_kek_add_and_remove_are_recorded(ring_path: Path, tmp_path: Path) -> None:
    trail = tmp_path / "ops.jsonl"
    env = {**env_for(ring_path), "VAULTKIT_AUDIT": str(trail), "VAULTKIT_PRINCIPAL": "ops"}
    ok(
        vk(
            "kek",
            "add",
            "--passphrase",
            "--name",
            "second",
            env={**env, "VAULTKIT_NEW_PASSPHRASE": "a second long passphrase for the test ring"},
        )
    )
    ok(vk("kek", "remove", "second", "--yes", env=env))
    assert [(r.operation, r.key, r.principal) for r in read(trail)] == [
        ("kek add", "kek:second", "ops"),
        ("kek remove", "kek:second", "ops"),
    ]
