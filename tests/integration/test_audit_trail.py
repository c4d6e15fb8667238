#!/usr/bin/python3
"""History and audit: with DATABASE_URL_FILE naming a real PostgreSQL
(password authentication), a completed KICS scan becomes one scan_audit
row with who and what caused it, the commit, the scanner's version, the
findings as JSONB and the check run's id; its result stays in Redis for
RESULT_TTL.  Restarting the API applies no migration twice, and rows
older than AUDIT_RETENTION_DAYS are pruned every AUDIT_PRUNE_INTERVAL
while younger ones stay."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import scenario  # noqa: E402

RESULT_TTL = 3600
OLD_ROW = ("INSERT INTO scan_audit (job_id, scanner, check_run_id, "
           "installation_id, owner, repo, pr_number, head_sha, "
           "completed_at, status, findings, finding_count) VALUES "
           "('%s', 'kics', 1, 1, 'octo-org', 'platform', 1, '%s', "
           "now() - interval '%d days', 'success', '[]', 0)")


class AuditTrail(harness.Case):
    def test_a_completed_scan_is_one_row(self):
        pg = self.start_postgres()
        url_file = os.path.join(self.tmp, "database-url")
        with open(url_file, "w", encoding="utf-8") as f:
            f.write(pg.url + "\n")
        p = scenario.Pipeline(self, api_env={
            "DATABASE_URL_FILE": url_file, "RESULT_TTL": RESULT_TTL,
            "AUDIT_PRUNE_INTERVAL": 1})
        ev = harness.pull_request_event(scenario.OWNER, scenario.REPO,
                                        p.base_sha)
        status, body = harness.post_webhook(p.api.url, ev,
                                            p.api.webhook_secret)
        self.assertEqual(status, 202, body)
        job = body["job_id"]
        harness.wait_until(lambda: p.completed(p.base_sha), 30,
                           interval=0.1, what="the check run")
        run = p.completed(p.base_sha)[0]
        rows = harness.wait_until(
            lambda: pg.rows("SELECT * FROM scan_audit"), 10, interval=0.1,
            what="the audit row")
        self.assertEqual(len(rows), 1, rows)
        row = rows[0]
        want = {"job_id": job, "scanner": "kics",
                "check_run_id": run["id"], "delivery_id": body["delivery"],
                "sender": ev["sender"]["login"], "event": "pull_request",
                "installation_id": 1, "owner": scenario.OWNER,
                "repo": scenario.REPO, "pr_number": 1,
                "head_sha": p.base_sha, "status": "success",
                "conclusion": run["conclusion"], "error": None}
        self.assertEqual({k: row[k] for k in want}, want)
        self.assertTrue(row["scanner_version"])
        self.assertIsNotNone(row["started_at"])
        self.assertLessEqual(row["started_at"], row["completed_at"])
        annotations = p.github.annotations(scenario.OWNER, scenario.REPO,
                                           run["id"])
        self.assertGreater(row["finding_count"], 0)
        self.assertEqual(row["finding_count"], len(row["findings"]))
        self.assertEqual(row["finding_count"], len(annotations))
        self.assertEqual(
            sorted((f["path"], f["line"]) for f in row["findings"]),
            sorted((a["path"], a["start_line"]) for a in annotations))

        # The result stays for RESULT_TTL; the audit entry is gone.
        r = p.redis.client()
        key = "scan_result:%s:kics" % job
        ttl = harness.wait_until(
            lambda: 0 < r.ttl(key) <= RESULT_TTL and r.ttl(key), 5,
            what="the result's RESULT_TTL")
        self.assertGreaterEqual(ttl, RESULT_TTL - 60)
        harness.wait_until(lambda: r.xlen("audit-writes") == 0, 5,
                           what="the audit entry to be deleted")
        _, metrics, _ = harness.http_request(p.api.url, "GET",
                                               "/metrics")
        self.assertIn("audit_rows_written_total 1", metrics)
        self.assertIn("audit_writes_backlog 0", metrics)

        # A restart applies no migration again.
        versions = pg.sql("SELECT string_agg(version::text, ',') FROM "
                          "schema_migrations")
        self.assertEqual(versions, "1")
        p.api.stop()
        self.assertIn("applied=1", p.api.log_text())
        p.start_api()
        harness.wait_until(lambda: "applied=0" in p.api.log_text(), 10,
                           what="the restarted API's migrations")
        self.assertEqual(pg.sql("SELECT string_agg(version::text, ',') "
                                "FROM schema_migrations"), versions)
        self.assertEqual(pg.sql("SELECT count(*) FROM scan_audit"), "1")

        # Retention: 400 days old goes, 300 days old stays.
        pg.sql(OLD_ROW % ("a" * 32, "a" * 40, 400))
        pg.sql(OLD_ROW % ("b" * 32, "b" * 40, 300))
        harness.wait_until(
            lambda: pg.sql("SELECT count(*) FROM scan_audit WHERE job_id "
                           "= '%s'" % ("a" * 32)) == "0", 10, interval=0.2,
            what="the old row to be pruned")
        left = pg.sql("SELECT string_agg(job_id, ',' ORDER BY job_id) "
                      "FROM scan_audit")
        self.assertEqual(left, ",".join(sorted([job, "b" * 32])))
        self.assertIn("audit rows pruned", p.api.log_text())


if __name__ == "__main__":
    harness.main()
