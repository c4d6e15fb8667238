#!/usr/bin/python3
"""Pipeline latency: from the webhook's 202 to the completed check run on
the GitHub stand-in, on the integration harness (tests/integration):
private Redis, GitHub stand-in (REST and git over smart HTTP), prscan-api
and N prscan-worker-kics replicas.  The scanner is the KICS stand-in
writing the recorded no-findings report, wrapped by bench/timed-scanner,
which logs the scanner's own start and end.

Two phases:
  1. one at a time (SEQ pull requests, one replica): each delivery waits
     for its check run to complete before the next; the latency of a job
     that does not queue, and its overhead outside the scanner.
  2. bursts (JOBS pull requests delivered back to back) on 1, 2 and 4
     replicas: drain time, jobs/s, 202-to-completed p50/p95 (queueing
     included) and the service time of a scan (check run created, i.e.
     the worker's `started` callback, to check run completed) less the
     scanner's.

Times come from the stand-in's call log (its clock is this machine's):
POST .../check-runs (external_id = job id) and the PATCH that carries the
conclusion.  Run by bench/pipeline.sh; PRSCAN_BIN_DIR names the binaries.
Environment: JOBS (200), SEQ (20), REPLICAS (1,2,4), BURST_TIMEOUT (240 s).
"""

import os
import statistics
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
import scenario  # noqa: E402

JOBS = int(os.environ.get("JOBS") or 200)
SEQ = int(os.environ.get("SEQ") or 20)
REPLICAS = [int(x) for x in (os.environ.get("REPLICAS") or "1,2,4")
            .split(",")]
BURST_TIMEOUT = float(os.environ.get("BURST_TIMEOUT") or 240)
NO_FINDINGS = harness.fixture("kics", "defectdojo_kics_no_findings.json")
TIMED = os.path.join(HERE, "timed-scanner")


class BenchCase(unittest.TestCase):
    """What scenario.Pipeline needs of a test case, outside unittest."""

    def __init__(self):
        super().__init__("run")
        self.tmp = harness.make_tmp("prscan-bench-")
        self._cleanups_ = []

    def runTest(self):
        pass

    def track(self, proc):
        self._cleanups_.append(proc.stop)
        return proc

    def start_redis(self):
        return self.track(harness.Redis(self.tmp))

    def start_github(self, **kw):
        return self.track(harness.GitHubStandin(self.tmp, **kw))

    def close(self):
        for fn in reversed(self._cleanups_):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - best effort
                sys.stderr.write("cleanup: %r\n" % (e,))
        harness.remove_tmp(self.tmp)


def pct(values, p):
    """The p-th percentile (nearest rank) of values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def pipeline(case, workers):
    times = os.path.join(case.tmp, "scanner-times.txt")
    p = scenario.Pipeline(case, workers=workers, api_env={
        "LOG_LEVEL": "warn"}, worker_env={
        "LOG_LEVEL": "warn",
        "KICS_BIN": TIMED,
        "KICS_BENCH_SCANNER": harness.KICS_STANDIN,
        "KICS_BENCH_TIMES": times,
        "KICS_STANDIN_REPORT": NO_FINDINGS})
    p.times_path = times
    return p


def scanner_times(p):
    """[(start, end)] of every scan, in order; a failed scan is an error."""
    out = []
    try:
        with open(p.times_path) as f:
            for line in f:
                t0, t1, rc = line.split()
                if rc != "0":
                    raise AssertionError("a scan exited %s" % rc)
                out.append((float(t0), float(t1)))
    except FileNotFoundError:
        pass
    return out


def all_runs(p, sha):
    """Every check run of sha (all pages): id -> run."""
    token = p.github.mint_token(permissions={"checks": "read",
                                             "metadata": "read"})
    runs, page = {}, 1
    while True:
        status, data, _ = p.github.request(
            "GET", "/repos/%s/%s/commits/%s/check-runs?per_page=100&page=%d"
            % (scenario.OWNER, scenario.REPO, sha, page), None,
            {"Authorization": "token " + token})
        if status != 200:
            raise AssertionError("check runs: %s %r" % (status, data))
        for r in data["check_runs"]:
            runs[r["id"]] = r
        if len(data["check_runs"]) < 100:
            return runs
        page += 1


def job_times(p, sha):
    """job id -> (created, completed) from the stand-in's call log."""
    runs = all_runs(p, sha)
    created, completed = {}, {}
    for c in p.github.calls():
        path, body = c["path"], c.get("body") or {}
        if not path.startswith("/repos/%s/%s/check-runs" % (
                scenario.OWNER, scenario.REPO)) or c["status"] >= 300:
            continue
        if c["method"] == "POST" and body.get("external_id"):
            created.setdefault(body["external_id"], c["time"])
        elif c["method"] == "PATCH" and body.get("conclusion"):
            rid = int(path.rstrip("/").split("/")[-1])
            run = runs.get(rid)
            if run is not None and run.get("external_id"):
                completed.setdefault(run["external_id"], c["time"])
    return {j: (created.get(j), completed[j]) for j in completed}


def drained(p):
    """Whether every job was acknowledged and deleted from the stream,
    which a worker does once its completed callback was accepted (after
    the check run was completed).  Polls Redis, not the stand-in, so that
    its call log holds prscan's calls only."""
    return p.stream_len() == 0 and p.pending() == 0


def check_conclusions(p, sha, n):
    runs = [r for r in all_runs(p, sha).values() if r["name"] == "KICS"
            and r["status"] == "completed"]
    bad = [r["conclusion"] for r in runs if r["conclusion"] != "success"]
    if len(runs) != n or bad:
        raise AssertionError("expected %d successful KICS check runs, got "
                             "%d (not success: %r)" % (n, len(runs),
                                                       bad[:5]))


def step_name(c):
    """A call of the stand-in's log as a step of a job."""
    path = c["path"].split("?")[0]
    if path.endswith("/access_tokens"):
        return "installation token minted (POST access_tokens)"
    if path.endswith("/info/refs"):
        return "git: refs advertised (GET info/refs)"
    if path.endswith("/git-upload-pack"):
        return "git: pack sent (POST git-upload-pack)"
    if "/check-runs" in path and c["method"] == "POST":
        return "check run created (started callback)"
    if "/check-runs" in path and c["method"] == "PATCH":
        return "check run completed (PATCH)" if (c.get("body") or {}).get(
            "conclusion") else "check run updated (PATCH)"
    return "%s %s" % (c["method"], path)


def timeline(p, accepted, sent, t, scans):
    """Median time of each step after the 202, over jobs run one at a
    time (every call between a delivery's POST and its completion is that
    job's; a worker can start before the 202 reaches the client, so a
    step may come out at 0 or below)."""
    calls = p.github.calls()
    steps = {}
    for job, t202 in accepted.items():
        start, end = sent[job], t[job][1]
        seen = {}
        for c in calls:
            if start <= c["time"] <= end:
                name = step_name(c)
                if name in seen:
                    name += " (again)"
                seen[name] = c["time"] - t202
        for a, b in scans:
            if start <= a and b <= end:
                seen["scanner started"] = a - t202
                seen["scanner exited"] = b - t202
        for name, dt in seen.items():
            steps.setdefault(name, []).append(dt)
    return sorted(((statistics.median(v), k, len(v))
                   for k, v in steps.items()))


def one_at_a_time(n):
    case = BenchCase()
    try:
        p = pipeline(case, 1)
        sha = p.base_sha
        accepted, sent = {}, {}
        for pr in range(1, n + 1):
            p.set_pr(pr, sha)
            before = time.time()
            job = p.deliver(pr, sha)
            accepted[job] = time.time()
            sent[job] = before
            harness.wait_until(lambda: drained(p), 30, interval=0.005,
                               what="job %d to complete" % pr)
        check_conclusions(p, sha, n)
        t = job_times(p, sha)
        scans = scanner_times(p)
        e2e = [t[j][1] - accepted[j] for j in accepted]
        scan = [b - a for a, b in scans]
        return {"n": n, "e2e": e2e, "scan": scan,
                "service": [c - s for s, c in t.values() if s],
                "timeline": timeline(p, accepted, sent, t, scans)}
    finally:
        case.close()


def burst(n, replicas):
    case = BenchCase()
    try:
        p = pipeline(case, replicas)
        sha = p.base_sha
        for pr in range(1, n + 1):
            p.set_pr(pr, sha)
        # Let every replica reach its XREADGROUP before the burst.
        time.sleep(1.0)
        accepted = {}
        t0 = time.time()
        for pr in range(1, n + 1):
            job = p.deliver(pr, sha)
            accepted[job] = time.time()
        posted = time.time() - t0
        harness.wait_until(lambda: drained(p), BURST_TIMEOUT, interval=0.1,
                           what="%d jobs to complete" % n)
        check_conclusions(p, sha, n)
        t = job_times(p, sha)
        if set(t) != set(accepted):
            raise AssertionError("%d jobs accepted, %d completed" % (
                len(accepted), len(t)))
        drain = max(c for _, c in t.values()) - t0
        scans = scanner_times(p)
        if len(scans) != n:
            raise AssertionError("%d scans for %d jobs" % (len(scans), n))
        return {"n": n, "replicas": replicas, "posted": posted,
                "drain": drain,
                "e2e": [t[j][1] - accepted[j] for j in accepted],
                "service": [c - s for s, c in t.values()],
                "scan": [b - a for a, b in scans]}
    finally:
        case.close()


def ms(x):
    return "%.0f" % (x * 1000.0)


def main():
    if not os.access(os.path.join(harness.BIN_DIR, "prscan-api"), os.X_OK):
        sys.exit("pipeline.py: no prscan-api in %s (PRSCAN_BIN_DIR)"
                 % harness.BIN_DIR)
    print("scanner: tests/standins/kics with KICS_STANDIN_REPORT = the "
          "no-findings report, timed by bench/timed-scanner")
    if SEQ:
        r = one_at_a_time(SEQ)
        sp = pct(r["scan"], 50)
        print()
        print("one at a time, 1 replica, %d pull requests:" % r["n"])
        print("  202 -> completed: p50 %s ms, p95 %s ms; scanner p50 %s ms;"
              " overhead outside the scanner p50 %s ms" % (
                  ms(pct(r["e2e"], 50)), ms(pct(r["e2e"], 95)), ms(sp),
                  ms(pct(r["e2e"], 50) - sp)))
        print("  check run created -> completed: p50 %s ms" % ms(
            pct(r["service"], 50)))
        print("  where the time goes (median ms after the 202, as seen "
              "by the GitHub stand-in and the timed scanner):")
        for dt, name, count in r["timeline"]:
            print("    %6s  %s%s" % (ms(dt), name, "" if count == r["n"]
                                     else " (%d of %d jobs)" % (count,
                                                                r["n"])))
    print()
    print("| replicas | jobs | drain s | jobs/s | 202->completed p50 ms "
          "| p95 ms | created->completed p50 ms | scanner p50 ms "
          "| overhead p50 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in REPLICAS:
        r = burst(JOBS, n)
        sp = pct(r["scan"], 50)
        sv = pct(r["service"], 50)
        print("| %d | %d | %.1f | %.1f | %s | %s | %s | %s | %s |" % (
            n, r["n"], r["drain"], r["n"] / r["drain"],
            ms(pct(r["e2e"], 50)), ms(pct(r["e2e"], 95)), ms(sv), ms(sp),
            ms(sv - sp)), flush=True)
    print()
    print("202->completed includes queueing: all jobs are delivered at "
          "once (in about %.1f s); overhead = created->completed less the "
          "scanner's own time (both p50)." % r["posted"])


if __name__ == "__main__":
    main()
