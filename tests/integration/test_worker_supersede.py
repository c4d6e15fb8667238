#!/usr/bin/python3
"""A newer head supersedes older scans of the same pull request, and a
closed pull request cancels its scans: their check runs complete as
cancelled, with the reason, and the newest head is scanned."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from scenario import Pipeline  # noqa: E402


class Supersede(harness.Case):
    def test_two_quick_pushes_cancel_the_first(self):
        p = Pipeline(self, worker_env={"KICS_STANDIN_SLEEP": "5"})
        sha1 = p.push(1, "first")
        p.deliver(1, sha1)
        harness.wait_until(lambda: len(p.scans()) == 1, 20,
                           what="the first scan to start")
        sha2 = p.push(1, "second")
        p.deliver(1, sha2, action="synchronize")
        harness.wait_until(lambda: p.completed(sha1) and p.completed(sha2),
                           40, what="both check runs to complete")
        first, second = p.runs(sha1), p.runs(sha2)
        self.assertEqual(len(first), 1)
        self.assertEqual(len(second), 1)
        self.assertEqual(first[0]["conclusion"], "cancelled")
        self.assertIn("superseded", first[0]["output"]["title"])
        self.assertEqual(second[0]["conclusion"], "failure")
        self.assertEqual(len(p.scans()), 2)
        harness.wait_until(lambda: p.stream_len() == 0 and
                           p.pending() == 0, 10,
                           what="both entries to be acknowledged")

    def test_a_queued_job_of_an_old_head_is_not_scanned(self):
        p = Pipeline(self, workers=0)
        sha1 = p.push(3, "old")
        p.deliver(3, sha1)
        sha2 = p.push(3, "new")
        p.deliver(3, sha2, action="synchronize")
        p.add_worker("kics-late")
        harness.wait_until(lambda: p.completed(sha1) and p.completed(sha2),
                           30, what="both check runs to complete")
        self.assertEqual(p.completed(sha1)[0]["conclusion"], "cancelled")
        self.assertEqual(p.completed(sha2)[0]["conclusion"], "failure")
        self.assertEqual(len(p.scans()), 1)

    def test_closing_the_pull_request_cancels_its_scan(self):
        p = Pipeline(self, worker_env={"KICS_STANDIN_SLEEP": "20"})
        sha = p.push(5, "to be closed")
        p.deliver(5, sha)
        harness.wait_until(lambda: len(p.scans()) == 1, 20,
                           what="the scan to start")
        ev = harness.pull_request_event("octo-org", "platform", sha,
                                        pr_number=5, action="closed")
        status, _ = harness.post_webhook(p.api.url, ev,
                                         p.api.webhook_secret)
        self.assertEqual(status, 202)
        harness.wait_until(lambda: p.completed(sha), 15,
                           what="the check run to be cancelled")
        run = p.completed(sha)[0]
        self.assertEqual(run["conclusion"], "cancelled")
        self.assertIn("closed", run["output"]["title"])

    def test_a_late_delivery_of_an_older_event_changes_no_head(self):
        # GitHub does not deliver in order: a push's synchronize may come
        # before the opened of the commit it replaced, and a redelivered
        # closed after the reopened that followed it.
        p = Pipeline(self, workers=0)
        old, new = p.push(7, "old"), p.push(7, "new")
        p.deliver(7, new, "synchronize", updated_at="2026-03-01T10:00:05Z")
        p.deliver(7, old, "opened", updated_at="2026-03-01T10:00:00Z")
        ev = harness.pull_request_event(
            "octo-org", "platform", new, pr_number=7, action="closed",
            updated_at="2026-03-01T10:00:02Z")
        status, body = harness.post_webhook(p.api.url, ev,
                                            p.api.webhook_secret)
        self.assertEqual(status, 202, body)
        self.assertEqual(p.redis.client().get("prhead:octo-org/platform#7"),
                         new)
        p.add_worker("kics-late")
        harness.wait_until(lambda: p.completed(old) and p.completed(new),
                           30, what="both check runs to complete")
        self.assertEqual(p.completed(old)[0]["conclusion"], "cancelled")
        self.assertEqual(p.completed(new)[0]["conclusion"], "failure")
        self.assertEqual(len(p.scans()), 1)


if __name__ == "__main__":
    harness.main()
