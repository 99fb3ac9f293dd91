"""The envelope's seams (issue 15): one owner for the format, a deliberate internal API for the
facade, no side doors. Read from the source with ``ast``: a side door added later fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import vaultkit

SRC = Path(vaultkit.__file__).parent
DOCS = Path(__file__).resolve().parents[2] / "docs"  # the checkout's (vaultkit may be installed)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every ``from ... import`` and ``import`` in ``path``."""
    out: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
    return out


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "vaultkit" else parts[0]


# what the facade may import beyond packages' public modules: their deliberate internal APIs
FACADE_INTERNAL = {
    "vaultkit._nopickle",
    "vaultkit.access._guard",  # Guard: the grant check every Vault call runs (docs/access.md)
    "vaultkit.envelope._internal",
    "vaultkit.keys._cache",  # CachedKeys: the DEK cache the Vault (and the recipes) ask
    "vaultkit.keys._fork",  # fork tracking for objects that hold locks
}


def test_the_facade_imports_only_exports_and_deliberate_internal_apis() -> None:
    facade = [SRC / "vault.py", *sorted((SRC / "_facade").glob("*.py"))]
    for path in facade:
        for module, _ in _imports(path):
            if not module.startswith("vaultkit.") or module.startswith("vaultkit._facade"):
                continue
            private = any(p.startswith("_") for p in module.split(".")[1:])
            assert not private or module in FACADE_INTERNAL, f"{path.name} imports {module}"


def test_the_facade_neither_groups_batches_nor_reads_headers() -> None:
    """Batch grouping and header parsing are the envelope's: the facade calls them."""
    for path in [SRC / "vault.py", *sorted((SRC / "_facade").glob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        for side_door in ("._open_group(", "header_groups(", "unpack_from(", "FIXED_LEN"):
            assert side_door not in text, f"{path.name}: {side_door}"


def test_nopickle_is_imported_from_its_home() -> None:
    # keys/_ring.py is being split (issue 15): it still imports it through keys._kms
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "keys" / "_ring.py":
            continue
        for module, names in _imports(path):
            if "NoPickle" in names:
                assert module == "vaultkit._nopickle", f"{path.relative_to(SRC)} via {module}"


def test_the_envelope_imports_nothing_above_it() -> None:
    above = {"vaultkit.vault", "vaultkit._facade", "vaultkit.columns", "vaultkit.ext"}
    above |= {"vaultkit.tokens", "vaultkit.blindindex", "vaultkit.reencrypt", "vaultkit.cli"}
    for path in sorted((SRC / "envelope").glob("*.py")):
        for module, _ in _imports(path):
            assert _package(module) not in above, f"envelope/{path.name} imports {module}"


def test_one_batch_slicer_in_the_envelope() -> None:
    """``cut`` (``_records``) is the envelope's only struct-based slicer: no second copy."""
    for path in sorted((SRC / "envelope").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name != "_records.py":
            assert "def cut(" not in text and "_cutter" not in text, path.name
            assert "struct.unpack_from(" not in text, path.name


def test_one_description_of_the_wire_format() -> None:
    """docs/envelope.md describes the layout; the code's docstrings point to it and do not
    repeat the byte table (a second description drifts)."""
    doc = (DOCS / "envelope.md").read_text(encoding="utf-8")
    assert "| 26 | 32 | key commitment" in doc
    for path in [*sorted((SRC / "envelope").glob("*.py")), SRC / "vault.py"]:
        text = path.read_text(encoding="utf-8")
        assert "26  32" not in text and "58  12" not in text, path.name  # no layout table
    for name in ("__init__.py", "_format.py", "_context.py", "_field.py"):
        assert "docs/envelope.md" in (SRC / "envelope" / name).read_text(encoding="utf-8"), name
