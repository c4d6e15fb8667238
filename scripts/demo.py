#!/usr/bin/python3
"""The whole pipeline, locally, on the real pull request fixture.

Starts a private redis-server (AOF, password), the GitHub stand-in (REST
API and git over smart HTTP), prscan-api, prscan-worker-kics with the
KICS stand-in and prscan-worker-sarif running Debian's flawfinder; builds
a repository whose pull request head holds the KICS query inputs and a
small C program; replays scripts/fixtures/pr-opened.json through
scripts/post-pr-opened.sh; waits for the KICS and Flawfinder check runs to
complete and prints them.  Exits 0 when both completed.
"""

import json
import os
import shutil
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
CHECKS = ("KICS", "Flawfinder")

# The C program flawfinder looks at: a fixed buffer, strcpy, system.
APP_C = """#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
\tchar name[16];

\tif (argc < 2)
\t\treturn 1;
\tstrcpy(name, argv[1]);
\treturn system(name);
}
"""


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


def completed_run(standin, sha, name):
    for run in standin.check_runs(OWNER, REPO, sha):
        if run["name"] == name and run["status"] == "completed":
            return run
    return None


def c_sources(tmp):
    """A directory csrc/ holding the C program."""
    path = os.path.join(tmp, "csrc")
    os.makedirs(path)
    with open(os.path.join(path, "app.c"), "w") as f:
        f.write(APP_C)
    return path


def flawfinder_worker(tmp, api, redis, standin):
    """prscan-worker-sarif running flawfinder, its SARIF on stdout."""
    work = os.path.join(tmp, "work-flawfinder")
    os.makedirs(work)
    env = {"SCANNER_NAME": "flawfinder",
           "SCANNER_CMD": "flawfinder --sarif {source}",
           "API_URL": api.url, "CALLBACK_SECRET": api.callback_secret,
           "REDIS_HOST": "127.0.0.1", "REDIS_PORT": redis.port,
           "REDIS_PASSWORD": redis.password,
           "GITHUB_SERVER_URL": standin.url, "WORK_DIR": work,
           "STATUS_PORT": harness.free_port()}
    return harness.Daemon("prscan-worker-sarif", env, tmp)


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
        if shutil.which("flawfinder") is None:
            raise SystemExit("flawfinder is missing: scripts/install-deps.sh")
        dirs = sorted(os.path.join(INPUTS, d) for d in os.listdir(INPUTS))
        dirs.append(c_sources(tmp))
        sha = harness.make_repo(standin, OWNER, REPO, dirs, pr_number=PR)
        print("pull request #%d of %s/%s, head %s" % (PR, OWNER, REPO, sha))
        api = harness.api(tmp, redis, standin, SCANNERS="kics,flawfinder",
                          CHECK_NAMES="flawfinder=Flawfinder")
        procs.append(api)
        procs.append(harness.kics_worker(tmp, api, redis, standin))
        procs.append(flawfinder_worker(tmp, api, redis, standin))
        replay(api, sha)
        start = time.time()
        harness.wait_until(lambda: all(completed_run(standin, sha, c)
                                       for c in CHECKS), 60,
                           what="the KICS and Flawfinder check runs")
        print("completed in %.1f s" % (time.time() - start))
        for name in CHECKS:
            show(standin, completed_run(standin, sha, name))
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
