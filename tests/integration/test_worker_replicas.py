#!/usr/bin/python3
"""Three replicas of a worker and 50 jobs: every job completes exactly
once (one scan, one completed check run each)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from scenario import Pipeline  # noqa: E402

JOBS = 50


class Replicas(harness.Case):
    def test_fifty_jobs_on_three_replicas_complete_once_each(self):
        p = Pipeline(self, workers=3)
        sha = p.base_sha
        jobs = []
        for pr in range(1, JOBS + 1):
            p.set_pr(pr, sha)
            jobs.append(p.deliver(pr, sha))
        harness.wait_until(lambda: len(p.completed(sha)) >= JOBS, 120,
                           interval=0.5, what="all check runs to complete")
        runs = p.runs(sha)
        self.assertEqual(len(runs), JOBS)
        self.assertEqual(sorted(r["external_id"] for r in runs),
                         sorted(jobs))
        self.assertTrue(all(r["conclusion"] == "failure" for r in runs))
        self.assertEqual(len(p.scans()), JOBS)
        harness.wait_until(lambda: p.stream_len() == 0 and
                           p.pending() == 0, 10,
                           what="every entry to be acknowledged")
        # The work was shared.
        busy = [w for w in p.workers if "scan started" in w.log_text()]
        self.assertGreaterEqual(len(busy), 2)


if __name__ == "__main__":
    harness.main()
