#!/usr/bin/python3
"""Start-up configuration: a missing or malformed value stops a daemon
with one clear line naming the variable; secrets come from NAME or
NAME_FILE, the App key as a PEM file or base64 of it."""

import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

HOOK = "hook-secret-0123456789"


class Config(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()

    def api_env(self, **changes):
        env = harness.api_env(self.redis, self.github, harness.free_port(),
                              HOOK, "cb-secret-0123456789")
        for k, v in changes.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def refused(self, binary, env, variable):
        d = harness.Daemon(binary, env, self.tmp)
        harness.wait_until(lambda: not d.alive(), 10,
                           what="%s to stop" % binary)
        self.assertEqual(d.proc.returncode, 2)
        lines = [ln for ln in d.log_text().splitlines() if ln.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("level=fatal", lines[0])
        self.assertIn(variable, lines[0])
        return lines[0]

    def started(self, env):
        d = self.track(harness.Daemon("prscan-api", env, self.tmp))
        d.url = "http://127.0.0.1:%s" % env["PORT"]
        d.wait_http(d.url + "/status")
        status, body, _ = harness.http_request(d.url, "GET", "/status")
        self.assertEqual((status, body["redis"]), (200, "ok"))
        return d

    def test_api_refuses_an_invalid_prscan_config(self):
        path = os.path.join(self.tmp, "prscan.yml")
        with open(path, "w") as f:
            f.write("fail_on: high\nscanners:\n  nessus: {}\n")
        line = self.refused("prscan-api", self.api_env(PRSCAN_CONFIG=path),
                            "PRSCAN_CONFIG")
        # The log quotes the reason, its own quotes escaped.
        self.assertIn('%s: line 3: scanners: unknown scanner \\"nessus\\"'
                      % path, line)
        line = self.refused("prscan-api", self.api_env(
            PRSCAN_CONFIG=path + ".missing"), "PRSCAN_CONFIG")
        self.assertIn("No such file", line)
        with open(path, "w") as f:
            f.write("scanners:\n  kics:\n    paths: ['infra/**']\n")
        self.started(self.api_env(PRSCAN_CONFIG=path))

    def test_api_refuses_missing_or_malformed_values(self):
        for var in ("GITHUB_WEBHOOK_SECRET", "GITHUB_APP_ID",
                    "CALLBACK_SECRET"):
            self.refused("prscan-api", self.api_env(**{var: None}), var)
        line = self.refused("prscan-api", self.api_env(
            GITHUB_APP_PRIVATE_KEY_FILE=None), "GITHUB_APP_PRIVATE_KEY")
        self.assertIn("GITHUB_APP_PRIVATE_KEY_FILE", line)
        self.refused("prscan-api", self.api_env(PORT="80a"), "PORT")
        self.refused("prscan-api", self.api_env(PORT="70000"), "PORT")
        self.refused("prscan-api", self.api_env(STREAM_MAXLEN="-1"),
                     "STREAM_MAXLEN")
        self.refused("prscan-api", self.api_env(FAIL_ON="SEVERE"),
                     "FAIL_ON")
        self.refused("prscan-api", self.api_env(SCANNERS="kics,Bad/One"),
                     "SCANNERS")
        self.refused("prscan-api", self.api_env(SCANNERS="kics,kics"),
                     "SCANNERS")
        line = self.refused("prscan-api", self.api_env(
            GITHUB_APP_PRIVATE_KEY_FILE=None,
            GITHUB_APP_PRIVATE_KEY="bm90IGEga2V5"), "GITHUB_APP_PRIVATE_KEY")
        self.assertNotIn("bm90IGEga2V5", line)
        both = os.path.join(self.tmp, "secret")
        with open(both, "w") as f:
            f.write("from-file\n")
        line = self.refused("prscan-api", self.api_env(
            GITHUB_WEBHOOK_SECRET_FILE=both), "GITHUB_WEBHOOK_SECRET")
        self.assertNotIn(HOOK, line)
        self.refused("prscan-api", self.api_env(RESULT_TTL="-1"),
                     "RESULT_TTL")
        self.refused("prscan-api", self.api_env(AUDIT_RETENTION_DAYS="0"),
                     "AUDIT_RETENTION_DAYS")
        self.refused("prscan-api", self.api_env(AUDIT_PRUNE_INTERVAL="x"),
                     "AUDIT_PRUNE_INTERVAL")
        line = self.refused("prscan-api", self.api_env(
            DATABASE_URL="host=db password=pg-secret-word bogus=1"),
            "DATABASE_URL")
        self.assertNotIn("pg-secret-word", line)
        line = self.refused("prscan-api", self.api_env(
            DATABASE_URL="postgresql://u:pg-secret-word@db/x",
            DATABASE_URL_FILE=both), "DATABASE_URL")
        self.assertNotIn("pg-secret-word", line)

    def test_api_reads_secrets_from_files_and_base64_key(self):
        files = {}
        for name, value in (("hook", HOOK + "\n"), ("cb", "cb-secret")):
            files[name] = os.path.join(self.tmp, name)
            with open(files[name], "w") as f:
                f.write(value)
        with open(self.github.private_key_path, "rb") as f:
            b64 = base64.b64encode(f.read()).decode()
        env = self.api_env(GITHUB_WEBHOOK_SECRET=None,
                           GITHUB_WEBHOOK_SECRET_FILE=files["hook"],
                           CALLBACK_SECRET=None,
                           CALLBACK_SECRET_FILE=files["cb"],
                           GITHUB_APP_PRIVATE_KEY_FILE=None,
                           GITHUB_APP_PRIVATE_KEY=b64)
        self.started(env)
        url = "http://127.0.0.1:%s" % env["PORT"]
        ev = harness.pull_request_event("o", "r", "a" * 40)
        status, body = harness.post_webhook(url, ev, HOOK)
        self.assertEqual(status, 202, body)

    def secret_file(self, name, value):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(value + "\n")
        return path

    def test_a_secret_file_is_one_secret_commas_and_all(self):
        env = self.api_env(
            GITHUB_WEBHOOK_SECRET=None,
            GITHUB_WEBHOOK_SECRET_FILE=self.secret_file("h", "Zr8qLp2x9,k"),
            GITHUB_WEBHOOK_SECRET_PREVIOUS_FILE=self.secret_file(
                "p", "previous-secret-0123456789"))
        d = self.started(env)
        url = "http://127.0.0.1:%s" % env["PORT"]
        ev = harness.pull_request_event("o", "r", "c" * 40)
        self.assertEqual(harness.post_webhook(url, ev, "k")[0], 401)
        self.assertEqual(harness.post_webhook(url, ev, "Zr8qLp2x9")[0], 401)
        self.assertEqual(harness.post_webhook(url, ev, "Zr8qLp2x9,k")[0],
                         202)
        self.assertEqual(harness.post_webhook(
            url, ev, "previous-secret-0123456789")[0], 202)
        # Short: a warning naming the variable that was set, not refused.
        warn = [ln for ln in d.log_text().splitlines()
                if "weak secret" in ln]
        self.assertEqual(len(warn), 1, warn)
        self.assertIn("level=warn", warn[0])
        self.assertIn("variable=GITHUB_WEBHOOK_SECRET_FILE ", warn[0])
        self.assertNotIn("Zr8qLp2x9", d.log_text())

    def test_empty_secrets_and_bad_key_files_are_refused_by_name(self):
        for value in ("a-long-secret-value-1,", ",a-long-secret-value-1",
                      "a-long-secret-value-1, ,b-long-secret-value-2"):
            line = self.refused("prscan-api", self.api_env(
                GITHUB_WEBHOOK_SECRET=value), "GITHUB_WEBHOOK_SECRET:")
            self.assertIn("empty secret", line)
            self.assertNotIn("long-secret-value", line)
        line = self.refused("prscan-api", self.api_env(
            GITHUB_WEBHOOK_SECRET=HOOK + "," + HOOK + "-2",
            GITHUB_WEBHOOK_SECRET_PREVIOUS_FILE=self.secret_file(
                "p", HOOK + "-3")), "GITHUB_WEBHOOK_SECRET_PREVIOUS_FILE:")
        line = self.refused("prscan-api", self.api_env(
            GITHUB_APP_PRIVATE_KEY_FILE=self.secret_file("k", "not a key")),
            "GITHUB_APP_PRIVATE_KEY_FILE: not a PEM private key")

    def test_rotation_accepts_new_and_previous_secret(self):
        env = self.api_env(GITHUB_WEBHOOK_SECRET="new-one, old-one")
        self.started(env)
        url = "http://127.0.0.1:%s" % env["PORT"]
        ev = harness.pull_request_event("o", "r", "b" * 40)
        for secret in ("new-one", "old-one"):
            self.assertEqual(harness.post_webhook(url, ev, secret)[0], 202)
        self.assertEqual(harness.post_webhook(url, ev, "other")[0], 401)

    def test_api_refuses_values_that_do_not_fit_together(self):
        line = self.refused("prscan-api", self.api_env(
            GITHUB_RETRY_BASE_MS="5000", GITHUB_RETRY_MAX_MS="1000"),
            "GITHUB_RETRY_BASE_MS (5000) is larger than GITHUB_RETRY_MAX_MS")
        self.refused("prscan-api", self.api_env(AUDIT_RETRY_MAX_MS="100"),
                     "AUDIT_RETRY_MAX_MS")
        self.refused("prscan-api", self.api_env(
            REDELIVER="on", REDELIVER_INTERVAL="7200",
            REDELIVER_MAX_WINDOW="3600"), "REDELIVER_INTERVAL (7200)")
        line = self.refused("prscan-api", self.api_env(ADMIN_TOKEN="x"),
                            "ADMIN_TOKEN: at least 16 characters")
        self.assertNotIn("=x ", line)
        self.refused("prscan-api", self.api_env(
            ADMIN_TOKEN_FILE=self.secret_file("a", "short-token")),
            "ADMIN_TOKEN_FILE: at least 16 characters")

    def test_worker_refuses_missing_callback_secret(self):
        env = harness.kics_worker_env("http://127.0.0.1:1", "x", self.redis,
                                      self.github, self.tmp)
        del env["CALLBACK_SECRET"]
        self.refused("prscan-worker-kics", env, "CALLBACK_SECRET")
        env["CALLBACK_SECRET"] = "x"
        env["SCAN_TIMEOUT"] = "ten"
        self.refused("prscan-worker-kics", env, "SCAN_TIMEOUT")


if __name__ == "__main__":
    harness.main()
