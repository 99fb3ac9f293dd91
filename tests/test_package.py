"""The package imports, reports its backend and keeps its public surface deliberate."""

import os
import shutil

import vaultkit
from vaultkit.hazmat import bindings


def test_backend_reported() -> None:
    assert bindings.backend() in ("native", "reference")
    assert "reference" in bindings.available()


def test_native_built_where_a_compiler_exists() -> None:
    # `make test` builds the extension; a silent fallback to the reference would make every
    # native test vacuous, so a machine with a C compiler must have the native backend.
    if shutil.which("cc") and os.environ.get("VAULTKIT_BACKEND") != "reference":
        assert "native" in bindings.available()


def test_reference_can_be_forced() -> None:
    with bindings.use("reference"):
        assert bindings.backend() == "reference"


def test_native_util_when_built() -> None:
    if "native" not in bindings.available():
        return
    _, lib = bindings.native()
    assert lib.vk_ct_eq(b"abc", b"abc", 3) == 1
    assert lib.vk_ct_eq(b"abc", b"abd", 3) == 0


def test_version() -> None:
    assert vaultkit.__version__
