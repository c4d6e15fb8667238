#!/usr/bin/python3
"""prscan-api's POST /webhook and GET /status against a real redis-server."""

import http.client
import json
import os
import shlex
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO = "octo-org", "infra"
SHA = "0123456789abcdef0123456789abcdef01234567"


def raw_post(url, body, headers):
    u = harness.urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request("POST", "/webhook", body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, harness._decode(resp.read())
    finally:
        conn.close()


class Webhook(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.api = self.track(harness.api(self.tmp, self.redis, self.github,
                                          SCANNERS="kics,blackduck",
                                          STORAGE_TTL="3600"))
        self.r = self.redis.client()

    def post(self, ev, **kw):
        return harness.post_webhook(self.api.url, ev,
                                    self.api.webhook_secret, **kw)

    def event(self, **kw):
        return harness.pull_request_event(OWNER, REPO, SHA, pr_number=7,
                                          installation=99, **kw)

    def planned(self, jobs):
        """Waits until the publisher planned jobs jobs: the webhook only
        queues a plan entry, the scanners' entries follow it."""
        harness.wait_until(lambda: len(self.r.keys("plan:*")) >= jobs,
                           10, what="%d plans" % jobs)
        harness.wait_until(lambda: not any(
            f.get("kind") == "plan"
            for _, f in self.r.xrange("github-writes")), 10,
            what="no plan entry left")

    def keys(self):
        # The publisher's lease and its stream (empty until something is
        # queued) exist from the API's start.
        keys = [k for k in self.r.keys("*") if k != "lock:publisher"]
        if "github-writes" in keys and self.r.xlen("github-writes") == 0:
            keys.remove("github-writes")
        return sorted(keys)

    def test_pull_request_opened_queues_one_job_per_scanner(self):
        status, body = self.post(self.event(), delivery="d-1-aaaa")
        self.assertEqual(status, 202, body)
        self.assertEqual(body["status"], "queued")
        job_id = body["job_id"]
        self.assertRegex(job_id, "^[0-9a-f]{32}$")
        self.assertEqual(body["scanners"], ["kics", "blackduck"])
        rec = json.loads(self.r.get("storage:" + job_id))
        self.assertEqual(rec["job_id"], job_id)
        self.assertEqual(rec["delivery_id"], "d-1-aaaa")
        self.assertEqual(rec["installation_id"], 99)
        self.assertEqual((rec["owner"], rec["repo"]), (OWNER, REPO))
        self.assertEqual(rec["pr_number"], 7)
        self.assertEqual(rec["head_sha"], SHA)
        self.assertEqual(rec["head_ref"], "changes")
        self.assertEqual(rec["base_ref"], "master")
        self.assertTrue(rec["clone_url"].startswith("https://"))
        ttl = self.r.ttl("storage:" + job_id)
        self.assertTrue(3500 < ttl <= 3600, ttl)
        self.planned(1)
        for stream in ("worker-kics", "worker-blackduck"):
            entries = self.r.xrange(stream)
            self.assertEqual(len(entries), 1, stream)
            fields = entries[0][1]
            self.assertEqual(fields["job_id"], job_id)
            self.assertEqual(json.loads(fields["job"])["head_sha"], SHA)

    def test_latest_head_and_closing_are_recorded_for_workers(self):
        key = "prhead:%s/%s#7" % (OWNER, REPO)
        self.assertEqual(self.post(self.event())[0], 202)
        self.assertEqual(self.r.get(key), SHA)
        status, body = self.post(self.event(action="closed"))
        self.assertEqual(status, 202, body)
        self.assertIn("closed", body["reason"])
        self.assertEqual(self.r.get(key), "closed")
        self.planned(1)
        self.assertEqual(self.r.xlen("worker-kics"), 1)

    def test_a_redelivered_close_does_not_close_a_reopened_request(self):
        key = "prhead:%s/%s#7" % (OWNER, REPO)
        self.assertEqual(self.post(self.event(action="closed"),
                                   delivery="c105ed-1")[0], 202)
        self.assertEqual(self.post(self.event(action="reopened"))[0], 202)
        status, body = self.post(self.event(action="closed"),
                                 delivery="c105ed-1")
        self.assertEqual((status, body["status"]), (200, "duplicate"))
        self.assertEqual(self.r.get(key), SHA)

    def test_header_values_cannot_forge_log_fields(self):
        self.post(self.event(), delivery='x level=fatal msg="forged"',
                  signature="sha256=" + "0" * 64)
        lines = [ln for ln in self.api.log_text().splitlines()
                 if "signature mismatch" in ln]
        self.assertEqual(len(lines), 1)
        fields = shlex.split(lines[0])
        self.assertEqual([f for f in fields if f.startswith("level=")],
                         ["level=warn"])
        self.assertIn('delivery=x level=fatal msg="forged"', fields)

    def test_outside_values_cannot_forge_log_fields_or_metrics(self):
        forged = 'x job=dead repo=victim/repo reason="y'
        status, body = self.post(self.event(action=forged),
                                 delivery="d-5-eeee")
        self.assertEqual((status, body["status"]), (202, "ignored"))
        lines = [ln for ln in self.api.log_text().splitlines()
                 if "d-5-eeee" in ln]
        self.assertEqual(len(lines), 1, lines)
        fields = shlex.split(lines[0])
        self.assertIn("action=" + forged, fields)
        self.assertEqual([f for f in fields if f.startswith("job=")], [])
        self.assertEqual([f for f in fields if f.startswith("repo=")],
                         ["repo=%s/%s" % (OWNER, REPO)])
        self.assertEqual(
            [f for f in fields if f.startswith("reason=")],
            ['reason=action %s is not scanned' % forged])
        text = harness.http_request(self.api.url, "GET", "/metrics")[1]
        self.assertIn('webhook_events_received_total{event="pull_request",'
                      'action="other"} 1', text)
        self.assertNotIn("victim", text)

    def test_redelivery_is_a_duplicate_and_queues_nothing(self):
        ev = self.event()
        self.assertEqual(self.post(ev, delivery="d-2-bbbb")[0], 202)
        status, body = self.post(ev, delivery="d-2-bbbb")
        self.assertEqual((status, body["status"]), (200, "duplicate"))
        self.planned(1)
        self.assertEqual(self.r.xlen("worker-kics"), 1)
        self.assertEqual(len(self.r.keys("storage:*")), 1)
        ttl = self.r.ttl("delivery:d-2-bbbb")
        self.assertTrue(72 * 3600 - 60 < ttl <= 72 * 3600, ttl)

    def test_delivery_id_in_another_case_is_the_same_delivery(self):
        ev = self.event()
        uid = "0d7c3a5e-1b2f-4c6d-9e8f-a1b2c3d4e5f6"
        self.assertEqual(self.post(ev, delivery=uid)[0], 202)
        status, body = self.post(ev, delivery=uid.upper())
        self.assertEqual((status, body["status"]), (200, "duplicate"))
        self.assertEqual(body["delivery"], uid)
        self.planned(1)
        self.assertEqual(self.r.xlen("worker-kics"), 1)
        self.assertEqual(self.r.keys("delivery:*"), ["delivery:" + uid])

    def test_pull_request_numbers_must_be_integers_of_at_least_1(self):
        for number in (0, -3, "7", None):
            ev = self.event()
            ev["pull_request"]["number"] = number
            status, body = self.post(ev)
            self.assertEqual(status, 400, (number, body))
            self.assertIn("pull_request.number", body["error"])
        ev = self.event(action="closed")
        ev["pull_request"]["number"] = 0
        self.assertEqual(self.post(ev)[0], 400)
        repo = self.event()["repository"]
        run = {"action": "rerequested", "repository": repo,
               "installation": {"id": 99},
               "check_run": {"id": 5, "name": "KICS", "head_sha": SHA,
                             "app": {"id": int(self.github.app_id)},
                             "check_suite": {"head_branch": "changes"},
                             "pull_requests": [{
                                 "number": "7", "head": {"ref": "changes"},
                                 "base": {"ref": "master"}}]}}
        status, body = self.post(run, event="check_run")
        self.assertEqual(status, 400, body)
        self.assertIn("check_run.pull_requests[0].number", body["error"])
        self.assertEqual(self.keys(), [])

    def test_managed_user_owner_with_underscore_is_scanned(self):
        ev = harness.pull_request_event("alice_acme", REPO, SHA,
                                        installation=99)
        status, body = self.post(ev)
        self.assertEqual(status, 202, body)
        rec = json.loads(self.r.get("storage:" + body["job_id"]))
        self.assertEqual(rec["owner"], "alice_acme")
        ev = harness.pull_request_event("_acme", REPO, SHA, installation=99)
        self.assertEqual(self.post(ev)[0], 400)

    def test_bad_signature_is_401_and_writes_nothing(self):
        status, body = self.post(self.event(), signature="sha256=" + "0" * 64)
        self.assertEqual(status, 401)
        self.assertIn("signature", body["error"])
        status, _ = harness.post_webhook(self.api.url, self.event(),
                                         "another-secret")
        self.assertEqual(status, 401)
        self.assertEqual(self.keys(), [])

    def test_missing_headers_are_400_with_the_header_named(self):
        body = json.dumps(self.event()).encode()
        base = {"Content-Type": "application/json",
                "X-GitHub-Event": "pull_request",
                "X-GitHub-Delivery": "d-3",
                "X-Hub-Signature-256": harness.sign(self.api.webhook_secret,
                                                    body)}
        for name in ("X-GitHub-Event", "X-GitHub-Delivery",
                     "X-Hub-Signature-256"):
            headers = {k: v for k, v in base.items() if k != name}
            status, answer = raw_post(self.api.url, body, headers)
            self.assertEqual(status, 400, name)
            self.assertIn(name, answer["error"])
        self.assertEqual(self.keys(), [])

    def test_form_encoded_is_415(self):
        status, body = self.post(self.event(),
                                 content_type="application/x-www-form-"
                                 "urlencoded")
        self.assertEqual(status, 415)
        self.assertIn("application/json", body["error"])

    def announce(self, headers):
        """Sends only a request head; returns the first line answered."""
        u = harness.urllib.parse.urlsplit(self.api.url)
        with socket.create_connection((u.hostname, u.port), 10) as s:
            s.sendall(headers.encode())
            s.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.split(b"\r\n", 1)[0].decode()

    def test_body_over_25_mib_is_413_before_it_is_read(self):
        head = ("POST /webhook HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/json\r\n"
                "X-GitHub-Event: pull_request\r\n"
                "X-GitHub-Delivery: d-big\r\n"
                "X-Hub-Signature-256: sha256=%s\r\n"
                "Content-Length: %d\r\n\r\n" % ("0" * 64,
                                                 25 * 1024 * 1024 + 1))
        self.assertIn(" 413 ", self.announce(head))
        # A chunked body: test_api_body_limits.
        self.assertEqual(self.keys(), [])

    def test_malformed_json_is_400_with_the_reason(self):
        status, body = self.post(b'{"action": "opened",')
        self.assertEqual(status, 400)
        self.assertIn("malformed JSON", body["error"])
        status, body = self.post(b'[1, 2]')
        self.assertEqual(status, 400)

    def test_missing_fields_are_400_with_the_field(self):
        ev = self.event()
        del ev["pull_request"]["head"]["sha"]
        status, body = self.post(ev)
        self.assertEqual(status, 400)
        self.assertIn("pull_request.head.sha", body["error"])
        ev = self.event()
        ev["repository"]["name"] = "../../etc"
        status, body = self.post(ev)
        self.assertEqual(status, 400)
        self.assertEqual(self.r.keys("storage:*"), [])

    def test_ping_is_200(self):
        status, body = self.post({"zen": "Keep it logically awesome.",
                                  "hook_id": 1}, event="ping")
        self.assertEqual((status, body["status"]), (200, "pong"))

    def test_other_deliveries_are_ignored_with_a_reason(self):
        cases = [
            (self.event(action="labeled"), "pull_request", "labeled"),
            ({"action": "created"}, "issue_comment", "issue_comment"),
        ]
        draft = self.event()
        draft["pull_request"]["draft"] = True
        cases.append((draft, "pull_request", "draft"))
        no_inst = self.event()
        del no_inst["installation"]
        cases.append((no_inst, "pull_request", "installation"))
        for ev, event, word in cases:
            status, body = self.post(ev, event=event)
            self.assertEqual(status, 202, body)
            self.assertEqual(body["status"], "ignored")
            self.assertIn(word, body["reason"])
        self.assertEqual(self.r.keys("storage:*"), [])
        self.assertEqual(self.r.exists("worker-kics"), 0)

    def test_synchronize_reopened_ready_for_review_queue(self):
        for action in ("synchronize", "reopened", "ready_for_review"):
            status, body = self.post(self.event(action=action))
            self.assertEqual(status, 202, action)
            self.assertEqual(body["status"], "queued")
        self.planned(3)
        self.assertEqual(self.r.xlen("worker-kics"), 3)

    def test_redis_down_is_503_and_status_says_so(self):
        status, body, _ = harness.http_request(self.api.url, "GET", "/status")
        self.assertEqual((status, body), (200, {"status": "ok",
                                                "redis": "ok"}))
        self.redis.stop()
        status, body = self.post(self.event())
        self.assertEqual(status, 503)
        status, body, _ = harness.http_request(self.api.url, "GET", "/status")
        self.assertEqual(status, 503)
        self.assertEqual(body["redis"], "error")
        self.redis.start()
        harness.wait_until(lambda: self.post(self.event())[0] == 202, 10,
                           what="the API to reach Redis again")
        self.assertIn("redis unreachable", self.api.log_text())

    def test_unknown_route_and_method(self):
        self.assertEqual(harness.http_request(self.api.url, "GET",
                                              "/nope")[0], 404)
        self.assertEqual(harness.http_request(self.api.url, "GET",
                                              "/webhook")[0], 405)


if __name__ == "__main__":
    harness.main()
