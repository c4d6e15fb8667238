#!/usr/bin/python3
"""prscanctl purge OWNER/REPO and purge --user LOGIN: after real scans of
three repositories (job records, check run states, pull request heads,
delivery marks), plus a dead letter and an entry still pending to a
worker, purging one repository leaves no key, value or stream entry in
Redis that names it or its jobs, and the other repositories' records
stay.  --dry-run counts without removing; --user removes a person's
repositories and the records naming them as sender."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctltool  # noqa: E402
import harness  # noqa: E402

INPUT = os.path.join(harness.FIXTURES, "kics-inputs",
                     "dockerfile_missing_user_instruction")


def text(dump):
    return json.dumps(dump, sort_keys=True).lower()


class Purge(harness.Case):
    def scan(self, owner, repo):
        sha = harness.make_repo(self.github, owner, repo, [INPUT])
        ev = harness.pull_request_event(owner, repo, sha)
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)
        harness.wait_until(
            lambda: [c for c in self.github.check_runs(owner, repo, sha)
                     if c["status"] == "completed"], 30, interval=0.2,
            what="%s/%s's check run" % (owner, repo))
        return body["job_id"], sha

    def test_purge_a_repository_and_a_person(self):
        redis = self.start_redis()
        self.github = self.start_github()
        r = redis.client()
        self.api = self.track(harness.api(self.tmp, redis, self.github))
        worker = self.track(harness.kics_worker(self.tmp, self.api, redis,
                                                self.github))
        gone_job, gone_sha = self.scan("octo", "platform")
        kept_job, _ = self.scan("octo", "other")
        mine_job, _ = self.scan("mallory", "tools")
        harness.wait_until(lambda: r.xlen("worker-kics") == 0 and
                           r.xlen("github-writes") == 0, 10,
                           what="the entries to be acknowledged")
        # Records stay in Redis; nothing may change them meanwhile.
        worker.stop()
        self.api.stop()

        record = json.loads(r.get("storage:" + gone_job))
        # A second scan of the repository, stuck with a dead worker, and
        # one that ended in the dead letters.
        stuck = dict(record, job_id="1" * 32)
        r.set("storage:" + stuck["job_id"], json.dumps(stuck))
        r.xadd("worker-kics", {"job_id": stuck["job_id"],
                               "job": json.dumps(stuck)})
        r.xreadgroup("workers", "dead-worker", {"worker-kics": ">"})
        r.xadd("worker-kics:dead", {"reason": "delivered 4 times",
                                    "entry_id": "1-0", "deliveries": "4",
                                    "job": json.dumps(dict(
                                        record, job_id="2" * 32))})
        # A record that names mallory as the sender of another repo's job.
        sent = dict(json.loads(r.get("storage:" + kept_job)),
                    job_id="3" * 32, sender="Mallory")
        r.set("storage:" + sent["job_id"], json.dumps(sent))

        env = ctltool.env_for(redis)
        before = ctltool.dump(r)
        self.assertIn("platform", text(before))
        dry = ctltool.run_json(self, ["purge", "octo/platform",
                                      "--dry-run"], env)
        self.assertEqual(ctltool.dump(r), before)
        self.assertEqual(dry["jobs"], 2)

        done = ctltool.run_json(self, ["purge", "OCTO/platform"], env)
        self.assertEqual(done, dict(dry, dry_run=False))
        self.assertEqual(done["keys"]["storage"], 2)
        self.assertGreaterEqual(done["keys"]["checkrun"], 1)
        self.assertEqual(done["keys"]["prhead"], 1)
        self.assertEqual(done["keys"]["delivery"], 1)
        self.assertEqual(done["stream_entries"], {"worker-kics": 1,
                                                  "worker-kics:dead": 1})
        after = ctltool.dump(r)
        for word in ("platform", gone_job, gone_sha, "1" * 32, "2" * 32):
            self.assertNotIn(word, text(after))
        self.assertEqual(r.xpending("worker-kics", "workers")["pending"],
                         0)
        for job in (kept_job, mine_job, "3" * 32):
            self.assertTrue(r.exists("storage:" + job))
        self.assertTrue(r.exists("prhead:octo/other#1"))
        self.assertTrue(r.exists("checkrun:%s:kics" % kept_job))

        code, out, err = ctltool.run(["purge", "--user", "mallory"], env)
        self.assertEqual(code, 0, err)
        self.assertIn("removed 2 jobs", out)
        after = ctltool.dump(r)
        for word in ("mallory", mine_job, "3" * 32):
            self.assertNotIn(word, text(after))
        self.assertTrue(r.exists("storage:" + kept_job))
        self.assertIn("octo/other", text(after))

        code, out, err = ctltool.run(["purge", "octo"], env)
        self.assertEqual(code, 2)


if __name__ == "__main__":
    harness.main()
