#!/usr/bin/env bash
# Runs every fuzzer of a -DPRSCAN_FUZZ=ON build for a while, seeded from
# tests/fixtures and tests/fuzz/seeds, and fails on the first crash, leak
# or sanitizer report (the input is kept under <build>/fuzz-artifacts/).
#   tests/fuzz/run.sh BUILD_DIR [SECONDS_EACH]   (default 20)
# Two fuzzers run at a time.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
secs=${2:-20}
fx=$root/tests/fixtures
seeds=$root/tests/fuzz/seeds
art=$build/fuzz-artifacts
work=$(mktemp -d /tmp/prscan-fuzz-corpus-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$art"

# Seed directories per fuzzer (those that exist).
seed_dirs() {
	case $1 in
	fuzz_kics) echo "$fx/kics $fx/kics-hostile" ;;
	fuzz_detect) echo "$fx/detect $fx/detect-hostile" ;;
	fuzz_webhook) echo "$root/scripts/fixtures $seeds/webhook" ;;
	fuzz_callback) echo "$seeds/callback" ;;
	*) echo "$seeds/${1#fuzz_}" ;;
	esac
}

run_one() {
	local name=$1 bin=$build/bin/$1 dirs=() d
	mkdir -p "$work/$name" "$art/$name"
	for d in $(seed_dirs "$name"); do
		[ -d "$d" ] && dirs+=("$d")
	done
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=0 \
		-artifact_prefix="$art/$name/" "$work/$name" ${dirs[@]+"${dirs[@]}"} \
		>"$work/$name.log" 2>&1; then
		echo "fuzz: $name FAILED; input kept in $art/$name/" >&2
		tail -n 60 "$work/$name.log" >&2
		return 1
	fi
	echo "fuzz: $name ok ($(grep -o 'Done [0-9]* runs' "$work/$name.log" |
		tail -n 1), $(ls "$work/$name" | wc -l) corpus inputs)"
}

names=()
for bin in "$build"/bin/fuzz_*; do
	[ -x "$bin" ] && names+=("$(basename "$bin")")
done
[ ${#names[@]} -gt 0 ] || { echo "fuzz: no fuzzers in $build/bin" >&2; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
pids=()
for name in "${names[@]}"; do
	run_one "$name" &
	pids+=($!)
	if [ ${#pids[@]} -ge 2 ]; then
		wait "${pids[0]}" || failed=$((failed + 1))
		pids=("${pids[@]:1}")
	fi
done
for p in ${pids[@]+"${pids[@]}"}; do
	wait "$p" || failed=$((failed + 1))
done
echo "fuzz: $((${#names[@]} - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
