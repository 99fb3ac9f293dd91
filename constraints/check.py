"""Print the installed version of each of vaultkit's dependencies (a test log then says what was
tested); with a constraints file, exit 1 unless every package it pins is installed at exactly
that version (``make test-min`` must not silently test newer releases)."""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, requires, version


def installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main(argv: list[str]) -> int:
    names = sorted({re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0] for r in requires("vaultkit") or []})
    print("dependencies:", ", ".join(f"{n} {installed(n)}" for n in names if installed(n)))
    wrong = []
    for path in argv:
        for line in open(path, encoding="utf-8"):
            line = line.split("#", 1)[0].strip()
            if line:
                name, pinned = line.split("==")
                if installed(name) != pinned:
                    wrong.append(f"{name} {installed(name)} (constraint: {pinned})")
    if wrong:
        print("not the pinned versions:", "; ".join(wrong), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
