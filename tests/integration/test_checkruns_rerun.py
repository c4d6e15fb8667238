#!/usr/bin/python3
"""Re-run: GitHub's Re-run of a check run, the Re-scan button and a
check suite re-run each scan the commit again and report in a new check
run (external_id the new job); a suite without a pull request works from
the head SHA and branch; check_suite "requested" for a commit already
scanned does nothing."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from checkruns import FAST  # noqa: E402
from scenario import Pipeline, OWNER, REPO  # noqa: E402


class Rerun(harness.Case):
    def event(self, p, sha, kind, action, prs, **extra):
        repo = harness.pull_request_event(OWNER, REPO, sha)["repository"]
        ev = {"action": action, "repository": repo,
              "installation": {"id": 1}}
        pulls = [{"number": 1, "head": {"ref": "feature", "sha": sha},
                  "base": {"ref": "main"}}] if prs else []
        if kind == "check_run":
            ev["check_run"] = {"id": extra.pop("run_id"), "name": "KICS",
                               "head_sha": sha,
                               "app": {"id": int(p.github.app_id)},
                               "check_suite": {"head_branch": "feature"},
                               "pull_requests": pulls}
        else:
            ev["check_suite"] = {"head_sha": sha, "head_branch": "feature",
                                 "pull_requests": pulls}
        ev.update(extra)
        status, body = harness.post_webhook(p.api.url, ev,
                                            p.api.webhook_secret,
                                            event=kind)
        return status, body

    def test_reruns_scan_again_in_new_check_runs(self):
        p = Pipeline(self, workers=1, api_env=FAST)
        sha = p.base_sha
        first = p.deliver(1, sha)
        harness.wait_until(lambda: len(p.completed(sha)) == 1, 60,
                           what="the first scan")
        run_id = p.runs(sha)[0]["id"]
        jobs = [first]

        status, body = self.event(p, sha, "check_run", "rerequested", True,
                                  run_id=run_id)
        self.assertEqual((status, body["status"]), (202, "queued"), body)
        jobs.append(body["job_id"])
        status, body = self.event(
            p, sha, "check_run", "requested_action", True, run_id=run_id,
            requested_action={"identifier": "rescan"})
        self.assertEqual(status, 202, body)
        jobs.append(body["job_id"])
        status, body = self.event(p, sha, "check_suite", "rerequested",
                                  False)
        self.assertEqual(status, 202, body)
        jobs.append(body["job_id"])
        self.assertEqual(len(set(jobs)), 4)

        harness.wait_until(lambda: len(p.completed(sha)) == 4, 120,
                           interval=0.5, what="four completed check runs")
        runs = p.runs(sha)
        self.assertEqual(sorted(r["external_id"] for r in runs),
                         sorted(jobs))
        self.assertEqual({r["conclusion"] for r in runs}, {"failure"})
        self.assertEqual(len(p.scans()), 4)
        # The suite without a pull request was scanned as pr_number 0.
        r = p.redis.client()
        self.assertIn('"pr_number":0', r.get("storage:" + jobs[3]))

        # Already scanned: check_suite "requested" queues nothing; other
        # actions and other Apps' check runs are ignored.
        status, body = self.event(p, sha, "check_suite", "requested", False)
        self.assertEqual((status, body["status"]), (202, "ignored"), body)
        status, body = self.event(
            p, sha, "check_run", "requested_action", True, run_id=run_id,
            requested_action={"identifier": "other"})
        self.assertEqual(body["status"], "ignored")
        status, body = self.event(p, sha, "check_run", "created", True,
                                  run_id=run_id)
        self.assertEqual(body["status"], "ignored")
        self.assertEqual(len(p.runs(sha)), 4)


if __name__ == "__main__":
    harness.main()
