"""Shared by the check run scenarios: an API with fast GitHub clocks, a
pull request delivered to it, and callbacks signed as a worker signs
them."""

import hashlib
import hmac
import json
import time

import harness

OWNER, REPO = "octo-org", "checks"
# GitHub's clocks, shortened: no spacing between writes, backoff from
# 200 ms to 1 s, a rate limit without hints waits 1 s.
FAST = {"GITHUB_WRITE_INTERVAL_MS": "0", "GITHUB_RETRY_BASE_MS": "200",
        "GITHUB_RETRY_MAX_MS": "1000", "GITHUB_RATE_LIMIT_WAIT_MS": "1000",
        "GITHUB_TIMEOUT_MS": "2000"}


def finding(i, severity="HIGH", path="main.tf", name=None):
    return {"rule_id": "q-%d" % i, "rule_name": name or "Rule %d" % i,
            "severity": severity, "path": path, "line": i + 1,
            "description": "Something is wrong", "expected": "set",
            "actual": "unset"}


class Setup:
    """Redis, the stand-in and the API for case; pr() delivers."""

    def __init__(self, case, **api_env):
        self.case = case
        self.redis = case.start_redis()
        self.github = case.start_github()
        env = dict(FAST)
        env.update(api_env)
        self.api = case.track(harness.api(case.tmp, self.redis, self.github,
                                          **env))

    def pr(self, sha, number=1, installation=7):
        ev = harness.pull_request_event(OWNER, REPO, sha, pr_number=number,
                                        installation=installation)
        t0 = time.monotonic()
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.case.assertEqual(status, 202, body)
        return body["job_id"], time.monotonic() - t0

    def callback(self, job, state, scanner="kics", **kw):
        body = {"job_id": job, "scanner": scanner, "state": state}
        body.update(kw)
        raw = json.dumps(body).encode()
        ts = str(int(time.time()))
        sig = hmac.new(self.api.callback_secret.encode(),
                       ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        status, answer, _ = harness.http_request(
            self.api.url, "POST", "/callback", raw,
            {"Content-Type": "application/json", "X-Prscan-Timestamp": ts,
             "X-Prscan-Signature": "sha256=" + sig})
        return status, answer

    def runs(self, sha):
        return self.github.check_runs(OWNER, REPO, sha)

    def wait_runs(self, sha, pred, timeout=30, what="check runs"):
        def ready():
            runs = self.runs(sha)
            return pred(runs) and runs
        return harness.wait_until(ready, timeout, interval=0.1, what=what)

    def batches(self, run_id):
        """The PATCH calls that carried output to run_id, in order."""
        return [c for c in self.github.calls()
                if c["method"] == "PATCH" and c["status"] == 200
                and c["path"].endswith("/check-runs/%d" % run_id)
                and (c["body"] or {}).get("output")]
