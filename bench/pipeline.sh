#!/usr/bin/env bash
# Pipeline latency: webhook 202 to completed check run, over JOBS (200)
# pull requests on 1, 2 and 4 KICS worker replicas, with a scanner that
# exits at once; see bench/pipeline.py for what is measured and how.
#
#   bench/pipeline.sh            JOBS, SEQ, REPLICAS, BENCH_REV, ...
#
# Builds prscan (Release, as bench/ingest.sh) and runs the driver on the
# integration harness (Debian's python3 with python3-redis, python3-jwt,
# python3-cryptography; redis-server; git).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bench_need redis-server git
$PY -c 'import redis, jwt, cryptography' 2>/dev/null ||
	bench_die "needs python3-redis python3-jwt python3-cryptography"
bench_build
bench_wait_quiet
bench_machine
echo "prscan: Release, $PRSCAN_REV"
PRSCAN_BIN_DIR=$BUILD_DIR/bin PRSCAN_SOURCE_DIR=$REPO_ROOT \
	exec timeout "${PIPELINE_TIMEOUT:-900}" $PY "$BENCH_DIR/pipeline.py"
