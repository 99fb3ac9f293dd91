#!/usr/bin/env bash
# Installs the system packages the test suite needs (PostgreSQL server for the integration tests,
# SoftHSM2 for the PKCS#11 backend, valgrind for the constant-time and memory checks, a C
# compiler for the native core, and the aarch64 cross compiler, libc and qemu user mode that run
# the native core's ARM64 paths in tests/native/test_aarch64.py, a Java runtime and Debian's
# PostgreSQL JDBC driver for the Spark tests in tests/ext/spark, GNU time, which
# benchmarks/startup.py measures each command's own peak RSS with). Runs apt-get only as root and
# only for what is missing.
set -euo pipefail
need=()
command -v cc >/dev/null 2>&1 || need+=(gcc)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need+=(softhsm2)
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
[ -e /usr/include/valgrind/memcheck.h ] || need+=(valgrind)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need+=(libc6-dev-arm64-cross)
[ -e /usr/aarch64-linux-gnu/include/sys/auxv.h ] || need+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
[ -e /usr/share/java/postgresql.jar ] || need+=(libpostgresql-jdbc-java)
[ -x /usr/bin/time ] || need+=(time)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system-deps: missing ${need[*]}; run 'make test' as root or install them" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
