"""Helpers of the ext.sqlalchemy suite: the per-database handle and the synthetic customers."""

from __future__ import annotations

import datetime
import decimal
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from vaultkit.identifiers import cn_id_check_char, luhn_check_digit


@dataclass
class Db:
    kind: str  # "sqlite", "sqlite-per-value" or "postgres"
    url: str
    engine: Engine
    path: Path | None  # the SQLite file

    def session(self) -> Session:
        return sessionmaker(self.engine, expire_on_commit=True)()


def id_no(rng: random.Random) -> str:
    birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(20000))
    body = f"110105{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + cn_id_check_char(body)


def card_no(rng: random.Random) -> str:
    body = "622202" + "".join(str(rng.randrange(10)) for _ in range(12))
    return body + luhn_check_digit(body)


def sample(i: int) -> dict[str, Any]:
    """Row ``i`` of the synthetic customers (distinctive values, so dumps can be searched)."""
    rng = random.Random(i)
    return {
        "id": i,
        "name": f"测试客户{i:05d}",
        "id_no": id_no(rng),
        "card_no": card_no(rng),
        "mobile": f"139{rng.randrange(10**8):08d}",
        "balance": decimal.Decimal(f"{rng.randrange(10**9)}.{rng.randrange(100):02d}"),
        "birth": datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(15000)),
        "opened": datetime.datetime(2020, 1, 1, 8, 30, tzinfo=datetime.timezone.utc)
        + datetime.timedelta(seconds=rng.randrange(10**8)),
        "visits": rng.randrange(-(10**12), 10**12),
        "photo": bytes(rng.randrange(256) for _ in range(40)) + b"PHOTO-SECRET",
        "extra": {"risk": f"风险等级{i}", "tags": ["vip", i]},
        "note": f"secret-note-{i:05d}",
        "plain": f"plain-{i}",
    }
