"""Tokens and blind indexes (issue 5) through the recipe layer (``vaultkit.tokens.Tokenizer``,
``vaultkit.blindindex.BlindIndexer`` over a real key ring) against the peers a user would
otherwise pick: a loop over ``ff3`` (FF3-1, AES-256) for tokens, a loop over cryptography's
HMAC-SM3 (the same MAC, truncated) for blind indexes. The peers get the easy half of the job (no
validation, no Luhn, no real dates): only the encryption of the same digits.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes as chashes
from cryptography.hazmat.primitives import hmac as chmac

from vaultkit.blindindex import BlindIndexer
from vaultkit.identifiers import cn_id_check_char, luhn_check_digit
from vaultkit.keys import Algorithm, KeyRing, LocalKMS
from vaultkit.tokens import Tokenizer

BATCH = 100_000
PEER_SAMPLE = 2_000
KEY32 = bytes(range(32))
CTX = {"table": "customers", "column": "card_no"}
FF3_PEER = "ff3 FF3-1 AES-256 (loop)"
HMAC_PEER = "cryptography HMAC-SM3 (loop)"


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyRing]:
    path: Path = tmp_path_factory.mktemp("bench_tokens") / "keyring.json"
    r = KeyRing.create(path, LocalKMS(passphrase="bench", scrypt_n=2**10))
    r.create_key("tok.sm4", Algorithm.FF1_SM4)
    r.create_key("tok.aes", Algorithm.FF1_AES256)
    r.create_key("idx.sm3", Algorithm.HMAC_SM3)
    yield r
    r.close()


def _cards(n: int, length: int) -> list[str]:
    rnd = random.Random(length)
    out = []
    for _ in range(n):
        payload = "622202" + "".join(rnd.choices("0123456789", k=length - 7))
        out.append(payload + luhn_check_digit(payload))
    return out


def _ids(n: int) -> list[str]:
    rnd = random.Random(18)
    start = datetime.date(1940, 1, 1)
    out = []
    for _ in range(n):
        day = start + datetime.timedelta(days=rnd.randrange(25_000))
        body = f"110105{day:%Y%m%d}{rnd.randrange(1000):03d}"
        out.append(body + cn_id_check_char(body))
    return out


def _ff3_middles(values: list[str], start: int, end: int) -> Any:
    from ff3 import FF3Cipher

    c = FF3Cipher(KEY32.hex(), "CBD09280979564", radix=10)
    return lambda: [v[:start] + c.encrypt(v[start:end]) + v[end:] for v in values]


CARD_ROWS = ["vaultkit FF1-SM4", "vaultkit FF1-AES256", "ff3"]


@pytest.mark.benchmark(group="tokens: 19-digit card numbers, tokenize_many (BIN + last 4 kept)")
@pytest.mark.parametrize("row", CARD_ROWS)
def test_card_tokens(bench: Any, ring: KeyRing, row: str) -> None:
    if row == "ff3":
        values = _cards(bench.scaled(PEER_SAMPLE), 19)
        fn = _ff3_middles(values, 6, 15)
        bench.run(fn, role="peer", label=FF3_PEER, items=len(values), rounds=3)
        return
    values = _cards(bench.scaled(BATCH), 19)
    tok, key = Tokenizer(ring), "tok.sm4" if "SM4" in row else "tok.aes"
    out = bench.run(
        lambda: tok.tokenize_many(key, values, format="card", context=CTX),
        role="vaultkit",
        label=f"{row} Tokenizer.tokenize_many(format='card')",
        items=len(values),
        targets={FF3_PEER: 200.0},
    )
    assert out[0][:6] == values[0][:6] and out[0][-4:] == values[0][-4:]


@pytest.mark.benchmark(group="tokens: 16-digit card numbers (6 + 4 kept: cycle walking)")
@pytest.mark.parametrize("row", CARD_ROWS)
def test_card16_tokens(bench: Any, ring: KeyRing, row: str) -> None:
    if row == "ff3":
        values = _cards(bench.scaled(PEER_SAMPLE), 16)
        fn = _ff3_middles(values, 6, 12)
        bench.run(fn, role="peer", label=FF3_PEER, items=len(values), rounds=3)
        return
    values = _cards(bench.scaled(BATCH // 4), 16)
    tok, key = Tokenizer(ring), "tok.sm4" if "SM4" in row else "tok.aes"
    bench.run(
        lambda: tok.tokenize_many(key, values, format="card", context=CTX),
        role="vaultkit",
        label=f"{row} Tokenizer.tokenize_many(format='card')",
        items=len(values),
    )


@pytest.mark.benchmark(group="tokens: resident ID numbers, tokenize_many (real dates)")
@pytest.mark.parametrize("row", CARD_ROWS)
def test_cn_id_tokens(bench: Any, ring: KeyRing, row: str) -> None:
    if row == "ff3":
        values = _ids(bench.scaled(PEER_SAMPLE))
        fn = _ff3_middles(values, 6, 17)
        bench.run(fn, role="peer", label=FF3_PEER, items=len(values), rounds=3)
        return
    values = _ids(bench.scaled(BATCH))
    tok, key = Tokenizer(ring), "tok.sm4" if "SM4" in row else "tok.aes"
    out = bench.run(
        lambda: tok.tokenize_many(key, values, format="cn_id", context=CTX),
        role="vaultkit",
        label=f"{row} Tokenizer.tokenize_many(format='cn_id')",
        items=len(values),
        targets={FF3_PEER: 100.0},
    )
    assert out[0][:6] == values[0][:6]


@pytest.mark.benchmark(group="blind index: card numbers, compute_many (16 bits)")
@pytest.mark.parametrize("row", ["vaultkit", "cryptography"])
def test_blind_index(bench: Any, ring: KeyRing, row: str) -> None:
    if row == "cryptography":
        values = _cards(bench.scaled(PEER_SAMPLE * 10), 19)
        base = chmac.HMAC(KEY32, chashes.SM3())  # the same MAC as the vaultkit row

        def loop() -> list[bytes]:
            out = []
            for v in values:
                h = base.copy()
                h.update(v.encode())
                out.append(h.finalize()[:2])
            return out

        bench.run(loop, role="peer", label=HMAC_PEER, items=len(values), rounds=3)
        return
    values = _cards(bench.scaled(BATCH), 19)
    idx = BlindIndexer(ring)
    out = bench.run(
        lambda: idx.compute_many("idx.sm3", values, context=CTX, bits=16, kind="card_no"),
        role="vaultkit",
        label="vaultkit BlindIndexer.compute_many (HMAC-SM3, kind='card_no')",
        items=len(values),
        targets={HMAC_PEER: 10.0},
    )
    assert len(out[0]) == 2
