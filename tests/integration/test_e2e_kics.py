#!/usr/bin/python3
"""End to end: the real pull request delivery, replayed by
scripts/post-pr-opened.sh, becomes a completed KICS check run with
annotations on the right files and lines."""

import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO, PR, INSTALLATION = "Codertocat", "Hello-World", 2, 42
INPUTS = os.path.join(harness.SOURCE_DIR, "tests", "fixtures",
                      "kics-inputs")
LEVELS = {"CRITICAL": "failure", "HIGH": "failure", "MEDIUM": "warning",
          "LOW": "notice", "INFO": "notice", "TRACE": "notice"}


def expected_annotations():
    """(path, line, level) of every finding the KICS inputs declare."""
    want = set()
    for f in glob.glob(os.path.join(INPUTS, "*",
                                    "positive_expected_result.json")):
        folder = os.path.basename(os.path.dirname(f))
        with open(f, encoding="utf-8") as fh:
            for e in json.load(fh):
                name = e.get("fileName") or e.get("filename")
                want.add(("%s/%s" % (folder, name), e["line"],
                          LEVELS[e["severity"]]))
    return want


class EndToEnd(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        dirs = sorted(glob.glob(os.path.join(INPUTS, "*")))
        self.sha = harness.make_repo(self.github, OWNER, REPO, dirs,
                                     pr_number=PR)
        self.api = self.track(harness.api(self.tmp, self.redis,
                                          self.github))

    def start_worker(self, **extra):
        self.worker = self.track(harness.kics_worker(
            self.tmp, self.api, self.redis, self.github, **extra))

    def replay(self, delivery):
        env = dict(os.environ, GITHUB_WEBHOOK_SECRET=self.api.webhook_secret,
                   OWNER=OWNER, REPO=REPO, HEAD_SHA=self.sha,
                   PR_NUMBER=str(PR), DELIVERY=delivery)
        script = os.path.join(harness.SOURCE_DIR, "scripts",
                              "post-pr-opened.sh")
        out = subprocess.run([script, self.api.url + "/webhook"], env=env,
                             capture_output=True, text=True, check=False)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout

    def kics_runs(self):
        return [r for r in self.github.check_runs(OWNER, REPO, self.sha)
                if r["name"] == "KICS"]

    def completed(self):
        runs = self.kics_runs()
        return runs if runs and runs[0]["status"] == "completed" else None

    def test_pull_request_becomes_a_completed_kics_check_run(self):
        self.start_worker()
        answer = self.replay("e2e-0001")
        self.assertIn("HTTP 202", answer)
        job_id = json.loads(answer.split(" ", 2)[2])["job_id"]
        harness.wait_until(self.completed, 60,
                           what="the KICS check run to complete")
        runs = self.kics_runs()
        self.assertEqual(len(runs), 1)
        run = runs[0]
        self.assertEqual(run["conclusion"], "failure")
        self.assertEqual(run["external_id"], job_id)
        self.assertEqual(run["head_sha"], self.sha)
        self.assertIsNotNone(run["completed_at"])
        self.assertIn("high", run["output"]["title"].lower())
        notes = self.github.annotations(OWNER, REPO, run["id"])
        got = {(a["path"], a["start_line"], a["annotation_level"])
               for a in notes}
        self.assertEqual(got, expected_annotations())
        self.assertEqual(len(notes), len(expected_annotations()))
        for a in notes:
            self.assertEqual(a["start_line"], a["end_line"])
            self.assertTrue(a["title"])
            self.assertTrue(a["message"])

        # The scan asked for a token of this repository, contents:read.
        tokens = [c for c in self.github.calls()
                  if c["path"].endswith("/access_tokens")
                  and c.get("body") and c["body"].get("repositories")]
        self.assertEqual(len(tokens), 1)
        self.assertEqual(tokens[0]["body"]["repositories"], [REPO])
        self.assertEqual(tokens[0]["body"]["permissions"],
                         {"contents": "read"})

        # The entry is acknowledged and deleted, the workspace removed.
        r = self.redis.client()
        harness.wait_until(lambda: r.xlen("worker-kics") == 0, 10,
                           what="the stream entry to be deleted")
        self.assertEqual(r.xpending("worker-kics", "workers")["pending"], 0)
        self.assertEqual(os.listdir(self.worker.work_dir), [])

        # GitHub redelivers: nothing new happens.
        self.assertIn("duplicate", self.replay("e2e-0001"))
        self.assertEqual(len(self.kics_runs()), 1)
        log = self.worker.log_text() + self.api.log_text()
        self.assertIn("job=" + job_id, self.worker.log_text())
        self.assertNotIn(self.api.callback_secret, log)
        self.assertNotIn(self.api.webhook_secret, log)

    def test_kics_engine_error_completes_as_a_failed_scan(self):
        self.start_worker(KICS_STANDIN_EXIT="126")
        self.replay("e2e-0002")
        harness.wait_until(self.completed, 60,
                           what="the KICS check run to complete")
        run = self.kics_runs()[0]
        self.assertEqual(run["conclusion"], "failure")
        self.assertIn("KICS exited 126", run["output"]["title"])
        self.assertEqual(self.github.annotations(OWNER, REPO, run["id"]), [])
        self.assertEqual(os.listdir(self.worker.work_dir), [])


if __name__ == "__main__":
    harness.main()
