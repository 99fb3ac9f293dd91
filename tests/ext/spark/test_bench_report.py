"""benchmarks/report.py --spark: the Spark section and its >= 0.8x target line (synthetic
figures; the real ones come from benchmarks/bench_spark.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _report() -> object:
    name = "vk_spark_bench_report"
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def _figures(ratio: float) -> dict[str, object]:
    return {
        "rows": 1000,
        "single_rows_per_s": 100_000.0,
        "spark": {"first": 50_000.0, "best": 100_000.0 * ratio, "floor": 400_000.0},
        "ratio": ratio,
        "jdbc": {"rows": 500, "rows_per_s": 20_000.0, "rerun_seconds": 1.5},
        "machine": {"cpus": 2, "load": [3.0, 2.0, 1.0], "pyspark": "4.3.0"},
        "command": "python benchmarks/bench_spark.py out.json 1000",
    }


def test_spark_section_and_target(tmp_path: Path) -> None:
    report = _report()
    main = tmp_path / "main.json"
    main.write_text(json.dumps({"benchmarks": [], "machine_info": {}}))
    for ratio, verdict in ((0.9, "yes (0.90x)"), (0.5, "no (0.50x)")):
        figures = tmp_path / "spark.json"
        figures.write_text(json.dumps(_figures(ratio)))
        out = tmp_path / "RESULTS.md"
        argv = ["report.py", str(main), str(out), "--spark", str(figures)]
        assert report.main(argv) == 0  # type: ignore[attr-defined]
        text = out.read_text()
        assert "## Spark" in text and "| Spark floor: identity `mapInArrow`" in text
        assert f"one process's batch calls: {verdict}" in text
        assert "20,000" in text and "staged 0 rows" in text
