"""Tweaks from contexts, key versions and rotation, secrets hygiene, FF1 bijectivity."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from tests.tokens.token_keys import AES_KEY, CTX, SM4_KEY
from vaultkit.hazmat.ff1 import FF1
from vaultkit.keys import Algorithm, KeyRing, LocalKMS
from vaultkit.tokens import TWEAK_LEN, CardFormat, Tokenizer, derive_tweak

CARDS = ["6222021234567890128", "6225880000000001", "4111111111111111"]


def test_contexts_give_different_tokens(tok: Tokenizer) -> None:
    a = tok.tokenize_many(SM4_KEY, CARDS, format="card", context={"table": "a", "column": "c"})
    b = tok.tokenize_many(SM4_KEY, CARDS, format="card", context={"table": "b", "column": "c"})
    assert a != b
    # a shared context joins two tables on equal tokens
    c = tok.tokenize_many(SM4_KEY, CARDS, format="card", context={"table": "a", "column": "c"})
    assert a == c


def test_formats_and_algorithms_give_different_tokens(tok: Tokenizer) -> None:
    sm4 = tok.tokenize_many(SM4_KEY, CARDS, format="card", context=CTX)
    aes = tok.tokenize_many(AES_KEY, CARDS, format="card", context=CTX)
    assert sm4 != aes
    other = tok.tokenize_many(SM4_KEY, CARDS, format=CardFormat(keep_suffix=3), context=CTX)
    assert sm4 != other


def test_tweak_derivation() -> None:
    t = derive_tweak(Algorithm.FF1_SM4, "card/6/4/valid", {"table": "a"})
    assert len(t) == TWEAK_LEN == 12
    assert t != derive_tweak(Algorithm.FF1_AES256, "card/6/4/valid", {"table": "a"})
    assert t != derive_tweak(Algorithm.FF1_SM4, "card/6/4/valid", {"table": "a", "x": ""})
    # injective: moving a boundary between key and value changes the tweak
    assert derive_tweak(Algorithm.FF1_SM4, "l", {"ab": "c"}) != derive_tweak(
        Algorithm.FF1_SM4, "l", {"a": "bc"}
    )
    assert t == derive_tweak(Algorithm.FF1_SM4, "card/6/4/valid", {"table": b"a"})


def test_rotation_keeps_old_tokens(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path / "ring.json", LocalKMS(passphrase="p", scrypt_n=2**10))
    ring.create_key("card", Algorithm.FF1_SM4)
    tok = Tokenizer(ring)
    v1 = tok.primary_version("card")
    old = tok.tokenize_many("card", CARDS, format="card", context=CTX)
    assert tok.tokenize_many("card", CARDS, format="card", context=CTX, version=v1) == old
    v2 = ring.rotate_key("card")
    assert v2 != v1 and tok.primary_version("card") == v2
    new = tok.tokenize_many("card", CARDS, format="card", context=CTX)
    assert new != old  # tokens differ across key versions
    assert tok.detokenize_many("card", old, format="card", context=CTX, version=v1) == CARDS
    assert tok.detokenize_many("card", new, format="card", context=CTX) == CARDS
    # one version per token: grouped, one batch per version
    mixed = [old[0], new[1], old[2]]
    versions = [v1, v2, v1]
    assert tok.detokenize_many("card", mixed, format="card", context=CTX, version=versions) == CARDS
    ring.close()


def test_no_secrets_in_repr_or_pickle(tok: Tokenizer) -> None:
    tok.tokenize(SM4_KEY, CARDS[0], format="card", context=CTX)
    assert "material" not in repr(tok)
    with pytest.raises(TypeError):
        pickle.dumps(tok)


@pytest.mark.slow
def test_ff1_full_million_domain_is_a_bijection() -> None:
    """FF1 on the full 10^6 domain (6 decimal digits, the card middle of 16-digit cards) is a
    permutation: every one of the 10^6 inputs maps to a distinct output and back."""
    ff1 = FF1(bytes(range(16)), cipher="SM4", radix=10)
    domain = [f"{i:06d}" for i in range(1_000_000)]
    tweak = derive_tweak(Algorithm.FF1_SM4, "card/6/4/valid", CTX)
    out = ff1.encrypt_many(domain, tweak)
    assert len(set(out)) == 1_000_000 and all(len(v) == 6 and v.isdigit() for v in out)
    assert ff1.decrypt_many(out, tweak) == domain


@pytest.mark.parametrize("fmt", ["card", "cn_id", "mobile", "uscc", "digits", "alphanumeric"])
def test_empty_batches(tok: Tokenizer, fmt: str) -> None:
    assert tok.tokenize_many(SM4_KEY, [], format=fmt, context=CTX) == []
    assert tok.detokenize_many(SM4_KEY, [], format=fmt, context=CTX) == []
    assert tok.detokenize_many(SM4_KEY, [], format=fmt, context=CTX, version=[]) == []
