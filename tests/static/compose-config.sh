#!/usr/bin/env bash
# Checks docker-compose.yaml with `docker-compose config -q`, with empty
# stand-ins for the secret files it mounts (no Docker engine is needed).
set -euo pipefail
compose=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src/docker-compose.yaml" "$tmp/"
mkdir -p "$tmp/secrets"
for f in github-app.pem webhook-secret callback-secret redis-password \
	blackduck-api-token; do
	: > "$tmp/secrets/$f"
done
cd "$tmp"
"$compose" config -q
echo "docker-compose.yaml: valid"
