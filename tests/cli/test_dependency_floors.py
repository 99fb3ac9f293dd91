"""constraints/minimum.txt (what `make test-min` installs) pins exactly the floors pyproject.toml
declares for the runtime dependencies and the user-facing extras, so the minimum-versions run
tests what users may get; the [async] extra brings greenlet (SQLAlchemy 2.1 no longer does)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = ("pkcs11", "postgres", "async", "spark", "server")


def _requirements() -> dict[str, list[str]]:
    """Requirement strings of the runtime (key "") and of each user-facing extra."""
    if sys.version_info >= (3, 11):
        import tomllib

        project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        out = {"": list(project["dependencies"])}
        return out | {e: list(project["optional-dependencies"][e]) for e in EXTRAS}
    from importlib.metadata import requires  # 3.10: the installed metadata (pyproject's)

    found: dict[str, list[str]] = {"": [], **{e: [] for e in EXTRAS}}
    for r in requires("vaultkit") or []:
        requirement, _, marker = r.partition(";")
        extra = re.search(r'extra == "([^"]+)"', marker)
        key = extra[1] if extra else ""
        if key in found:
            found[key].append(requirement.strip())
    return found


def _declared() -> dict[str, str]:
    floors = {}
    for requirement in (r for rs in _requirements().values() for r in rs):
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?>=([0-9.]+)", requirement.strip())
        assert match, f"{requirement!r}: declare a floor as NAME>=VERSION"
        floors[match[1].lower()] = match[2]
    return floors


def _pinned() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints" / "minimum.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def _release(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def test_minimum_constraints_pin_the_declared_floors() -> None:
    declared, pinned = _declared(), _pinned()
    assert set(declared) == set(pinned)
    for name, floor in declared.items():
        assert _release(floor) == _release(pinned[name]), (name, floor, pinned[name])


def test_async_extra_brings_greenlet() -> None:
    assert any(r.startswith("greenlet>=") for r in _requirements()["async"])
