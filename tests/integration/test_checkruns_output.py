#!/usr/bin/python3
"""What the check run says: findings on lines the pull request adds or
changes are annotated first (from GET .../pulls/{n}/files), ANNOTATE=
changed annotates only them, and 5000 findings give a summary and text
within GitHub's 65535 characters that say what they leave out."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from checkruns import Setup, finding, OWNER, REPO  # noqa: E402

INPUT = os.path.join(harness.SOURCE_DIR, "tests", "fixtures", "kics-inputs",
                     "dockerfile_missing_user_instruction")
ADDED = "dockerfile_missing_user_instruction/positive.dockerfile"


def findings():
    """Critical ones on README.md (not in the pull request), low ones on
    the file the pull request adds."""
    out = [finding(i, "CRITICAL", "README.md") for i in range(3)]
    out += [finding(i, "LOW", ADDED) for i in range(2)]
    return out


class Output(harness.Case):
    def complete(self, s, result):
        job, _ = s.pr(self.sha)
        s.callback(job, "completed", result=result)
        n = sum(1 for f in result["findings"] if f.get("path"))
        return s.wait_runs(self.sha, lambda r: r and r[0]["status"] ==
                           "completed" and r[0]["output"]
                           ["annotations_count"] == min(n, s.cap), 60,
                           what="the check run")[0]

    def start(self, **env):
        s = Setup(self, **env)
        s.cap = int(env.get("MAX_ANNOTATIONS", 1000))
        self.sha = harness.make_repo(s.github, OWNER, REPO, [INPUT])
        return s

    def test_changed_lines_first(self):
        s = self.start(GITHUB_WRITE_INTERVAL_MS="700")
        run = self.complete(s, {"findings": findings()})
        writes = [c["time"] for c in s.github.calls()
                  if c["method"] in ("POST", "PATCH")
                  and "/check-runs" in c["path"]]
        self.assertEqual(len(writes), 2)
        self.assertGreaterEqual(writes[1] - writes[0], 0.69)
        notes = s.github.annotations(OWNER, REPO, run["id"])
        self.assertEqual([(a["path"], a["annotation_level"]) for a in notes],
                         [(ADDED, "notice")] * 2 +
                         [("README.md", "failure")] * 3)
        summary = run["output"]["summary"]
        self.assertIn("| CRITICAL | 0 | 3 | 3 |", summary)
        self.assertIn("| LOW | 2 | 0 | 2 |", summary)
        self.assertIn("(%s/%s/%s/blob/%s/README.md#L1)" % (
            s.github.url, OWNER, REPO, self.sha), summary)
        files = [c for c in s.github.calls() if c["path"].endswith(
            "/pulls/1/files")]
        # Once to plan the scan, once for the changed lines.
        self.assertEqual([c["status"] for c in files], [200, 200])

    def test_annotate_changed_only(self):
        s = self.start(ANNOTATE="changed")
        s.cap = 2
        run = self.complete(s, {"findings": findings()})
        notes = s.github.annotations(OWNER, REPO, run["id"])
        self.assertEqual({a["path"] for a in notes}, {ADDED})
        self.assertIn("3 of 5 findings in files are not annotated",
                      run["output"]["summary"])

    def test_5000_findings_stay_within_limits(self):
        s = self.start(MAX_ANNOTATIONS="300")
        result = {"findings": [finding(i, "MEDIUM", "deep/" + "d" * 80 +
                                       "/%d.tf" % i) for i in range(5000)]}
        run = self.complete(s, result)
        out = run["output"]
        self.assertLessEqual(len(out["summary"]), 65535)
        self.assertLessEqual(len(out["text"]), 65535)
        self.assertIn("4700 of 5000 findings in files are not annotated",
                      out["summary"])
        self.assertIn("(at most 300 annotations are made)", out["summary"])
        self.assertRegex(out["summary"], r"\n_\d+ more findings are not "
                         r"shown here")
        self.assertRegex(out["text"], r"\n_\d+ more findings are not "
                         r"shown here")
        self.assertEqual(out["title"], "5000 medium findings")
        self.assertEqual(len(s.batches(run["id"])), 6)


if __name__ == "__main__":
    harness.main()
