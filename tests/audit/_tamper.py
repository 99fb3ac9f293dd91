"""Read and rewrite a trail's stored records behind vaultkit's back, as an attacker would."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa


def _table(target: str) -> tuple[str, str]:
    url, _, table = target.partition("#")
    return url, table or "vaultkit_audit"


def lines(target: str) -> list[str]:
    if "://" not in target:
        return Path(target).read_text().splitlines()
    url, table = _table(target)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT record FROM {table} ORDER BY seq").all()
        return [r[0] for r in rows]
    finally:
        engine.dispose()


def rewrite(target: str, new: list[str]) -> None:
    """Store ``new`` as the trail's records: the file's lines, or the table's rows (row i has
    ``seq`` i + 1, whatever the record says)."""
    if "://" not in target:
        Path(target).write_text("".join(line + "\n" for line in new))
        return
    url, table = _table(target)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM {table}")
            for i, line in enumerate(new, 1):
                conn.execute(
                    sa.text(
                        f"INSERT INTO {table} (seq, time, operation, outcome, count, record) "
                        "VALUES (:seq, 't', 'x', 'ok', 1, :record)"
                    ),
                    {"seq": i, "record": line},
                )
    finally:
        engine.dispose()


def head(target: str) -> str | None:
    if "://" not in target:
        p = Path(target + ".head")
        return p.read_text().strip() if p.exists() else None
    url, table = _table(target)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(f"SELECT value FROM {table}_head WHERE id = 1").scalar()
    finally:
        engine.dispose()


def set_head(target: str, value: str) -> None:
    if "://" not in target:
        Path(target + ".head").write_text(value + "\n")
        return
    url, table = _table(target)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {table}_head SET value = :v WHERE id = 1"), {"v": value})
    finally:
        engine.dispose()
