#!/usr/bin/python3
"""End to end with Black Duck: a pull request whose head holds a
package.json naming components of the recorded RAPID result becomes a
completed `Black Duck` check run, with annotations on the package.json
lines of those components.  The API token reaches Detect (the stand-in)
only through its environment: never its command line, never a log."""

import json
import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO, PR, INSTALLATION = "Codertocat", "Hello-World", 3, 42
DETECT_STANDIN = os.path.join(harness.STANDINS, "detect")
SERVER_RESULT = harness.fixture(
    "detect", "bd_developer_scans_api_response_jsonPayloadDetect.json")
CHECK = "Black Duck"
EXTRA_ARGS = "--detect.timeout=300 --blackduck.trust.cert=true"

# The app's package.json: line 4 jackson-databind (two versions in the
# result), line 5 snakeyaml (two versions), line 6 spring-beans.
PACKAGE_JSON = """{
  "name": "app",
  "dependencies": {
    "jackson-databind": "2.13.2",
    "snakeyaml": "1.30",
    "spring-beans": "5.3.18"
  }
}
"""
LINES = {"jackson-databind": 4, "snakeyaml": 5, "spring-beans": 6}

# Severities given to some components' policy for the failing scenario.
HARDENED = {
    "maven:org.springframework:spring-beans:5.3.18": "BLOCKER",
    "maven:org.yaml:snakeyaml:1.30": "CRITICAL",
    "maven:com.fasterxml.jackson.core:jackson-databind:2.13.2": "MAJOR",
}
LEVELS = {"BLOCKER": "failure", "CRITICAL": "failure", "MAJOR": "warning"}


def component_name(rule_identifier):
    """"maven:group:artifact:version" -> artifact."""
    return rule_identifier.split(":")[2]


class BlackDuck(harness.Case):
    def setUp(self):
        super().setUp()
        self.token = "bdtoken-" + secrets.token_hex(20)
        self.redis = self.start_redis()
        self.github = self.start_github()
        app = os.path.join(self.tmp, "src", "app")
        os.makedirs(app)
        with open(os.path.join(app, "package.json"), "w") as f:
            f.write(PACKAGE_JSON)
        self.sha = harness.make_repo(self.github, OWNER, REPO, [app],
                                     pr_number=PR)
        self.api = self.track(harness.api(self.tmp, self.redis,
                                          self.github,
                                          SCANNERS="blackduck"))
        self.calls_log = os.path.join(self.tmp, "detect-calls.jsonl")

    def start_worker(self, **extra):
        self.worker = self.track(harness.blackduck_worker(
            self.tmp, self.api, self.redis, self.github, self.token,
            DETECT_STANDIN_LOG=self.calls_log, DETECT_ARGS=EXTRA_ARGS,
            **extra))

    def deliver(self):
        ev = harness.pull_request_event(OWNER, REPO, self.sha, PR,
                                        INSTALLATION)
        status, body = harness.post_webhook(self.api.url + "/webhook", ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)
        return body["job_id"]

    def runs(self):
        return [r for r in self.github.check_runs(OWNER, REPO, self.sha)
                if r["name"] == CHECK]

    def wait_completed(self):
        def done():
            runs = self.runs()
            return runs[0] if runs and \
                runs[0]["status"] == "completed" else None
        return harness.wait_until(done, 60,
                                  what="the Black Duck check run")

    def detect_calls(self):
        with open(self.calls_log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def hardened_result(self):
        """The recorded server answer with some policies made severe."""
        with open(SERVER_RESULT, encoding="utf-8") as f:
            report = json.load(f)
        for item in report["items"]:
            sev = HARDENED.get(item["componentIdentifier"])
            if sev is None:
                continue
            for p in item["violatingPolicies"]:
                p["policySeverity"] = sev
        path = os.path.join(self.tmp, "hardened-result.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(report, f)
        return path

    def assert_no_token_leak(self):
        for call in self.detect_calls():
            self.assertNotIn(self.token, json.dumps(call["argv"]))
            self.assertIn("BLACKDUCK_API_TOKEN", call["env"])
            self.assertNotIn("BLACKDUCK_API_TOKEN_FILE", call["env"])
        logs = self.worker.log_text() + self.api.log_text()
        with open(self.calls_log, encoding="utf-8") as f:
            logs += f.read()
        self.assertNotIn(self.token, logs)
        self.assertNotIn(self.api.callback_secret, logs)

    def test_policy_violations_fail_the_check_run(self):
        self.start_worker(DETECT_STANDIN_REPORT=self.hardened_result(),
                          DETECT_STANDIN_SLEEP=1.5)
        job_id = self.deliver()

        # While the stand-in runs: its argv holds no token, its
        # environment does.
        pid = harness.wait_until(
            lambda: os.path.exists(self.calls_log) and
            self.detect_calls()[0]["pid"], 30, what="Detect to start")
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read()
        with open("/proc/%d/environ" % pid, "rb") as f:
            environ = f.read()
        self.assertIn(b"--detect.blackduck.scan.mode=RAPID", cmdline)
        self.assertNotIn(self.token.encode(), cmdline)
        self.assertIn(b"BLACKDUCK_API_TOKEN=" + self.token.encode(),
                      environ)

        run = self.wait_completed()
        self.assertEqual(run["conclusion"], "failure")
        self.assertEqual(run["external_id"], job_id)
        notes = self.github.annotations(OWNER, REPO, run["id"])
        got = sorted((a["path"], a["start_line"], a["annotation_level"],
                      a["title"]) for a in notes)
        want = []
        with open(SERVER_RESULT, encoding="utf-8") as f:
            items = json.load(f)["items"]
        for item in items:
            name = component_name(item["componentIdentifier"])
            if name not in LINES:
                continue
            sev = HARDENED.get(item["componentIdentifier"])
            want.append(("app/package.json", LINES[name],
                         LEVELS.get(sev, "notice"),
                         "%s %s: Vuln01" % (item["componentName"],
                                            item["versionName"])))
        self.assertEqual(got, sorted(want))
        self.assertEqual(len(notes), 5)
        # Components named in no manifest are in the summary.
        self.assertIn("Apache PDFBox", run["output"]["summary"])

        call = self.detect_calls()[0]
        argv = call["argv"]
        out = argv[3].split("=", 1)[1]
        self.assertEqual(argv[1:], [
            "--detect.source.path=" + call["cwd"],
            "--detect.blackduck.scan.mode=RAPID",
            "--detect.output.path=" + out,
            "--detect.scan.output.path=" + out + "/scan",
            "--detect.cleanup=false",
            "--detect.project.name=" + REPO,
            "--detect.project.version.name=" + self.sha,
        ] + EXTRA_ARGS.split())
        self.assertNotIn("DETECT_BIN", call["env"])
        self.assertNotIn("DETECT_ARGS", call["env"])
        self.assertNotIn("REDIS_PASSWORD", call["env"])
        self.assertNotIn("CALLBACK_SECRET", call["env"])
        self.assert_no_token_leak()

        r = self.redis.client()
        harness.wait_until(lambda: r.xlen("worker-blackduck") == 0, 10,
                           what="the stream entry to be deleted")
        harness.wait_until(lambda: os.listdir(self.worker.work_dir) == [],
                           10, what="the workspace to be removed")

    def test_recorded_result_passes(self):
        self.start_worker()
        self.deliver()
        run = self.wait_completed()
        # Every policy of the recording is UNSPECIFIED: notices only.
        self.assertEqual(run["conclusion"], "success")
        notes = self.github.annotations(OWNER, REPO, run["id"])
        self.assertEqual(len(notes), 5)
        self.assertEqual({a["annotation_level"] for a in notes},
                         {"notice"})
        self.assertEqual(sorted({(a["path"], a["start_line"])
                                 for a in notes}),
                         [("app/package.json", 4), ("app/package.json", 5),
                          ("app/package.json", 6)])
        self.assert_no_token_leak()

    def test_unreachable_black_duck_fails_the_check_run(self):
        self.start_worker(DETECT_STANDIN_EXIT=1)
        self.deliver()
        run = self.wait_completed()
        self.assertEqual(run["conclusion"], "failure")
        text = run["output"]["title"] + run["output"]["summary"]
        self.assertIn("FAILURE_BLACKDUCK_CONNECTIVITY", text)
        self.assertIn("exited 1", text)
        self.assertEqual(self.github.annotations(OWNER, REPO, run["id"]),
                         [])
        self.assert_no_token_leak()

    def test_bad_detect_args_stop_the_worker(self):
        for bad in ("--blackduck.api.token=" + self.token, "-v",
                    "--detect.source.path=/"):
            d = harness.blackduck_worker(self.tmp, self.api, self.redis,
                                 self.github, self.token,
                                 consumer="bad-%d" % time.monotonic_ns(),
                                 DETECT_ARGS=bad)
            self.track(d)
            code = d.proc.wait(15)
            self.assertNotEqual(code, 0)
            log = d.log_text()
            self.assertIn("DETECT_ARGS", log)
            self.assertNotIn(self.token, log)


if __name__ == "__main__":
    harness.main()
