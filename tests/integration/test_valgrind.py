#!/usr/bin/python3
"""prscan-api and prscan-worker-kics under valgrind through one whole
scan: a pull request's webhook, the KICS check run completed, then
SIGTERM.  Both must exit 0 with no valgrind error (invalid reads and
writes, uses of uninitialised memory, definite leaks: exit code 99
otherwise).  Skipped when PRSCAN_BIN_DIR holds the AddressSanitizer build
(ASan and valgrind do not mix) or valgrind is not installed."""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO = "octo-org", "infra"
INPUTS = os.path.join(harness.FIXTURES, "kics-inputs")
VALGRIND_ERROR = 99
VALGRIND = ["--error-exitcode=%d" % VALGRIND_ERROR, "--leak-check=full",
            "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            "--num-callers=30", "--trace-children=no"]


def sanitized(path):
    """True when the binary carries AddressSanitizer's runtime."""
    nm = shutil.which("nm")
    if nm:
        p = subprocess.run([nm, path], capture_output=True, text=True)
        if p.returncode == 0:
            return "__asan_init" in p.stdout
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


class Valgrind(harness.Case):
    def setUp(self):
        api_bin = os.path.join(harness.BIN_DIR, "prscan-api")
        if not os.access(api_bin, os.X_OK):
            raise unittest.SkipTest("prscan-api not built")
        if sanitized(api_bin):
            raise unittest.SkipTest("the AddressSanitizer build: valgrind "
                                    "runs on the normal build only")
        self.valgrind = shutil.which("valgrind")
        if self.valgrind is None:
            raise unittest.SkipTest("valgrind is not installed")
        super().setUp()

    def under_valgrind(self, binary, env, name):
        log = os.path.join(self.tmp, name + ".valgrind")
        d = harness.Daemon(self.valgrind, env, self.tmp, name=name,
                           args=VALGRIND + ["--log-file=" + log,
                                            os.path.join(harness.BIN_DIR,
                                                         binary)])
        d.valgrind_log = log
        return self.track(d)

    def assert_clean_exit(self, d):
        code = d.stop(timeout=30)
        with open(d.valgrind_log, encoding="utf-8",
                  errors="replace") as f:
            report = f.read()
        self.assertNotEqual(code, VALGRIND_ERROR, report)
        self.assertEqual(code, 0, report)
        self.assertRegex(report, r"ERROR SUMMARY: 0 errors from 0 contexts")
        self.assertIsNone(re.search(r"definitely lost: [1-9]", report),
                          report)

    def test_api_and_kics_worker_run_a_scan_cleanly(self):
        redis = self.start_redis()
        github = self.start_github()
        sha = harness.make_repo(github, OWNER, REPO, [
            os.path.join(INPUTS, "dockerfile_missing_user_instruction")])
        port = harness.free_port()
        api = self.under_valgrind("prscan-api", harness.api_env(
            redis, github, port, "hook-secret-vg", "cb-secret-vg",
            API_THREADS=2), "prscan-api")
        api.url = "http://127.0.0.1:%d" % port
        api.wait_http(api.url + "/status", timeout=40)
        work = os.path.join(self.tmp, "work")
        os.makedirs(work)
        worker = self.under_valgrind(
            "prscan-worker-kics", harness.kics_worker_env(
                api.url, "cb-secret-vg", redis, github, work,
                CLAIM_INTERVAL=1), "prscan-worker-kics")

        ev = harness.pull_request_event(OWNER, REPO, sha)
        status, body = harness.post_webhook(api.url, ev, "hook-secret-vg",
                                            timeout=30)
        self.assertEqual(status, 202, body)

        def completed():
            runs = github.check_runs(OWNER, REPO, sha)
            return [r for r in runs if r["status"] == "completed"]
        runs = harness.wait_until(completed, 45,
                                  what="the KICS check run to complete")
        self.assertEqual(runs[0]["conclusion"], "failure")
        # The scan ran (a scan error would fail the check run too).
        self.assertGreater(len(github.annotations(OWNER, REPO,
                                                  runs[0]["id"])), 0)
        self.assert_clean_exit(worker)
        self.assert_clean_exit(api)


if __name__ == "__main__":
    harness.main()
