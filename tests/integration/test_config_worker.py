#!/usr/bin/python3
"""Worker start-up configuration: an API_URL or GITHUB_SERVER_URL that is
not an http(s) URL, a KICS_BIN or DETECT_BIN that cannot be run, a
CONSUMER_NAME or STREAM_NAME with a space or control character, and a
BLACKDUCK_URL in clear to anything but loopback each stop the worker with
one line naming the variable (and never the Black Duck token)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TOKEN = "bd-token-0123456789"


class WorkerConfig(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.plain = os.path.join(self.tmp, "not-executable")
        with open(self.plain, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(self.plain, 0o644)

    def kics_env(self, **changes):
        env = harness.kics_worker_env("http://127.0.0.1:1", "x", self.redis,
                                      self.github, self.tmp)
        env.update({k: str(v) for k, v in changes.items()})
        return env

    def blackduck_env(self, **changes):
        env = self.kics_env(DETECT_BIN=harness.DETECT_STANDIN,
                            BLACKDUCK_URL="https://blackduck.invalid",
                            BLACKDUCK_API_TOKEN=TOKEN)
        del env["KICS_BIN"]
        env.update({k: str(v) for k, v in changes.items()})
        return env

    def refused(self, binary, env, variable):
        d = harness.Daemon(binary, env, self.tmp)
        harness.wait_until(lambda: not d.alive(), 10,
                           what="%s to stop" % binary)
        self.assertEqual(d.proc.returncode, 2, d.log_text())
        lines = [ln for ln in d.log_text().splitlines() if ln.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("level=fatal", lines[0])
        self.assertIn(variable, lines[0])
        self.assertNotIn(TOKEN, lines[0])
        return lines[0]

    def started(self, binary, env):
        d = self.track(harness.Daemon(binary, env, self.tmp))
        d.wait_http("http://127.0.0.1:%s/healthz" % env["STATUS_PORT"])

    def test_kics_worker_refuses_bad_values(self):
        kics = "prscan-worker-kics"
        for var, value in (("API_URL", "localhost:8080"),
                           ("API_URL", "ftp://127.0.0.1/"),
                           ("GITHUB_SERVER_URL", "github.com"),
                           ("KICS_BIN", "no-such-kics"),
                           ("KICS_BIN", self.plain),
                           ("KICS_BIN", self.tmp),
                           ("CONSUMER_NAME", "kics 1"),
                           ("CONSUMER_NAME", "kics\n1"),
                           ("STREAM_NAME", "worker\tkics"),
                           ("STREAM_NAME", "worker-kics\x7f")):
            with self.subTest(var=var, value=value):
                self.refused(kics, self.kics_env(**{var: value}), var)
        line = self.refused(kics, self.kics_env(KICS_BIN="no-such-kics"),
                            "KICS_BIN")
        self.assertIn("no-such-kics: No such file or directory", line)
        self.started(kics, self.kics_env(API_URL="https://api.example"))

    def test_blackduck_worker_refuses_bad_values(self):
        bd = "prscan-worker-blackduck"
        for var, value in (("DETECT_BIN", "no-such-detect"),
                           ("DETECT_BIN", self.plain),
                           ("BLACKDUCK_URL", "blackduck.example.com"),
                           ("BLACKDUCK_URL",
                            "http://blackduck.example.com")):
            with self.subTest(var=var, value=value):
                self.refused(bd, self.blackduck_env(**{var: value}), var)
        self.started(bd, self.blackduck_env(
            BLACKDUCK_URL="http://127.0.0.1:9"))


if __name__ == "__main__":
    harness.main()
