#!/usr/bin/python3
"""Redis restarted (AOF) with jobs queued and one running: every job
completes, none twice."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from scenario import Pipeline  # noqa: E402

JOBS = 4


class RedisRestart(harness.Case):
    def test_jobs_survive_a_redis_restart(self):
        p = Pipeline(self, workers=2, worker_env={"KICS_STANDIN_SLEEP": "2"})
        sha = p.base_sha
        for pr in range(1, JOBS + 1):
            p.set_pr(pr, sha)
            p.deliver(pr, sha)
        harness.wait_until(lambda: len(p.scans()) >= 1, 20,
                           what="a scan to be running")
        p.redis.restart()
        harness.wait_until(lambda: len(p.completed(sha)) >= JOBS, 60,
                           interval=0.25, what="every job to complete")
        self.assertEqual(len(p.runs(sha)), JOBS)
        self.assertEqual(len(p.scans()), JOBS)
        harness.wait_until(lambda: p.stream_len() == 0 and
                           p.pending() == 0, 10,
                           what="every entry to be acknowledged")
        for w in p.workers:
            self.assertTrue(w.alive(), w.name)


if __name__ == "__main__":
    harness.main()
