#!/usr/bin/python3
"""Three replicas of each worker and 50 jobs: every job completes exactly
once on each scanner (one scan, one completed check run each)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from scenario import Pipeline  # noqa: E402

JOBS = 50


class Replicas(harness.Case):
    def test_fifty_jobs_on_three_replicas_of_each_worker(self):
        p = Pipeline(self, workers=3, bd_workers=3)
        sha = p.base_sha
        jobs = []
        for pr in range(1, JOBS + 1):
            p.set_pr(pr, sha)
            jobs.append(p.deliver(pr, sha))

        def done():
            return (len(p.completed(sha)) >= JOBS and
                    len(p.completed(sha, "Black Duck")) >= JOBS)
        harness.wait_until(done, 180, interval=0.5,
                           what="all check runs to complete")
        for name, scans, stream in (("KICS", p.scans, "worker-kics"),
                                    ("Black Duck", p.bd_scans,
                                     "worker-blackduck")):
            runs = p.runs(sha, name)
            self.assertEqual(len(runs), JOBS, name)
            self.assertEqual(sorted(r["external_id"] for r in runs),
                             sorted(jobs), name)
            self.assertEqual(len(scans()), JOBS, name)
            harness.wait_until(lambda: p.stream_len(stream) == 0 and
                               p.pending(stream) == 0, 10,
                               what="every %s entry acknowledged" % name)
        # The work was shared.
        busy = [w for w in p.workers if "scan started" in w.log_text()]
        self.assertGreaterEqual(len(busy), 4)


if __name__ == "__main__":
    harness.main()
