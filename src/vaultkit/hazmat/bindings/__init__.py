"""The only code that touches the compiled module.

Two backends implement the same functions:

* ``native``: the cffi extension ``vaultkit.hazmat.bindings._native`` built from ``native/``;
* ``reference``: pure Python over cryptography/OpenSSL, the fallback where the extension cannot be
  built and the oracle in differential tests.

``backend()`` says which one is in use. ``VAULTKIT_BACKEND=reference`` forces the reference;
``VAULTKIT_BACKEND=native`` makes a missing extension an error instead of a silent fallback.
Objects pick their implementation when they are constructed, so :func:`use` (for tests and
benchmarks) affects objects created inside it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Literal

from vaultkit.errors import UnsupportedAlgorithmError

__all__ = [
    "Backend",
    "available",
    "backend",
    "implementation",
    "native",
    "native_areas",
    "native_token",
    "use",
]

Backend = Literal["native", "reference"]

_ABI_VERSION = 1


def _load_native() -> tuple[Any, Any] | None:
    try:
        from vaultkit.hazmat.bindings import _native  # type: ignore[attr-defined]
    except ImportError:
        return None
    if _native.lib.vk_abi_version() != _ABI_VERSION:
        return None
    return _native.ffi, _native.lib


_NATIVE = _load_native()


def _initial() -> Backend:
    wanted = os.environ.get("VAULTKIT_BACKEND", "").strip().lower()
    if wanted == "reference":
        return "reference"
    if wanted == "native" and _NATIVE is None:
        raise UnsupportedAlgorithmError(
            "VAULTKIT_BACKEND=native but the native extension is not built or is out of date"
        )
    if wanted not in ("", "native"):
        raise UnsupportedAlgorithmError("VAULTKIT_BACKEND must be 'native' or 'reference'")
    return "native" if _NATIVE is not None else "reference"


_current: Backend = _initial()


def backend() -> Backend:
    """The backend new objects use: ``"native"`` or ``"reference"``."""
    return _current


def available() -> tuple[Backend, ...]:
    """Backends that can run here."""
    return ("native", "reference") if _NATIVE is not None else ("reference",)


def native() -> tuple[Any, Any]:
    """``(ffi, lib)`` of the compiled module; raises when it is not available."""
    if _NATIVE is None:
        raise UnsupportedAlgorithmError("the native extension is not available")
    return _NATIVE


@contextlib.contextmanager
def use(name: Backend) -> Iterator[None]:
    """Select the backend for objects created inside the block (tests, benchmarks)."""
    global _current
    if name not in available():
        raise UnsupportedAlgorithmError(f"backend {name!r} is not available here")
    previous, _current = _current, name
    try:
        yield
    finally:
        _current = previous


# Implementation classes, by area. Each backend has one module per area,
# ``_native_<area>.py`` and ``_reference_<area>.py``, defining the same classes with the same
# methods (see docs/native.md, "Backend interface"):
#   cipher: BlockCipher(algorithm, key), Gcm(algorithm, key)
#   ff1:    Ff1(algorithm, key, radix)
#   hash:   Sm3(), HmacSm3(key)
_AREAS = {"BlockCipher": "cipher", "Gcm": "cipher", "Ff1": "ff1", "Sm3": "hash", "HmacSm3": "hash"}


def _area_module(prefix: str, area: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"vaultkit.hazmat.bindings.{prefix}{area}")
    except ModuleNotFoundError as exc:
        if exc.name != f"vaultkit.hazmat.bindings.{prefix}{area}":
            raise
        return None


def native_areas() -> tuple[str, ...]:
    """Areas implemented by the native backend here (all of them once the core is complete)."""
    if _NATIVE is None:
        return ()
    areas = {*_AREAS.values(), "token"}
    return tuple(a for a in sorted(areas) if _area_module("_native_", a))


def native_token() -> ModuleType | None:
    """The native-only token area (whole card / resident-ID token batches and blind-index rows in
    one C call), or None where the extension is not built. Its functions check that the native
    backend is in use; the recipes fall back to their pure-Python paths, which give the same
    output."""
    return None if _NATIVE is None else _area_module("_native_", "token")


def implementation(name: str) -> Any:
    """The class ``name`` (see ``_AREAS``) of the backend in use for new objects."""
    area = _AREAS[name]
    module = None
    if _current == "native":
        module = _area_module("_native_", area)
    if module is None:
        module = _area_module("_reference_", area)
    if module is None:
        raise UnsupportedAlgorithmError(f"no implementation of {name}")
    return getattr(module, name)
