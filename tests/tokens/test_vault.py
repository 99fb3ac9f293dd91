"""End to end through the Vault facade and a real key ring: tokens and blind indexes, with
rotation of both keys."""

from __future__ import annotations

from pathlib import Path

from vaultkit import Vault
from vaultkit.blindindex import BlindIndexer
from vaultkit.identifiers import luhn_valid
from vaultkit.keys import Algorithm, KeyRing, LocalKMS
from vaultkit.masking import mask_card

CTX = {"table": "customers", "column": "card_no"}
CARDS = ["6222021234567890128", "6225880000000001", "4111111111111111"]


def test_vault_tokens_and_indexes(tmp_path: Path) -> None:
    ring = KeyRing.create(tmp_path / "ring.json", LocalKMS(passphrase="p", scrypt_n=2**10))
    ring.create_key("cards.token", Algorithm.FF1_SM4)
    ring.create_key("cards.index", Algorithm.HMAC_SM3)
    with Vault(ring) as vault:
        tokens = vault.tokenize_many("cards.token", CARDS, format="card", context=CTX)
        assert all(luhn_valid(t) for t in tokens)
        assert [mask_card(t) for t in tokens] == [mask_card(c) for c in CARDS]
        assert vault.tokenize("cards.token", CARDS[0], format="card", context=CTX) == tokens[0]
        assert vault.detokenize_many("cards.token", tokens, format="card", context=CTX) == CARDS

        v1 = ring.primary_key("cards.token").version
        ring.rotate_key("cards.token")
    with Vault(ring) as vault:  # a fresh vault sees the new primary at once
        new = vault.tokenize_many("cards.token", CARDS, format="card", context=CTX)
        assert new != tokens
        old = vault.detokenize_many("cards.token", tokens, format="card", context=CTX, version=v1)
        assert old == CARDS
        assert vault.detokenize("cards.token", new[0], format="card", context=CTX) == CARDS[0]

        idx = vault.blind_index_many("cards.index", CARDS, context=CTX, bits=32)
        assert idx == BlindIndexer(ring).compute_many("cards.index", CARDS, context=CTX, bits=32)
        assert vault.blind_index("cards.index", CARDS[1], context=CTX, bits=32) == idx[1]
        ring.rotate_key("cards.index")
    with Vault(ring) as vault:
        both = vault.blind_index_candidates("cards.index", CARDS[1], context=CTX, bits=32)
        assert len(both) == 2 and both[1] == idx[1]  # rows not yet re-indexed still match
    ring.close()
