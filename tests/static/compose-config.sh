#!/usr/bin/env bash
# Checks docker-compose.yaml with `docker-compose config -q` (also with
# `--profile dev`, whose smee client runs only there), with empty stand-ins
# for the secret files it mounts (no Docker engine is needed).
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
# The dev profile adds the smee client; it must parse too, and only there.
"$compose" --profile dev config -q
"$compose" config | /usr/bin/python3 -c '
import sys, yaml
services = yaml.safe_load(sys.stdin)["services"]
assert services["smee"]["profiles"] == ["dev"], "smee: not only in dev"
others = [n for n, s in services.items() if n != "smee" and "profiles" in s]
assert not others, "in a profile: %s" % others
assert services["api"]["environment"]["REDELIVER"] == "on", \
    "api: REDELIVER is not on"
'
echo "docker-compose.yaml: valid, with and without --profile dev"
