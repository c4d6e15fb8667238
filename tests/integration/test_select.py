#!/usr/bin/python3
"""Selective scanning: the changed files, .github/prscan.yml at the base
branch, PRSCAN_CONFIG and the labels decide which scanner runs; the others'
check runs complete as skipped (or failed, for a broken configuration).
Real Redis, the GitHub stand-in, prscan-api and real KICS and Black Duck
workers (with their scanners' stand-ins)."""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import scenario  # noqa: E402

OWNER = "octo-org"
TF = os.path.join(scenario.INPUTS,
                  "terraform_aws_security_group_rules_without_description")


def make_repo(github, repo, base, head, pr=1):
    """A bare repository whose main holds base ({path: text}) and whose
    pull request pr (branch feature) adds head ({path: text, or a
    directory to copy}).  Returns the head sha."""
    bare = os.path.join(github.repos_dir, OWNER, repo + ".git")
    work = tempfile.mkdtemp(prefix="prscan-select-")
    try:
        harness.git(["init", "-q", "-b", "main", work])
        files = {"README.md": "# %s\n" % repo}
        files.update(base)
        write(work, files)
        harness.git(["add", "-A"], work)
        harness.git(["commit", "-q", "-m", "base"], work)
        harness.git(["checkout", "-q", "-b", "feature"], work)
        write(work, head)
        harness.git(["add", "-A"], work)
        harness.git(["commit", "-q", "-m", "change"], work)
        sha = harness.git(["rev-parse", "HEAD"], work).strip()
        os.makedirs(os.path.dirname(bare), exist_ok=True)
        harness.git(["clone", "-q", "--bare", work, bare])
        harness.git(["update-ref", "refs/pull/%d/head" % pr, sha], bare)
        return sha
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write(root, files):
    for path, text in files.items():
        dest = os.path.join(root, path)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.isdir(text):
            shutil.copytree(text, dest)
        else:
            with open(dest, "w", encoding="utf-8") as f:
                f.write(text)


class Select(harness.Case):
    api_env = {}

    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.kics_log = os.path.join(self.tmp, "kics.jsonl")
        self.bd_log = os.path.join(self.tmp, "detect.jsonl")
        self.api = self.track(harness.api(
            self.tmp, self.redis, self.github, SCANNERS="kics,blackduck",
            **self.api_env))
        self.track(harness.kics_worker(
            self.tmp, self.api, self.redis, self.github,
            KICS_STANDIN_LOG=self.kics_log, **scenario.FAST))
        self.track(harness.blackduck_worker(
            self.tmp, self.api, self.redis, self.github, "bd-token-s1",
            DETECT_STANDIN_LOG=self.bd_log, **scenario.FAST))

    def deliver(self, repo, sha, pr=1, action="opened", labels=(),
                label=None):
        ev = harness.pull_request_event(OWNER, repo, sha, pr_number=pr,
                                        action=action)
        ev["pull_request"]["base"]["ref"] = "main"
        ev["pull_request"]["labels"] = [{"name": n} for n in labels]
        if label:
            ev["label"] = {"name": label}
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertIn(status, (200, 202), body)
        return body

    def completed(self, repo, sha, names=("KICS", "Black Duck"), count=1):
        """Waits for count completed runs of each name; {name: [runs]}."""
        def done():
            runs = [r for r in self.github.check_runs(OWNER, repo, sha)
                    if r["status"] == "completed"]
            got = {n: [r for r in runs if r["name"] == n] for n in names}
            return got if all(len(v) >= count for v in got.values()) \
                else None
        return harness.wait_until(done, 20, what="completed check runs")

    def calls(self, log):
        try:
            with open(log, encoding="utf-8") as f:
                return [json.loads(x) for x in f if x.strip()]
        except FileNotFoundError:
            return []

    def assert_skipped(self, run, words):
        self.assertEqual(run["conclusion"], "skipped", run)
        self.assertIn(words, run["output"]["summary"])


class Paths(Select):
    def test_terraform_only_runs_kics_and_a_lock_file_black_duck(self):
        # 120 notes first: the Terraform files are on the second page.
        head = {"docs/%03d.md" % i: "note\n" for i in range(120)}
        head["infra"] = TF
        tf = make_repo(self.github, "tf", {}, head)
        lock = make_repo(self.github, "lock", {},
                         {"web/yarn.lock": "# yarn lockfile v1\n"})
        job = self.deliver("tf", tf)["job_id"]
        self.deliver("lock", lock)
        runs = self.completed("tf", tf)
        self.assertEqual(runs["KICS"][0]["conclusion"], "success")
        self.assert_skipped(runs["Black Duck"][0], "No file this pull "
                            "request changes is one Black Duck scans")
        runs = self.completed("lock", lock)
        self.assert_skipped(runs["KICS"][0], "none of the 1 changed files "
                            "matches its path patterns")
        self.assertNotEqual(runs["Black Duck"][0]["conclusion"], "skipped")
        # One scan each: KICS of tf, Black Duck of lock.
        self.assertEqual(len(self.calls(self.kics_log)), 1)
        self.assertEqual(len(self.calls(self.bd_log)), 1)
        # Two pages (along the Link header) for the plan, two for KICS's
        # changed lines.
        pages = [c["status"] for c in self.github.calls()
                 if c["path"] == "/repos/%s/tf/pulls/1/files" % OWNER]
        self.assertEqual(pages, [200] * 4)
        # A repeated plan entry queues nothing twice.
        r = self.redis.client()
        r.xadd("github-writes", {"kind": "plan", "job": job,
                                 "scanner": "*", "inst": "1",
                                 "at": "2026-01-01T00:00:00Z",
                                 "mode": "paths"})
        harness.wait_until(lambda: r.xlen("github-writes") == 0, 10,
                           what="the repeated plan entry")
        for stream in ("worker-kics", "worker-blackduck"):
            self.assertEqual(r.xinfo_stream(stream)["entries-added"], 1)
        self.assertEqual(len(self.github.check_runs(OWNER, "tf", tf)), 2)
        # Re-running the skipped check scans it, whatever the paths.
        skipped = self.completed("tf", tf)["Black Duck"][0]
        repo = harness.pull_request_event(OWNER, "tf", tf)["repository"]
        ev = {"action": "rerequested", "repository": repo,
              "installation": {"id": 1},
              "check_run": {"id": skipped["id"], "name": "Black Duck",
                            "head_sha": tf,
                            "app": {"id": int(self.github.app_id)},
                            "check_suite": {"head_branch": "feature"},
                            "pull_requests": [{
                                "number": 1,
                                "head": {"ref": "feature", "sha": tf},
                                "base": {"ref": "main"}}]}}
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret,
                                            event="check_run")
        self.assertEqual((status, body["scanners"]), (202, ["blackduck"]))
        runs = self.completed("tf", tf, names=("Black Duck",), count=2)
        self.assertNotEqual(runs["Black Duck"][0]["conclusion"], "skipped")
        self.assertEqual(len(self.calls(self.bd_log)), 2)


class RepoConfig(Select):
    def test_config_disables_sets_fail_on_and_its_errors_have_lines(self):
        good = ("# prscan\nscanners:\n  blackduck:\n    enabled: false\n"
                "fail_on: info\n")
        bad = "scanners:\n  kics:\n    paths: *.tf\nfail_on: high\n"
        unknown = "fail_on: high\nscanners:\n  nessus:\n    enabled: 1\n"
        shas = {}
        for repo, cfg in (("cfg", good), ("bad", bad), ("unk", unknown)):
            shas[repo] = make_repo(self.github, repo,
                                   {".github/prscan.yml": cfg},
                                   {"infra": TF, "yarn.lock": "x\n"})
            self.deliver(repo, shas[repo])
        runs = self.completed("cfg", shas["cfg"])
        self.assert_skipped(runs["Black Duck"][0], "disabled by "
                            "`.github/prscan.yml`")
        # fail_on: info from the file, over the API's FAIL_ON=HIGH.
        self.assertEqual(runs["KICS"][0]["conclusion"], "failure")
        for repo, line in (("bad", "line 3: "), ("unk", 'line 3: scanners: '
                                                 'unknown scanner "nessus"')):
            runs = self.completed(repo, shas[repo])
            for name in ("KICS", "Black Duck"):
                run = runs[name][0]
                self.assertEqual(run["conclusion"], "failure", run)
                self.assertEqual(run["output"]["title"],
                                 "Invalid .github/prscan.yml")
                self.assertIn(line, run["output"]["summary"])
        # Only cfg's KICS scanned.
        self.assertEqual(len(self.calls(self.kics_log)), 1)
        self.assertEqual(self.calls(self.bd_log), [])


class Labels(Select):
    def test_skip_label_skips_and_removing_it_scans(self):
        sha = make_repo(self.github, "lbl", {}, {"infra": TF})
        self.deliver("lbl", sha, labels=["prscan:skip"])
        runs = self.completed("lbl", sha)
        for name in ("KICS", "Black Duck"):
            self.assert_skipped(runs[name][0], "`prscan:skip`")
        self.assertEqual(self.calls(self.kics_log), [])
        body = self.deliver("lbl", sha, action="labeled",
                            labels=["prscan:skip", "bug"], label="bug")
        self.assertEqual(body["status"], "ignored")
        body = self.deliver("lbl", sha, action="unlabeled", labels=[],
                            label="prscan:skip")
        self.assertEqual(body["mode"], "paths")
        runs = self.completed("lbl", sha, count=2)
        kics = [r for r in runs["KICS"] if r["conclusion"] != "skipped"]
        self.assertEqual(len(kics), 1)
        self.assertEqual(len(self.calls(self.kics_log)), 1)
        self.assertEqual(self.calls(self.bd_log), [])

    def test_full_label_scans_regardless_of_paths(self):
        sha = make_repo(self.github, "full", {}, {"docs/a.md": "hello\n"})
        self.deliver("full", sha)
        runs = self.completed("full", sha)
        for name in ("KICS", "Black Duck"):
            self.assert_skipped(runs[name][0], "No file")
        body = self.deliver("full", sha, action="labeled",
                            labels=["prscan:full"], label="prscan:full")
        self.assertEqual(body["mode"], "full")
        runs = self.completed("full", sha, count=2)
        self.assertEqual(len(self.calls(self.kics_log)), 1)
        self.assertEqual(len(self.calls(self.bd_log)), 1)


class ServerConfig(Select):
    def setUp(self):
        path = os.path.join(harness.make_tmp("prscan-cfg-"), "prscan.yml")
        self.addCleanup(harness.remove_tmp, os.path.dirname(path))
        with open(path, "w", encoding="utf-8") as f:
            f.write("scanners:\n  blackduck:\n    paths: ['*.tf']\n"
                    "  kics:\n    enabled: false\nannotate: changed\n")
        self.api_env = {"PRSCAN_CONFIG": path}
        super().setUp()

    def test_prscan_config_applies_and_the_repository_overrides(self):
        sha = make_repo(self.github, "srv", {}, {"infra": TF})
        self.deliver("srv", sha)
        runs = self.completed("srv", sha)
        self.assert_skipped(runs["KICS"][0], "the server's PRSCAN_CONFIG")
        self.assertEqual(len(self.calls(self.bd_log)), 1)
        cfg = "scanners:\n  kics:\n    enabled: true\n"
        sha = make_repo(self.github, "over", {".github/prscan.yml": cfg},
                        {"infra": TF})
        self.deliver("over", sha)
        runs = self.completed("over", sha)
        self.assertEqual(runs["KICS"][0]["conclusion"], "success")
        self.assertEqual(len(self.calls(self.kics_log)), 1)


if __name__ == "__main__":
    harness.main()
