#!/usr/bin/env bash
# Signs a pull_request delivery and posts it to prscan-api, as GitHub does.
#
#   GITHUB_WEBHOOK_SECRET=... scripts/post-pr-opened.sh [URL]
#
# URL defaults to http://localhost:8080/webhook.  The body is
# scripts/fixtures/pr-opened.json unless PAYLOAD names another file.  To
# point the delivery at a repository of your own, set any of OWNER, REPO,
# HEAD_SHA, HEAD_REF, PR_NUMBER, INSTALLATION_ID: the body is rewritten
# with jq before it is signed.  The secret may also come from
# GITHUB_WEBHOOK_SECRET_FILE; it is read from the environment, never
# passed on a command line.  Prints the API's answer; exits 0 on 2xx.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
url=${1:-http://localhost:8080/webhook}
payload=${PAYLOAD:-$here/fixtures/pr-opened.json}
event=${EVENT:-pull_request}

if [ -z "${GITHUB_WEBHOOK_SECRET:-}" ] && [ -n "${GITHUB_WEBHOOK_SECRET_FILE:-}" ]; then
	GITHUB_WEBHOOK_SECRET=$(cat "$GITHUB_WEBHOOK_SECRET_FILE")
fi
if [ -z "${GITHUB_WEBHOOK_SECRET:-}" ]; then
	echo "post-pr-opened.sh: set GITHUB_WEBHOOK_SECRET (or _FILE)" >&2
	exit 2
fi
export GITHUB_WEBHOOK_SECRET
for tool in jq curl python3; do
	command -v "$tool" >/dev/null || {
		echo "post-pr-opened.sh: needs $tool" >&2
		exit 2
	}
done

body=$(mktemp)
trap 'rm -f "$body"' EXIT
jq -c \
	--arg owner "${OWNER:-}" --arg repo "${REPO:-}" \
	--arg sha "${HEAD_SHA:-}" --arg ref "${HEAD_REF:-}" \
	--arg pr "${PR_NUMBER:-}" --arg inst "${INSTALLATION_ID:-}" '
	(if $owner != "" then
		.repository.owner.login = $owner
		| .pull_request.base.repo.owner.login = $owner
		| .pull_request.head.repo.owner.login = $owner else . end)
	| (if $repo != "" then
		.repository.name = $repo
		| .pull_request.base.repo.name = $repo
		| .pull_request.head.repo.name = $repo else . end)
	| (if $owner != "" or $repo != "" then
		.repository.full_name =
			(.repository.owner.login + "/" + .repository.name)
		else . end)
	| (if $sha != "" then .pull_request.head.sha = $sha else . end)
	| (if $ref != "" then .pull_request.head.ref = $ref else . end)
	| (if $pr != "" then .pull_request.number = ($pr | tonumber)
		| .number = ($pr | tonumber) else . end)
	| (if $inst != "" then .installation.id = ($inst | tonumber)
		else . end)' "$payload" > "$body"

# HMAC-SHA256 of the exact bytes sent; the key comes from the environment.
sig=$(python3 -c '
import hashlib, hmac, os, sys
key = os.environ["GITHUB_WEBHOOK_SECRET"].encode()
print("sha256=" + hmac.new(key, open(sys.argv[1], "rb").read(),
                           hashlib.sha256).hexdigest())' "$body")
delivery=${DELIVERY:-$(cat /proc/sys/kernel/random/uuid)}

answer=$(mktemp)
trap 'rm -f "$body" "$answer"' EXIT
status=$(curl -sS -o "$answer" -w '%{http_code}' -X POST "$url" \
	-H "Content-Type: application/json" \
	-H "User-Agent: GitHub-Hookshot/prscan-replay" \
	-H "X-GitHub-Event: $event" \
	-H "X-GitHub-Delivery: $delivery" \
	-H "X-Hub-Signature-256: $sig" \
	--data-binary @"$body")
echo "HTTP $status $(cat "$answer")"
case $status in 2??) exit 0 ;; *) exit 1 ;; esac
