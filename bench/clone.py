#!/usr/bin/python3
"""Clone speed: prscan's libgit2 clone (bench/clone_bench, i.e.
prs_git_fetch_checkout) against `git clone`, of one repository of FILES
(5000) files served by the GitHub stand-in over smart HTTP with an
installation token, timed by hyperfine.  Run by bench/clone.sh.

Environment: CLONE_BENCH (the built clone_bench), FILES (5000), RUNS (10).
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402

FILES = int(os.environ.get("FILES") or 5000)
RUNS = int(os.environ.get("RUNS") or 10)
OWNER, REPO = "octo-org", "big"
WORDS = ("resource", "aws_s3_bucket", "ingress", "egress", "cidr_blocks",
         "0.0.0.0/0", "encrypted", "true", "false", "tags", "name",
         "image", "FROM", "RUN", "apiVersion", "kind", "metadata", "spec")


def make_big_repo(standin):
    """A bare repository of FILES text files in 100 directories (about
    1 KiB each, seeded pseudo-random), main plus refs/pull/1/head."""
    rnd = random.Random(5000)
    work = tempfile.mkdtemp(prefix="prscan-bench-big-")
    try:
        harness.git(["init", "-q", "-b", "main", work])
        for i in range(FILES):
            d = os.path.join(work, "module-%02d" % (i % 100))
            os.makedirs(d, exist_ok=True)
            lines = [" ".join(rnd.choice(WORDS) for _ in range(8))
                     for _ in range(20)]
            with open(os.path.join(d, "file-%04d.tf" % i), "w") as f:
                f.write("# file %d\n%s\n" % (i, "\n".join(lines)))
        harness.git(["add", "-A"], work)
        harness.git(["commit", "-q", "-m", "%d files" % FILES], work)
        sha = harness.git(["rev-parse", "HEAD"], work).strip()
        bare = os.path.join(standin.repos_dir, OWNER, REPO + ".git")
        os.makedirs(os.path.dirname(bare), exist_ok=True)
        harness.git(["clone", "-q", "--bare", work, bare])
        harness.git(["update-ref", "refs/pull/1/head", sha], bare)
        size = sum(os.path.getsize(os.path.join(dp, f))
                   for dp, _, fs in os.walk(bare) for f in fs)
        return sha, size
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    tool = os.environ.get("CLONE_BENCH")
    if not tool or not os.access(tool, os.X_OK):
        sys.exit("clone.py: set CLONE_BENCH to the built clone_bench")
    tmp = harness.make_tmp("prscan-bench-clone-")
    standin = None
    try:
        standin = harness.GitHubStandin(tmp)
        sha, size = make_big_repo(standin)
        url = "%s/%s/%s.git" % (standin.url, OWNER, REPO)
        env = dict(os.environ)
        # The token reaches both clients through the environment only:
        # libgit2's credentials callback, and for git a credential helper
        # that reads the variable.
        env["CLONE_TOKEN"] = standin.mint_token(
            repositories=[REPO], permissions={"contents": "read"})
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_CONFIG_GLOBAL"] = "/dev/null"
        env["GIT_CONFIG_COUNT"] = "1"
        env["GIT_CONFIG_KEY_0"] = "credential.helper"
        env["GIT_CONFIG_VALUE_0"] = (
            '!f() { echo username=x-access-token; '
            'echo "password=$CLONE_TOKEN"; }; f')
        dest = os.path.join(tmp, "dest")
        out = os.path.join(tmp, "hyperfine.json")
        cmd = ["hyperfine", "--style", "basic", "--warmup", "1",
               "--runs", str(RUNS), "--prepare", "rm -rf " + dest,
               "--export-json", out,
               "-n", "libgit2 (prs_git_fetch_checkout)",
               "%s %s %s 1 %s" % (tool, url, sha, dest),
               "-n", "git clone",
               "git clone -q %s %s" % (url, dest)]
        subprocess.run(cmd, env=env, check=True, stdout=sys.stderr)
        # The last clone must hold every file.
        n = sum(len(fs) for dp, _, fs in os.walk(dest)
                if "/.git" not in dp + "/")
        if n != FILES + 0:
            raise AssertionError("clone holds %d files, not %d" % (n, FILES))
        with open(out) as f:
            res = json.load(f)["results"]
        print("repository: %d files, bare %.1f MiB, served by the GitHub "
              "stand-in (git http-backend) on loopback with a token"
              % (FILES, size / 1048576.0))
        print()
        print("| client | mean s | sd s | min s | max s | runs |")
        print("|---|---|---|---|---|---|")
        for r in res:
            print("| %s | %.3f | %.3f | %.3f | %.3f | %d |" % (
                r["command"], r["mean"], r["stddev"] or 0, r["min"],
                r["max"], len(r["times"])))
        lg, gc = res[0]["mean"], res[1]["mean"]
        print()
        print("libgit2 / git clone: %.2fx the time (%s)" % (
            lg / gc, "slower" if lg > gc else "faster"))
    finally:
        if standin is not None:
            standin.stop()
        harness.remove_tmp(tmp)


if __name__ == "__main__":
    main()
