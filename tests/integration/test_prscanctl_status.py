#!/usr/bin/python3
"""prscanctl status: a job taken by a worker that then died stays pending
to that consumer; status shows it (entry, idle time, deliveries), the
stream's length, the dead letters and the oldest pending age, both as a
table and as JSON."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctltool  # noqa: E402
import harness  # noqa: E402


def job(i):
    return json.dumps({"job_id": "%032x" % i, "owner": "octo",
                       "repo": "platform", "pr_number": i})


class Status(harness.Case):
    def test_pending_entries_and_dead_letters(self):
        redis = self.start_redis()
        r = redis.client()
        env = ctltool.env_for(redis)

        code, out, err = ctltool.run(["status"], env)
        self.assertEqual(code, 0, err)
        self.assertIn("no worker-* streams", out)

        r.xgroup_create("worker-kics", "workers", id="0", mkstream=True)
        ids = [r.xadd("worker-kics", {"job_id": "%032x" % i, "job": job(i)})
               for i in (1, 2, 3)]
        # Consumer kics-1 takes two entries and dies; kics-2 is idle.
        r.xreadgroup("workers", "kics-1", {"worker-kics": ">"}, count=2)
        r.xreadgroup("workers", "kics-2", {"worker-kics": "0"}, count=1)
        r.xadd("worker-kics:dead", {"reason": "delivered 4 times",
                                    "entry_id": "1-0", "deliveries": "4",
                                    "job": job(9)})
        r.xgroup_create("worker-blackduck", "workers", id="0",
                        mkstream=True)
        time.sleep(0.3)

        st = ctltool.run_json(self, ["status"], env)
        by = {s["stream"]: s for s in st["streams"]}
        self.assertEqual(sorted(by), ["worker-blackduck", "worker-kics"])
        kics = by["worker-kics"]
        self.assertEqual(kics["length"], 3)
        self.assertEqual(kics["pending"], 2)
        self.assertEqual(kics["dead"], 1)
        self.assertGreaterEqual(kics["oldest_pending_age_ms"], 300)
        group = kics["groups"][0]
        self.assertEqual(group["group"], "workers")
        self.assertEqual(group["lag"], 1)
        cons = {c["consumer"]: c for c in group["consumers"]}
        self.assertEqual(sorted(cons), ["kics-1", "kics-2"])
        self.assertEqual(cons["kics-1"]["pending"], 2)
        self.assertEqual([e["id"] for e in cons["kics-1"]["entries"]],
                         ids[:2])
        for e in cons["kics-1"]["entries"]:
            self.assertEqual(e["deliveries"], 1)
            self.assertGreaterEqual(e["idle_ms"], 300)
        self.assertEqual(cons["kics-2"]["pending"], 0)
        bd = by["worker-blackduck"]
        self.assertEqual((bd["length"], bd["pending"], bd["dead"]),
                         (0, 0, 0))
        self.assertIsNone(bd["oldest_pending_age_ms"])

        code, out, err = ctltool.run(["status"], env)
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("STREAM"), out)
        row = [ln for ln in lines if ln.startswith("worker-kics ")][0]
        self.assertEqual(row.split()[1:4], ["3", "2", "1"], out)
        self.assertIn("consumer kics-1", out)
        self.assertIn(ids[0], out)
        self.assertIn("deliveries 1", out)

        # A wrong password is a clear failure, never the password.
        bad = dict(env, REDIS_PASSWORD="not-the-password")
        code, out, err = ctltool.run(["status"], bad)
        self.assertEqual(code, 1)
        self.assertIn("prscanctl: redis", err)
        self.assertNotIn("not-the-password", err + out)


if __name__ == "__main__":
    harness.main()
