#!/usr/bin/python3
"""prscan-api's limits on request bodies, attacked over raw sockets: large
bodies trickled by unauthenticated senders must not starve signed small
requests, requests without their route's credentials are refused before
their body is read, a chunked body is cut off as soon as it passes
25 MiB, and a body that takes longer than API_BODY_TIMEOUT is dropped."""

import hashlib
import hmac
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO = "octo-org", "infra"
SHA = "89abcdef0123456789abcdef0123456789abcdef"
MIB = 1024 * 1024
BIG = 17825802          # the reviewer's Content-Length: 17 MiB and 10
BUDGET = 25 * MIB       # API_MAX_INFLIGHT_BYTES, its least value
ADMIN = "admin-token-0123456789abcdef"


def answer_of(sock, timeout=5):
    """The status of the answer read from sock, None when the server
    closed the connection without one, "open" when it is still open
    without an answer after timeout seconds."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            part = sock.recv(4096)
            if not part:
                break
            data += part
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return "open"
    if not data.startswith(b"HTTP/1.1 "):
        return None
    return int(data.split(b" ")[1])


class BodyLimits(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.api = self.track(harness.api(
            self.tmp, self.redis, self.github,
            API_MAX_INFLIGHT_BYTES=str(BUDGET), API_BODY_TIMEOUT="2",
            ADMIN_TOKEN=ADMIN, GITHUB_WRITE_INTERVAL_MS="0"))
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        super().tearDown()

    def open(self, path, headers):
        s = socket.create_connection(("127.0.0.1", self.api.port),
                                     timeout=10)
        self.socks.append(s)
        head = "POST %s HTTP/1.1\r\nHost: x\r\n" % path
        head += "".join("%s: %s\r\n" % kv for kv in headers.items())
        s.sendall((head + "\r\n").encode())
        return s

    def webhook_headers(self, **extra):
        h = {"Content-Type": "application/json", "X-GitHub-Event": "ping",
             "X-GitHub-Delivery": harness._uuid(),
             "X-Hub-Signature-256": "sha256=" + "0" * 64}
        h.update(extra)
        return h

    def worker_headers(self, ts=None):
        return {"Content-Type": "application/json",
                "X-Prscan-Timestamp": str(int(time.time()) if ts is None
                                          else ts),
                "X-Prscan-Signature": "sha256=" + "0" * 64}

    def trickle(self, path, headers, nbytes):
        """Sends nbytes of a BIG body; True when the server refused it
        (an answer or a closed connection) before all were taken."""
        h = dict(headers, **{"Content-Length": str(BIG)})
        s = self.open(path, h)
        chunk = b" " * (256 * 1024)
        sent = 0
        try:
            while sent < nbytes:
                s.sendall(chunk)
                sent += len(chunk)
        except (ConnectionResetError, BrokenPipeError):
            return s, True
        s.settimeout(0.5)
        try:
            s.recv(4096)
        except socket.timeout:
            return s, False
        except ConnectionResetError:
            pass
        return s, True

    def signed(self, path, body):
        raw = json.dumps(body).encode()
        ts = str(int(time.time()))
        sig = hmac.new(self.api.callback_secret.encode(),
                       ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        status, answer, _ = harness.http_request(
            self.api.url, "POST", path, raw,
            {"Content-Type": "application/json", "X-Prscan-Timestamp": ts,
             "X-Prscan-Signature": "sha256=" + sig})
        return status, answer

    def test_trickled_large_bodies_leave_small_requests_answered(self):
        ev = harness.pull_request_event(OWNER, REPO, SHA, installation=5)
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)
        job = body["job_id"]
        # Four senders each try to hold 17 MiB; the budget takes 25 MiB
        # past each body's first MiB: the first holds its 16, the second
        # its 9, the others are refused at once.
        held, refused = [], []
        for i in range(4):
            path = "/webhook" if i % 2 == 0 else "/callback"
            h = self.webhook_headers() if path == "/webhook" else \
                self.worker_headers()
            s, was_refused = self.trickle(path, h, BIG - 10)
            (refused if was_refused else held).append(s)
        self.assertEqual(len(held), 1)
        self.assertEqual(len(refused), 3)
        log = self.api.log_text()
        self.assertIn("too many large requests in flight", log)

        # Small signed requests are answered while the attackers hold on.
        status, body = harness.post_webhook(self.api.url, {"zen": "hi"},
                                            self.api.webhook_secret,
                                            event="ping")
        self.assertEqual((status, body), (200, {"status": "pong"}))
        status, body = harness.post_webhook(
            self.api.url, harness.pull_request_event(
                OWNER, REPO, SHA, pr_number=2, installation=5),
            self.api.webhook_secret)
        self.assertEqual(status, 202, body)
        request = {"job_id": job, "scanner": "kics", "state": "started"}
        status, body = self.signed("/callback", request)
        self.assertEqual(status, 202, body)
        # The stand-in has no such repository: GitHub's refusal, passed
        # on, shows the request was read and handled.
        status, body = self.signed("/token", {"job_id": job,
                                              "scanner": "kics"})
        self.assertEqual(status, 403, body)
        self.assertIn("no token for octo-org/infra", body["error"])
        self.assertEqual(answer_of(held[0], timeout=0.2), "open")

    def test_missing_credentials_refused_before_the_body(self):
        # Nothing of the announced body is sent: the answer comes anyway.
        cases = [
            ("/callback", {}, 401),
            ("/token", self.worker_headers(ts=int(time.time()) - 301), 401),
            ("/callback", {"X-Prscan-Timestamp": str(int(time.time()))},
             401),
            ("/fanout", {"Authorization": "Bearer wrong"}, 401),
            ("/fanout", {}, 401),
            ("/webhook", {"X-GitHub-Event": "ping"}, 400),
        ]
        for path, headers, want in cases:
            h = dict(headers, **{"Content-Length": str(BIG),
                                 "Content-Type": "application/json"})
            s = self.open(path, h)
            self.assertEqual(answer_of(s), want, (path, headers))
        self.assertIn('msg="request refused" path=/fanout status=401',
                      self.api.log_text())
        # With the token the route still works.
        status, body, _ = harness.http_request(
            self.api.url, "POST", "/fanout", {"owner": OWNER},
            {"Authorization": "Bearer " + ADMIN,
             "Content-Type": "application/json"})
        self.assertEqual(status, 400, body)

    def test_chunked_body_cut_off_past_25_mib(self):
        h = self.webhook_headers(**{"Transfer-Encoding": "chunked"})
        s = self.open("/webhook", h)
        chunk = b" " * MIB
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        sent = 0
        try:
            while sent < 300 * MIB:
                s.sendall(frame)
                sent += len(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass
        # Past 25 MiB the server stops reading (at most socket buffers
        # later): the 300 MiB are never taken.  libmicrohttpd 0.9.75
        # cannot queue the 413 before a body ends, so the connection is
        # closed without it (see docs/KNOWN_ISSUES.md).
        self.assertLess(sent, 40 * MIB)
        self.assertIn(answer_of(s), (413, None))
        self.assertIn('status=413', self.api.log_text())

    def test_slow_body_dropped_after_the_body_timeout(self):
        s = self.open("/webhook", dict(self.webhook_headers(),
                                       **{"Content-Length": "1000"}))
        start = time.monotonic()
        try:
            for _ in range(40):
                s.sendall(b" ")
                time.sleep(0.25)
        except (ConnectionResetError, BrokenPipeError):
            pass
        self.assertIsNone(answer_of(s, timeout=1))
        self.assertLess(time.monotonic() - start, 6)
        self.assertIn("body not received within API_BODY_TIMEOUT",
                      self.api.log_text())


if __name__ == "__main__":
    harness.main()
