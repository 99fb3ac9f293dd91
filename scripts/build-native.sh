#!/usr/bin/env bash
# Rebuilds the native module in place (src/vaultkit/hazmat/bindings/_native*.so), failing loudly
# on any compile error. Serialized with a lock so concurrent builds do not clobber each other.
set -euo pipefail
cd "$(dirname "$0")/.."
exec flock /tmp/vaultkit-native-build.lock env VAULTKIT_REQUIRE_NATIVE=1 \
  .venv/bin/python setup.py -q build_ext --inplace
