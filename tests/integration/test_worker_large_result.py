#!/usr/bin/python3
"""A scan with more findings than a callback can carry.  With
CALLBACK_MAX_BYTES the worker sends the most severe findings that fit
and the count of those left out, which the check run's title and summary
show.  When the API refuses a callback anyway (here a result over its
25 MiB body limit, CALLBACK_MAX_BYTES set above it), the check run still
completes as failed with the reason, and the dead letter keeps the job
whole so that prscanctl lists and replays it."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctltool  # noqa: E402
import harness  # noqa: E402

OWNER, REPO = "octo", "large"
DEAD = "worker-kics:dead"
INPUT = os.path.join(harness.FIXTURES, "kics-inputs",
                     "dockerfile_missing_user_instruction")


def report(path, count, value_bytes):
    """A KICS report with count findings, one HIGH query first in the
    report's order but listed last, the rest LOW."""
    value = "v" * value_bytes
    files = [{"file_name": "README.md", "line": 1,
              "similarity_id": "%064x" % i, "issue_type": "IncorrectValue",
              "search_key": "k%d" % i, "expected_value": value,
              "actual_value": value} for i in range(count - 1)]
    queries = [
        {"query_name": "Many low", "query_id": "low-1", "severity": "LOW",
         "platform": "Dockerfile", "category": "Best Practices",
         "description": "a low finding", "files": files},
        {"query_name": "One high", "query_id": "high-1",
         "severity": "HIGH", "platform": "Dockerfile",
         "category": "Access Control", "description": "the high one",
         "files": [{"file_name": "README.md", "line": 1,
                    "similarity_id": "f" * 64,
                    "issue_type": "MissingAttribute", "search_key": "h",
                    "expected_value": "x", "actual_value": "y"}]}]
    with open(path, "w") as f:
        json.dump({"kics_version": "v1.7.13", "files_scanned": 1,
                   "queries": queries, "total_counter": count}, f)


class LargeResult(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.sha = harness.make_repo(self.github, OWNER, REPO, [INPUT])
        self.api = self.track(harness.api(self.tmp, self.redis,
                                          self.github))
        self.r = self.redis.client()

    def scan(self, count, value_bytes, **env):
        path = os.path.join(self.tmp, "report.json")
        report(path, count, value_bytes)
        self.worker = self.track(harness.kics_worker(
            self.tmp, self.api, self.redis, self.github,
            KICS_STANDIN_REPORT=path, **env))
        ev = harness.pull_request_event(OWNER, REPO, self.sha)
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)

        def done():
            runs = [c for c in self.github.check_runs(OWNER, REPO, self.sha)
                    if c["name"] == "KICS"]
            return runs[0] if runs and runs[0]["status"] == "completed" \
                else None
        return body["job_id"], harness.wait_until(
            done, 30, what="the KICS check run to complete")

    def test_findings_over_the_budget_are_counted_not_lost(self):
        job, run = self.scan(2000, 400, CALLBACK_MAX_BYTES=200000)
        self.assertEqual(run["conclusion"], "failure")
        title = run["output"]["title"]
        self.assertTrue(title.startswith("1 high, "), title)
        sent = int(title.split(", ")[1].split()[0]) + 1
        self.assertTrue(100 < sent < 2000, title)
        self.assertIn("(%d more not reported)" % (2000 - sent), title)
        self.assertIn("%d more findings are not reported" % (2000 - sent),
                      run["output"]["summary"])
        self.assertIn("findings left out of the callback",
                      self.worker.log_text())
        self.assertEqual(self.r.xlen(DEAD), 0)

    def test_a_refused_callback_fails_the_check_run_and_can_be_replayed(self):
        job, run = self.scan(30000, 450, CALLBACK_MAX_BYTES=64 << 20)
        self.assertEqual(run["conclusion"], "failure")
        self.assertIn("Scan failed", run["output"]["title"])
        self.assertIn("HTTP 413", json.dumps(run["output"]))
        log = self.worker.log_text()
        self.assertIn("job rejected by the API", log)

        dead = self.r.xrange(DEAD)
        self.assertEqual(len(dead), 1)
        self.assertEqual(json.loads(dead[0][1]["job"])["job_id"], job)
        self.assertIn("HTTP 413", dead[0][1]["reason"])
        code, out, err = ctltool.run(["dead", "list"],
                                     ctltool.env_for(self.redis))
        self.assertEqual(code, 0, err)
        self.assertIn("%s/%s#1" % (OWNER, REPO), out)
        self.worker.kill9()
        code, out, err = ctltool.run(["dead", "replay", dead[0][0]],
                                     ctltool.env_for(self.redis))
        self.assertEqual(code, 0, out + err)
        self.assertIn("replayed %s as worker-kics" % dead[0][0], out)
        self.assertEqual(self.r.xlen("worker-kics"), 1)


if __name__ == "__main__":
    harness.main()
