#!/usr/bin/python3
"""While GitHub makes the publisher wait, new webhooks do not make it read
its backlog again: the pending GitHub writes are walked when the wait is
over (or when an installation that may write gets a new one), and then
all of them go out."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from scenario import Pipeline  # noqa: E402

JOBS = 40


class PublisherBackoff(harness.Case):
    def test_webhooks_during_a_backoff_do_not_rewalk_the_backlog(self):
        p = Pipeline(self, workers=0, api_env={
            "GITHUB_RETRY_BASE_MS": "4000", "GITHUB_RETRY_MAX_MS": "4000"})
        gh, r = p.github, p.redis.client()
        gh.add_fault(r"/contents/|/pulls/\d+/files", status=503, count=1)
        sha = p.base_sha
        p.set_pr(1, sha)
        p.deliver(1, sha)

        def plan_reads():
            return [c for c in gh.calls() if "/contents/" in c["path"] or
                    c["path"].endswith("/files")]
        harness.wait_until(lambda: len(plan_reads()) >= 1, 10,
                           what="the first plan to meet GitHub's 503")
        r.config_resetstat()
        for pr in range(2, JOBS + 2):
            p.set_pr(pr, sha)
            p.deliver(pr, sha)
        calls = {k[len("cmdstat_"):]: v["calls"] for k, v in
                 r.info("commandstats").items()}
        # A walk of the backlog reads the pending entries (XREADGROUP ...
        # 0) and loads an entry's check run state (HGETALL); taking the
        # new entries is one XREADGROUP each time the publisher wakes.
        self.assertEqual(calls.get("hgetall", 0), 0, calls)
        self.assertLessEqual(calls.get("xreadgroup", 0), JOBS + 5, calls)
        self.assertEqual(len(plan_reads()), 1)
        # After the wait every plan goes through, none lost.
        harness.wait_until(lambda: len(r.keys("plan:*")) == JOBS + 1, 30,
                           what="every job planned after the backoff")
        harness.wait_until(lambda: len(p.runs(sha)) == JOBS + 1, 30,
                           what="every check run created")

    def test_a_write_that_waits_for_its_spacing_is_not_forgotten(self):
        # GitHub's own spacing (the default): the second job's plan comes
        # while its installation must still wait, after the backlog was
        # empty; it must go out once the second has passed.
        p = Pipeline(self, workers=0,
                     api_env={"GITHUB_WRITE_INTERVAL_MS": "1000"})
        sha = p.base_sha
        p.set_pr(1, sha)
        p.set_pr(2, sha)
        p.deliver(1, sha)
        harness.wait_until(lambda: len(p.runs(sha)) == 1, 15,
                           what="the first check run")
        p.deliver(2, sha)
        harness.wait_until(lambda: len(p.runs(sha)) == 2, 10,
                           what="the second check run, a second later")


if __name__ == "__main__":
    harness.main()
