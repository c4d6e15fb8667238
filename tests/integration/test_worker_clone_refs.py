#!/usr/bin/python3
"""The worker fetches only the ref that holds the commit: a pull request
whose repository also has a large unrelated orphan branch clones under a
small MAX_REPO_BYTES, and a commit pushed to the head branch after the
pull request's ref was last updated is found on that branch."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER, REPO = "octo", "refs"
INPUT = os.path.join(harness.FIXTURES, "kics-inputs",
                     "dockerfile_missing_user_instruction")
MAX_REPO_BYTES = 1 << 20


class CloneRefs(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.sha = harness.make_repo(self.github, OWNER, REPO, [INPUT])
        self.bare = os.path.join(self.github.repos_dir, OWNER,
                                 REPO + ".git")
        self.api = self.track(harness.api(self.tmp, self.redis,
                                          self.github))
        self.worker = self.track(harness.kics_worker(
            self.tmp, self.api, self.redis, self.github,
            MAX_REPO_BYTES=MAX_REPO_BYTES))

    def commit(self, tree, parent=None, branch=None):
        args = ["commit-tree", tree, "-m", "commit"]
        if parent:
            args += ["-p", parent]
        sha = harness.git(args, self.bare).strip()
        if branch:
            harness.git(["update-ref", "refs/heads/" + branch, sha],
                        self.bare)
        return sha

    def scan(self, sha, head_ref):
        ev = harness.pull_request_event(OWNER, REPO, sha)
        ev["pull_request"]["head"]["ref"] = head_ref
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)

        def done():
            runs = [c for c in self.github.check_runs(OWNER, REPO, sha)
                    if c["name"] == "KICS"]
            return runs[0] if runs and runs[0]["status"] == "completed" \
                else None
        return harness.wait_until(done, 20, what="the KICS check run")

    def test_an_unrelated_large_branch_is_not_fetched(self):
        blob = os.path.join(self.tmp, "noise.bin")
        with open(blob, "wb") as f:
            f.write(os.urandom(4 * MAX_REPO_BYTES))
        oid = harness.git(["hash-object", "-w", blob], self.bare).strip()
        tree = subprocess.run(
            ["git", "mktree"], cwd=self.bare, check=True,
            capture_output=True, text=True,
            input="100644 blob %s\tnoise.bin\n" % oid).stdout.strip()
        self.commit(tree, branch="assets")

        run = self.scan(self.sha, "feature")
        self.assertNotIn("Scan failed", run["output"]["title"])
        self.assertIn("high", run["output"]["title"].lower())
        self.assertNotIn("MAX_REPO_BYTES", self.worker.log_text())

    def test_a_commit_only_on_the_head_branch_is_found(self):
        tree = harness.git(["rev-parse", self.sha + "^{tree}"],
                           self.bare).strip()
        newer = self.commit(tree, parent=self.sha, branch="feature")
        run = self.scan(newer, "feature")
        self.assertNotIn("Scan failed", run["output"]["title"])
        self.assertIn("high", run["output"]["title"].lower())


if __name__ == "__main__":
    harness.main()
