#!/usr/bin/python3
"""prscanctl purge with DATABASE_URL set removes the audit rows too: after
real scans of two repositories (the second caused by a sender who owns
neither), purge OWNER/REPO removes that repository's rows and reports
their count (--dry-run only counts), and purge --user LOGIN finds the
jobs LOGIN triggered in someone else's repository, in Redis and in
PostgreSQL."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctltool  # noqa: E402
import harness  # noqa: E402

INPUT = os.path.join(harness.FIXTURES, "kics-inputs",
                     "dockerfile_missing_user_instruction")


class AuditPurge(harness.Case):
    def scan(self, owner, repo, sender):
        sha = harness.make_repo(self.github, owner, repo, [INPUT])
        ev = harness.pull_request_event(owner, repo, sha)
        ev["sender"]["login"] = sender
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)
        return body["job_id"]

    def test_purge_removes_audit_rows(self):
        pg = self.start_postgres()
        redis = self.start_redis()
        self.github = self.start_github()
        self.api = self.track(harness.api(self.tmp, redis, self.github,
                                          DATABASE_URL=pg.url))
        self.track(harness.kics_worker(self.tmp, self.api, redis,
                                       self.github))
        gone = self.scan("octo", "platform", "octo")
        theirs = self.scan("octo", "other", "Mallory")
        harness.wait_until(
            lambda: pg.sql("SELECT count(*) FROM scan_audit") == "2", 30,
            interval=0.2, what="both audit rows")
        r = redis.client()
        self.assertEqual(json.loads(r.get("storage:" + theirs))["sender"],
                         "Mallory")
        env = ctltool.env_for(redis, DATABASE_URL=pg.url)

        dry = ctltool.run_json(self, ["purge", "octo/platform",
                                      "--dry-run"], env)
        self.assertEqual(dry["audit_rows"], 1)
        self.assertEqual(pg.sql("SELECT count(*) FROM scan_audit"), "2")
        code, out, err = ctltool.run(["purge", "OCTO/platform"], env)
        self.assertEqual(code, 0, err)
        self.assertRegex(out, r"audit rows\s+1\n")
        self.assertEqual(pg.sql("SELECT string_agg(job_id, ',') FROM "
                                "scan_audit"), theirs)
        self.assertFalse(r.exists("scan_result:%s:kics" % gone))

        done = ctltool.run_json(self, ["purge", "--user", "mallory"], env)
        self.assertEqual(done["audit_rows"], 1)
        self.assertEqual(done["jobs"], 1)
        self.assertEqual(pg.sql("SELECT count(*) FROM scan_audit"), "0")
        self.assertNotIn("mallory", json.dumps(ctltool.dump(r)).lower())

        # An unreachable database stops purge before Redis is touched.
        before = ctltool.dump(r)
        pg.stop()
        code, out, err = ctltool.run(["purge", "octo/other"], env)
        self.assertEqual(code, 1, out)
        self.assertIn("audit database 127.0.0.1:%d/prscan" % pg.port, err)
        self.assertNotIn(pg.password, err + out)
        self.assertEqual(ctltool.dump(r), before)


if __name__ == "__main__":
    harness.main()
