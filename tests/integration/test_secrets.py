#!/usr/bin/python3
"""Secrets stay secret: with known values for every secret (read from
files, as Docker secrets are), a pull request goes through KICS and Black
Duck and a scan is fanned out by hand.  While the scanners run, their
command lines hold no secret, KICS's environment none either, Detect's
only its token.  At the end the harness's secret audit reads every daemon
log, every Redis key and value and the scanners' logged argv for these
values and every installation token the GitHub stand-in issued."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO, PR = "octo-org", "platform", 4
INPUTS = os.path.join(harness.FIXTURES, "kics-inputs")
WEBHOOK = "whsec-known-4f0c2a9e71d35b86"
CALLBACK = "cbsec-known-d81e6b0c5a4f3927"
ADMIN = "admin-known-7c5e19a0b2d4f638"
BD_TOKEN = "bdtok-known-93a1c7e5f0b24d68"
PACKAGE_JSON = '{\n  "dependencies": {\n    "snakeyaml": "1.30"\n  }\n}\n'


class Secrets(harness.Case):
    def secret_file(self, name, value):
        path = os.path.join(self.tmp, "secret-" + name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        return path

    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        app = os.path.join(self.tmp, "src", "app")
        os.makedirs(app)
        with open(os.path.join(app, "package.json"), "w") as f:
            f.write(PACKAGE_JSON)
        self.sha = harness.make_repo(
            self.github, OWNER, REPO,
            [os.path.join(INPUTS, "dockerfile_missing_user_instruction"),
             app], pr_number=PR)
        self.api = self.track(harness.api(
            self.tmp, self.redis, self.github, webhook_secret=WEBHOOK,
            callback_secret=CALLBACK, SCANNERS="kics,blackduck",
            GITHUB_WEBHOOK_SECRET=None, CALLBACK_SECRET=None,
            REDIS_PASSWORD=None,
            GITHUB_WEBHOOK_SECRET_FILE=self.secret_file("hook", WEBHOOK),
            CALLBACK_SECRET_FILE=self.secret_file("cb", CALLBACK),
            REDIS_PASSWORD_FILE=self.secret_file("redis",
                                                 self.redis.password),
            ADMIN_TOKEN_FILE=self.secret_file("admin", ADMIN)))
        self.kics_log = os.path.join(self.tmp, "kics-calls.jsonl")
        self.detect_log = os.path.join(self.tmp, "detect-calls.jsonl")
        files = {"CALLBACK_SECRET": None, "REDIS_PASSWORD": None,
                 "CALLBACK_SECRET_FILE": self.secret_file("cb", CALLBACK),
                 "REDIS_PASSWORD_FILE": self.secret_file(
                     "redis", self.redis.password)}
        self.kics = self.track(harness.kics_worker(
            self.tmp, self.api, self.redis, self.github,
            KICS_STANDIN_LOG=self.kics_log, KICS_STANDIN_SLEEP=3, **files))
        self.bd = self.track(harness.blackduck_worker(
            self.tmp, self.api, self.redis, self.github, BD_TOKEN,
            DETECT_STANDIN_LOG=self.detect_log, DETECT_STANDIN_SLEEP=3,
            BLACKDUCK_API_TOKEN=None,
            BLACKDUCK_API_TOKEN_FILE=self.secret_file("bd", BD_TOKEN),
            **files))
        self.all = (WEBHOOK, CALLBACK, ADMIN, BD_TOKEN, self.redis.password)

    def running_scanner(self, log):
        """(cmdline, environ) of the scanner the stand-in log names, read
        while it sleeps."""
        def pid():
            with open(log, encoding="utf-8") as f:
                return json.loads(f.readline())["pid"]
        p = harness.wait_until(pid, 30, what="a scanner to start (%s)"
                               % os.path.basename(log))
        with open("/proc/%d/cmdline" % p, "rb") as f:
            cmdline = f.read().decode("utf-8", "replace")
        with open("/proc/%d/environ" % p, "rb") as f:
            environ = f.read().decode("utf-8", "replace")
        return cmdline, environ

    def completed(self, name):
        runs = [r for r in self.github.check_runs(OWNER, REPO, self.sha)
                if r["name"] == name and r["status"] == "completed"]
        return runs

    def test_no_secret_leaks_through_a_whole_scan(self):
        ev = harness.pull_request_event(OWNER, REPO, self.sha, PR)
        status, body = harness.post_webhook(self.api.url, ev, WEBHOOK)
        self.assertEqual(status, 202, body)

        cmdline, environ = self.running_scanner(self.kics_log)
        self.assertIn("scan", cmdline)
        for s in self.all:
            self.assertNotIn(s, cmdline)
            self.assertNotIn(s, environ)
        cmdline, environ = self.running_scanner(self.detect_log)
        self.assertIn("--detect.blackduck.scan.mode=RAPID", cmdline)
        for s in self.all:
            self.assertNotIn(s, cmdline)
        self.assertIn("BLACKDUCK_API_TOKEN=" + BD_TOKEN, environ.split(
            "\0"))
        for s in (WEBHOOK, CALLBACK, ADMIN, self.redis.password):
            self.assertNotIn(s, environ)
        # The daemons were given their secrets in files, not arguments.
        for d in (self.api, self.kics, self.bd):
            with open("/proc/%d/cmdline" % d.proc.pid, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for s in self.all:
                self.assertNotIn(s, text)

        harness.wait_until(lambda: self.completed("KICS") and
                           self.completed("Black Duck"), 60,
                           what="both check runs to complete")
        self.assertEqual(self.completed("KICS")[0]["conclusion"],
                         "failure")
        # The workers cloned with installation tokens the API minted.
        minted = [c for c in self.github.calls()
                  if c["path"].endswith("/access_tokens")]
        self.assertGreaterEqual(len(minted), 2)

        status, data, _ = harness.http_request(
            self.api.url, "POST", "/fanout",
            {"owner": OWNER, "repo": REPO, "pr_number": PR,
             "head_sha": self.sha, "head_ref": "feature",
             "base_ref": "main", "installation_id": 1},
            {"Authorization": "Bearer " + ADMIN})
        self.assertEqual(status, 202, data)
        harness.wait_until(lambda: len(self.completed("KICS")) == 2, 60,
                           what="the fanned-out scan to complete")
        # The audit runs at cleanup; run it here too, to fail here.
        self.kics.stop()
        self.bd.stop()
        self.api.stop()
        self.audit.read_github(self.github)
        self.audit.read_redis(self.redis)
        self.audit.check()
        self.assertIn(ADMIN, self.audit.secrets)
        self.assertIn(BD_TOKEN, self.audit.secrets)
        self.assertTrue(any(label == "an installation token"
                            for label in self.audit.secrets.values()))

    def test_the_audit_finds_a_planted_secret(self):
        planted = "0ddba11-" + os.urandom(8).hex()     # a delivery id
        audit = harness.SecretAudit(len(harness._PROCESSES))
        audit.add(planted, "the planted secret")
        r = self.redis.client()
        r.xadd("planted-stream", {"field": "x" + planted + "y"})
        audit.read_redis(self.redis)
        with self.assertRaises(AssertionError) as cm:
            audit.check()
        self.assertIn("the planted secret in Redis", str(cm.exception))
        self.assertNotIn(planted, str(cm.exception))

        # A daemon's log: the API logs the delivery id it was given.
        audit = harness.SecretAudit(harness._PROCESSES.index(self.api))
        audit.add(planted, "the planted secret")
        harness.post_webhook(self.api.url, {}, WEBHOOK, event="push",
                             delivery=planted)
        harness.wait_until(lambda: planted in self.api.log_text(), 5,
                           what="the delivery id in the log")
        with self.assertRaises(AssertionError) as cm:
            audit.check()
        self.assertIn("the planted secret in the log of prscan-api",
                      str(cm.exception))
        r.delete("planted-stream")


if __name__ == "__main__":
    harness.main()
