"""`vaultkit reencrypt` progress while the application inserts rows: done never shows above total
(``reencrypt: 18739/18479 rows`` was seen), the rows added during the run are counted and
reported; ``--json`` prints one JSON object on stdout."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.reencrypt._support import ID_KEY, TABLE, Setup, customers_table, populate, rotate
from vaultkit.cli._progress import RowCount

ROWS, ADDED = 600, 250
ARGS = ("--column", "id_no", "--batch-size", "30", "--max-rate", "200", "--json")
PROGRESS = re.compile(r"^(survey|reencrypt): (\d+)/(\d+) rows", re.M)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def _insert_more(s: Setup) -> None:
    engine = sa.create_engine(s.url)
    t = customers_table(sa.MetaData())
    with engine.begin() as conn:  # new customers, keys after every existing row
        conn.execute(t.insert(), [{"id": ROWS + 1 + i} for i in range(ADDED)])
    engine.dispose()


def test_rows_inserted_during_the_run_are_counted(tmp_path: Path, db_url: str) -> None:
    s = populate(tmp_path, db_url, ROWS)
    rotate(s, ID_KEY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "vaultkit", "reencrypt", "--db", s.url, "--table", TABLE, *ARGS],
        env=s.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stdout is not None
    lines: list[str] = []
    inserter: threading.Thread | None = None
    for line in proc.stderr:  # the run takes ~3 s (--max-rate); insert once it has started
        lines.append(line)
        if inserter is None and line.startswith("reencrypt:"):
            inserter = threading.Thread(target=_insert_more, args=(s,))
            inserter.start()
    out = proc.stdout.read()
    assert proc.wait(timeout=300) == 0, "".join(lines)
    assert inserter is not None
    inserter.join()
    report = json.loads(out)  # one JSON object, nothing else on stdout
    assert report["rows_planned"] == ROWS
    assert report["rows_added"] == ADDED  # the race happened: the run saw the new rows
    assert report["rows"] == ROWS + ADDED and report["complete"]
    progress = [(m[0], int(m[1]), int(m[2])) for m in PROGRESS.findall("".join(lines))]
    assert progress and all(done <= total for _, done, total in progress), progress
    last = [p for p in progress if p[0] == "reencrypt"][-1]
    assert last[1:] == (ROWS + ADDED, ROWS + ADDED)
    assert f", {ADDED} added during the run" in lines[-1]


def test_row_count_grows_the_total_with_what_was_added() -> None:
    count = RowCount(100)
    count.done = 60
    assert (count.total, count.added) == (100, 0)
    assert count.line("reencrypt", 10.0) == "reencrypt: 60/100 rows (10 rows/s)"
    count.done = 130
    assert (count.total, count.added) == (130, 30)
    assert count.line("reencrypt", 10.0) == (
        "reencrypt: 130/130 rows, 30 added during the run (10 rows/s)"
    )
