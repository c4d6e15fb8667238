#!/usr/bin/python3
"""prscanctl redeliver --since: of the App's deliveries listed by GitHub
(more than one page), only the failed one inside the window that prscan
never recorded is redelivered; GitHub sends it again and the API queues
its scan.  Successful deliveries, failures later retried successfully,
failures prscan recorded and failures older than the window are left
alone.  --dry-run asks for nothing."""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctltool  # noqa: E402
import harness  # noqa: E402

OWNER, REPO = "octo", "platform"
SHA = "a" * 40


class Redeliver(harness.Case):
    def register(self, **d):
        d.setdefault("guid", str(uuid.uuid4()))
        d.setdefault("event", "pull_request")
        d.setdefault("action", "opened")
        return self.github._control("POST", "/_standin/deliveries", d)

    def attempts(self):
        return self.github._control("GET", "/_standin/deliveries")[
            "attempts"]

    def test_redeliver_failed_unrecorded_deliveries(self):
        redis = self.start_redis()
        self.github = self.start_github()
        r = redis.client()
        api = self.track(harness.api(self.tmp, redis, self.github))
        self.github._control("POST", "/_standin/webhook", {
            "url": api.url + "/webhook", "secret": api.webhook_secret})
        payload = harness.pull_request_event(OWNER, REPO, SHA)

        lost = self.register(status_code=502, age=5400, payload=payload)
        recorded = self.register(status_code=0, age=600)
        r.set("delivery:" + recorded["guid"], "0" * 32)
        old = self.register(status_code=500, age=3 * 3600,
                            payload=payload)
        retried = self.register(status_code=503, age=900)
        self.register(guid=retried["guid"], status_code=200, age=800,
                      redelivery=True)
        # A busy hour: two pages of successful deliveries on top.
        for _ in range(130):
            self.register(status_code=202, age=60)

        env = ctltool.env_for(redis, self.github)
        dry = ctltool.run_json(self, ["redeliver", "--since", "2h",
                                      "--dry-run"], env)
        self.assertEqual(self.attempts(), [])
        self.assertEqual((dry["attempts"], dry["delivered"],
                          dry["recorded"], dry["requested"],
                          dry["refused"]), (134, 131, 1, 1, 0))
        would = [d for d in dry["deliveries"]
                 if d["outcome"] == "would redeliver"]
        self.assertEqual([d["guid"] for d in would], [lost["guid"]])
        self.assertNotIn(old["guid"], [d["guid"] for d in
                                       dry["deliveries"]])

        code, out, err = ctltool.run(["redeliver", "--since", "2h"], env)
        self.assertEqual(code, 0, err)
        self.assertIn(lost["guid"], out)
        self.assertIn("1 redelivered", out)
        self.assertEqual(self.attempts(), [lost["id"]])
        pages = [c for c in self.github.calls()
                 if c["path"] == "/app/hook/deliveries"]
        self.assertGreaterEqual(len(pages), 2)
        self.assertTrue(all(c["auth_kind"] == "jwt" for c in pages))

        # GitHub sent it again; the API recorded and queued it.
        job = harness.wait_until(
            lambda: r.get("delivery:" + lost["guid"]), 10,
            what="the redelivered delivery to be recorded")
        entries = harness.wait_until(lambda: r.xrange("worker-kics"), 10,
                                     what="the plan to queue the scan")
        self.assertEqual(entries[0][1]["job_id"], job)

        # Nothing is left to redeliver now.
        again = ctltool.run_json(self, ["redeliver", "--since", "2h"], env)
        self.assertEqual(again["requested"], 0)
        self.assertEqual(self.attempts(), [lost["id"]])

        code, out, err = ctltool.run(["redeliver", "--since", "2x"], env)
        self.assertEqual(code, 1)
        self.assertIn("not a duration", err)
        code, out, err = ctltool.run(["redeliver"], env)
        self.assertEqual(code, 2)


if __name__ == "__main__":
    harness.main()
