#!/usr/bin/python3
"""prscanctl dead list/show/replay/drop on letters in worker-kics:dead:
list and show read them (by letter id or job id), drop removes one, and
replay puts a job whose storage record has expired back on worker-kics,
where a real worker scans it and completes a fresh check run."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctltool  # noqa: E402
import harness  # noqa: E402

OWNER, REPO = "octo", "platform"
INPUT = os.path.join(harness.FIXTURES, "kics-inputs",
                     "dockerfile_missing_user_instruction")


class Dead(harness.Case):
    def job(self, i, sha, pr=1):
        return {"job_id": "%032x" % i, "delivery_id": "d-%d" % i,
                "installation_id": 1, "owner": OWNER, "repo": REPO,
                "pr_number": pr, "head_sha": sha, "head_ref": "feature",
                "base_ref": "main",
                "clone_url": "https://github.com/%s/%s.git" % (OWNER, REPO)}

    def letter(self, job, entry="1-0"):
        return self.r.xadd("worker-kics:dead", {
            "reason": "the job was delivered 4 times without finishing",
            "entry_id": entry, "deliveries": "4",
            "job": json.dumps(job)})

    def test_list_show_drop_replay(self):
        redis = self.start_redis()
        github = self.start_github()
        self.r = redis.client()
        sha = harness.make_repo(github, OWNER, REPO, [INPUT])
        env = ctltool.env_for(redis)
        keep, gone = self.job(1, sha), self.job(2, sha)
        keep_id = self.letter(keep, "5-0")
        gone_id = self.letter(gone, "6-0")
        # The job's check run was failed when it was dead-lettered.
        self.r.hset("checkrun:%s:kics" % keep["job_id"],
                    mapping={"id": "77", "sent": "1", "done": "1"})

        rows = ctltool.run_json(self, ["dead", "list"], env)
        self.assertEqual([(x["id"], x["job_id"], x["entry_id"],
                           x["deliveries"]) for x in rows],
                         [(keep_id, keep["job_id"], "5-0", 4),
                          (gone_id, gone["job_id"], "6-0", 4)])
        code, out, err = ctltool.run(["dead", "list", "--stream",
                                      "worker-blackduck"], env)
        self.assertEqual((code, out.strip()), (0, "no dead letters"), err)

        shown = ctltool.run_json(self, ["dead", "show", keep["job_id"]],
                                 env)
        self.assertEqual(shown["id"], keep_id)
        self.assertEqual(shown["job"], keep)
        code, out, err = ctltool.run(["dead", "show", gone_id, "--stream",
                                      "worker-kics"], env)
        self.assertEqual(code, 0, err)
        self.assertIn("delivered 4 times", out)
        self.assertIn('"head_sha": "%s"' % sha, out)
        code, out, err = ctltool.run(["dead", "show", "9-9"], env)
        self.assertEqual(code, 1)
        self.assertIn("no dead letter 9-9", err)

        code, out, err = ctltool.run(["dead", "drop", gone_id], env)
        self.assertEqual(code, 0, err)
        self.assertEqual([e[0] for e in self.r.xrange("worker-kics:dead")],
                         [keep_id])

        self.assertIsNone(self.r.get("storage:" + keep["job_id"]))
        code, out, err = ctltool.run(["dead", "replay", keep_id], env)
        self.assertEqual(code, 0, err)
        self.assertIn("replayed %s as worker-kics" % keep_id, out)
        self.assertEqual(self.r.xlen("worker-kics:dead"), 0)
        entries = self.r.xrange("worker-kics")
        self.assertEqual(len(entries), 1)
        self.assertEqual(entries[0][1]["job_id"], keep["job_id"])
        self.assertEqual(json.loads(entries[0][1]["job"]), keep)
        self.assertEqual(json.loads(self.r.get(
            "storage:" + keep["job_id"])), keep)
        self.assertGreater(self.r.ttl("storage:" + keep["job_id"]), 0)
        self.assertFalse(self.r.exists("checkrun:%s:kics" % keep["job_id"]))

        # A real worker takes the replayed job and completes its scan.
        api = self.track(harness.api(self.tmp, redis, github))
        self.track(harness.kics_worker(self.tmp, api, redis, github))

        def completed():
            runs = [c for c in github.check_runs(OWNER, REPO, sha)
                    if c["name"] == "KICS" and c["status"] == "completed"]
            return runs
        runs = harness.wait_until(completed, 30, interval=0.2,
                                  what="the replayed scan's check run")
        self.assertEqual(runs[0]["external_id"], keep["job_id"])
        self.assertEqual(runs[0]["conclusion"], "failure")
        self.assertIn("high", runs[0]["output"]["title"].lower())
        harness.wait_until(lambda: self.r.xlen("worker-kics") == 0, 10,
                           what="the replayed entry to be acknowledged")
        self.assertEqual(self.r.xlen("worker-kics:dead"), 0)


if __name__ == "__main__":
    harness.main()
