"""docs/stream.md's quickstart runs as written."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "stream.md"


def test_quickstart_runs(tmp_path, monkeypatch) -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), str(DOC), "exec"), {})
    assert (tmp_path / "restored.sql").read_bytes() == (tmp_path / "dump.sql").read_bytes()
    assert not (tmp_path / "dump.new.vkb").exists()
