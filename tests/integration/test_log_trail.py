#!/usr/bin/python3
"""Logs: one grep for a job id across the API's and the worker's logs
finds the whole path of a pull request's scan, in order, each line with
the repository and the commit; with LOG_FORMAT=json every line of every
daemon is one JSON object carrying the same trail."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import scenario  # noqa: E402

# (daemon, message) of a scan's path, in the order it happens.
TRAIL = [("prscan-api", "scan queued"),
         ("prscan-worker-kics", "scan started"),
         ("prscan-worker-kics", "token received"),
         ("prscan-worker-kics", "clone completed"),
         ("prscan-worker-kics", "scan completed"),
         ("prscan-api", "check run completed")]
REPO = "%s/%s" % (scenario.OWNER, scenario.REPO)


class LogTrail(harness.Case):
    def scan(self, **env):
        p = scenario.Pipeline(self, workers=1, worker_env=env, api_env=env)
        sha = p.push(1, "trail")
        job = p.deliver(1, sha)
        harness.wait_until(lambda: p.completed(sha), 60,
                           what="the check run to complete")
        logs = [p.api, p.workers[0]]

        def api_done():
            return "check run completed" in p.api.log_text()
        harness.wait_until(api_done, 10, what="the API's last line")
        return job, sha, [d.log_path for d in logs]

    def assert_trail(self, found, sha):
        """found: (time, daemon, msg, fields) of the lines of one job.
        Each daemon's steps come in order; across daemons only what is
        causal is checked (the API logs "scan queued" after its
        transaction, which a worker may already have read)."""
        for daemon in ("prscan-api", "prscan-worker-kics"):
            mine = [m for _, d, m, _ in found if d == daemon]
            at = 0
            for d, step in TRAIL:
                if d != daemon:
                    continue
                self.assertIn(step, mine[at:], "%s: %r missing or out of "
                              "order in %r" % (daemon, step, mine))
                at = mine.index(step, at)
        first = {}
        for t, d, m, _ in found:
            first.setdefault((d, m), t)
        self.assertLessEqual(first[TRAIL[4]], first[TRAIL[5]])
        for _, daemon, msg, fields in found:
            self.assertEqual(fields.get("repo"), REPO, (daemon, msg))
            self.assertEqual(fields.get("sha"), sha, (daemon, msg))

    def test_one_grep_follows_a_scan_through_every_daemon(self):
        job, sha, paths = self.scan()
        out = subprocess.run(["grep", "-h", "job=" + job] + paths,
                             capture_output=True, text=True, check=True)
        found = []
        for line in out.stdout.splitlines():
            stamp, rest = line.split(" ", 1)
            fields = dict(kv.split("=", 1) for kv in rest.split(" ")
                          if "=" in kv and not kv.startswith('"'))
            msg = rest.split('msg="', 1)[1].split('"', 1)[0]
            found.append((stamp, fields["daemon"], msg, fields))
        found.sort(key=lambda f: f[0])
        self.assert_trail(found, sha)
        self.assertTrue(all(f[3].get("level") for f in found))

    def test_json_lines_parse_and_carry_the_trail(self):
        job, sha, paths = self.scan(LOG_FORMAT="json")
        found = []
        for path in paths:
            with open(path, encoding="utf-8") as f:
                lines = [ln for ln in f.read().splitlines() if ln]
            self.assertTrue(lines)
            for line in lines:
                obj = json.loads(line)
                self.assertIsInstance(obj, dict, line)
                for key in ("time", "level", "daemon", "msg"):
                    self.assertIn(key, obj, line)
                if str(obj.get("job")) == job:
                    found.append((obj["time"], obj["daemon"], obj["msg"],
                                  {k: str(v) for k, v in obj.items()}))
        found.sort(key=lambda f: f[0])
        self.assert_trail(found, sha)


if __name__ == "__main__":
    harness.main()
