"""The native module's type stub (``bindings/_native.pyi``) declares exactly what the compiled
module exports: every function and constant of the ``vk_*.h`` headers, nothing else. A function
added to a header without its stub entry (or the reverse) fails here, so mypy keeps checking
every call into C."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from vaultkit.hazmat import bindings

STUB = Path(bindings.__file__).with_name("_native.pyi")


def _declared(cls: str) -> set[str]:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls).body
    names = {n.name for n in body if isinstance(n, ast.FunctionDef)}
    names |= {
        n.target.id for n in body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    return names


def test_the_stub_declares_exactly_the_compiled_functions() -> None:
    if "native" not in bindings.available():
        pytest.fail("native extension missing: bash scripts/build-native.sh")
    _, lib = bindings.native()
    compiled = {name for name in dir(lib) if not name.startswith("_")}
    assert _declared("Lib") == compiled


def test_the_stub_declares_the_ffi_calls_the_bindings_make() -> None:
    used = set()
    for path in Path(bindings.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("_ffi", "ffi")
            ):
                used.add(node.attr)
    assert used and used <= _declared("FFI")
