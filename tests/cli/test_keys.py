"""Key ring commands through the real console script: init, key create/list/show/rotate/retire/
destroy, kek rotate; JSON listings; confirmations; secrets never on argv or in output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from vaultkit import Vault
from vaultkit.keys import KeyRing, LocalKMS

from ._run import PASSPHRASE, env_for, fails, ok, vk


@pytest.fixture
def ring(tmp_path: Path) -> Path:
    """An empty ring, made with cheap scrypt parameters (test speed; `init` is tested below)."""
    path = tmp_path / "ring.vk"
    KeyRing.create(path, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12)).close()
    return path


def test_init_creates_a_ring_that_opens(tmp_path: Path) -> None:
    path = tmp_path / "new.vk"
    assert "created key ring" in ok(vk("init", env=env_for(path)))
    with KeyRing.open(path, LocalKMS(passphrase=PASSPHRASE)) as r:
        assert r.keys() == []


def test_lifecycle_and_json_listings(ring: Path) -> None:
    env = env_for(ring)
    ok(vk("key", "create", "customers.id_no", env=env))
    ok(vk("key", "create", "customers.card", "--algorithm", "FF1-SM4", env=env))
    assert "version 2 is now primary" in ok(vk("key", "rotate", "customers.id_no", env=env))
    listing = json.loads(ok(vk("key", "list", "--json", env=env)))
    assert [(k["name"], k["algorithm"], k["primary"]) for k in listing] == [
        ("customers.id_no", "SM4-GCM", 2),
        ("customers.card", "FF1-SM4", 1),
    ]
    shown = json.loads(ok(vk("key", "show", "customers.id_no", "--json", env=env)))
    assert [(v["version"], v["state"]) for v in shown["versions"]] == [
        (1, "active"),
        (2, "primary"),
    ]
    ok(vk("key", "retire", "customers.id_no", "--version", "1", "--yes", env=env))
    fails(
        vk("key", "destroy", "customers.id_no", "--version", "1", "--yes", env=env),
        "processes may still use it",
    )
    ok(vk("key", "destroy", "customers.id_no", "--version", "1", "--yes", "--force", env=env))
    shown = json.loads(ok(vk("key", "show", "customers.id_no", "--json", env=env)))
    assert shown["versions"][0]["state"] == "destroyed"
    rotated = json.loads(ok(vk("kek", "rotate", "--json", env=env)))
    assert rotated == {"kek_version": 2, "keys": 2, "seconds": rotated["seconds"]}
    listing = json.loads(ok(vk("key", "list", "--json", env=env)))
    assert {
        v["kek_version"] for k in listing for v in k["versions"] if v["state"] != "destroyed"
    } == {2}
    table = ok(vk("key", "list", env=env))
    assert "customers.card" in table and "FF1-SM4" in table


def test_destructive_commands_need_confirmation(ring: Path) -> None:
    env = env_for(ring)
    ok(vk("key", "create", "k", env=env))
    ok(vk("key", "rotate", "k", env=env))
    before = ring.read_bytes()
    fails(vk("key", "destroy", "k", "--version", "1", env=env), "Refusing without --yes")
    fails(vk("key", "retire", "k", "--version", "1", env=env), "Refusing without --yes")
    assert ring.read_bytes() == before


def test_names_are_printed_as_text_not_markup(ring: Path) -> None:
    """A key name with brackets is shown as typed (rich markup such as "[/]" crashed the
    commands that print it, ``key list`` for good once the key existed)."""
    env = env_for(ring)
    name = "legacy[/]key[bold]"
    assert f"created key {name}" in ok(vk("key", "create", name, env=env))
    assert name in ok(vk("key", "list", env=env))
    assert name in ok(vk("key", "show", name, env=env))
    assert f"{name}: version 2 is now primary" in ok(vk("key", "rotate", name, env=env))


def test_init_refuses_to_overwrite(ring: Path) -> None:
    before = ring.read_bytes()
    fails(vk("init", env=env_for(ring)), "already exists")
    assert ring.read_bytes() == before


def test_wrong_or_missing_passphrase(ring: Path) -> None:
    before = ring.read_bytes()
    env = env_for(ring, VAULTKIT_PASSPHRASE="not the passphrase")
    fails(vk("key", "create", "x", env=env), "wrong passphrase")
    env = env_for(ring)
    del env["VAULTKIT_PASSPHRASE"]
    fails(vk("key", "list", env=env), "no passphrase: set VAULTKIT_PASSPHRASE")
    assert ring.read_bytes() == before


def test_missing_or_damaged_ring(tmp_path: Path) -> None:
    fails(vk("key", "list", env=env_for(tmp_path / "none.vk")), "no key ring at")
    bad = tmp_path / "bad.vk"
    bad.write_text("{}")
    fails(vk("key", "list", env=env_for(bad)), "not a vaultkit key store")


def test_unknown_key_and_bad_algorithm(ring: Path) -> None:
    env = env_for(ring)
    fails(vk("key", "show", "nope", env=env), "no key named 'nope'")
    fails(vk("key", "rotate", "nope", env=env), "nope")
    proc = vk("key", "create", "x", "--algorithm", "DES", env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_passphrase_never_in_output_or_argv(ring: Path) -> None:
    env = env_for(ring)
    outputs = [
        vk("key", "create", "a", env=env),
        vk("key", "list", "--json", env=env),
        vk("kek", "rotate", env=env),
        vk("key", "list", env=env_for(ring, VAULTKIT_PASSPHRASE="wrong")),
    ]
    for proc in outputs:
        assert PASSPHRASE not in proc.stdout + proc.stderr
        assert "wrong" not in proc.stdout  # not even a wrong one echoed
    help_text = ok(vk("init", "--help", env=env))
    assert "--passphrase" not in help_text


NEW = "a brand new passphrase for the ring"


def test_kek_rotate_with_new_passphrase(ring: Path) -> None:
    env = env_for(ring, VAULTKIT_NEW_PASSPHRASE=NEW)
    ok(vk("key", "create", "a", env=env))
    ok(vk("kek", "rotate", "--new-passphrase", env=env))
    fails(vk("key", "list", env=env), "wrong passphrase")
    ok(vk("key", "list", env=env_for(ring, VAULTKIT_PASSPHRASE=NEW)))


@pytest.mark.parametrize(("weak", "rule"), [("1", "too short"), ("password1234", "too guessable")])
def test_weak_passphrases_are_refused(tmp_path: Path, ring: Path, weak: str, rule: str) -> None:
    new = tmp_path / "new.vk"
    fails(vk("init", env=env_for(new, VAULTKIT_PASSPHRASE=weak)), rule)
    assert not new.exists()
    before = ring.read_bytes()
    env = env_for(ring, VAULTKIT_NEW_PASSPHRASE=weak)
    fails(vk("kek", "rotate", "--new-passphrase", env=env), rule)
    fails(vk("kek", "add", "--passphrase", env=env), rule)
    assert ring.read_bytes() == before
    # the documented override, for tests and demos
    ok(vk("init", env=env_for(new, VAULTKIT_PASSPHRASE=weak, VAULTKIT_ALLOW_WEAK_PASSPHRASE="1")))


def test_kek_rotate_keep_old_then_remove(ring: Path) -> None:
    """A running service keeps the old passphrase through the rollout."""
    env = env_for(ring, VAULTKIT_NEW_PASSPHRASE=NEW)
    ok(vk("key", "create", "a", env=env))
    service = KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE))
    out = json.loads(ok(vk("kek", "rotate", "--new-passphrase", "--keep-old", "--json", env=env)))
    assert out["kek"] == "passphrase-2" and out["kept_old"] is True
    assert [k["name"] for k in out["keks"]] == ["passphrase", "passphrase-2"]
    with Vault(service) as v:  # still opens with the old passphrase
        v.encrypt("a", b"x", context={"t": "1"})
    new_env = env_for(ring, VAULTKIT_PASSPHRASE=NEW)
    listing = json.loads(ok(vk("kek", "list", "--json", env=new_env)))
    assert [(k["name"], k["opened_with"]) for k in listing] == [
        ("passphrase", False),
        ("passphrase-2", True),
    ]
    fails(vk("kek", "remove", "passphrase", env=new_env), "Refusing without --yes")
    removed = json.loads(ok(vk("kek", "remove", "passphrase", "--yes", "--json", env=new_env)))
    assert removed["removed"] == "passphrase" and len(removed["keks"]) == 1
    fails(vk("key", "list", env=env), "does not unwrap")
    with pytest.raises(Exception, match="does not unwrap"):
        service.reload()
    service.close()


def test_kek_add_key_file_and_sm2_recovery(ring: Path, tmp_path: Path) -> None:
    from vaultkit.keys import SM2Recipients, sm2

    env = env_for(ring)
    ok(vk("key", "create", "a", env=env))
    key_file = tmp_path / "kek.hex"
    key_file.write_text("ab" * 32)
    out = json.loads(ok(vk("kek", "add", "--key-file", str(key_file), "--json", env=env)))
    assert out["kek"] == "key-file"
    private, public = sm2.generate_keypair()
    sm2.save_public_key(tmp_path / "recovery.pub", public)
    added = ok(
        vk("kek", "add", "--sm2-public", str(tmp_path / "recovery.pub"), "--name", "safe", env=env)
    )
    assert "added KEK safe" in added
    with KeyRing.open(ring, SM2Recipients(private_key=private)) as r:  # the recovery key opens it
        assert "a" in r
    with KeyRing.open(ring, LocalKMS(key_file=key_file)) as r:
        assert "a" in r
    fails(vk("kek", "add", env=env), "give one of")
    table = ok(vk("kek", "list", env=env))
    assert "safe" in table and "key-file" in table


def test_state_changing_key_commands_print_one_json_object(ring: Path) -> None:
    env = env_for(ring)
    created = json.loads(ok(vk("key", "create", "k", "--json", env=env)))
    assert created["name"] == "k" and created["primary"] == 1
    rotated = json.loads(ok(vk("key", "rotate", "k", "--json", env=env)))
    assert rotated["primary"] == 2
    retired = json.loads(ok(vk("key", "retire", "k", "--version", "1", "--yes", "--json", env=env)))
    assert retired["versions"][0]["state"] == "retired"
    active = json.loads(ok(vk("key", "activate", "k", "--version", "1", "--json", env=env)))
    assert active["versions"][0]["state"] == "active"
    ok(vk("key", "retire", "k", "--version", "1", "--yes", env=env))
    destroyed = json.loads(
        ok(vk("key", "destroy", "k", "--version", "1", "--yes", "--force", "--json", env=env))
    )
    assert destroyed["versions"][0]["state"] == "destroyed"
    fails(vk("key", "activate", "k", "--version", "2", env=env), "is the primary")


def test_key_name_typo_suggests(ring: Path) -> None:
    env = env_for(ring)
    ok(vk("key", "create", "customers.id_no", env=env))
    fails(vk("key", "show", "customers.idno", env=env), "did you mean 'customers.id_no'")
    fails(vk("key", "rotate", "customer.id_no", env=env), "did you mean 'customers.id_no'")


def test_retire_refuses_while_values_remain(ring: Path, tmp_path: Path) -> None:
    env = env_for(ring)
    ok(vk("key", "create", "customers.id_no", env=env))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = sa.create_engine(url)
    md = sa.MetaData()
    t = sa.Table(
        "people",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("id_no", sa.LargeBinary),
        sa.Column("note", sa.Text),
    )
    md.create_all(engine)
    with Vault(KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE))) as v, engine.begin() as c:
        ctx = {"table": "people", "column": "id_no"}
        c.execute(
            t.insert(),
            [
                {"id": i, "id_no": v.encrypt("customers.id_no", f"x{i}", context=ctx), "note": "n"}
                for i in range(1, 8)
            ],
        )
    ok(vk("key", "rotate", "customers.id_no", env=env))
    fails(
        vk("key", "retire", "customers.id_no", "--version", "1", "--db", url, "--yes", env=env),
        "7 values are still under it (people.id_no: 7)",
    )
    # the URL (which may hold a password) can come from the environment instead of argv
    fails(
        vk("key", "retire", "customers.id_no", "--version", "1", "--yes",
           env=env_for(ring, VAULTKIT_DB_URL=url)),
        "7 values are still under it (people.id_no: 7)",
    )  # fmt: skip
    ok(vk("reencrypt", "--db", url, "--table", "people", "--column", "id_no", env=env))
    ok(vk("key", "retire", "customers.id_no", "--version", "1", "--db", url, "--yes", env=env))
    shown = json.loads(ok(vk("key", "show", "customers.id_no", "--json", env=env)))
    assert shown["versions"][0]["state"] == "retired"
    engine.dispose()


@pytest.mark.pkcs11
def test_pkcs11_ring_through_the_cli(tmp_path: Path, softhsm: dict[str, str]) -> None:
    ring = tmp_path / "hsm.vk"
    env = env_for(
        ring, VAULTKIT_PKCS11_PIN=softhsm["pin"], VAULTKIT_PKCS11_MODULE=softhsm["module"]
    )
    del env["VAULTKIT_PASSPHRASE"]
    ok(vk("init", "--kms", "pkcs11", "--token-label", softhsm["token_label"], env=env))
    ok(vk("key", "create", "k", env=env))
    rotated = json.loads(ok(vk("kek", "rotate", "--json", env=env)))
    assert rotated["kek_version"] == 2
    assert [k["name"] for k in json.loads(ok(vk("key", "list", "--json", env=env)))] == ["k"]
    wrong = vk(
        "key",
        "list",
        env=env_for(ring, VAULTKIT_PKCS11_PIN="0000", VAULTKIT_PKCS11_MODULE=softhsm["module"]),
    )
    fails(wrong, "PinIncorrect")
    assert softhsm["pin"] not in json.dumps(json.loads(ring.read_text()))


def test_pkcs11_token_by_slot(tmp_path: Path, softhsm: dict[str, str]) -> None:
    import pkcs11

    slot = pkcs11.lib(softhsm["module"]).get_token(token_label=softhsm["token_label"]).slot
    ring = tmp_path / "hsm.vk"
    env = env_for(
        ring, VAULTKIT_PKCS11_PIN=softhsm["pin"], VAULTKIT_PKCS11_MODULE=softhsm["module"]
    )
    del env["VAULTKIT_PASSPHRASE"]
    label = softhsm["token_label"]
    fails(
        vk("init", "--kms", "pkcs11", "--token-label", label, "--slot", "987654321", env=env),
        "no PKCS#11 token in slot 987654321",
    )
    ok(vk("init", "--kms", "pkcs11", "--token-label", label, "--slot", str(slot.slot_id), env=env))
    assert "token_serial" in KeyRing.kms_state(ring)  # later commands find the same token
    ok(vk("key", "create", "k", env=env))
    assert [k["name"] for k in json.loads(ok(vk("key", "list", "--json", env=env)))] == ["k"]


def test_kek_add_a_token_to_a_passphrase_ring(ring: Path, softhsm: dict[str, str]) -> None:
    from vaultkit.keys import PKCS11KMS

    env = env_for(
        ring, VAULTKIT_PKCS11_PIN=softhsm["pin"], VAULTKIT_PKCS11_MODULE=softhsm["module"]
    )
    ok(vk("key", "create", "a", env=env))
    out = json.loads(
        ok(vk("kek", "add", "--pkcs11-token", softhsm["token_label"], "--json", env=env))
    )
    assert out["kek"] == "pkcs11"
    hsm = PKCS11KMS(
        module=softhsm["module"], token_label=softhsm["token_label"], pin=softhsm["pin"]
    )
    with KeyRing.open(ring, hsm) as r:  # the token alone opens it
        assert "a" in r
    # rotating the passphrase KEK rewraps the fresh ring key in the token too (module + PIN)
    rotated = json.loads(ok(vk("kek", "rotate", "--json", env=env)))
    assert rotated["kek_version"] == 2
    hsm = PKCS11KMS(
        module=softhsm["module"], token_label=softhsm["token_label"], pin=softhsm["pin"]
    )
    with KeyRing.open(ring, hsm) as r:
        assert "a" in r


def test_ring_opened_by_whichever_credentials_are_present(ring: Path, tmp_path: Path) -> None:
    """A ring with a passphrase, a key file and an SM2 KEK: the CLI opens it with the KEK whose
    credentials are set (before, it always asked for the first KEK's passphrase), and names the
    options when none is."""
    from vaultkit.keys import sm2

    env = env_for(ring)
    ok(vk("key", "create", "a", env=env))
    key_file = tmp_path / "kek.hex"
    key_file.write_text("cd" * 32)
    ok(vk("kek", "add", "--key-file", str(key_file), env=env))
    private, public = sm2.generate_keypair()
    sm2.save_public_key(tmp_path / "recovery.pub", public)
    sm2.save_private_key(tmp_path / "recovery.key", private)
    ok(vk("kek", "add", "--sm2-public", str(tmp_path / "recovery.pub"), "--name", "safe", env=env))
    bare = {k: v for k, v in env.items() if k != "VAULTKIT_PASSPHRASE"}
    by_key_file = {**bare, "VAULTKIT_KEY_FILE": str(key_file)}
    by_sm2 = {**bare, "VAULTKIT_SM2_IDENTITY": str(tmp_path / "recovery.key")}
    for credentials, opened in ((by_key_file, "key-file"), (by_sm2, "safe"), (env, "passphrase")):
        ok(vk("key", "rotate", "a", env=credentials))  # opens and writes
        listed = json.loads(ok(vk("kek", "list", "--json", env=credentials)))
        assert [k["name"] for k in listed if k["opened_with"]] == [opened]
    fails(
        vk("key", "list", env=bare),
        "set VAULTKIT_PASSPHRASE or VAULTKIT_KEY_FILE or VAULTKIT_SM2_IDENTITY",
    )
    with KeyRing.open(ring, LocalKMS(passphrase=PASSPHRASE)) as r:
        assert r.key_info("a").primary_version == 4


def test_database_anchor_from_the_environment(ring: Path, tmp_path: Path) -> None:
    """VAULTKIT_ANCHOR_DB_URL: the CLI keeps the rollback anchor in that database; yesterday's
    store put back is refused."""
    import os
    import sqlite3
    import time

    db = tmp_path / "app.db"
    sqlite3.connect(db).close()
    env = env_for(ring, VAULTKIT_ANCHOR_DB_URL=f"sqlite:///{db}")
    ok(vk("key", "create", "a", env=env))
    yesterday = ring.read_bytes()
    ok(vk("key", "rotate", "a", env=env))
    ring.write_bytes(yesterday)
    os.utime(ring, ns=(time.time_ns(), time.time_ns() + 1000))
    fails(vk("key", "list", env=env), "rolled back")
    ok(vk("key", "list", env=env_for(ring)))  # without the anchor the copy opens (documented)


def test_signed_key_store_from_the_cli(ring: Path, tmp_path: Path) -> None:
    """--sign KEYFILE (or VAULTKIT_SIGNING_KEY) signs the store on state-changing commands;
    VAULTKIT_TRUSTED_SIGNERS makes every command refuse a store not signed by a trusted key."""
    from vaultkit.keys import sm2

    operator, operator_pub = sm2.generate_keypair()
    stranger, stranger_pub = sm2.generate_keypair()
    for name, key in (("op", operator), ("stranger", stranger)):
        sm2.save_private_key(tmp_path / f"{name}.key", key)
    sm2.save_public_key(tmp_path / "op.pub", operator_pub)
    sm2.save_public_key(tmp_path / "stranger.pub", stranger_pub)
    env = env_for(ring)
    trusting = env_for(ring, VAULTKIT_TRUSTED_SIGNERS=str(tmp_path / "op.pub"))
    ok(vk("key", "create", "a", env=env))
    fails(vk("key", "list", env=trusting), "not signed")
    ok(vk("key", "rotate", "a", "--sign", str(tmp_path / "op.key"), env=env))
    assert "a" in ok(vk("key", "list", env=trusting))
    # a state change without the key is refused (the store stays signed)
    fails(vk("key", "rotate", "a", env=env), "pass signer=")
    by_env = env_for(ring, VAULTKIT_SIGNING_KEY=str(tmp_path / "stranger.key"))
    ok(vk("key", "rotate", "a", env=by_env))  # signed, by a key the readers do not trust
    fails(vk("key", "list", env=trusting), "not a trusted signer")
    both = f"{tmp_path / 'op.pub'}:{tmp_path / 'stranger.pub'}"
    assert "a" in ok(vk("key", "list", env=env_for(ring, VAULTKIT_TRUSTED_SIGNERS=both)))
    new = tmp_path / "signed.vk"
    ok(vk("init", "--sign", str(tmp_path / "op.key"), env=env_for(new)))
    ok(vk("key", "list", env=env_for(new, VAULTKIT_TRUSTED_SIGNERS=str(tmp_path / "op.pub"))))


def test_single_kind_rings_name_their_credential(tmp_path: Path) -> None:
    """A ring whose KEKs all take one credential: without it, the error names that variable."""
    from vaultkit.keys import SM2Recipients, sm2

    key_file = tmp_path / "kek.hex"
    key_file.write_text("ef" * 32)
    by_file = tmp_path / "file.vk"
    KeyRing.create(by_file, LocalKMS(key_file=key_file)).close()
    bare = {k: v for k, v in env_for(by_file).items() if k != "VAULTKIT_PASSPHRASE"}
    fails(vk("key", "list", env=bare), "this key ring uses a key file: set VAULTKIT_KEY_FILE")
    ok(vk("key", "list", env={**bare, "VAULTKIT_KEY_FILE": str(key_file)}))
    private, public = sm2.generate_keypair()
    sm2.save_private_key(tmp_path / "id.key", private)
    by_sm2 = tmp_path / "sm2.vk"
    KeyRing.create(by_sm2, SM2Recipients(public_keys=[public])).close()
    bare = {k: v for k, v in env_for(by_sm2).items() if k != "VAULTKIT_PASSPHRASE"}
    fails(vk("key", "list", env=bare), "set VAULTKIT_SM2_IDENTITY")
    ok(vk("key", "list", env={**bare, "VAULTKIT_SM2_IDENTITY": str(tmp_path / "id.key")}))
