#!/usr/bin/python3
"""prscan-api's POST /callback and POST /token, signed as a worker signs
them, against a real Redis and the GitHub stand-in.  Callbacks are
answered at once (202 queued, 200 for a repeat); the check runs follow
through the publisher, so the assertions wait for them."""

import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO = "octo-org", "infra"
SHA = "89abcdef0123456789abcdef0123456789abcdef"


FAST = {"GITHUB_WRITE_INTERVAL_MS": "0", "GITHUB_RETRY_BASE_MS": "200",
        "GITHUB_RETRY_MAX_MS": "1000"}


def finding(i, severity="HIGH"):
    return {"rule_id": "q-%d" % (i % 7), "rule_name": "Rule %d" % (i % 7),
            "severity": severity, "path": "main.tf", "line": i + 1,
            "description": "Something is wrong", "expected": "set",
            "actual": "unset"}


class Callback(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.start_api()

    def start_api(self, **extra):
        env = dict(FAST)
        env.update(extra)
        self.api = self.track(harness.api(self.tmp, self.redis, self.github,
                                          **env))
        ev = harness.pull_request_event(OWNER, REPO, SHA, installation=5)
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)
        self.job = body["job_id"]

    def send(self, path, body, secret=None, ts=None):
        raw = json.dumps(body).encode()
        ts = str(int(time.time()) if ts is None else ts)
        key = (secret or self.api.callback_secret).encode()
        sig = hmac.new(key, ts.encode() + b"." + raw,
                       hashlib.sha256).hexdigest()
        status, answer, _ = harness.http_request(
            self.api.url, "POST", path, raw,
            {"Content-Type": "application/json",
             "X-Prscan-Timestamp": ts,
             "X-Prscan-Signature": "sha256=" + sig})
        return status, answer

    def callback(self, state, **kw):
        body = {"job_id": self.job, "scanner": "kics", "state": state}
        body.update(kw)
        return self.send("/callback", body)

    def runs(self):
        return self.github.check_runs(OWNER, REPO, SHA)

    def wait_run(self, status, what=None):
        """The check run once it has status (all runs of SHA: one)."""
        def ready():
            runs = self.runs()
            return runs and runs[0]["status"] == status and runs[0]
        return harness.wait_until(ready, 20, what=what or
                                  "the check run to be " + status)

    def patches(self):
        """The PATCH calls that carried output (completion batches)."""
        return [c for c in self.github.calls() if c["method"] == "PATCH"
                and c["status"] == 200 and c["body"].get("output")]

    def test_signature_and_timestamp_are_checked(self):
        body = {"job_id": self.job, "scanner": "kics", "state": "started"}
        self.assertEqual(self.send("/callback", body, secret="nope")[0], 401)
        self.assertEqual(self.send("/callback", body,
                                   ts=int(time.time()) - 301)[0], 401)
        self.assertEqual(self.send("/callback", body,
                                   ts=int(time.time()) + 301)[0], 401)
        self.assertEqual(self.send("/token", body, secret="nope")[0], 401)
        status, _, _ = harness.http_request(self.api.url, "POST",
                                            "/callback", body)
        self.assertEqual(status, 401)
        # The fan-out made the check run queued; nothing moved it on.
        self.wait_run("queued")
        time.sleep(0.5)
        self.assertEqual([r["status"] for r in self.runs()], ["queued"])

    def test_bad_bodies_are_400_and_unknown_jobs_404(self):
        self.assertEqual(self.callback("finished")[0], 400)
        self.assertEqual(self.callback("completed")[0], 400)
        status, _ = self.send("/callback", {"job_id": "x" * 32,
                                            "scanner": "kics",
                                            "state": "started"})
        self.assertEqual(status, 400)
        status, body = self.send("/callback", {"job_id": "0" * 32,
                                               "scanner": "kics",
                                               "state": "started"})
        self.assertEqual(status, 404, body)
        status, _ = self.send("/callback", {"job_id": self.job,
                                            "scanner": "trivy",
                                            "state": "started"})
        self.assertEqual(status, 400)

    def test_started_twice_makes_one_in_progress_check_run(self):
        self.assertEqual(self.callback("started")[0], 202)
        self.assertEqual(self.callback("started")[0], 200)
        self.wait_run("in_progress")
        runs = self.runs()
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["status"], "in_progress")
        self.assertEqual(runs[0]["name"], "KICS")
        self.assertEqual(runs[0]["external_id"], self.job)
        self.assertIsNotNone(runs[0]["started_at"])

    def test_51_findings_complete_in_two_batches_once(self):
        self.callback("started")
        result = {"scanner_version": "2.1.3", "files_scanned": 3,
                  "duration_ms": 1200,
                  "findings": [finding(i) for i in range(51)]}
        status, body = self.callback("completed", result=result)
        self.assertEqual(status, 202, body)
        run = self.wait_run("completed")
        self.assertEqual(len(self.runs()), 1)
        self.assertEqual((run["status"], run["conclusion"]),
                         ("completed", "failure"))
        notes = self.github.annotations(OWNER, REPO, run["id"])
        self.assertEqual(len(notes), 51)
        self.assertEqual(len(self.patches()), 2)
        first = self.patches()[0]["body"]
        self.assertEqual(first["conclusion"], "failure")
        self.assertEqual(len(first["output"]["annotations"]), 50)
        # A repeated callback changes nothing.
        status, body = self.callback("completed", result=result)
        self.assertEqual(status, 200)
        self.assertTrue(body["already_completed"])
        time.sleep(0.5)
        self.assertEqual(len(self.patches()), 2)
        self.assertEqual(len(self.runs()), 1)

    def test_low_findings_succeed_and_scan_errors_fail(self):
        result = {"findings": [finding(1, "LOW"), finding(2, "MEDIUM")]}
        self.assertEqual(self.callback("completed", result=result)[0], 202)
        run = self.wait_run("completed")
        self.assertEqual(run["conclusion"], "success")
        self.assertEqual(len(self.runs()), 1)

    def test_scan_error_completes_as_failure_with_the_reason(self):
        self.callback("started")
        status, _ = self.callback("completed", error="KICS exited 126")
        self.assertEqual(status, 202)
        run = self.wait_run("completed")
        self.assertEqual(run["conclusion"], "failure")
        self.assertIn("KICS exited 126", run["output"]["title"])

    def test_cancelled_scan_completes_as_cancelled(self):
        self.callback("started")
        status, _ = self.callback("completed",
                                  cancelled="superseded by " + "f" * 40)
        self.assertEqual(status, 202)
        run = self.wait_run("completed")
        self.assertEqual((run["status"], run["conclusion"]),
                         ("completed", "cancelled"))
        self.assertIn("superseded", run["output"]["title"])

    def test_on_scan_error_neutral(self):
        self.api.stop()
        self.start_api(ON_SCAN_ERROR="neutral")
        self.callback("completed", error="KICS exited 126")

        def done():
            runs = [r for r in self.runs() if r["external_id"] == self.job]
            return runs and runs[0]["conclusion"] and runs[0]
        self.assertEqual(harness.wait_until(done, 20)["conclusion"],
                         "neutral")

    def test_github_errors_never_reach_the_worker_and_complete_once(self):
        self.callback("started")
        self.wait_run("in_progress")
        self.github.add_fault("/check-runs/", status=503, method="PATCH",
                              count=2)
        result = {"findings": [finding(i) for i in range(60)]}
        status, _ = self.callback("completed", result=result)
        self.assertEqual(status, 202)
        run = self.wait_run("completed")
        faults = [c for c in self.github.calls() if c.get("fault")]
        self.assertEqual(len(faults), 2)
        self.assertEqual(len(self.patches()), 2)
        self.assertEqual(len(self.github.annotations(OWNER, REPO,
                                                     run["id"])), 60)

    def test_token_is_refused_for_a_repository_github_does_not_know(self):
        status, body = self.send("/token", {"job_id": self.job,
                                            "scanner": "kics"})
        # A refusal is final (4xx), so the worker reports a failed scan
        # instead of retrying.
        self.assertEqual(status, 403)
        self.assertIn("not accessible", body["error"])

    def test_token_refused_for_a_replayed_callback_or_a_completed_scan(self):
        harness.make_repo(self.github, OWNER, REPO, [os.path.join(
            harness.SOURCE_DIR, "tests", "fixtures", "kics-inputs")])
        # A signed callback body sent to /token is not a token request.
        started = {"job_id": self.job, "scanner": "kics",
                   "state": "started"}
        status, body = self.send("/token", started)
        self.assertEqual(status, 400, body)
        self.assertIn("only job_id and scanner", body["error"])
        ask = {"job_id": self.job, "scanner": "kics"}
        self.assertEqual(self.send("/token", ask)[0], 200)
        self.assertEqual(self.callback("completed", error="boom")[0], 202)
        status, body = self.send("/token", ask)
        self.assertEqual(status, 409, body)
        self.assertIn("already completed", body["error"])
        self.assertNotIn("token", body)

    def test_token_is_scoped_to_the_repository(self):
        harness.make_repo(self.github, OWNER, REPO, [os.path.join(
            harness.SOURCE_DIR, "tests", "fixtures", "kics-inputs")])
        status, body = self.send("/token", {"job_id": self.job,
                                            "scanner": "kics"})
        self.assertEqual(status, 200, body)
        token = body["token"]
        self.assertTrue(token.startswith("ghs_"))
        call = [c for c in self.github.calls()
                if c["path"] == "/app/installations/5/access_tokens"
                and c["body"]][-1]
        self.assertEqual(call["body"], {"repositories": [REPO],
                                        "permissions": {"contents": "read"}})
        # The scoped token cannot write check runs.
        status, _, _ = harness.http_request(
            self.github.url, "POST", "/repos/%s/%s/check-runs" % (OWNER,
                                                                  REPO),
            {"name": "x", "head_sha": SHA},
            {"Authorization": "Bearer " + token})
        self.assertEqual(status, 403)
        self.assertNotIn(token, self.api.log_text())


if __name__ == "__main__":
    harness.main()
