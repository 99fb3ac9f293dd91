"""pyca/cryptography's rule, enforced on the source (issue 15): recipes use hazmat; only hazmat
touches the bindings. Every module of src/ is parsed (``ast``) and its imports resolved, also
relative ones and ``importlib.import_module("...")`` with a literal name: outside
``vaultkit/hazmat/`` none may name ``vaultkit.hazmat.bindings`` or the compiled module."""

from __future__ import annotations

import ast
from pathlib import Path

import vaultkit

SRC = Path(vaultkit.__file__).parent
BINDINGS = "vaultkit.hazmat.bindings"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, name: str | None = None) -> set[str]:
    """Every module ``path`` (module ``name``, by default its name under src/) imports
    (``from a import b`` gives ``a`` and ``a.b``)."""
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            out.add(node.args[0].value)
    return out


def _touches_bindings(modules: set[str]) -> set[str]:
    return {m for m in modules if m == BINDINGS or m.startswith(BINDINGS + ".")}


def test_only_hazmat_imports_the_bindings() -> None:
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        if path.is_relative_to(SRC / "hazmat"):
            continue
        found = _touches_bindings(_imported(path))
        if found:
            offenders[str(path.relative_to(SRC))] = sorted(found)
    assert not offenders, f"modules outside vaultkit/hazmat import the bindings: {offenders}"


def test_the_walk_sees_every_form_of_import(tmp_path: Path) -> None:
    """The checker itself: each way of reaching the bindings is found (it could not pass by
    seeing nothing)."""
    forms = [
        "from vaultkit.hazmat import bindings",
        "import vaultkit.hazmat.bindings",
        "from vaultkit.hazmat.bindings import _native",
        "from vaultkit.hazmat.bindings._native import ffi",
        "from ..hazmat import bindings",
        "import importlib; importlib.import_module('vaultkit.hazmat.bindings._native_cipher')",
    ]
    for i, form in enumerate(forms):
        probe = tmp_path / f"probe_{i}.py"
        probe.write_text(form + "\n", encoding="utf-8")
        assert _touches_bindings(_imported(probe, "vaultkit.envelope._probe")), form
    clean = tmp_path / "clean.py"
    clean.write_text("from vaultkit.hazmat import _fast, aead\nfrom . import _format\n")
    assert not _touches_bindings(_imported(clean, "vaultkit.envelope._clean"))


def test_one_place_decides_single_aes_gcm_calls() -> None:
    """OpenSSL's AES-GCM is chosen for single calls in ``hazmat/_fast.py`` alone (the reference
    backend uses it as its implementation); the stream's large chunks too (``_fast.gcm_into``):
    no recipe or door names OpenSSL's AES-GCM."""
    allowed = {"hazmat/_fast.py", "hazmat/bindings/_reference_cipher.py"}
    users = set()
    for path in sorted(SRC.rglob("*.py")):
        if "cryptography.hazmat.primitives.ciphers.aead.AESGCM" in _imported(path):
            users.add(str(path.relative_to(SRC)))
    assert users <= allowed, users - allowed


def test_one_gcm_plaintext_limit() -> None:
    """SP 800-38D's plaintext limit is written once (``hazmat/_fast.py``)."""
    hits = [
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "(1 << 36) - 32" in p.read_text(encoding="utf-8")
    ]
    assert hits == ["hazmat/_fast.py"], hits
