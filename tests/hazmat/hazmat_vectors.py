"""Vector loaders for the hazmat tests (files in tests/vectors/, see its README)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


@cache
def standard_vectors() -> dict[str, Any]:
    """tests/vectors/standard_vectors.json (official known answers, each with its source)."""
    return json.loads((VECTORS / "standard_vectors.json").read_text())


@cache
def wycheproof(name: str) -> dict[str, Any]:
    """tests/vectors/wycheproof/<name>_test.json."""
    return json.loads((VECTORS / "wycheproof" / f"{name}_test.json").read_text())
