#!/usr/bin/env bash
# The main job: builds prscan and runs the whole pipeline locally on the
# real pull request fixture, then prints the resulting check run.
# Installs what it lacks first (Debian 12 packages).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
cmake -S . -B build -DPRSCAN_WERROR=ON >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
PRSCAN_BIN_DIR="$root/build/bin" exec /usr/bin/python3 scripts/demo.py
