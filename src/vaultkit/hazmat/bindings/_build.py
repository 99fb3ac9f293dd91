"""cffi (API mode) builder for ``vaultkit.hazmat.bindings._native``.

The cdef is the concatenation of the area headers ``native/include/vk_*.h`` with preprocessor
lines removed: each header is both the C declaration and the cffi cdef source, so the two cannot
drift. Every ``native/src/*.c`` file is compiled in. CPU-specific code uses per-function
``__attribute__((target(...)))`` and runtime dispatch, so the module is built without -march.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[4]
NATIVE = ROOT / "native"
INCLUDE = NATIVE / "include"


def _cdef_source() -> str:
    parts = []
    for header in sorted(INCLUDE.glob("vk_*.h")):
        lines = [ln for ln in header.read_text().splitlines() if not ln.lstrip().startswith("#")]
        parts.append("\n".join(lines))
    text = "\n".join(parts)
    # C-only qualifiers that cffi's parser does not take.
    return re.sub(r"\bVK_EXPORT\b", "", text)


def _relative(path: Path) -> str:
    return os.path.relpath(path, Path.cwd())


ffibuilder = FFI()
ffibuilder.cdef(_cdef_source())
ffibuilder.set_source(
    "vaultkit.hazmat.bindings._native",
    '#include "vaultkit.h"\n',
    sources=[_relative(p) for p in sorted((NATIVE / "src").glob("*.c"))],
    include_dirs=[_relative(INCLUDE)],
    extra_compile_args=["-O3", "-std=c11", "-fno-strict-aliasing", "-Wall", "-Wextra"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
