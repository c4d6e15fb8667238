#!/usr/bin/python3
"""Schema migrations under replicas: two APIs started together against an
empty PostgreSQL take turns on the advisory lock, so the schema is made
once (one of them applies migration 1, the other finds it applied) and
both go on to write the audit trail."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class AuditReplicas(harness.Case):
    def test_replicas_migrate_once(self):
        pg = self.start_postgres()
        redis = self.start_redis()
        github = self.start_github()
        apis = [self.track(harness.api(self.tmp, redis, github, wait=False,
                                       DATABASE_URL=pg.url))
                for _ in range(2)]
        for a in apis:
            harness.wait_until(
                lambda: "audit database connected" in a.log_text(), 15,
                what="%s to connect to PostgreSQL" % a.name)
        applied = sorted(int(ln.split("applied=")[1].split()[0])
                         for a in apis for ln in a.log_text().splitlines()
                         if "audit database connected" in ln)
        self.assertEqual(applied, [0, 1])
        self.assertEqual(pg.sql("SELECT string_agg(version::text, ',') "
                                "FROM schema_migrations"), "1")
        self.assertEqual(pg.sql("SELECT count(*) FROM scan_audit"), "0")
        for a in apis:
            self.assertNotIn("audit database unavailable", a.log_text())


if __name__ == "__main__":
    harness.main()
