"""The only code that touches the compiled module.

Two backends implement the same functions:

* ``native``: the cffi extension ``vaultkit.hazmat.bindings._native`` built from ``native/``;
* ``reference``: pure Python over cryptography/OpenSSL, the fallback where the extension cannot be
  built and the oracle in differential tests.

``backend()`` says which one is in use. ``VAULTKIT_BACKEND=reference`` forces the reference;
``VAULTKIT_BACKEND=native`` makes a missing extension an error instead of a silent fallback.
Objects pick their implementation when they are constructed, so :func:`use` (for tests and
benchmarks) affects objects created inside it. The constructors (:func:`gcm`, :func:`block_cipher`,
:func:`ff1`, :func:`sm3`, :func:`hmac_sm3`) return the typed interfaces of ``_interface``.

Only ``vaultkit.hazmat`` imports this package: the recipes reach the backends through
``vaultkit.hazmat._fast``, the one place that decides which implementation runs an operation
(tests/test_layers.py enforces both).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from vaultkit.errors import UnsupportedAlgorithmError
from vaultkit.hazmat.bindings._interface import (
    BlockCipherImpl,
    Cipher,
    Ff1Impl,
    GcmImpl,
    HmacSm3Impl,
    Sm3Impl,
    TokenArea,
)

if TYPE_CHECKING:
    from vaultkit.hazmat.bindings._native import FFI, Lib

__all__ = [
    "Backend",
    "available",
    "backend",
    "block_cipher",
    "ff1",
    "gcm",
    "hmac_sm3",
    "native",
    "native_areas",
    "native_token",
    "sm3",
    "use",
]

Backend = Literal["native", "reference"]

_ABI_VERSION = 1


def _load_native() -> tuple[FFI, Lib] | None:
    try:
        from vaultkit.hazmat.bindings import _native
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


def native() -> tuple[FFI, Lib]:
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


# Areas: each backend has one module per area, ``_native_<area>.py`` and ``_reference_<area>.py``,
# defining the same classes with the same methods (``_interface``; docs/native.md, "Backend
# interface"): cipher: BlockCipher, Gcm; ff1: Ff1; hash: Sm3, HmacSm3. "token" is native only.
_AREAS = ("cipher", "ff1", "hash")


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
    return tuple(a for a in sorted({*_AREAS, "token"}) if _area_module("_native_", a))


def native_token() -> TokenArea | None:
    """The native-only token area (whole card / resident-ID token batches and blind-index rows in
    one C call), or None where the extension is not built. Its functions check that the native
    backend is in use; the recipes fall back to their pure-Python paths, which give the same
    output."""
    if _NATIVE is None:
        return None
    from vaultkit.hazmat.bindings import _native_token

    return _native_token


def _native_in_use() -> bool:
    return _current == "native" and _NATIVE is not None


def gcm(cipher: Cipher, key: bytes) -> GcmImpl:
    """GCM under ``key`` on the backend in use (the native one falls back to the reference for
    AES where the CPU lacks AES-NI)."""
    if _native_in_use():
        from vaultkit.hazmat.bindings import _native_cipher

        return _native_cipher.make_gcm(cipher, key)
    from vaultkit.hazmat.bindings import _reference_cipher

    return _reference_cipher.Gcm(cipher, key)


def block_cipher(cipher: Cipher, key: bytes) -> BlockCipherImpl:
    """ECB blocks under ``key`` on the backend in use."""
    if _native_in_use():
        from vaultkit.hazmat.bindings import _native_cipher

        return _native_cipher.make_block_cipher(cipher, key)
    from vaultkit.hazmat.bindings import _reference_cipher

    return _reference_cipher.BlockCipher(cipher, key)


def ff1(cipher: Cipher, key: bytes, radix: int) -> Ff1Impl:
    """FF1 over ``cipher`` with ``radix`` on the backend in use."""
    if _native_in_use():
        from vaultkit.hazmat.bindings import _native_ff1

        return _native_ff1.make_ff1(cipher, key, radix)
    from vaultkit.hazmat.bindings import _reference_ff1

    return _reference_ff1.Ff1(cipher, key, radix)


def sm3() -> Sm3Impl:
    """SM3 on the backend in use."""
    if _native_in_use():
        from vaultkit.hazmat.bindings import _native_hash

        return _native_hash.Sm3()
    from vaultkit.hazmat.bindings import _reference_hash

    return _reference_hash.Sm3()


def hmac_sm3(key: bytes) -> HmacSm3Impl:
    """HMAC-SM3 under ``key`` on the backend in use."""
    if _native_in_use():
        from vaultkit.hazmat.bindings import _native_hash

        return _native_hash.HmacSm3(key)
    from vaultkit.hazmat.bindings import _reference_hash

    return _reference_hash.HmacSm3(key)
