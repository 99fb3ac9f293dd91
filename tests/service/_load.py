"""The bounded load the key service is tested (3 s) and benchmarked (20 s) under: concurrent
clients on loopback, each with its own RemoteVault, mixing single and batch calls; every answer
is checked against what the in-process Vault computed beforehand."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from vaultkit.remote import RemoteVault
from vaultkit.vault import Vault

CTX = {"table": "customers", "column": "card_no"}
BATCH = 100


@dataclass
class Expected:
    cards: list[str]
    tokens: list[str]
    ciphertexts: list[bytes]
    names: list[str]


@dataclass
class LoadResult:
    requests: int = 0
    items: int = 0
    errors: list[str] = field(default_factory=list)
    wrong: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)


def expected(vault: Vault, n: int = 2000) -> Expected:
    """Cards, their tokens and ciphertexts of names, made by the in-process Vault."""
    from vaultkit.identifiers import luhn_check_digit

    rng = random.Random(7)
    bodies = ["622202" + "".join(str(rng.randrange(10)) for _ in range(12)) for _ in range(n)]
    cards = [b + luhn_check_digit(b) for b in bodies]
    names = [f"客户{i:05d}" for i in range(n)]
    return Expected(
        cards,
        vault.tokenize_many("c.card", cards, format="card", context=CTX),
        vault.encrypt_many("c.name", names, context=CTX),
        names,
    )


def run_load(url: str, token: str, want: Expected, *, clients: int, seconds: float) -> LoadResult:
    """``clients`` threads calling the service for ``seconds``; stops by itself."""
    result = LoadResult()
    lock = threading.Lock()
    n = len(want.cards)
    remotes = [RemoteVault(url, token=token, max_connections=2) for _ in range(clients)]
    remotes[0].tokenize("c.card", want.cards[0], format="card", context=CTX)  # warm the server
    go = threading.Barrier(clients + 1)
    deadline = 0.0

    def client(seed: int) -> None:
        rng = random.Random(seed)
        mine = LoadResult()
        go.wait()
        with remotes[seed] as remote:
            while time.monotonic() < deadline:
                i = rng.randrange(n - BATCH)
                kind = rng.randrange(5)
                start = time.perf_counter()
                try:
                    if kind == 0:
                        ok = (
                            remote.tokenize("c.card", want.cards[i], format="card", context=CTX)
                            == want.tokens[i]
                        )
                        mine.items += 1
                    elif kind == 1:
                        ok = (
                            remote.tokenize_many(
                                "c.card", want.cards[i : i + BATCH], format="card", context=CTX
                            )
                            == want.tokens[i : i + BATCH]
                        )
                        mine.items += BATCH
                    elif kind == 2:
                        ok = (
                            remote.detokenize_many(
                                "c.card", want.tokens[i : i + BATCH], format="card", context=CTX
                            )
                            == want.cards[i : i + BATCH]
                        )
                        mine.items += BATCH
                    elif kind == 3:
                        ok = remote.decrypt_text(want.ciphertexts[i], context=CTX) == want.names[i]
                        mine.items += 1
                    else:
                        ok = (
                            remote.decrypt_text_many(want.ciphertexts[i : i + BATCH], context=CTX)
                            == want.names[i : i + BATCH]
                        )
                        mine.items += BATCH
                except Exception as exc:  # counted: the test wants none
                    mine.errors.append(type(exc).__name__)
                    ok = True
                mine.latencies.append(time.perf_counter() - start)
                mine.requests += 1
                mine.wrong += not ok
        with lock:
            result.requests += mine.requests
            result.items += mine.items
            result.errors += mine.errors
            result.wrong += mine.wrong
            result.latencies += mine.latencies

    threads = [threading.Thread(target=client, args=(s,)) for s in range(clients)]
    for t in threads:
        t.start()
    started = time.monotonic()
    deadline = started + seconds
    go.wait()  # every client starts now, with the deadline set
    for t in threads:
        t.join()
    result.seconds = time.monotonic() - started
    result.requests += 1  # the warm-up call
    return result
