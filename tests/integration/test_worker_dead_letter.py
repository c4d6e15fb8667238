#!/usr/bin/python3
"""A job that kills its worker every time: a supervisor restarts the
worker, and after MAX_DELIVERIES deliveries the entry moves to
worker-kics:dead with the reason, is acknowledged, and its check run
completes as a failure saying the scan could not be completed.  A normal
job queued behind it completes."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER = "octo"
STREAM, GROUP, DEAD = "worker-kics", "workers", "worker-kics:dead"
MAX_DELIVERIES = 3
INPUT = os.path.join(harness.FIXTURES, "kics-inputs",
                     "dockerfile_missing_user_instruction")


class DeadLetter(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        poison = os.path.join(self.tmp, "poison")
        os.makedirs(poison)
        with open(os.path.join(poison, "crash-the-worker"), "w") as f:
            f.write("the KICS stand-in kills its worker over this file\n")
        # A file KICS's path patterns take, or its check would be skipped.
        with open(os.path.join(poison, "Dockerfile"), "w") as f:
            f.write("FROM debian:12\n")
        self.bad_sha = harness.make_repo(self.github, OWNER, "crashy",
                                         [poison], pr_number=1)
        self.good_sha = harness.make_repo(self.github, OWNER, "fine",
                                          [INPUT], pr_number=2)
        self.api = self.track(harness.api(self.tmp, self.redis,
                                          self.github))
        self.r = self.redis.client()
        self.restarts = 0
        self.worker = self.start_worker()

    def start_worker(self):
        return self.track(harness.kics_worker(
            self.tmp, self.api, self.redis, self.github, consumer="kics-1",
            KICS_STANDIN_KILL_PARENT=1, CLAIM_MIN_IDLE_MS=1000,
            CLAIM_INTERVAL=1, MAX_DELIVERIES=MAX_DELIVERIES))

    def supervise(self):
        """Restarts the worker when it died, as an orchestrator would."""
        if not self.worker.alive():
            self.restarts += 1
            self.worker = self.start_worker()

    def deliver(self, repo, sha, pr):
        ev = harness.pull_request_event(OWNER, repo, sha, pr_number=pr)
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)
        return body["job_id"]

    def completed(self, repo, sha):
        runs = [c for c in self.github.check_runs(OWNER, repo, sha)
                if c["name"] == "KICS"]
        return runs if runs and runs[0]["status"] == "completed" else None

    def test_a_job_that_crashes_its_worker_ends_in_the_dead_letters(self):
        bad_job = self.deliver("crashy", self.bad_sha, 1)
        # The entry follows the job's plan, which the publisher makes.
        bad_entry = harness.wait_until(
            lambda: (self.r.xrange(STREAM) or [None])[0], 10,
            what="the plan to queue the scan")
        good_job = self.deliver("fine", self.good_sha, 2)

        def settled():
            self.supervise()
            return (self.completed("crashy", self.bad_sha) and
                    self.completed("fine", self.good_sha))
        harness.wait_until(settled, 45, interval=0.1,
                           what="both check runs to complete")
        self.assertEqual(self.restarts, MAX_DELIVERIES)

        dead = self.r.xrange(DEAD)
        self.assertEqual(len(dead), 1)
        fields = dead[0][1]
        self.assertEqual(fields["entry_id"], bad_entry[0])
        self.assertEqual(fields["deliveries"], str(MAX_DELIVERIES + 1))
        self.assertIn("delivered %d times" % (MAX_DELIVERIES + 1),
                      fields["reason"])
        self.assertEqual(fields["job"], bad_entry[1]["job"])
        self.assertEqual(json.loads(fields["job"])["job_id"], bad_job)

        harness.wait_until(lambda: self.r.xlen(STREAM) == 0, 10,
                           what="both entries to be deleted")
        self.assertEqual(self.r.xpending(STREAM, GROUP)["pending"], 0)

        bad = self.completed("crashy", self.bad_sha)
        self.assertEqual(len(bad), 1)
        self.assertEqual(bad[0]["external_id"], bad_job)
        self.assertEqual(bad[0]["conclusion"], "failure")
        text = json.dumps(bad[0]["output"])
        self.assertIn("could not be completed", text)
        self.assertIn(DEAD, text)

        good = self.completed("fine", self.good_sha)
        self.assertEqual(len(good), 1)
        self.assertEqual(good[0]["external_id"], good_job)
        self.assertEqual(good[0]["conclusion"], "failure")
        self.assertIn("high", good[0]["output"]["title"].lower())
        self.assertIn("job dead-lettered", self.worker.log_text())


if __name__ == "__main__":
    harness.main()
