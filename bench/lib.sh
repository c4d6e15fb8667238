# Shared helpers of the bench/ scripts (sourced, not run).
#
# Every process a script starts is recorded with bench_track and stopped
# by its pid when the script exits; the temporary directory goes with it
# (BENCH_KEEP_TMP=1 keeps it).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
PY=/usr/bin/python3
BUILD_DIR=${PRSCAN_BUILD_DIR:-$REPO_ROOT/build-bench}
BENCH_PIDS=()
BENCH_TMP=

bench_die() {
	echo "$(basename "$0"): $*" >&2
	exit 2
}

bench_log() {
	echo "== $*" >&2
}

bench_cleanup() {
	local pid i
	for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${BENCH_PIDS[i]}
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$pid" 2>/dev/null || true
	done
	if [ -n "$BENCH_TMP" ] && [ -d "$BENCH_TMP" ]; then
		if [ -n "${BENCH_KEEP_TMP:-}" ]; then
			echo "kept $BENCH_TMP" >&2
		else
			rm -rf "$BENCH_TMP"
		fi
	fi
}

# Makes BENCH_TMP and arranges for the cleanup.
bench_init() {
	BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/prscan-bench-XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_track() {
	BENCH_PIDS+=("$1")
}

# Stops one tracked process now (SIGTERM, then SIGKILL after 5 s).
bench_stop() {
	local pid=$1
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

bench_need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null ||
			bench_die "needs $t (bench/install-bench-deps.sh installs it)"
	done
}

# A loopback TCP port that is free right now.
bench_free_port() {
	$PY -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until URL answers any HTTP status (or pid dies); 0 or 1.
bench_wait_http() {
	local url=$1 pid=$2 secs=${3:-30}
	local deadline=$((SECONDS + secs))
	while [ $SECONDS -lt $deadline ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		curl -s -o /dev/null -m 1 "$url" && return 0
		sleep 0.1
	done
	return 1
}

# Peak resident set size of a live process in KiB (VmHWM).
bench_peak_rss_kb() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# Builds prscan (Release); incremental, so cheap when current.  Sources:
# the working tree, or with BENCH_REV=<rev> (e.g. HEAD) that commit alone,
# exported with `git archive` into BUILD_DIR-src-<sha> and built in
# BUILD_DIR-<sha>, so that edits in progress are not measured.  Sets
# BUILD_DIR and PRSCAN_REV (what was built, for the report).  Release is
# built without -Werror: gcc -O3 raises -Wnull-dereference warnings that
# the -O2 development builds do not.
bench_build() {
	local src=$REPO_ROOT sha
	bench_need cmake git
	if [ -n "${BENCH_REV:-}" ]; then
		sha=$(git -C "$REPO_ROOT" rev-parse --verify "$BENCH_REV^{commit}") ||
			bench_die "no commit $BENCH_REV"
		src=$BUILD_DIR-src-${sha:0:12}
		BUILD_DIR=$BUILD_DIR-${sha:0:12}
		if [ ! -f "$src/CMakeLists.txt" ]; then
			mkdir -p "$src"
			git -C "$REPO_ROOT" archive "$sha" | tar -x -C "$src"
		fi
		PRSCAN_REV="commit ${sha:0:12}"
	else
		sha=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
		PRSCAN_REV="working tree at ${sha:0:12}"
		if [ -n "$(git -C "$REPO_ROOT" status --porcelain -- src include \
			CMakeLists.txt 2>/dev/null)" ]; then
			PRSCAN_REV+=" with uncommitted changes"
		fi
	fi
	if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
		bench_log "configuring $BUILD_DIR (Release)"
		cmake -S "$src" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
			-DPRSCAN_TESTS=OFF >/dev/null || bench_die "cmake failed"
	fi
	bench_log "building $BUILD_DIR ($PRSCAN_REV)"
	cmake --build "$BUILD_DIR" -j"$(nproc)" >"$BUILD_DIR/bench-build.log" 2>&1 ||
		{ tail -20 "$BUILD_DIR/bench-build.log" >&2; bench_die "build failed"; }
}

# The reference peers' directory: $1, else PEERS_DIR, else
# ../shared/bench beside the repository.  Fails clearly when absent.
bench_peers_dir() {
	local dir=${1:-${PEERS_DIR:-$REPO_ROOT/../shared/bench}}
	local f
	for f in poc_api.py probot_peer.mjs; do
		[ -f "$dir/$f" ] || bench_die "no $f in $dir: give the reference" \
			"peers' directory as the first argument or PEERS_DIR"
	done
	(cd "$dir" && pwd)
}

# One line naming the machine: cores, CPU model, memory, kernel, date and
# the load average when the run began (other work skews every figure).
bench_machine() {
	local cpu mem
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	echo "machine: $(nproc) cores, $cpu, $mem, Linux $(uname -r)," \
		"$(date -u '+%Y-%m-%d %H:%M UTC'), load average at start" \
		"${BENCH_LOAD_AT_START:-$(cut -d' ' -f1 /proc/loadavg)}"
}

# Waits up to BENCH_QUIET_WAIT (60) seconds for the 1-minute load average
# to fall below BENCH_QUIET_LOAD (0.5); goes on either way, and records
# the load it started at for bench_machine.
bench_wait_quiet() {
	local deadline=$((SECONDS + ${BENCH_QUIET_WAIT:-60}))
	while [ $SECONDS -lt $deadline ] && awk -v max="${BENCH_QUIET_LOAD:-0.5}" \
		'{ exit !($1 >= max) }' /proc/loadavg; do
		sleep 5
	done
	BENCH_LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
	awk -v max="${BENCH_QUIET_LOAD:-0.5}" '{ exit !($1 >= max) }' \
		/proc/loadavg && bench_log "machine busy: load average" \
		"$BENCH_LOAD_AT_START; figures will be low and noisy"
	return 0
}

# Starts a private redis-server on 127.0.0.1 (no persistence, no
# password); sets REDIS_PORT and REDIS_PID.
bench_redis() {
	bench_need redis-server redis-cli
	REDIS_PORT=$(bench_free_port)
	mkdir -p "$BENCH_TMP/redis"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
		--appendonly no --dir "$BENCH_TMP/redis" --daemonize no \
		>"$BENCH_TMP/redis/redis.log" 2>&1 &
	REDIS_PID=$!
	bench_track "$REDIS_PID"
	for _ in $(seq 100); do
		redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	bench_die "redis-server did not start: $(tail -5 "$BENCH_TMP/redis/redis.log")"
}

bench_rcli() {
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

# A throwaway RSA key for GITHUB_APP_PRIVATE_KEY_FILE; prints its path.
bench_app_key() {
	openssl genrsa -out "$BENCH_TMP/app-key.pem" 2048 2>/dev/null
	echo "$BENCH_TMP/app-key.pem"
}

# X-Hub-Signature-256 of file $2 under secret $1 (kept out of argv).
bench_sign() {
	BENCH_SECRET=$1 $PY -c '
import hashlib, hmac, os, sys
key = os.environ["BENCH_SECRET"].encode()
print("sha256=" + hmac.new(key, open(sys.argv[1], "rb").read(),
                           hashlib.sha256).hexdigest())' "$2"
}

# Starts prscan-api for intake only: webhook secret $1, App key $2,
# SCANNERS=kics,blackduck (the peers' fan-out), GitHub at an unused
# loopback port (intake makes no GitHub call), LOG_LEVEL=warn (the peers
# log warnings only).  Sets PRSCAN_PID, PRSCAN_URL.  Extra environment:
# API_THREADS, STREAM_MAXLEN; $3 may name a wrapper (e.g. valgrind).
bench_start_prscan() {
	local port unused
	port=$(bench_free_port)
	unused=$(bench_free_port)
	env -i PATH="$PATH" HOME="$HOME" LANG=C.UTF-8 \
		PORT="$port" REDIS_HOST=127.0.0.1 REDIS_PORT="$REDIS_PORT" \
		GITHUB_WEBHOOK_SECRET="$1" GITHUB_APP_ID=1 \
		GITHUB_APP_PRIVATE_KEY_FILE="$2" \
		GITHUB_API_URL="http://127.0.0.1:$unused" \
		CALLBACK_SECRET="$(openssl rand -hex 32)" \
		SCANNERS=kics,blackduck API_THREADS="${API_THREADS:-4}" \
		STREAM_MAXLEN="${STREAM_MAXLEN:-10000}" LOG_LEVEL=warn \
		${3:-} "$BUILD_DIR/bin/prscan-api" \
		>"$BENCH_TMP/prscan-api.log" 2>&1 &
	PRSCAN_PID=$!
	PRSCAN_URL=http://127.0.0.1:$port
	bench_track "$PRSCAN_PID"
}
