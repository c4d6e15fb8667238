#!/usr/bin/env bash
# Where prscan-api spends its time under the ingest load: starts Redis and
# prscan-api as bench/ingest.sh does, runs the same wrk load and records
# the API with `perf record -g` (or, with PROFILER=callgrind, runs it under
# valgrind --tool=callgrind; far slower, so the rate is not comparable),
# then prints the top functions.  Also reports the wall-clock split of a
# request from the API's threads' point of view: on-CPU share per thread
# (from /proc/PID/task/*/stat) during the run.
#
#   bench/profile.sh            perf, WRK_DURATION (10s), WRK_CONNS (32)
#   PROFILER=callgrind bench/profile.sh
#
# Needs linux-perf or valgrind (bench/install-bench-deps.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

THREADS=${WRK_THREADS:-2}
CONNS=${WRK_CONNS:-32}
DURATION=${WRK_DURATION:-10s}
PROFILER=${PROFILER:-perf}
TOP=${TOP:-25}
BODY=$REPO_ROOT/scripts/fixtures/pr-opened.json
LUA=$BENCH_DIR/wrk-webhook.lua

bench_need wrk openssl gcc pkg-config
case $PROFILER in
perf) bench_need perf ;;
callgrind) bench_need valgrind callgrind_annotate ;;
*) bench_die "PROFILER is perf or callgrind" ;;
esac
bench_build
bench_init
bench_wait_quiet
bench_redis
secret=$(openssl rand -hex 32)
key=$(bench_app_key)
sig=$(bench_sign "$secret" "$BODY")

wrapper=
if [ "$PROFILER" = callgrind ]; then
	wrapper="valgrind --tool=callgrind --callgrind-out-file=$BENCH_TMP/callgrind.out"
fi
bench_start_prscan "$secret" "$key" "$wrapper"
bench_wait_http "$PRSCAN_URL/status" "$PRSCAN_PID" 60 ||
	bench_die "prscan-api did not start: $(tail "$BENCH_TMP/prscan-api.log")"

ticks() {
	awk '{ s += $14 + $15 } END { print s }' /proc/"$PRSCAN_PID"/task/*/stat
}

BODY=$BODY SIG=$sig RUN_ID=$(openssl rand -hex 4) wrk -t"$THREADS" \
	-c"$CONNS" -d2s -s "$LUA" "$PRSCAN_URL" >/dev/null
t0=$(ticks)
if [ "$PROFILER" = perf ]; then
	perf record -q -F 499 -g -p "$PRSCAN_PID" -o "$BENCH_TMP/perf.data" \
		>/dev/null 2>&1 &
	perf_pid=$!
	bench_track "$perf_pid"
	sleep 0.5
fi
BODY=$BODY SIG=$sig RUN_ID=$(openssl rand -hex 4) wrk -t"$THREADS" \
	-c"$CONNS" -d"$DURATION" --latency -s "$LUA" "$PRSCAN_URL" \
	>"$BENCH_TMP/wrk.txt"
t1=$(ticks)
eval "$($PY "$BENCH_DIR/wrk_parse.py" <"$BENCH_TMP/wrk.txt")"
hz=$(getconf CLK_TCK)
secs=${DURATION%s}

echo
bench_machine
echo "load: wrk -t$THREADS -c$CONNS -d$DURATION, $PROFILER attached:" \
	"$rps requests/s, p50 $p50_ms ms, p99 $p99_ms ms," \
	"non-2xx $non2xx"
$PY -c 'import sys
t, hz, secs, n = (float(x) for x in sys.argv[1:])
print("prscan-api CPU: %.2f cores busy on average, %.0f us of CPU per "
      "request" % (t / hz / secs, 1e6 * t / hz / n if n else 0))' \
	"$((t1 - t0))" "$hz" "$secs" "$requests"
echo
if [ "$PROFILER" = perf ]; then
	kill -INT "$perf_pid"
	wait "$perf_pid" 2>/dev/null || true
	echo "top $TOP functions by self time (perf, all threads):"
	perf report -i "$BENCH_TMP/perf.data" --no-children --sort dso,symbol \
		--stdio -g none --percent-limit 0.5 2>/dev/null |
		grep -v '^#' | grep -v '^$' | sed -n "1,${TOP}p"
	echo
	echo "by library (self time):"
	perf report -i "$BENCH_TMP/perf.data" --no-children --sort dso \
		--stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' |
		sed -n 1,12p
else
	bench_stop "$PRSCAN_PID"
	echo "top $TOP functions by self cost (callgrind, Ir):"
	callgrind_annotate "$BENCH_TMP/callgrind.out" 2>/dev/null |
		sed -n '/^Ir/,$p' | sed -n "1,$((TOP + 2))p"
fi

# The payload's parse and signature check alone, and the peers' parsers.
echo
echo "cost of one payload ($(stat -c %s "$BODY") bytes), outside any server:"
if gcc -O2 -std=c11 "$BENCH_DIR/parse_cost.c" -o "$BENCH_TMP/parse_cost" \
	$(pkg-config --cflags --libs jansson openssl); then
	"$BENCH_TMP/parse_cost" "$BODY" 2000
fi
$PY -c 'import json, sys, timeit
b = open(sys.argv[1], "rb").read()
n = 2000
print("Python json.loads (the FastAPI peer): %.0f us" %
      (timeit.timeit(lambda: json.loads(b), number=n) / n * 1e6))' "$BODY"
if command -v node >/dev/null; then
	node -e 'const b = require("fs").readFileSync(process.argv[1], "utf8");
for (let i = 0; i < 2000; i++) JSON.parse(b);
const t = process.hrtime.bigint(); const n = 5000;
for (let i = 0; i < n; i++) JSON.parse(b);
console.log("Node JSON.parse (the Probot peer): " +
	Math.round(Number(process.hrtime.bigint() - t) / n / 1000) + " us");' "$BODY"
fi
