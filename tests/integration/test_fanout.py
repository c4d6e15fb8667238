#!/usr/bin/python3
"""POST /fanout: with ADMIN_TOKEN set, an operator queues a scan of a pull
request by hand (Authorization: Bearer <token>), which runs as a webhook's
would; a wrong token is 401, a bad body 400 naming the field, and without
ADMIN_TOKEN the route does not exist (404 like any unknown route)."""

import json
import os
import secrets
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from scenario import OWNER, REPO, Pipeline  # noqa: E402

ADMIN = "admin-" + secrets.token_hex(16)


class Fanout(harness.Case):
    def setUp(self):
        super().setUp()
        self.p = Pipeline(self, api_env={"ADMIN_TOKEN": ADMIN})
        self.r = self.p.redis.client()

    def body(self, sha, **changes):
        b = {"owner": OWNER, "repo": REPO, "pr_number": 1,
             "head_sha": sha, "head_ref": "feature", "base_ref": "main",
             "installation_id": 1}
        for k, v in changes.items():
            if v is None:
                b.pop(k)
            else:
                b[k] = v
        return b

    def fanout(self, body, token=ADMIN, scheme="Bearer", url=None,
               method="POST"):
        headers = {}
        if token is not None:
            headers["Authorization"] = "%s %s" % (scheme, token)
        if isinstance(body, str):
            body = body.encode()
        status, data, _ = harness.http_request(url or self.p.api.url,
                                               method, "/fanout", body,
                                               headers)
        return status, data

    def test_fanout_queues_a_scan_that_completes_its_check_run(self):
        sha = self.p.base_sha
        status, data = self.fanout(self.body(sha))
        self.assertEqual(status, 202, data)
        self.assertEqual(data["status"], "queued")
        self.assertRegex(data["delivery"],
                         r"^fanout-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                         r"[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        rec = json.loads(self.r.get("storage:" + data["job_id"]))
        self.assertEqual(rec["delivery_id"], data["delivery"])
        self.assertEqual((rec["owner"], rec["repo"], rec["pr_number"],
                          rec["head_sha"], rec["installation_id"]),
                         (OWNER, REPO, 1, sha, 1))
        self.assertEqual(self.r.get("delivery:" + data["delivery"]),
                         data["job_id"])
        harness.wait_until(lambda: self.p.completed(sha), 30,
                           what="the check run to complete")
        run = self.p.completed(sha)[0]
        self.assertEqual(run["conclusion"], "failure")
        self.assertEqual(len(self.p.scans()), 1)
        # A second fan-out of the same head is a new delivery: scanned.
        status, again = self.fanout(self.body(sha))
        self.assertEqual(status, 202, again)
        self.assertNotEqual(again["delivery"], data["delivery"])
        self.assertNotIn(ADMIN, self.p.api.log_text())

    def test_wrong_or_missing_token_is_401_and_writes_nothing(self):
        for token, scheme in ((None, "Bearer"), ("", "Bearer"),
                              ("wrong", "Bearer"), (ADMIN[:-1], "Bearer"),
                              (ADMIN + "x", "Bearer"), (ADMIN, "Basic"),
                              (ADMIN, "token")):
            status, data = self.fanout(self.body(self.p.base_sha), token,
                                       scheme)
            self.assertEqual(status, 401, (token, scheme, data))
            self.assertEqual(data["error"], "bad or missing admin token")
        self.assertEqual(self.r.keys("storage:*"), [])
        self.assertEqual(self.r.keys("delivery:*"), [])
        # The scheme is case-insensitive, as HTTP's are.
        status, _ = self.fanout(self.body(self.p.base_sha), ADMIN, "bearer")
        self.assertEqual(status, 202)
        self.assertEqual(len(self.r.keys("storage:*")), 1)

    def test_bad_bodies_are_400_with_the_reason(self):
        sha = self.p.base_sha
        cases = [
            ("{not json", "malformed JSON"),
            ("[1]", "malformed JSON: not an object"),
            (self.body(sha, owner=None), "owner: missing or not a string"),
            (self.body(sha, owner="a/b"), "owner: not a valid name"),
            (self.body(sha, owner="-lead"), "owner: not a valid name"),
            (self.body(sha, repo=".."), "repo: not a valid name"),
            (self.body(sha, repo=7), "repo: missing or not a string"),
            (self.body(sha, head_sha="abc"), "head_sha: not a valid name"),
            (self.body(sha, head_ref="-x"), "head_ref: not a valid name"),
            (self.body(sha, base_ref="a..b"),
             "base_ref: not a valid name"),
            (self.body(sha, pr_number=0),
             "pr_number: must be an integer of at least 1"),
            (self.body(sha, pr_number="1"),
             "pr_number: must be an integer of at least 1"),
            (self.body(sha, installation_id=None),
             "installation_id: must be an integer of at least 1"),
        ]
        for body, why in cases:
            status, data = self.fanout(body if isinstance(body, str)
                                       else json.dumps(body))
            self.assertEqual(status, 400, (body, data))
            self.assertTrue(data["error"].startswith(why),
                            (body, data["error"], why))
        self.assertEqual(self.r.keys("storage:*"), [])

    def test_without_admin_token_there_is_no_route(self):
        api = self.track(harness.api(self.tmp, self.p.redis, self.p.github))
        for method in ("POST", "GET"):
            status, data = self.fanout(self.body(self.p.base_sha),
                                       url=api.url, method=method)
            self.assertEqual((status, data), (404, {"error":
                                                    "no such route"}))
            status, other, _ = harness.http_request(api.url, method,
                                                    "/nowhere")
            self.assertEqual((status, other), (404, data))
        # With the token set, GET is refused as for any POST route.
        self.assertEqual(self.fanout(None, method="GET")[0], 405)


if __name__ == "__main__":
    harness.main()
