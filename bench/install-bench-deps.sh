#!/usr/bin/env bash
# Installs what the benchmarks in bench/ need beyond scripts/install-deps.sh:
# wrk, GNU time, redis-tools (redis-benchmark), hyperfine, the Python peer's
# FastAPI/uvicorn/redis-py, Node.js and npm for the Probot peer, and perf.
# Debian 12 packages only; the Probot peer's own npm packages are installed
# by bench/ingest.sh into a temporary directory, never into the repository.
set -euo pipefail

pkgs=(wrk time redis-server redis-tools hyperfine git openssl jq curl
	python3 python3-fastapi python3-uvicorn python3-redis python3-jwt
	python3-cryptography linux-perf valgrind)
# Node.js may come from elsewhere (NodeSource's nodejs carries npm): ask
# Debian for it only when there is no node or npm at all.
command -v node >/dev/null && command -v npm >/dev/null ||
	pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	--no-install-recommends "${missing[@]}"
