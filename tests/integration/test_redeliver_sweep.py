#!/usr/bin/python3
"""The API's redelivery sweep (REDELIVER=on) recovers a pull request
GitHub sent while prscan was down: GitHub lists the delivery as failed
(nothing answered), two API replicas start with a 1 s interval, the
sweep asks for the redelivery once, GitHub sends it again, and the KICS
check run completes.  A failed delivery prscan recorded, and one another
sweep already asked for, are not asked for.  While GitHub answers the
listing with 503 the sweep fails, says so once and tries again next
interval."""

import os
import re
import secrets
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import scenario  # noqa: E402

INTERVAL = 1
SWEEP = {"REDELIVER": "on", "REDELIVER_INTERVAL": str(INTERVAL)}


def metric(text, name, outcome):
    m = re.search(r'^%s\{outcome="%s"\} (\d+)' % (name, outcome), text,
                  re.M)
    return int(m.group(1)) if m else 0


class RedeliverSweep(harness.Case):
    def attempts(self, gh):
        return gh._control("GET", "/_standin/deliveries")["attempts"]

    def register(self, gh, **d):
        d.setdefault("guid", str(uuid.uuid4()))
        return gh._control("POST", "/_standin/deliveries", d)

    def test_sweep_recovers_a_delivery_sent_while_prscan_was_down(self):
        p = scenario.Pipeline(self, start=False, api_env=SWEEP)
        gh, r = p.github, p.redis.client()
        port, other = harness.free_port(), harness.free_port()
        secret = secrets.token_hex(16)
        gh._control("POST", "/_standin/webhook", {
            "url": "http://127.0.0.1:%d/webhook" % port, "secret": secret})

        # prscan is down: GitHub's delivery gets no answer.
        ev = harness.pull_request_event(scenario.OWNER, scenario.REPO,
                                        p.base_sha)
        lost = gh._control("POST", "/_standin/deliveries/send", {
            "guid": str(uuid.uuid4()), "event": "pull_request",
            "payload": ev})
        self.assertEqual(lost["status_code"], 0)
        self.assertEqual(p.stream_len(), 0)
        # GitHub timed out on this one, but prscan had recorded it.
        recorded = self.register(gh, status_code=0, age=300, payload=ev)
        r.set("delivery:" + recorded["guid"], "0" * 32)
        # Another replica's sweep is asking for this one right now.
        claimed = self.register(gh, status_code=502, age=200, payload=ev)
        r.set("redeliver:asked:" + claimed["guid"], "1", ex=3600)
        # The first two listings fail.
        gh.add_fault(r"^/app/hook/deliveries$", status=503, method="GET",
                     count=2)

        b = p.start_api(port=other, webhook_secret=secret, wait=False)
        a = p.start_api(port=port, webhook_secret=b.webhook_secret,
                        callback_secret=b.callback_secret, wait=False)
        a.wait_http()
        b.wait_http()
        p.add_worker("kics-1")

        harness.wait_until(lambda: p.completed(p.base_sha), 20,
                           what="the redelivered pull request's KICS run")
        self.assertEqual(self.attempts(gh), [lost["id"]])
        self.assertTrue(r.get("delivery:" + lost["guid"]))

        # More sweeps on both replicas ask for nothing more.
        def sweeps():
            return sum(len(re.findall(r"redelivery sweep\b.*\blisted=",
                                      d.log_text())) for d in (a, b))
        seen = sweeps()
        harness.wait_until(lambda: sweeps() >= seen + 2, 10,
                           what="two more sweeps")
        self.assertEqual(self.attempts(gh), [lost["id"]])
        self.assertEqual(len(p.runs(p.base_sha)), 1)

        text = {d: harness.http_request(d.url, "GET", "/metrics")[1]
                for d in (a, b)}
        self.assertEqual(sum(metric(t, "redeliveries_requested_total",
                                    "accepted") for t in text.values()), 1)
        self.assertEqual(sum(metric(t, "redeliver_sweeps_total", "failed")
                             for t in text.values()), 2)
        self.assertGreaterEqual(sum(metric(t, "redeliver_sweeps_total",
                                           "ok") for t in text.values()), 3)
        logs = a.log_text() + b.log_text()
        # Each replica says once that sweeping fails, not every time.
        for d in (a, b):
            self.assertLessEqual(
                d.log_text().count("redelivery sweep failed"), 1)
        self.assertIn("GitHub answered 503", logs)
        asked = [int(n) for n in re.findall(r"\basked=(\d+)", logs)]
        self.assertEqual(sum(asked), 1, logs)
        self.assertRegex(logs, r"redelivery sweep\b.*asked=1 "
                         r"redelivered=1 skipped=2 failed=0")
        # The first sweep looked back GitHub's three days.
        self.assertIn("window=259200 ", logs)

        # Stops cleanly and at once on SIGTERM.
        t0 = time.monotonic()
        self.assertEqual(b.stop(), 0)
        self.assertLess(time.monotonic() - t0, 3)

    def test_redis_down_fails_the_sweep_once_and_it_resumes(self):
        redis = self.start_redis()
        gh = self.start_github()
        api = self.track(harness.api(self.tmp, redis, gh, **SWEEP))

        def ok_sweeps():
            return len(re.findall(r"redelivery sweep\b.*\blisted=",
                                  api.log_text()))
        harness.wait_until(ok_sweeps, 10, what="a first sweep")
        self.assertIn("window=259200 ", api.log_text())
        redis.stop()
        time.sleep(3 * INTERVAL)
        self.assertTrue(api.alive())
        self.assertEqual(api.log_text().count("redelivery sweep failed"),
                         1)
        listed = [c for c in gh.calls()
                  if c["path"] == "/app/hook/deliveries"]
        redis.start()
        seen = ok_sweeps()
        harness.wait_until(lambda: ok_sweeps() > seen, 10,
                           what="a sweep after Redis came back")
        # No GitHub call while Redis was away; the window reaches back
        # to the last finished sweep, not three days.
        self.assertEqual(len(listed), 1)
        windows = re.findall(r"\bwindow=(\d+)", api.log_text())
        self.assertLess(int(windows[-1]), 300 + 30)
        self.assertGreaterEqual(int(windows[-1]), 300 + 3 * INTERVAL)

    def test_bad_configuration_is_refused(self):
        redis = self.start_redis()
        gh = self.start_github()
        for var, value in (("REDELIVER", "yes"),
                           ("REDELIVER_INTERVAL", "0"),
                           ("REDELIVER_MAX_WINDOW", "999999")):
            d = self.track(harness.api(self.tmp, redis, gh, wait=False,
                                       **{var: value}))
            self.assertEqual(d.proc.wait(10), 2)
            self.assertIn(var, d.log_text())


if __name__ == "__main__":
    harness.main()
