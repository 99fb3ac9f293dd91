"""Shared helpers for vaultkit's benchmarks (see README.md for the convention report.py reads).

Every benchmark compares vaultkit with the peer a user would otherwise pick, in the same run:
``@pytest.mark.benchmark(group="<operation>")`` names the table, and ``bench.run`` records
``role``, ``label``, ``items`` (values processed per call), ``unit`` and, for vaultkit rows,
``targets``. Files are named ``bench_<area>.py``; this conftest makes pytest collect them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Smoke runs (`make test` passes --benchmark-disable) shrink every workload by this factor.
SMOKE_DIVISOR = 100


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect ``bench_*.py`` (pytest's default pattern only knows ``test_*.py``)."""
    if file_path.suffix != ".py" or not file_path.name.startswith("bench_"):
        return None
    if parent.session.isinitpath(file_path):
        return None  # named on the command line: pytest's python plugin collects it already
    return pytest.Module.from_parent(parent, path=file_path)
    return None


class Bench:
    """What a benchmark function needs: workload sizes and one timed, labelled call."""

    def __init__(self, benchmark: Any) -> None:
        self.benchmark = benchmark

    @property
    def smoke(self) -> bool:
        """True under --benchmark-disable (each function runs once, as a test)."""
        return bool(getattr(self.benchmark, "disabled", False))

    def scaled(self, items: int, *, minimum: int = 10) -> int:
        """``items`` for a real run; ``items // 100`` (at least ``minimum``) for a smoke run."""
        return max(minimum, items // SMOKE_DIVISOR) if self.smoke else items

    def run(
        self,
        fn: Callable[[], Any],
        *,
        role: str,
        label: str,
        items: int,
        targets: dict[str, float] | None = None,
        unit: str = "item",
        rounds: int = 5,
    ) -> Any:
        """Record the row's metadata, then time ``fn`` (``rounds`` calls of one iteration).

        ``items``: values (or bytes, with ``unit="byte"``) one call of ``fn`` processes;
        report.py divides the median by it. ``targets``: {peer label: required speed-up}, for
        vaultkit rows. Returns ``fn``'s result (for a sanity check).
        """
        if role not in ("vaultkit", "peer"):
            raise ValueError("role must be 'vaultkit' or 'peer'")
        info: dict[str, Any] = {"role": role, "label": label, "items": items, "unit": unit}
        if targets:
            info["targets"] = targets
        self.benchmark.extra_info.update(info)
        return self.benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=1)


@pytest.fixture
def bench(benchmark: Any) -> Bench:
    """``bench.scaled(n)`` and ``bench.run(fn, role=..., label=..., items=...)``."""
    return Bench(benchmark)
