"""A whole pipeline for worker scenarios: Redis, the GitHub stand-in, one
repository with pull requests, prscan-api and any number of KICS workers,
with short clocks and a log of every scan the KICS stand-in ran."""

import json
import os
import shutil
import subprocess
import tempfile

import harness

OWNER, REPO = "octo-org", "platform"
INPUTS = os.path.join(harness.SOURCE_DIR, "tests", "fixtures", "kics-inputs")
# Clocks short enough for a test, long enough for a 2-core machine.
FAST = {"CLAIM_MIN_IDLE_MS": "1500", "CLAIM_INTERVAL": "1",
        "LOG_LEVEL": "debug"}


class Pipeline:
    def __init__(self, case, workers=1, worker_env=None, api_env=None,
                 bd_workers=0, start=True):
        """start=False: no API and no worker yet (start_api, add_worker
        later), as when prscan is down."""
        self.case = case
        self.tmp = case.tmp
        self.redis = case.start_redis()
        self.github = case.start_github()
        self.scan_log = os.path.join(self.tmp, "scans.jsonl")
        self.bd_log = os.path.join(self.tmp, "detect-scans.jsonl")
        sources = [os.path.join(INPUTS, "dockerfile_missing_user_instruction")]
        if bd_workers:
            # A manifest, so that Black Duck's path patterns take the
            # pull request too.
            app = os.path.join(self.tmp, "pipeline-src", "app")
            os.makedirs(app)
            with open(os.path.join(app, "package.json"), "w") as f:
                f.write('{"name": "app", "version": "1.0.0"}\n')
            sources.append(app)
        self.base_sha = harness.make_repo(self.github, OWNER, REPO, sources)
        self.api_extra = {"SCANNERS": "kics,blackduck" if bd_workers
                          else "kics"}
        self.api_extra.update(api_env or {})
        self.api = None
        self.worker_env = dict(FAST)
        self.worker_env["KICS_STANDIN_LOG"] = self.scan_log
        self.worker_env.update(worker_env or {})
        self.workers = []
        if not start:
            return
        self.start_api()
        for i in range(workers):
            self.add_worker("kics-%d" % (i + 1))
        for i in range(bd_workers):
            self.add_bd_worker("blackduck-%d" % (i + 1))

    def start_api(self, port=None, webhook_secret=None,
                  callback_secret=None, wait=True):
        self.api = self.case.track(harness.api(
            self.tmp, self.redis, self.github, port=port,
            webhook_secret=webhook_secret or
            getattr(self.api, "webhook_secret", None),
            callback_secret=callback_secret or
            getattr(self.api, "callback_secret", None),
            wait=wait, **self.api_extra))
        return self.api

    def add_worker(self, consumer, **extra):
        env = dict(self.worker_env)
        env.update(extra)
        w = self.case.track(harness.kics_worker(
            self.tmp, self.api, self.redis, self.github, consumer=consumer,
            **env))
        self.workers.append(w)
        return w

    def add_bd_worker(self, consumer, **extra):
        env = dict(FAST)
        env["DETECT_STANDIN_LOG"] = self.bd_log
        env.update(extra)
        w = self.case.track(harness.blackduck_worker(
            self.tmp, self.api, self.redis, self.github, "bd-token-x1",
            consumer=consumer, **env))
        self.workers.append(w)
        return w

    def bare(self):
        return os.path.join(self.github.repos_dir, OWNER, REPO + ".git")

    def push(self, pr, note):
        """A new commit on the pull request's head; returns its sha."""
        work = tempfile.mkdtemp(prefix="prscan-push-")
        try:
            harness.git(["clone", "-q", self.bare(), work])
            harness.git(["checkout", "-q", "feature"], work)
            with open(os.path.join(work, "NOTES.md"), "a") as f:
                f.write(note + "\n")
            harness.git(["add", "-A"], work)
            harness.git(["commit", "-q", "-m", note], work)
            sha = harness.git(["rev-parse", "HEAD"], work).strip()
            harness.git(["push", "-q", "origin", "feature"], work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self.set_pr(pr, sha)
        return sha

    def set_pr(self, pr, sha):
        harness.git(["update-ref", "refs/pull/%d/head" % pr, sha],
                    self.bare())

    def deliver(self, pr, sha, action="opened", updated_at=None):
        ev = harness.pull_request_event(OWNER, REPO, sha, pr_number=pr,
                                        action=action,
                                        updated_at=updated_at)
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.case.assertEqual(status, 202, body)
        return body.get("job_id")

    def runs(self, sha, name="KICS"):
        return [r for r in self.github.check_runs(OWNER, REPO, sha)
                if r["name"] == name]

    def completed(self, sha, name="KICS"):
        return [r for r in self.runs(sha, name)
                if r["status"] == "completed"]

    def scans(self, log=None):
        """One entry per run the KICS (or Detect) stand-in saw."""
        try:
            with open(log or self.scan_log, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def bd_scans(self):
        return self.scans(self.bd_log)

    def pending(self, stream="worker-kics"):
        r = self.redis.client()
        try:
            return r.xpending(stream, "workers")["pending"]
        except Exception:  # the group may not exist yet
            return 0

    def stream_len(self, stream="worker-kics"):
        return self.redis.client().xlen(stream)


def run_git(args, cwd):
    return subprocess.run(["git"] + args, cwd=cwd, check=True,
                          capture_output=True, text=True).stdout
