#!/usr/bin/python3
"""The whole pipeline, locally, on the real pull request fixture.

Starts a private redis-server (AOF, password), the GitHub stand-in (REST
API and git over smart HTTP), prscan-api and prscan-worker-kics with the
KICS stand-in; builds a repository whose pull request head holds the KICS
query inputs; replays scripts/fixtures/pr-opened.json through
scripts/post-pr-opened.sh; waits for the KICS check run to complete and
prints it.  Exits 0 when the check run completed.
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402

OWNER, REPO, PR = "Codertocat", "Hello-World", 2
INSTALLATION = 42
INPUTS = os.path.join(ROOT, "tests", "fixtures", "kics-inputs")


def replay(api, sha):
    env = dict(os.environ, GITHUB_WEBHOOK_SECRET=api.webhook_secret,
               OWNER=OWNER, REPO=REPO, HEAD_SHA=sha, PR_NUMBER=str(PR),
               INSTALLATION_ID=str(INSTALLATION))
    out = subprocess.run([os.path.join(HERE, "post-pr-opened.sh"),
                          api.url + "/webhook"], env=env, text=True,
                         capture_output=True, check=False)
    print("webhook: " + (out.stdout.strip() or out.stderr.strip()))
    if out.returncode != 0:
        raise SystemExit("the API did not accept the delivery")


def completed_run(standin, sha):
    for run in standin.check_runs(OWNER, REPO, sha):
        if run["name"] == "KICS" and run["status"] == "completed":
            return run
    return None


def show(standin, run):
    out = run.get("output") or {}
    print("\ncheck run %s  %s: %s / %s" % (run["id"], run["name"],
                                           run["status"], run["conclusion"]))
    print("title: %s\n" % out.get("title"))
    print(out.get("summary", ""))
    notes = standin.annotations(OWNER, REPO, run["id"])
    print("\n%d annotations:" % len(notes))
    for a in notes:
        print("  %-10s %s:%d  %s" % (a["annotation_level"], a["path"],
                                     a["start_line"], a["title"]))


def main():
    tmp = harness.make_tmp("prscan-demo-")
    procs = []
    try:
        redis = harness.Redis(tmp)
        procs.append(redis)
        standin = harness.GitHubStandin(tmp)
        procs.append(standin)
        dirs = sorted(os.path.join(INPUTS, d) for d in os.listdir(INPUTS))
        sha = harness.make_repo(standin, OWNER, REPO, dirs, pr_number=PR)
        print("pull request #%d of %s/%s, head %s" % (PR, OWNER, REPO, sha))
        api = harness.api(tmp, redis, standin)
        procs.append(api)
        procs.append(harness.kics_worker(tmp, api, redis, standin))
        replay(api, sha)
        start = time.time()
        harness.wait_until(lambda: completed_run(standin, sha), 60,
                           what="the KICS check run to complete")
        print("completed in %.1f s" % (time.time() - start))
        show(standin, completed_run(standin, sha))
        return 0
    except BaseException:
        harness.dump_logs(procs)
        raise
    finally:
        for p in reversed(procs):
            p.stop()
        if not os.environ.get("PRSCAN_KEEP_TMP"):
            harness.remove_tmp(tmp)


if __name__ == "__main__":
    sys.exit(main())
