#!/usr/bin/env bash
# Runs every test of prscan: builds with warnings as errors and runs the
# whole suite (unit, integration, static checks), then builds again with
# AddressSanitizer and UndefinedBehaviorSanitizer and runs it again, and
# last runs each libFuzzer harness of tests/fuzz for a short while
# (PRSCAN_FUZZ_SECONDS, default 20), failing on any crash.
# Installs what it lacks first (Debian 12 packages).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)

scripts/install-deps.sh

echo "== build (warnings as errors)"
cmake -S . -B build -DPRSCAN_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests"
ctest --test-dir build --output-on-failure -j2

echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -DPRSCAN_WERROR=ON -DPRSCAN_SANITIZE=ON \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests under sanitizers"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j2

echo "== fuzzers (clang, libFuzzer + ASan + UBSan)"
CC=clang cmake -S . -B build-fuzz -DPRSCAN_FUZZ=ON -DPRSCAN_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-fuzz --target fuzzers -j"$jobs"
tests/fuzz/run.sh build-fuzz "${PRSCAN_FUZZ_SECONDS:-20}"
