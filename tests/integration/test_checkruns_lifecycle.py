#!/usr/bin/python3
"""A check run's life: every scanner's check run appears queued right
after the webhook, in_progress with started_at when a worker starts, and
completed; 1000 findings arrive as 20 batches of 50 in order; repeated
callbacks and a redelivered webhook change nothing; the published result
stays for RESULT_TTL; a slow GitHub does not slow the webhook down."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from checkruns import Setup, finding, OWNER, REPO  # noqa: E402

SHA = "1234567890abcdef1234567890abcdef12345678"


class Lifecycle(harness.Case):
    def test_queued_in_progress_completed_in_order(self):
        s = Setup(self, SCANNERS="kics,blackduck", GITHUB_TIMEOUT_MS="10000")
        # GitHub answers the first check run creation after 4 s: the
        # webhook is answered at once all the same.
        s.github.add_fault("/check-runs$", status=None, method="POST",
                           delay_ms=4000)
        t0 = time.monotonic()
        job, took = s.pr(SHA)
        self.assertLess(took, 1.0)
        runs = s.wait_runs(SHA, lambda r: len(r) == 2, 15,
                           what="both check runs")
        self.assertGreater(time.monotonic() - t0, 3.5)
        self.assertEqual(sorted(r["name"] for r in runs),
                         ["Black Duck", "KICS"])
        self.assertEqual({r["status"] for r in runs}, {"queued"})
        self.assertEqual({r["external_id"] for r in runs}, {job})

        self.assertEqual(s.callback(job, "started")[0], 202)
        s.wait_runs(SHA, lambda r: any(x["name"] == "KICS" and
                                       x["status"] == "in_progress"
                                       for x in r), what="in_progress")
        result = {"findings": [finding(i, ("HIGH", "MEDIUM", "LOW")[i % 3])
                               for i in range(1000)]}
        self.assertEqual(s.callback(job, "completed", result=result)[0],
                         202)
        # Repeats: nothing new is queued.
        self.assertEqual(s.callback(job, "started")[0], 200)
        self.assertEqual(s.callback(job, "completed", result=result)[0],
                         200)
        runs = s.wait_runs(SHA, lambda r: any(
            x["name"] == "KICS" and
            x["output"]["annotations_count"] == 1000 for x in r),
            60, what="the KICS check run's 1000 annotations")
        kics = [r for r in runs if r["name"] == "KICS"][0]
        self.assertEqual(kics["conclusion"], "failure")
        self.assertIsNotNone(kics["started_at"])
        self.assertIsNotNone(kics["completed_at"])
        self.assertEqual(kics["output"]["title"],
                         "334 high, 333 medium, 333 low findings")
        self.assertEqual(kics["actions"][0]["identifier"], "rescan")
        # The result stays RESULT_TTL (7 days) once published.
        key = "scan_result:%s:kics" % job
        ttl = harness.wait_until(
            lambda: 0 < s.redis.client().ttl(key) <= 604800 and
            s.redis.client().ttl(key), 5, what="the result's RESULT_TTL")
        self.assertGreaterEqual(ttl, 604800 - 60)

        batches = s.batches(kics["id"])
        self.assertEqual(len(batches), 20)
        self.assertEqual([len(b["body"]["output"]["annotations"])
                          for b in batches], [50] * 20)
        self.assertEqual(batches[0]["body"]["status"], "completed")
        seqs = [b["seq"] for b in batches]
        self.assertEqual(seqs, sorted(seqs))
        notes = s.github.annotations(OWNER, REPO, kics["id"])
        self.assertEqual(len(notes), 1000)
        # In order: most severe first, then by line.
        levels = [a["annotation_level"] for a in notes]
        self.assertEqual(levels, ["failure"] * 334 + ["warning"] * 333 +
                         ["notice"] * 333)
        high = [a["start_line"] for a in notes[:334]]
        self.assertEqual(high, sorted(high))

        # A redelivered webhook changes nothing.
        ev = harness.pull_request_event(OWNER, REPO, SHA, installation=7)
        d = "dead-0001"
        self.assertEqual(harness.post_webhook(
            s.api.url, ev, s.api.webhook_secret, delivery=d)[0], 202)
        self.assertEqual(harness.post_webhook(
            s.api.url, ev, s.api.webhook_secret, delivery=d)[0], 200)
        s.wait_runs(SHA, lambda r: len(r) == 4, what="the new delivery's "
                    "check runs")
        time.sleep(0.5)
        self.assertEqual(len(s.runs(SHA)), 4)
        self.assertEqual(len(s.batches(kics["id"])), 20)
        r = s.redis.client()
        harness.wait_until(lambda: r.xlen("github-writes") == 0, 10,
                           what="every write acknowledged")


if __name__ == "__main__":
    harness.main()
