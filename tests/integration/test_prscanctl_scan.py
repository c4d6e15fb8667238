#!/usr/bin/python3
"""prscanctl scan OWNER/REPO PR: finds the repository's installation and
the pull request's current head on GitHub, queues the scan through the
API's /fanout with ADMIN_TOKEN, and a worker completes its check run on
that head.  A closed pull request and a wrong admin token are refused
without queueing anything, and the token never shows."""

import json
import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctltool  # noqa: E402
import harness  # noqa: E402

OWNER, REPO = "octo", "platform"
INPUT = os.path.join(harness.FIXTURES, "kics-inputs",
                     "dockerfile_missing_user_instruction")


class Scan(harness.Case):
    def test_scan_a_pull_request_by_hand(self):
        redis = self.start_redis()
        github = self.start_github()
        r = redis.client()
        sha = harness.make_repo(github, OWNER, REPO, [INPUT], pr_number=7)
        github._control("POST", "/_standin/installations",
                        {"owner": OWNER, "repo": REPO, "id": 42})
        token = secrets.token_hex(20)
        api = self.track(harness.api(self.tmp, redis, github,
                                     ADMIN_TOKEN=token))
        self.track(harness.kics_worker(self.tmp, api, redis, github))
        env = ctltool.env_for(redis, github, api, ADMIN_TOKEN=token)

        code, out, err = ctltool.run(["scan", "%s/%s" % (OWNER, REPO), "7"],
                                     env)
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith("queued job "), out)
        job_id = out.split()[2].rstrip(":")
        job = json.loads(r.get("storage:" + job_id))
        self.assertEqual((job["owner"], job["repo"], job["pr_number"],
                          job["head_sha"], job["head_ref"], job["base_ref"],
                          job["installation_id"]),
                         (OWNER, REPO, 7, sha, "feature", "main", 42))

        def completed():
            return [c for c in github.check_runs(OWNER, REPO, sha)
                    if c["name"] == "KICS" and c["status"] == "completed"]
        runs = harness.wait_until(completed, 30, interval=0.2,
                                  what="the scan's check run")
        self.assertEqual(runs[0]["external_id"], job_id)
        calls = [(c["method"], c["path"], c["auth_kind"])
                 for c in github.calls()]
        self.assertIn(("GET", "/repos/%s/%s/installation" % (OWNER, REPO),
                       "jwt"), calls)
        self.assertIn(("GET", "/repos/%s/%s/pulls/7" % (OWNER, REPO),
                       "token"), calls)

        entries = r.xlen("worker-kics")
        bad = dict(env, ADMIN_TOKEN="wrong-" + token)
        code, out, err = ctltool.run(["scan", "%s/%s" % (OWNER, REPO), "7"],
                                     bad)
        self.assertEqual(code, 1)
        self.assertIn("401", err)
        self.assertNotIn(token, out + err)

        github._control("POST", "/_standin/pulls", {
            "owner": OWNER, "repo": REPO, "number": 7, "state": "closed"})
        code, out, err = ctltool.run(["scan", "%s/%s" % (OWNER, REPO), "7"],
                                     env)
        self.assertEqual(code, 1)
        self.assertIn("is closed", err)
        code, out, err = ctltool.run(["scan", "%s/%s" % (OWNER, REPO), "8"],
                                     env)
        self.assertEqual(code, 1)
        self.assertIn("404", err)
        self.assertEqual(r.xlen("worker-kics"), entries)

        code, out, err = ctltool.run(["scan", "not-a-repo", "7"], env)
        self.assertEqual(code, 2)


if __name__ == "__main__":
    harness.main()
