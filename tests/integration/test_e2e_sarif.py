#!/usr/bin/python3
"""End to end with a SARIF scanner: a pull request holding C sources and a
Dockerfile is scanned by KICS (its stand-in) and by Debian's real
flawfinder through prscan-worker-sarif (SCANNER_NAME=flawfinder,
SCANNER_CMD="flawfinder --sarif {source}", the log on stdout).  Both check
runs complete; flawfinder's annotations land on the C file's lines.  A
scanner that exits outside SCANNER_OK_EXITS fails its check run with the
exit code; a template with {output} reads the file the tool wrote; bad
configuration stops the worker at start-up."""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO, PR, INSTALLATION = "Codertocat", "Hello-World", 5, 42
KICS_INPUT = os.path.join(harness.SOURCE_DIR, "tests", "fixtures",
                          "kics-inputs", "dockerfile_missing_user_instruction")
FLAWFINDER_LOG = harness.fixture("sarif", "flawfinder-2.0.19.sarif")
CHECK = "Flawfinder"

# The C file of the pull request, and what flawfinder says about it.
APP_C = """#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
\tchar buf[16];

\tif (argc < 2)
\t\treturn 1;
\tstrcpy(buf, argv[1]);
\tsprintf(buf, "%s", argv[1]);
\tsystem(argv[1]);
\treturn 0;
}
"""
WANT = {
    ("csrc/app.c", 8, "notice", "buffer/char"),
    ("csrc/app.c", 12, "failure", "buffer/strcpy"),
    ("csrc/app.c", 13, "failure", "buffer/sprintf"),
    ("csrc/app.c", 14, "failure", "shell/system"),
}


def sarif_worker(tmpdir, api_daemon, redis, standin, name, cmd,
                 consumer=None, scan_timeout=60, **extra):
    """Starts prscan-worker-sarif for scanner name with SCANNER_CMD cmd
    against api_daemon (from harness.api())."""
    consumer = consumer or name + "-1"
    work_dir = os.path.join(tmpdir, "work-" + consumer)
    os.makedirs(work_dir, exist_ok=True)
    env = {
        "SCANNER_NAME": name,
        "SCANNER_CMD": cmd,
        "API_URL": api_daemon.url,
        "CALLBACK_SECRET": api_daemon.callback_secret,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": redis.port,
        "REDIS_PASSWORD": redis.password,
        "GITHUB_SERVER_URL": standin.url,
        "WORK_DIR": work_dir,
        "CONSUMER_NAME": consumer,
        "SCAN_TIMEOUT": scan_timeout,
        "STATUS_PORT": harness.free_port(),
    }
    env.update(extra)
    env = {k: str(v) for k, v in env.items() if v is not None}
    d = harness.Daemon("prscan-worker-sarif", env, tmpdir,
                       name="prscan-worker-sarif-" + consumer)
    d.work_dir = work_dir
    return d


class Sarif(harness.Case):
    def setUp(self):
        super().setUp()
        if shutil.which("flawfinder") is None:
            self.fail("flawfinder is not installed: run "
                      "scripts/install-deps.sh")
        self.redis = self.start_redis()
        self.github = self.start_github()
        csrc = os.path.join(self.tmp, "src", "csrc")
        os.makedirs(csrc)
        with open(os.path.join(csrc, "app.c"), "w") as f:
            f.write(APP_C)
        self.sha = harness.make_repo(self.github, OWNER, REPO,
                                     [KICS_INPUT, csrc], pr_number=PR)
        self.api = self.track(harness.api(
            self.tmp, self.redis, self.github, SCANNERS="kics,flawfinder",
            CHECK_NAMES="flawfinder=" + CHECK))

    def start_flawfinder(self, cmd="flawfinder --sarif {source}", **extra):
        self.worker = self.track(sarif_worker(
            self.tmp, self.api, self.redis, self.github, "flawfinder", cmd,
            **extra))

    def deliver(self):
        ev = harness.pull_request_event(OWNER, REPO, self.sha, PR,
                                        INSTALLATION)
        status, body = harness.post_webhook(self.api.url + "/webhook", ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)
        return body["job_id"]

    def completed(self, name):
        def done():
            runs = [r for r in self.github.check_runs(OWNER, REPO, self.sha)
                    if r["name"] == name]
            return runs[0] if runs and \
                runs[0]["status"] == "completed" else None
        return harness.wait_until(done, 60, what="the %s check run" % name)

    def test_flawfinder_and_kics_both_complete(self):
        kics = self.track(harness.kics_worker(self.tmp, self.api, self.redis,
                                              self.github))
        self.start_flawfinder()
        job_id = self.deliver()

        run = self.completed(CHECK)
        self.assertEqual(run["conclusion"], "failure")
        self.assertEqual(run["external_id"], job_id)
        self.assertIn("high", run["output"]["title"].lower())
        notes = self.github.annotations(OWNER, REPO, run["id"])
        got = {(a["path"], a["start_line"], a["annotation_level"],
                a["title"]) for a in notes}
        self.assertEqual(got, WANT)
        for a in notes:
            self.assertIn("CWE", a["message"])
        self.assertIn("2.0.19", run["output"]["summary"] +
                      run["output"].get("text", ""))

        # KICS ran on the same pull request, into its own check run.
        kics_run = self.completed("KICS")
        kics_notes = self.github.annotations(OWNER, REPO, kics_run["id"])
        self.assertTrue(kics_notes)
        self.assertTrue(all(a["path"].startswith(
            "dockerfile_missing_user_instruction/") for a in kics_notes))

        # The stream entry is gone, the workspace removed.
        r = self.redis.client()
        harness.wait_until(lambda: r.xlen("worker-flawfinder") == 0, 10,
                           what="the flawfinder entry to be deleted")
        self.assertEqual(os.listdir(self.worker.work_dir), [])
        log = self.worker.log_text()
        self.assertIn("prscan-worker-flawfinder", log)
        self.assertIn("job=" + job_id, log)
        self.assertNotIn(self.api.callback_secret, log + kics.log_text())

    def test_unexpected_exit_fails_the_scan(self):
        self.start_flawfinder(cmd="flawfinder --no-such-option {source}")
        self.deliver()
        run = self.completed(CHECK)
        self.assertEqual(run["conclusion"], "failure")
        self.assertIn("flawfinder exited 16", run["output"]["title"])
        self.assertEqual(self.github.annotations(OWNER, REPO, run["id"]),
                         [])

    def test_a_reason_printed_on_stdout_is_shown(self):
        # flawfinder reports a source file that is not UTF-8 on stdout,
        # where the SARIF log goes, and exits 15 with nothing on stderr.
        latin1 = os.path.join(self.tmp, "src", "latin1")
        os.makedirs(latin1)
        with open(os.path.join(latin1, "old.c"), "wb") as f:
            f.write(b"/* caf\xe9 \x01 */\nint x;\n")
        self.sha = harness.make_repo(self.github, OWNER, REPO, [latin1],
                                     pr_number=PR)
        self.start_flawfinder()
        self.deliver()
        run = self.completed(CHECK)
        self.assertEqual(run["conclusion"], "failure")
        title = run["output"]["title"]
        self.assertIn("flawfinder exited 15: Error: encoding error in "
                      "latin1/old.c", title)
        self.assertNotIn(self.worker.work_dir, json.dumps(run["output"]))

    def test_a_reason_that_is_not_utf8_is_shown_printable(self):
        code = ("import sys; sys.stderr.buffer.write("
                "b'bad \\xff\\x01 byte in {source}/x.c'); sys.exit(3)")
        self.start_flawfinder(cmd='python3 -c "%s"' % code)
        self.deliver()
        run = self.completed(CHECK)
        self.assertIn("flawfinder exited 3: bad ?? byte in x.c",
                      run["output"]["title"])

    def test_output_placeholder_reads_the_written_file(self):
        # cp stands for a tool that writes its log where {output} says.
        self.start_flawfinder(cmd="cp %s {output}" % FLAWFINDER_LOG,
                              SCANNER_OK_EXITS="0")
        self.deliver()
        run = self.completed(CHECK)
        notes = self.github.annotations(OWNER, REPO, run["id"])
        self.assertEqual(sorted((a["path"], a["start_line"]) for a in notes),
                         [("vuln.c", 6), ("vuln.c", 8), ("vuln.c", 9),
                          ("vuln.c", 11)])

    def test_bad_configuration_stops_the_worker(self):
        cases = [
            ({}, "SCANNER_NAME is required"),
            ({"SCANNER_NAME": "Flaw Finder"}, "SCANNER_NAME: not a"),
            ({"SCANNER_NAME": "ff"}, "SCANNER_CMD is required"),
            ({"SCANNER_NAME": "ff", "SCANNER_CMD": "flawfinder \"{source}"},
             "double quote is not closed"),
            ({"SCANNER_NAME": "ff", "SCANNER_CMD": "flawfinder {source}",
              "SCANNER_OK_EXITS": "0,300"}, "SCANNER_OK_EXITS"),
        ]
        binary = os.path.join(harness.BIN_DIR, "prscan-worker-sarif")
        for env, words in cases:
            full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "CALLBACK_SECRET": "x" * 32, "WORK_DIR": self.tmp}
            full.update(env)
            p = subprocess.run([binary], env=full, capture_output=True,
                               text=True, timeout=10)
            self.assertEqual(p.returncode, 2, (env, p.stdout, p.stderr))
            self.assertIn(words, p.stdout + p.stderr, env)

    def test_check_names_are_checked_at_start_up(self):
        binary = os.path.join(harness.BIN_DIR, "prscan-api")
        cases = [
            ("nope=Nope", "'nope' is not in SCANNERS"),
            ("flawfinder", "is not scanner=Name"),
            ("flawfinder=KICS", "would share one check run"),
            ("flawfinder=A,flawfinder=B", "'flawfinder' is named twice"),
        ]
        for value, words in cases:
            env = harness.api_env(self.redis, self.github,
                                  harness.free_port(), "w" * 32, "c" * 32,
                                  SCANNERS="kics,flawfinder",
                                  CHECK_NAMES=value)
            env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
            p = subprocess.run([binary], env=env, capture_output=True,
                               text=True, timeout=10)
            self.assertNotEqual(p.returncode, 0, value)
            self.assertIn(words, p.stdout + p.stderr, value)


if __name__ == "__main__":
    harness.main()
