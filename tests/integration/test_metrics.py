#!/usr/bin/python3
"""Observability: the API's and a worker's /metrics, parsed strictly,
move by the right amounts over one KICS scan; /healthz and /readyz answer
on both, and /readyz turns 503 when Redis stops."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import scenario  # noqa: E402

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)$" % (NAME, LABEL,
                                                            LABEL))
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n"
                  else m.group(1), v)


def number(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", text):
        raise AssertionError("not a number: %r" % text)
    return float(text)


def family_of(name, types):
    if name in types:
        return name
    for sfx in ("_bucket", "_sum", "_count"):
        base = name[:-len(sfx)]
        if name.endswith(sfx) and types.get(base) == "histogram":
            return base
    raise AssertionError("sample %s has no # TYPE" % name)


def check_histograms(samples, types):
    """Buckets cumulative, ending in +Inf equal to _count, with a _sum."""
    for fam, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (name, labels), v in samples.items():
            if name != fam + "_bucket":
                continue
            rest = frozenset((k, x) for k, x in labels if k != "le")
            le = dict(labels)["le"]
            series.setdefault(rest, []).append((number(le), v))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), (fam, buckets)
            assert buckets[-1][0] == float("inf"), (fam, buckets)
            assert samples[(fam + "_count", rest)] == counts[-1]
            assert (fam + "_sum", rest) in samples


def parse(text):
    """{(name, frozenset(labels)): value} of a strictly valid exposition;
    AssertionError naming the first bad line."""
    assert text.endswith("\n"), "exposition must end with a newline"
    types, samples, helped = {}, {}, set()
    for no, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("# HELP "):
            m = re.match(r"^# HELP (%s) (.*)$" % NAME, line)
            assert m and m.group(1) not in helped, (no, line)
            assert not re.search(r"\\[^\\n]", m.group(2)), (no, line)
            helped.add(m.group(1))
            continue
        if line.startswith("# TYPE "):
            m = re.match(r"^# TYPE (%s) (counter|gauge|histogram)$" % NAME,
                         line)
            assert m and m.group(1) not in types, (no, line)
            types[m.group(1)] = m.group(2)
            continue
        assert not line.startswith("#") and line, (no, line)
        m = SAMPLE.match(line)
        assert m, "line %d is not a sample: %r" % (no, line)
        family_of(m.group(1), types)
        labels = frozenset((k, unescape(v)) for k, v in re.findall(
            LABEL, m.group(2) or ""))
        key = (m.group(1), labels)
        assert key not in samples, "line %d repeats a series" % no
        samples[key] = number(m.group(m.lastindex))
    check_histograms(samples, types)
    return samples


def scrape(url):
    status, body, headers = harness.http_request(url, "GET", "/metrics")
    assert status == 200, (status, body)
    assert headers["content-type"] == CONTENT_TYPE, headers
    return parse(body)


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


class Metrics(harness.Case):
    def setUp(self):
        super().setUp()
        self.p = scenario.Pipeline(self, workers=1, worker_env={
            "KICS_STANDIN_SLEEP": "1.5"})
        self.api = self.p.api
        self.worker = self.p.workers[0]
        self.worker.wait_http(self.worker.status_url + "/healthz")

    def test_metrics_move_over_one_scan(self):
        api0 = scrape(self.api.url)
        w0 = scrape(self.worker.status_url)
        for name in ("webhook_events_received_total",
                     "messages_published_total", "redis_stream_length",
                     "redis_pending_messages"):
            self.assertIn("# TYPE %s " % name, harness.http_request(
                self.api.url, "GET", "/metrics")[1])
        self.assertEqual(value(w0, "callback_success_total"), 0)
        self.assertEqual(value(w0, "messages_processed_total",
                               worker="kics", outcome="success"), 0)

        sha = self.p.push(1, "metrics")
        job = self.p.deliver(1, sha)
        self.assertTrue(job)

        # While KICS runs, the entry is pending to kics-1.
        def pending():
            s = scrape(self.worker.status_url)
            return value(s, "redis_pending_messages", stream="worker-kics",
                         consumer="kics-1") == 1
        harness.wait_until(pending, 20, what="a pending entry in /metrics")
        status, body, _ = harness.http_request(self.worker.status_url, "GET",
                                               "/status")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"status": "ok", "redis": "ok",
                                "stream": "worker-kics",
                                "consumer": "kics-1", "in_progress": 1})

        def processed():
            s = scrape(self.worker.status_url)
            return s if value(s, "messages_processed_total", worker="kics",
                              outcome="success") == 1 else None
        w1 = harness.wait_until(processed, 60, what="the job processed")
        harness.wait_until(lambda: self.p.completed(sha), 30,
                           what="the check run to complete")

        # The check run is complete once GitHub answered the last PATCH.
        def patched():
            s = scrape(self.api.url)
            return s if value(
                s, "github_api_requests_total",
                route="PATCH /repos/{owner}/{repo}/check-runs/{id}",
                code="200") >= 1 else None
        api1 = harness.wait_until(patched, 10, what="the PATCH counted")

        # The API: one delivery, one entry, the GitHub calls by template.
        self.assertEqual(
            value(api1, "webhook_events_received_total",
                  event="pull_request", action="opened") -
            value(api0, "webhook_events_received_total",
                  event="pull_request", action="opened"), 1)
        self.assertEqual(
            value(api1, "messages_published_total", stream="worker-kics") -
            value(api0, "messages_published_total", stream="worker-kics"),
            1)
        created = value(api1, "github_api_requests_total",
                        route="POST /repos/{owner}/{repo}/check-runs",
                        code="201")
        self.assertEqual(created, 1)
        self.assertGreaterEqual(value(
            api1, "github_api_requests_total",
            route="POST /app/installations/{installation_id}/access_tokens",
            code="201"), 2)
        routes = {dict(k[1])["route"] for k in api1
                  if k[0] == "github_api_requests_total"}
        for r in routes:
            self.assertNotIn(scenario.OWNER, r)
            self.assertNotRegex(r, r"/[0-9]+(/|$)")
        self.assertGreater(value(api1, "github_rate_limit_remaining",
                                 installation="1"), 0)
        self.assertGreater(value(api1, "github_rate_limit_remaining",
                                 installation="app"), 0)
        self.assertEqual(value(api1, "redis_stream_length",
                               stream="worker-kics"), 0)

        # The worker: one success, two callbacks, one scan timed.
        self.assertEqual(value(w1, "callback_success_total"), 2)
        self.assertEqual(value(w1, "callback_failure_total"), 0)
        self.assertEqual(value(w1, "processing_duration_seconds_count",
                               scanner="kics"), 1)
        took = value(w1, "processing_duration_seconds_sum", scanner="kics")
        self.assertGreaterEqual(took, 1.5)
        self.assertLess(took, 60)
        self.assertEqual(value(w1, "processing_duration_seconds_bucket",
                               scanner="kics", le="1"), 0)
        self.assertEqual(value(w1, "processing_duration_seconds_bucket",
                               scanner="kics", le="+Inf"), 1)
        self.assertEqual(value(w1, "redis_pending_messages",
                               stream="worker-kics", consumer="kics-1"), 0)

    def test_health_and_readiness(self):
        for url in (self.api.url, self.worker.status_url):
            self.assertEqual(harness.http_request(url, "GET", "/healthz")[:2],
                             (200, {"status": "ok"}))
            self.assertEqual(harness.http_request(url, "GET", "/readyz")[:2],
                             (200, {"status": "ready"}))
        self.assertEqual(harness.http_request(
            self.api.url, "POST", "/metrics", b"")[0], 405)

        self.p.redis.stop()
        for url in (self.api.url, self.worker.status_url):
            status, body, _ = harness.http_request(url, "GET", "/readyz")
            self.assertEqual(status, 503, body)
            self.assertEqual(body["status"], "not ready")
            self.assertIn("redis", body["reason"])
            self.assertEqual(harness.http_request(url, "GET", "/healthz")[0],
                             200)
            self.assertEqual(harness.http_request(url, "GET", "/status")[0],
                             503)
            # Still a valid exposition, without the streams' gauges.
            samples = scrape(url)
            self.assertFalse([k for k in samples
                              if k[0] == "redis_stream_length"])


if __name__ == "__main__":
    harness.main()
