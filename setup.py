"""Build glue for the optional native core (cffi API mode).

Metadata lives in pyproject.toml. The extension is optional: when no C compiler is available the
package still installs and runs on the pure-Python reference backend
(``vaultkit.hazmat.bindings.backend()`` then returns ``"reference"``).
"""

import os

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any build failure falls back to the reference
            if os.environ.get("VAULTKIT_REQUIRE_NATIVE"):
                raise
            self.warn(f"vaultkit native core not built ({exc}); using the reference backend")

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            if os.environ.get("VAULTKIT_REQUIRE_NATIVE"):
                raise
            self.warn(f"vaultkit native core not built ({exc}); using the reference backend")


setup(
    cffi_modules=["src/vaultkit/hazmat/bindings/_build.py:ffibuilder"],
    cmdclass={"build_ext": OptionalBuildExt},
)
