#!/usr/bin/python3
"""Two replicas of the KICS worker.  A worker killed with SIGKILL in the
middle of a scan loses nothing: the other replica reclaims the entry once
it is idle for CLAIM_MIN_IDLE_MS and finishes the job, which ends as
exactly one completed check run.  And while both are alive, a scan that
runs much longer than CLAIM_MIN_IDLE_MS is never taken over: its owner's
heartbeat keeps the claim fresh."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO, PR = "octo", "infra", 7
STREAM, GROUP = "worker-kics", "workers"
CONSUMERS = ("kics-a", "kics-b")
INPUT = os.path.join(harness.FIXTURES, "kics-inputs",
                     "dockerfile_missing_user_instruction")


class Replicas(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.sha = harness.make_repo(self.github, OWNER, REPO, [INPUT],
                                     pr_number=PR)
        self.api = self.track(harness.api(self.tmp, self.redis,
                                          self.github))
        self.scan_log = os.path.join(self.tmp, "kics-calls.jsonl")
        self.r = self.redis.client()

    def start_workers(self, sleep):
        self.workers = {}
        for name in CONSUMERS:
            self.workers[name] = self.track(harness.kics_worker(
                self.tmp, self.api, self.redis, self.github, consumer=name,
                KICS_STANDIN_SLEEP=sleep, KICS_STANDIN_LOG=self.scan_log,
                CLAIM_MIN_IDLE_MS=1000, CLAIM_INTERVAL=1,
                CONSUMER_IDLE_MAX_MS=1500))

    def deliver(self):
        ev = harness.pull_request_event(OWNER, REPO, self.sha, pr_number=PR)
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)
        return body["job_id"]

    def scans(self):
        """The workspace of every kics call, in order."""
        try:
            with open(self.scan_log, encoding="utf-8") as f:
                return [json.loads(line)["cwd"] for line in f]
        except FileNotFoundError:
            return []

    def owner(self):
        """The consumer holding the one pending entry, or None."""
        p = self.r.xpending_range(STREAM, GROUP, "-", "+", 10)
        return p[0]["consumer"] if len(p) == 1 else None

    def kics_runs(self):
        return [c for c in self.github.check_runs(OWNER, REPO, self.sha)
                if c["name"] == "KICS"]

    def completed(self):
        runs = self.kics_runs()
        return runs if runs and runs[0]["status"] == "completed" else None

    def assert_done(self, job_id):
        harness.wait_until(self.completed, 30,
                           what="the KICS check run to complete")
        runs = self.kics_runs()
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["external_id"], job_id)
        self.assertEqual(runs[0]["conclusion"], "failure")
        harness.wait_until(lambda: self.r.xlen(STREAM) == 0, 10,
                           what="the entry to be deleted")
        self.assertEqual(self.r.xpending(STREAM, GROUP)["pending"], 0)

    def test_a_killed_worker_s_scan_is_finished_by_the_other(self):
        self.start_workers(sleep=3)
        job_id = self.deliver()
        harness.wait_until(lambda: self.scans() and self.owner(), 20,
                           what="a worker to be scanning")
        victim = self.owner()
        survivor = [n for n in CONSUMERS if n != victim][0]
        self.workers[victim].kill9()

        self.assert_done(job_id)
        scans = self.scans()
        self.assertEqual(len(scans), 2, scans)
        self.assertIn("work-" + victim + "/", scans[0])
        self.assertIn("work-" + survivor + "/", scans[1])
        log = self.workers[survivor].log_text()
        self.assertIn("entry reclaimed", log)
        self.assertIn("deliveries=2", log)
        self.assertIn("job=" + job_id, log)
        # The dead consumer, idle and with nothing pending, is removed.
        harness.wait_until(
            lambda: victim not in [c["name"] for c in
                                   self.r.xinfo_consumers(STREAM, GROUP)],
            10, what="the dead consumer to be removed")
        self.assertIn("idle consumer removed", log)

    def test_a_long_scan_is_not_taken_over(self):
        self.start_workers(sleep=3.5)
        job_id = self.deliver()
        self.assert_done(job_id)
        self.assertEqual(len(self.scans()), 1, self.scans())
        for w in self.workers.values():
            self.assertNotIn("entry reclaimed", w.log_text())
        for name, w in self.workers.items():
            self.assertEqual(w.stop(), 0, name)


if __name__ == "__main__":
    harness.main()
