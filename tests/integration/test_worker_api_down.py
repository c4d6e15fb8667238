#!/usr/bin/python3
"""The API down for 30 s while scans finish: the workers keep their
entries and every scan completes once the API is back."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from scenario import Pipeline  # noqa: E402

JOBS = 3
OUTAGE = 30


class ApiDown(harness.Case):
    def test_scans_complete_after_a_30_second_api_outage(self):
        p = Pipeline(self, workers=2, worker_env={"KICS_STANDIN_SLEEP": "2"})
        sha = p.base_sha
        for pr in range(1, JOBS + 1):
            p.set_pr(pr, sha)
            p.deliver(pr, sha)
        harness.wait_until(lambda: len(p.scans()) >= 2, 20,
                           what="both workers to be scanning")
        port = p.api.port
        p.api.stop()
        # The scans in hand finish while the API is away; their results
        # wait in the workers, their entries stay pending.
        time.sleep(OUTAGE)
        self.assertGreater(p.pending(), 0)
        p.start_api(port=port)
        harness.wait_until(lambda: len(p.completed(sha)) >= JOBS, 90,
                           interval=0.5, what="every job to complete")
        self.assertEqual(len(p.runs(sha)), JOBS)
        self.assertEqual(len(p.scans()), JOBS)
        harness.wait_until(lambda: p.stream_len() == 0 and
                           p.pending() == 0, 10,
                           what="every entry to be acknowledged")


if __name__ == "__main__":
    harness.main()
