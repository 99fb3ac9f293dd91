"""tokenize / detokenize / mask as line filters through the real console script."""

from __future__ import annotations

from pathlib import Path

from vaultkit.cli import _fakedata
from vaultkit.identifiers import luhn_valid
from vaultkit.keys import KeyRing, LocalKMS

from ._run import PASSPHRASE, env_for, fails, ok, vk

CTX = ("--table", "customers", "--column", "card_no")


def test_tokenize_detokenize_round_trip(tmp_path: Path) -> None:
    ring = tmp_path / "ring.vk"
    env = env_for(ring)
    KeyRing.create(ring, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12)).close()
    ok(vk("key", "create", "cards", "--algorithm", "FF1-SM4", env=env))
    cards = [c.card_no for c in _fakedata.customers(300, seed=8)]
    tokens = ok(
        vk(
            "tokenize",
            "--key",
            "cards",
            "--format",
            "card",
            *CTX,
            env=env,
            stdin="\n".join(cards) + "\n",
        )
    ).splitlines()
    assert len(tokens) == len(cards)
    assert all(
        t != c and t[:6] == c[:6] and t[-4:] == c[-4:] and luhn_valid(t)
        for t, c in zip(tokens, cards)
    )
    back = ok(
        vk(
            "detokenize",
            "--key",
            "cards",
            "--format",
            "card",
            *CTX,
            env=env,
            stdin="\n".join(tokens) + "\n",
        )
    ).splitlines()
    assert back == cards
    # the stored form survives a rotation: each token carries its version
    stored = ok(
        vk(
            "tokenize",
            "--key",
            "cards",
            "--format",
            "card",
            *CTX,
            "--stored",
            env=env,
            stdin="\n".join(cards[:5]) + "\n",
        )
    ).splitlines()
    assert all(s.startswith("1:") for s in stored)
    ok(vk("key", "rotate", "cards", env=env))
    back = ok(
        vk(
            "detokenize",
            "--key",
            "cards",
            "--format",
            "card",
            *CTX,
            "--stored",
            env=env,
            stdin="\n".join(stored) + "\n",
        )
    ).splitlines()
    assert back == cards[:5]


def test_invalid_line_names_the_rule_not_the_value(tmp_path: Path) -> None:
    ring = tmp_path / "ring.vk"
    env = env_for(ring)
    KeyRing.create(ring, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12)).close()
    ok(vk("key", "create", "cards", "--algorithm", "FF1-SM4", env=env))
    good = _fakedata.customers(1)[0].card_no
    proc = vk(
        "tokenize",
        "--key",
        "cards",
        "--format",
        "card",
        *CTX,
        env=env,
        stdin=f"{good}\n6222021234567890123\n",
    )
    fails(proc, "line 2: card: Luhn check failed")
    assert "6222021234567890123" not in proc.stderr + proc.stdout


def test_malformed_stored_token_names_the_line(tmp_path: Path) -> None:
    ring = tmp_path / "ring.vk"
    env = env_for(ring)
    KeyRing.create(ring, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12)).close()
    ok(vk("key", "create", "cards", "--algorithm", "FF1-SM4", env=env))
    card = _fakedata.customers(1)[0].card_no
    stdin = f"1:{card}\n{card}\n"  # the second line lacks its VERSION: prefix
    proc = vk(
        "detokenize", "--key", "cards", "--format", "card", *CTX, "--stored", env=env, stdin=stdin
    )
    fails(proc, "line 2: not a stored token (VERSION:TOKEN)")
    assert card not in proc.stderr + proc.stdout


def test_mask_needs_no_key() -> None:
    out = ok(
        vk("mask", "--kind", "mobile", env={"PATH": "/usr/bin"}, stdin="13812345678\n15900001111\n")
    )
    assert out.splitlines() == ["138****5678", "159****1111"]


def test_mask_unknown_kind_is_a_usage_error() -> None:
    """`mask --kind phone` printed '****' for every line and exited 0."""
    proc = vk("mask", "--kind", "phone", env={"PATH": "/usr/bin"}, stdin="13812345678\n")
    fails(proc, "unknown mask kind 'phone'; did you mean 'mobile'?")
    assert "card_no" in proc.stderr and "cn_id" in proc.stderr  # the valid kinds listed
    assert proc.stdout == ""


def test_mask_takes_the_registry_names_and_alias() -> None:
    card = "6222021234567890128"
    for name in ("card_no", "card"):
        out = ok(vk("mask", "--kind", name, env={"PATH": "/usr/bin"}, stdin=f"{card}\n"))
        assert out == "622202*********0128\n"


def test_token_format_typo_is_a_usage_error(tmp_path: Path) -> None:
    ring = tmp_path / "ring.vk"
    env = env_for(ring)
    proc = vk("tokenize", "--key", "cards", "--format", "cardd", *CTX, env=env, stdin="1\n")
    fails(proc, "unknown token format 'cardd'; did you mean 'card' or 'card_no'?")
    proc = vk("detokenize", "--key", "cards", "--format", "digit", *CTX, env=env, stdin="1\n")
    fails(proc, "did you mean 'digits'?")


def test_tokenize_takes_the_canonical_name_and_alias_alike(tmp_path: Path) -> None:
    ring = tmp_path / "ring.vk"
    env = env_for(ring)
    KeyRing.create(ring, LocalKMS(passphrase=PASSPHRASE, scrypt_n=2**12)).close()
    ok(vk("key", "create", "cards", "--algorithm", "FF1-SM4", env=env))
    cards = "\n".join(c.card_no for c in _fakedata.customers(20, seed=3)) + "\n"
    key = ("--key", "cards")
    by_alias = ok(vk("tokenize", *key, "--format", "card", *CTX, env=env, stdin=cards))
    by_name = ok(vk("tokenize", *key, "--format", "card_no", *CTX, env=env, stdin=cards))
    assert by_alias == by_name
    back = ok(vk("detokenize", *key, "--format", "card_no", *CTX, env=env, stdin=by_name))
    assert back == cards


def test_reencrypt_token_format_typo_is_a_usage_error(tmp_path: Path) -> None:
    """Caught while parsing the command, not at the first batch of a long run."""
    env = env_for(tmp_path / "ring.vk")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    args = ("reencrypt", "--db", url, "--table", "t", "--column", "c", "--key", "k")
    proc = vk(*args, "--format", "cardd", "--yes", env=env)
    fails(proc, "did you mean 'card' or 'card_no'?")
