#!/usr/bin/python3
"""A PostgreSQL outage delays the audit trail without losing or doubling
a row: the API starts and stays ready while the database is down, scans
complete and their check runs appear, the rows wait in audit-writes, and
once PostgreSQL is back every row arrives once, whole although
RESULT_TTL=0 removed the results as soon as GitHub had them.  An entry
delivered again (as after a crash between the commit and the
acknowledgement) adds no second row."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import scenario  # noqa: E402


class AuditOutage(harness.Case):
    def test_rows_wait_for_the_database(self):
        pg = self.start_postgres()
        pg.stop()
        p = scenario.Pipeline(self, api_env={
            "DATABASE_URL": pg.url, "AUDIT_RETRY_MAX_MS": 300,
            "RESULT_TTL": 0})
        p.set_pr(2, p.base_sha)
        jobs = [p.deliver(1, p.base_sha), p.deliver(2, p.base_sha)]
        harness.wait_until(lambda: len(p.completed(p.base_sha)) == 2, 30,
                           interval=0.1, what="both check runs")
        r = p.redis.client()
        harness.wait_until(lambda: r.xlen("audit-writes") == 2, 5,
                           what="two audit entries waiting")
        harness.wait_until(lambda: not list(r.scan_iter("scan_result:*")),
                           5, what="RESULT_TTL=0 to remove the results")
        status, body, _ = harness.http_request(p.api.url, "GET", "/readyz")
        self.assertEqual(status, 200, body)
        harness.wait_until(
            lambda: "audit_writes_backlog 2" in harness.http_request(
                p.api.url, "GET", "/metrics")[1], 5,
            what="the backlog gauge")
        self.assertIn("audit database unavailable", p.api.log_text())

        pg.start()
        harness.wait_until(
            lambda: pg.sql("SELECT count(*) FROM scan_audit") == "2", 10,
            interval=0.1, what="the rows after the outage")
        harness.wait_until(lambda: r.xlen("audit-writes") == 0, 5,
                           what="the entries to be deleted")
        got = pg.sql("SELECT string_agg(job_id, ',' ORDER BY job_id) FROM "
                     "scan_audit")
        self.assertEqual(got, ",".join(sorted(jobs)))
        row = pg.rows("SELECT * FROM scan_audit WHERE job_id = '%s'" %
                      jobs[0])[0]
        self.assertEqual(row["status"], "success")
        self.assertGreater(row["finding_count"], 0)

        # The same entry again: still one row per job and check run.
        keep = {k: row[k] for k in (
            "job_id", "scanner", "check_run_id", "delivery_id", "sender",
            "event", "installation_id", "owner", "repo", "pr_number",
            "head_sha", "scanner_version", "status", "conclusion",
            "findings")}
        keep["completed_at"] = "2026-01-01T00:00:00Z"
        r.xadd("audit-writes", {"job": row["job_id"], "scanner": "kics",
                                "row": json.dumps(keep)})
        harness.wait_until(lambda: r.xlen("audit-writes") == 0, 5,
                           what="the repeated entry to be handled")
        self.assertEqual(pg.sql("SELECT count(*) FROM scan_audit"), "2")
        self.assertEqual(pg.sql(
            "SELECT count(*) FROM scan_audit WHERE completed_at < "
            "'2026-06-01'"), "0")
        self.assertNotIn("audit row refused", p.api.log_text())


if __name__ == "__main__":
    harness.main()
