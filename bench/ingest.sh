#!/usr/bin/env bash
# Webhook intake: prscan-api against the proof of concept's FastAPI peer
# and a Probot peer, on this machine, the same Redis and the same load.
#
#   bench/ingest.sh [PEERS_DIR]
#
# PEERS_DIR holds poc_api.py and probot_peer.mjs (default: PEERS_DIR from
# the environment, else ../shared/bench beside the repository).  wrk posts
# the real signed delivery scripts/fixtures/pr-opened.json, a fresh
# X-GitHub-Delivery on every request, to each server in turn after a short
# warm-up; Redis is flushed before each run.  A run counts only if every
# answer was 2xx, no socket error happened and every answered request left
# its job in Redis (XINFO STREAM entries-added): the peers' two scanner
# streams, prscan's github-writes (one plan entry a job, which prscan's
# publisher turns into the scanner entries once it read the pull request's
# files from GitHub; intake reaches no GitHub here).
#
# Environment: WRK_THREADS (2), WRK_CONNS (32), WRK_DURATION (10s),
# WRK_WARMUP (2s), SERVERS (prscan,fastapi,probot), API_THREADS (prscan's,
# 4), CEILING_N (100000 XADDs for redis-benchmark), PROBOT_DIR (a directory
# where `npm install probot@14 ioredis@5` was already done; default: a new
# temporary one), PRSCAN_BUILD_DIR (build-bench), BENCH_REV (build that
# commit instead of the working tree, see lib.sh), BENCH_KEEP_TMP=1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

THREADS=${WRK_THREADS:-2}
CONNS=${WRK_CONNS:-32}
DURATION=${WRK_DURATION:-10s}
WARMUP=${WRK_WARMUP:-2s}
SERVERS=${SERVERS:-prscan,fastapi,probot}
CEILING_N=${CEILING_N:-100000}
BODY=$REPO_ROOT/scripts/fixtures/pr-opened.json
LUA=$BENCH_DIR/wrk-webhook.lua
PEER_STREAMS=(worker-kics worker-blackduck)
PRSCAN_STREAMS=(github-writes)
HZ=$(getconf CLK_TCK)

peers=$(bench_peers_dir "${1:-}")
bench_need wrk redis-benchmark curl openssl
case ,$SERVERS, in *,probot,*) bench_need node npm ;; esac
case ,$SERVERS, in *,fastapi,*)
	$PY -c 'import fastapi, uvicorn, redis' 2>/dev/null ||
		bench_die "the FastAPI peer needs python3-fastapi python3-uvicorn" \
			"python3-redis (bench/install-bench-deps.sh)" ;;
esac
bench_build
bench_init
bench_wait_quiet
bench_redis

# Throwaway secrets and App key, handed over in environments only.
secret=$(openssl rand -hex 32)
key=$(bench_app_key)
sig=$(bench_sign "$secret" "$BODY")

declare -A PID URL NOTE

start_prscan() {
	bench_start_prscan "$secret" "$key"
	PID[prscan]=$PRSCAN_PID
	URL[prscan]=$PRSCAN_URL
	NOTE[prscan]="prscan-api (Release, $PRSCAN_REV), API_THREADS=${API_THREADS:-4}"
}

start_fastapi() {
	local port loop
	port=$(bench_free_port)
	(cd "$peers" && exec env PYTHONDONTWRITEBYTECODE=1 \
		REDIS_PORT="$REDIS_PORT" GITHUB_WEBHOOK_SECRET="$secret" \
		$PY -m uvicorn poc_api:app --host 127.0.0.1 --port "$port" \
		--log-level warning) >"$BENCH_TMP/fastapi.log" 2>&1 &
	PID[fastapi]=$!
	URL[fastapi]=http://127.0.0.1:$port
	loop=$($PY -c 'import importlib.util as u
print("uvloop+httptools" if u.find_spec("uvloop") and u.find_spec("httptools")
      else "asyncio+h11")')
	NOTE[fastapi]="poc_api.py on uvicorn (one process, $loop)"
}

start_probot() {
	local port dir=${PROBOT_DIR:-}
	port=$(bench_free_port)
	if [ -z "$dir" ]; then
		dir=$BENCH_TMP/probot
		mkdir -p "$dir"
		bench_log "npm install probot@14 ioredis@5 in $dir"
		(cd "$dir" && npm init -y >/dev/null &&
			npm install --silent --no-audit --no-fund \
				probot@14 ioredis@5 >"$BENCH_TMP/npm.log" 2>&1) ||
			bench_die "npm install failed: $(tail -5 "$BENCH_TMP/npm.log")"
	fi
	cp "$peers/probot_peer.mjs" "$dir/probot_peer.mjs"
	(cd "$dir" && exec env PORT="$port" REDIS_PORT="$REDIS_PORT" \
		WEBHOOK_SECRET="$secret" PRIVATE_KEY_PATH="$key" \
		NODE_ENV=production node probot_peer.mjs) \
		>"$BENCH_TMP/probot.log" 2>&1 &
	PID[probot]=$!
	URL[probot]=http://127.0.0.1:$port
	NOTE[probot]="probot_peer.mjs on Node $(node --version), probot $(
		sed -n 's/^  "version": "\(.*\)",$/\1/p' \
			"$dir/node_modules/probot/package.json"), ioredis $(
		sed -n 's/^  "version": "\(.*\)",$/\1/p' \
			"$dir/node_modules/ioredis/package.json")"
}

# entries-added of a stream (every XADD ever, trimming aside); 0 if none.
entries_added() {
	bench_rcli xinfo stream "$1" 2>/dev/null |
		awk 'prev == "entries-added" { print; found = 1; exit }
		     { prev = $0 } END { if (!found) print 0 }'
}

# CPU ticks (user + system, all threads) a process has used so far.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

declare -A RPS P50 P99 RSS OK WHY CPU RCPU
run_one() {
	local name=$1 out=$BENCH_TMP/wrk-$name.txt s n
	local rps p50_ms p99_ms requests non2xx sockerr
	bench_log "$name: warm-up $WARMUP, then -t$THREADS -c$CONNS -d$DURATION"
	BODY=$BODY SIG=$sig RUN_ID=$(openssl rand -hex 4) wrk -t"$THREADS" \
		-c"$CONNS" -d"$WARMUP" -s "$LUA" "${URL[$name]}" >/dev/null
	sleep 1
	bench_rcli flushall >/dev/null
	t0=$(cpu_ticks "${PID[$name]}") r0=$(cpu_ticks "$REDIS_PID")
	BODY=$BODY SIG=$sig RUN_ID=$(openssl rand -hex 4) wrk -t"$THREADS" \
		-c"$CONNS" -d"$DURATION" --latency -s "$LUA" \
		"${URL[$name]}" >"$out"
	t1=$(cpu_ticks "${PID[$name]}") r1=$(cpu_ticks "$REDIS_PID")
	sleep 1
	eval "$($PY "$BENCH_DIR/wrk_parse.py" <"$out")"
	RPS[$name]=$rps P50[$name]=$p50_ms P99[$name]=$p99_ms
	RSS[$name]=$(bench_peak_rss_kb "${PID[$name]}")
	CPU[$name]=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$requests" \
		'BEGIN { printf "%.0f", n ? 1e6 * t / hz / n : 0 }')
	RCPU[$name]=$(awk -v t=$((r1 - r0)) -v hz="$HZ" -v n="$requests" \
		'BEGIN { printf "%.0f", n ? 1e6 * t / hz / n : 0 }')
	OK[$name]=yes
	WHY[$name]="answers=$requests non-2xx=$non2xx socket-errors=$sockerr"
	if [ "$requests" -eq 0 ] || [ "$non2xx" -ne 0 ] || [ "$sockerr" -ne 0 ]; then
		OK[$name]=VOID
	fi
	local streams=("${PEER_STREAMS[@]}")
	[ "$name" = prscan ] && streams=("${PRSCAN_STREAMS[@]}")
	for s in "${streams[@]}"; do
		n=$(entries_added "$s")
		WHY[$name]+=" $s=$n"
		if [ "$n" -lt "$requests" ] || [ "$n" -gt $((requests + CONNS)) ]; then
			OK[$name]=VOID
		fi
	done
	bench_stop "${PID[$name]}"
	bench_rcli flushall >/dev/null
	cat "$out" >&2
}

IFS=, read -r -a order <<<"$SERVERS"
for name in "${order[@]}"; do
	case $name in prscan | fastapi | probot) ;; *) bench_die "unknown server $name" ;; esac
	"start_$name"
	bench_track "${PID[$name]}"
	bench_wait_http "${URL[$name]}/status" "${PID[$name]}" 60 ||
		bench_die "$name did not start: $(tail -20 "$BENCH_TMP/$name"*.log)"
	run_one "$name"
done

bench_log "ceiling: redis-benchmark XADD, $CEILING_N requests, -c $CONNS"
ceiling=$(redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -n "$CEILING_N" \
	-c "$CONNS" -q XADD benchstream '*' f v 2>/dev/null | tr '\r' '\n' |
	awk '/requests per second/ { for (i = 1; i <= NF; i++)
		if ($(i + 1) == "requests") { v = $i } } END { print v + 0 }')
bench_rcli flushall >/dev/null

# The report.
echo
bench_machine
echo "load: wrk -t$THREADS -c$CONNS -d$DURATION --latency, body" \
	"scripts/fixtures/pr-opened.json ($(stat -c %s "$BODY") bytes), fresh" \
	"X-GitHub-Delivery per request; Redis $(redis-server --version |
		awk '{ print $3 }' | cut -d= -f2) on loopback, no persistence"
echo
printf '| %-8s | %8s | %7s | %7s | %10s | %9s | %9s | %-5s |\n' server \
	'req/s' 'p50 ms' 'p99 ms' 'peak RSS' 'CPU/req' 'Redis/req' valid
printf '|%s|\n' "----------|----------|---------|---------|------------|-----------|-----------|-------"
for name in "${order[@]}"; do
	printf '| %-8s | %8.0f | %7.2f | %7.2f | %6.1f MiB | %6s us | %6s us | %-5s |\n' \
		"$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" \
		"$(echo "${RSS[$name]}" | awk '{ print $1 / 1024 }')" \
		"${CPU[$name]}" "${RCPU[$name]}" "${OK[$name]}"
done
echo
for name in "${order[@]}"; do
	echo "checks $name: ${WHY[$name]}"
done
echo
for name in "${order[@]}"; do
	echo "$name: ${NOTE[$name]}"
done
echo "redis-benchmark XADD ceiling: $ceiling requests/s"

if [ -n "${RPS[prscan]:-}" ]; then
	echo
	$PY - "$ceiling" "${RPS[prscan]}" "${P99[prscan]}" "${RSS[prscan]}" \
		"${RPS[fastapi]:-}" "${P99[fastapi]:-}" "${RSS[fastapi]:-}" \
		"${RPS[probot]:-}" "${P99[probot]:-}" "${RSS[probot]:-}" \
		"${OK[prscan]}" <<'PYEOF'
import sys
a = sys.argv[1:]
ceiling, rps, p99, rss = float(a[0]), float(a[1]), float(a[2]), float(a[3])
peers = {"fastapi": a[4:7], "probot": a[7:10]}
for name, (prps, pp99, prss) in peers.items():
    if not prps:
        continue
    prps, pp99, prss = float(prps), float(pp99), float(prss)
    print("prscan/%s: rate %.2fx, p99 %.2fx, peak RSS %.2fx (a rate "
          "above 1 and the others below 1 favour prscan)" % (
              name, rps / prps if prps else 0, p99 / pp99 if pp99 else 0,
              rss / prss if prss else 0))
if ceiling:
    print("prscan's rate is %.1f%% of the XADD ceiling (one request is 9 "
          "Redis commands in 2 round trips)" % (100 * rps / ceiling))
print()
print("targets:")
if peers["fastapi"][0]:
    r = rps / float(peers["fastapi"][0])
    print("  rate >= 10x the FastAPI peer: %.1fx  %s" % (
        r, "met" if r >= 10 else "NOT MET"))
print("  p99 < 5 ms at the load above: %.2f ms  %s" % (
    p99, "met" if p99 < 5 else "NOT MET"))
print("  API peak RSS < 20 MiB: %.1f MiB  %s" % (
    rss / 1024, "met" if rss < 20 * 1024 else "NOT MET"))
if a[10] != "yes":
    print("prscan's run is VOID (see checks): its figures do not count")
PYEOF
fi
for name in "${order[@]}"; do
	[ "${OK[$name]}" = yes ] || exit 1
done
