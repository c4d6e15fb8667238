#!/usr/bin/env bash
# Installs, from Debian 12's packages, what building, running and testing
# prscan needs, and nothing when all of it is already there.
set -euo pipefail

packages=(
	build-essential cmake pkg-config git ca-certificates curl jq openssl
	libmicrohttpd-dev libhiredis-dev libcurl4-openssl-dev libjansson-dev
	libssl-dev libgit2-dev libcmocka-dev libpq-dev libyaml-dev
	redis-server postgresql valgrind clang libclang-rt-14-dev
	flawfinder
	python3 python3-redis python3-jwt python3-cryptography python3-yaml
	docker-compose
)
# `kubectl kustomize` renders deploy/kubernetes in the tests: Debian's
# kubernetes-client when no kubectl is installed (any kubectl will do).
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
