#!/usr/bin/env bash
# Clone speed: prscan's libgit2 clone against `git clone`, one repository
# of FILES (5000) files over the GitHub stand-in's smart HTTP (token
# required), hyperfine with RUNS (10) runs each; see bench/clone.py.
#
#   bench/clone.sh               FILES, RUNS, BENCH_REV, PRSCAN_BUILD_DIR
#
# Builds prscan (Release) and compiles bench/clone_bench.c against its
# libcommon (prs_git_fetch_checkout, include/prscan/gitclone.h).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

bench_need hyperfine git gcc pkg-config
$PY -c 'import jwt, cryptography' 2>/dev/null ||
	bench_die "needs python3-jwt python3-cryptography"
bench_build
bench_init
src=$REPO_ROOT
[ -z "${BENCH_REV:-}" ] || src=${BUILD_DIR%-*}-src-${BUILD_DIR##*-}
# shellcheck disable=SC2046
gcc -O2 -std=c11 -I"$src/include" "$BENCH_DIR/clone_bench.c" \
	"$BUILD_DIR/lib/libcommon.a" $(pkg-config --libs libgit2 libcurl \
	jansson openssl hiredis) -lpthread -o "$BENCH_TMP/clone_bench" ||
	bench_die "cannot compile clone_bench.c"
bench_wait_quiet
bench_machine
echo "prscan: Release, $PRSCAN_REV; $(git --version); libgit2 $(pkg-config \
	--modversion libgit2)"
CLONE_BENCH=$BENCH_TMP/clone_bench PRSCAN_SOURCE_DIR=$REPO_ROOT \
	timeout "${CLONE_TIMEOUT:-600}" $PY "$BENCH_DIR/clone.py"
