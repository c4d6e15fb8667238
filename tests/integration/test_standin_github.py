#!/usr/bin/python3
"""Proves the stand-ins behave like what they stand in for: the GitHub
stand-in's App authentication, check run limits and git smart HTTP, and
the KICS stand-in's report and exit codes.  Needs no prscan binary."""

import glob
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SHA = "0123456789abcdef0123456789abcdef01234567"


def annotation(i):
    return {"path": "main.tf", "start_line": i + 1, "end_line": i + 1,
            "annotation_level": "warning", "message": "finding %d" % i,
            "title": "Rule %d" % i}


class GitHubStandinTest(harness.Case):
    def setUp(self):
        super().setUp()
        self.gh = self.start_github()
        self.sha = harness.make_repo(
            self.gh, "octo", "infra",
            [harness.fixture("kics-inputs", "dockerfile_missing_user_"
                             "instruction")])
        self.token = self.gh.mint_token(7)

    def post_run(self, body, token=None):
        return self.gh.request(
            "POST", "/repos/octo/infra/check-runs", body,
            {"Authorization": "Bearer " + (token or self.token)})

    def patch_run(self, run_id, body, token=None):
        return self.gh.request(
            "PATCH", "/repos/octo/infra/check-runs/%d" % run_id, body,
            {"Authorization": "token " + (token or self.token)})

    # -- App authentication -------------------------------------------

    def test_token_minting(self):
        jwt_ = self.gh.jwt()
        status, data, _ = self.gh.request(
            "POST", "/app/installations/7/access_tokens",
            {"repositories": ["infra"], "permissions": {"contents": "read"}},
            {"Authorization": "Bearer " + jwt_})
        self.assertEqual(status, 201, data)
        self.assertRegex(data["token"], r"^ghs_[A-Za-z0-9]{36}$")
        self.assertRegex(data["expires_at"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(data["permissions"], {"contents": "read"})
        self.assertEqual(data["repository_selection"], "selected")

        status, data, _ = self.gh.request(
            "POST", "/app/installations/7/access_tokens", None,
            {"Authorization": "Bearer " + jwt_})
        self.assertEqual(status, 201)
        self.assertEqual(data["repository_selection"], "all")
        self.assertEqual(data["permissions"]["checks"], "write")

        # Integer iss is accepted as GitHub does.
        import jwt
        with open(self.gh.private_key_path, "rb") as f:
            key = f.read()
        now = int(time.time())
        int_iss = jwt.encode({"iat": now - 60, "exp": now + 540,
                              "iss": int(self.gh.app_id)}, key,
                             algorithm="RS256")
        status, _, _ = self.gh.request(
            "POST", "/app/installations/7/access_tokens", None,
            {"Authorization": "Bearer " + int_iss})
        self.assertEqual(status, 201)

    def test_token_minting_rejects_bad_jwts(self):
        import jwt
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        other = rsa.generate_private_key(public_exponent=65537,
                                         key_size=2048)
        other_pem = other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        now = int(time.time())
        claims = {"iat": now - 60, "exp": now + 540, "iss": self.gh.app_id}
        with open(self.gh.private_key_path, "rb") as f:
            key = f.read()
        bad = {
            "wrong key": jwt.encode(claims, other_pem, algorithm="RS256"),
            "expired": self.gh.jwt(now=now - 700),
            "too long": self.gh.jwt(iat_offset=-60, exp_offset=900),
            "iat in future": self.gh.jwt(iat_offset=300,
                                         exp_offset=500),
            "wrong iss": jwt.encode(dict(claims, iss="999"), key,
                                    algorithm="RS256"),
            "HS256": jwt.encode(claims, "secret", algorithm="HS256"),
        }
        for what, token in bad.items():
            with self.subTest(what):
                status, data, _ = self.gh.request(
                    "POST", "/app/installations/7/access_tokens", None,
                    {"Authorization": "Bearer " + token})
                self.assertEqual(status, 401, data)
                self.assertIn("message", data)
                self.assertIn("documentation_url", data)
        status, _, _ = self.gh.request(
            "POST", "/app/installations/7/access_tokens")
        self.assertEqual(status, 401)
        # Permissions beyond the App's, and unknown repositories: 422.
        status, _, _ = self.gh.request(
            "POST", "/app/installations/7/access_tokens",
            {"permissions": {"contents": "write"}},
            {"Authorization": "Bearer " + self.gh.jwt()})
        self.assertEqual(status, 422)
        status, _, _ = self.gh.request(
            "POST", "/app/installations/7/access_tokens",
            {"repositories": ["nope"]},
            {"Authorization": "Bearer " + self.gh.jwt()})
        self.assertEqual(status, 422)

    # -- check runs -----------------------------------------------------

    def test_check_run_lifecycle(self):
        status, run, _ = self.post_run({
            "name": "prscan/kics", "head_sha": self.sha,
            "status": "in_progress", "external_id": "job-1",
            "output": {"title": "Scanning", "summary": "started",
                       "annotations": [annotation(i) for i in range(50)]}})
        self.assertEqual(status, 201, run)
        rid = run["id"]
        self.assertEqual(run["status"], "in_progress")
        self.assertIsNone(run["conclusion"])
        self.assertEqual(run["external_id"], "job-1")
        self.assertEqual(run["output"]["annotations_count"], 50)
        self.assertTrue(run["html_url"].endswith("/runs/%d" % rid))

        status, run, _ = self.patch_run(rid, {
            "status": "completed", "conclusion": "failure",
            "output": {"title": "2 findings", "summary": "done",
                       "text": "details",
                       "annotations": [annotation(50), annotation(51)]}})
        self.assertEqual(status, 200, run)
        self.assertEqual(run["conclusion"], "failure")
        self.assertEqual(run["output"]["title"], "2 findings")
        self.assertEqual(run["output"]["annotations_count"], 52)
        self.assertIsNotNone(run["completed_at"])

        anns = self.gh.annotations("octo", "infra", rid)
        self.assertEqual([a["message"] for a in anns],
                         ["finding %d" % i for i in range(52)])
        status, page2, headers = self.gh.request(
            "GET", "/repos/octo/infra/check-runs/%d/annotations"
            "?per_page=30&page=2" % rid, None,
            {"Authorization": "token " + self.token})
        self.assertEqual(status, 200)
        self.assertEqual(len(page2), 22)
        self.assertIn('rel="first"', headers["link"])

        runs = self.gh.check_runs("octo", "infra", self.sha)
        self.assertEqual([r["id"] for r in runs], [rid])
        status, _, _ = self.patch_run(rid + 100, {"status": "queued"})
        self.assertEqual(status, 404)

        calls = self.gh.calls()
        kinds = {(c["method"], c["path"]): c["auth_kind"] for c in calls}
        self.assertEqual(
            kinds[("POST", "/app/installations/7/access_tokens")], "jwt")
        self.assertEqual(kinds[("PATCH", "/repos/octo/infra/check-runs/%d"
                                % rid)], "token")
        posted = [c for c in calls if c["method"] == "POST" and
                  c["path"] == "/repos/octo/infra/check-runs"]
        self.assertEqual(posted[0]["body"]["external_id"], "job-1")
        self.assertNotIn(self.token, json.dumps(
            [c for c in calls if c["body"] is None]))

    def test_check_run_validation(self):
        base = {"name": "prscan/kics", "head_sha": self.sha}
        cases = {
            "51 annotations": dict(base, output={
                "title": "t", "summary": "s",
                "annotations": [annotation(i) for i in range(51)]}),
            "summary too long": dict(base, output={
                "title": "t", "summary": "x" * 65536}),
            "text too long": dict(base, output={
                "title": "t", "summary": "s", "text": "x" * 65536}),
            "completed without conclusion": dict(base, status="completed"),
            "bad conclusion": dict(base, conclusion="passed"),
            "bad status": dict(base, status="done"),
            "no head_sha": {"name": "x"},
            "no name": {"head_sha": self.sha},
            "output without summary": dict(base, output={"title": "t"}),
            "annotation without path": dict(base, output={
                "title": "t", "summary": "s",
                "annotations": [{"start_line": 1, "end_line": 1,
                                 "annotation_level": "notice",
                                 "message": "m"}]}),
            "bad level": dict(base, output={
                "title": "t", "summary": "s",
                "annotations": [dict(annotation(0),
                                     annotation_level="error")]}),
            "title too long": dict(base, output={
                "title": "t", "summary": "s",
                "annotations": [dict(annotation(0), title="x" * 256)]}),
            "message too long": dict(base, output={
                "title": "t", "summary": "s",
                "annotations": [dict(annotation(0),
                                     message="x" * 65537)]}),
        }
        for what, body in cases.items():
            with self.subTest(what):
                status, data, _ = self.post_run(body)
                self.assertEqual(status, 422, data)
                self.assertIn("message", data)
                self.assertIn("errors", data)
                self.assertIn("documentation_url", data)
        # Exactly at the limits is fine.
        status, run, _ = self.post_run(dict(base, output={
            "title": "t", "summary": "x" * 65535,
            "annotations": [dict(annotation(0), title="x" * 255,
                                 message="x" * 65536)]}))
        self.assertEqual(status, 201, run)
        status, data, _ = self.patch_run(run["id"],
                                         {"status": "completed"})
        self.assertEqual(status, 422)
        status, data, _ = self.patch_run(run["id"], {
            "output": {"title": "t", "summary": "s",
                       "annotations": [annotation(i) for i in range(51)]}})
        self.assertEqual(status, 422)
        self.assertEqual(self.gh.annotations("octo", "infra", run["id"])
                         [0]["title"], "x" * 255)

    def test_check_run_auth(self):
        body = {"name": "prscan/kics", "head_sha": self.sha}
        read_only = self.gh.mint_token(7, repositories=["infra"],
                                       permissions={"contents": "read"})
        status, data, _ = self.post_run(body, read_only)
        self.assertEqual(status, 403, data)
        self.assertEqual(data["message"],
                         "Resource not accessible by integration")
        status, data, _ = self.post_run(body, "ghs_" + "x" * 36)
        self.assertEqual(status, 401)
        self.assertEqual(data["message"], "Bad credentials")
        status, _, _ = self.gh.request(
            "POST", "/repos/octo/infra/check-runs", body)
        self.assertEqual(status, 401)
        status, _, _ = self.post_run(body, self.gh.jwt())
        self.assertEqual(status, 401)

    def test_faults(self):
        self.gh.add_fault(r"/check-runs$", status=503, method="POST",
                          count=2, headers={"Retry-After": "1"})
        body = {"name": "prscan/kics", "head_sha": self.sha}
        for _ in range(2):
            status, _, headers = self.post_run(body)
            self.assertEqual(status, 503)
            self.assertEqual(headers["retry-after"], "1")
        status, _, _ = self.post_run(body)
        self.assertEqual(status, 201)
        self.gh.add_fault(r"/check-runs$", status=500, count=5)
        self.gh.clear_faults()
        status, _, _ = self.post_run(body)
        self.assertEqual(status, 201)
        # A delay alone, then the normal answer.
        self.gh.add_fault(r"/check-runs$", status=None, delay_ms=300)
        start = time.monotonic()
        status, _, _ = self.post_run(body)
        self.assertEqual(status, 201)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        statuses = [c["status"] for c in self.gh.calls()
                    if c["path"] == "/repos/octo/infra/check-runs"]
        self.assertEqual(statuses, [503, 503, 201, 201, 201])

    # -- git smart HTTP -------------------------------------------------

    def git_env(self, token):
        askpass = os.path.join(self.tmp, "askpass.sh")
        with open(askpass, "w") as f:
            f.write('#!/bin/sh\ncase "$1" in\n'
                    'Username*) echo x-access-token ;;\n'
                    '*) echo "$PRSCAN_TEST_TOKEN" ;;\nesac\n')
        os.chmod(askpass, 0o700)
        env = {"GIT_ASKPASS": askpass, "PRSCAN_TEST_TOKEN": token or ""}
        return env

    def clone(self, token, dest, extra=()):
        return harness.git(["clone", "-q"] + list(extra) +
                           [self.gh.url + "/octo/infra.git", dest],
                           self.tmp, self.git_env(token), check=False)

    def test_git_clone(self):
        clone_token = self.gh.mint_token(7, repositories=["infra"],
                                         permissions={"contents": "read"})
        dest = os.path.join(self.tmp, "clone")
        p = self.clone(clone_token, dest)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(os.path.isfile(os.path.join(dest, "README.md")))
        self.assertNotIn(clone_token, p.stderr)
        # The pull request's head, as prscan fetches it.
        harness.git(["fetch", "-q", "origin",
                     "refs/pull/1/head:refs/remotes/origin/pr-1"], dest,
                    self.git_env(clone_token))
        head = harness.git(["rev-parse", "refs/remotes/origin/pr-1"],
                           dest).strip()
        self.assertEqual(head, self.sha)
        harness.git(["checkout", "-q", head], dest)
        self.assertTrue(os.path.isfile(os.path.join(
            dest, "dockerfile_missing_user_instruction",
            "positive.dockerfile")))
        # Protocol v0 too (libgit2 speaks v0), with an extra header.
        import base64
        basic = base64.b64encode(("x-access-token:" + clone_token)
                                 .encode()).decode()
        p = harness.git(["-c", "protocol.version=0", "-c",
                         "http.extraHeader=Authorization: Basic " + basic,
                         "clone", "-q", self.gh.url + "/octo/infra.git",
                         os.path.join(self.tmp, "clone-v0")], self.tmp,
                        check=False)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_git_clone_refused(self):
        p = self.clone(None, os.path.join(self.tmp, "c1"))
        self.assertNotEqual(p.returncode, 0)
        p = self.clone("ghs_" + "y" * 36, os.path.join(self.tmp, "c2"))
        self.assertNotEqual(p.returncode, 0)
        # A token for another repository does not open this one.
        os.makedirs(os.path.join(self.gh.repos_dir, "octo", "other.git"))
        other = self.gh.mint_token(7, repositories=["other"],
                                   permissions={"contents": "read"})
        p = self.clone(other, os.path.join(self.tmp, "c3"))
        self.assertNotEqual(p.returncode, 0)
        # Without contents permission either.
        checks = self.gh.mint_token(7, permissions={"checks": "write"})
        p = self.clone(checks, os.path.join(self.tmp, "c4"))
        self.assertNotEqual(p.returncode, 0)
        status, _, headers = self.gh.request(
            "GET", "/octo/infra.git/info/refs?service=git-upload-pack")
        self.assertEqual(status, 401)
        self.assertEqual(headers["www-authenticate"], 'Basic realm="GitHub"')
        git_calls = [c for c in self.gh.calls()
                     if c["path"].startswith("/octo/")]
        self.assertTrue(git_calls)
        self.assertTrue(all(c["body"] is None for c in git_calls))


class KicsStandinTest(harness.Case):
    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.tmp, "src")
        shutil.copytree(harness.fixture("kics-inputs"), self.src)
        self.expected = []
        for f in sorted(glob.glob(os.path.join(
                self.src, "*", "positive_expected_result.json"))):
            with open(f) as fh:
                for e in json.load(fh):
                    name = e.get("fileName") or e.get("filename")
                    self.expected.append((os.path.join(
                        "src", os.path.basename(os.path.dirname(f)), name),
                        e["line"], e["severity"]))

    def kics(self, *args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run([harness.KICS_STANDIN] + list(args),
                              cwd=self.tmp, env=e, capture_output=True,
                              text=True, timeout=60)

    def report(self, name="results"):
        with open(os.path.join(self.tmp, "out", name + ".json")) as f:
            return json.load(f)

    def test_findings_and_exit_codes(self):
        self.assertEqual(len(self.expected), 2 + 5 + 4)
        p = self.kics("scan", "-p", "src", "-o", "out", "--output-name",
                      "results", "--report-formats", "json",
                      "--no-progress", "--ci", "--ignore-on-exit",
                      "results")
        self.assertEqual(p.returncode, 0, p.stderr)
        r = self.report()
        for key in ("kics_version", "files_scanned", "lines_scanned",
                    "files_parsed", "queries_total", "severity_counters",
                    "total_counter", "start", "end", "paths", "queries"):
            self.assertIn(key, r)
        self.assertEqual(r["total_counter"], len(self.expected))
        self.assertEqual(r["severity_counters"], {
            "CRITICAL": 0, "HIGH": 7, "MEDIUM": 0, "LOW": 0, "INFO": 4,
            "TRACE": 0})
        got = sorted((f["file_name"], f["line"], q["severity"])
                     for q in r["queries"] for f in q["files"])
        self.assertEqual(got, sorted(self.expected))
        q = next(q for q in r["queries"]
                 if q["query_name"] == "Missing User Instruction")
        self.assertEqual(q["query_id"],
                         "fd54f200-402c-4333-a5a4-36ef6709af2f")
        self.assertEqual(q["query_url"],
                         "https://docs.docker.com/engine/reference/"
                         "builder/#user")
        self.assertEqual(q["platform"], "Dockerfile")
        self.assertEqual(q["description_id"], "eb49caf6")
        f0 = q["files"][0]
        self.assertRegex(f0["similarity_id"], r"^[0-9a-f]{64}$")
        self.assertEqual(f0["issue_type"], "MissingAttribute")
        self.assertFalse(os.path.exists(os.path.join(
            self.tmp, "out", "results.sarif")))

        p = self.kics("scan", "-p", "src", "-o", "out", "--output-name",
                      "again", "--report-formats", "json,sarif", "--ci")
        self.assertEqual(p.returncode, 50, p.stderr)
        self.assertEqual(self.report("again")["total_counter"], 11)
        with open(os.path.join(self.tmp, "out", "again.sarif")) as f:
            sarif = json.load(f)
        self.assertEqual(sarif["version"], "2.1.0")
        self.assertEqual(len(sarif["runs"][0]["results"]), 11)

        # Absolute -p: absolute file names.
        p = self.kics("scan", "-p", self.src, "-o", "out",
                      "--output-name", "abs", "--ci")
        self.assertEqual(p.returncode, 50)
        names = [f["file_name"] for q in self.report("abs")["queries"]
                 for f in q["files"]]
        self.assertTrue(all(n.startswith(self.src + "/") for n in names))

        # Only INFO findings: exit 20.
        info_only = os.path.join(self.tmp, "info")
        shutil.copytree(os.path.join(
            self.src, "terraform_aws_security_group_rules_without_"
            "description"), os.path.join(info_only, "tf"))
        p = self.kics("scan", "-p", "info", "-o", "out", "--output-name",
                      "info", "--ci")
        self.assertEqual(p.returncode, 20)
        # Nothing to find: exit 0 and an empty query list.
        os.makedirs(os.path.join(self.tmp, "clean"))
        p = self.kics("scan", "-p", "clean", "-o", "out", "--output-name",
                      "clean", "--ci")
        self.assertEqual(p.returncode, 0)
        self.assertEqual(self.report("clean")["queries"], [])

    def test_knobs_and_errors(self):
        p = self.kics("scan", "-p", "src", "--unknown-flag")
        self.assertEqual(p.returncode, 126)
        self.assertIn("unknown flag", p.stderr)
        p = self.kics("scan", "-p", "missing", "--ci")
        self.assertEqual(p.returncode, 126)
        p = self.kics("scan", "-p", "missing", "--ignore-on-exit", "errors")
        self.assertEqual(p.returncode, 0)
        p = self.kics("version")
        self.assertEqual(p.returncode, 0)
        self.assertIn("Keeping Infrastructure as Code Secure", p.stdout)

        p = self.kics("scan", "-p", "src", "-o", "out", "--output-name",
                      "forced", env={"KICS_STANDIN_EXIT": "126"})
        self.assertEqual(p.returncode, 126)
        self.assertFalse(os.path.exists(os.path.join(
            self.tmp, "out", "forced.json")))

        recorded = harness.fixture("kics", "E2E_CLI_036_RESULT.json")
        log = os.path.join(self.tmp, "calls.jsonl")
        p = self.kics("scan", "-p", "src", "-o", "out", "--output-name",
                      "rec", "--report-formats", "json",
                      env={"KICS_STANDIN_REPORT": recorded,
                           "KICS_STANDIN_LOG": log,
                           "SOME_SECRET": "hunter2"})
        self.assertEqual(p.returncode, 50)
        with open(recorded) as a, \
                open(os.path.join(self.tmp, "out", "rec.json")) as b:
            self.assertEqual(a.read(), b.read())
        with open(log) as f:
            entry = json.loads(f.readline())
        self.assertEqual(entry["argv"][1:3], ["scan", "-p"])
        self.assertEqual(entry["cwd"], self.tmp)
        self.assertIn("SOME_SECRET", entry["env"])
        self.assertNotIn("hunter2", json.dumps(entry))

        proc = subprocess.Popen(
            [harness.KICS_STANDIN, "scan", "-p", "src", "-o", "out",
             "--output-name", "slow", "--ci"], cwd=self.tmp,
            env=dict(os.environ, KICS_STANDIN_SLEEP="30"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        start = time.monotonic()
        proc.terminate()
        self.assertEqual(proc.wait(10), 130)
        self.assertLess(time.monotonic() - start, 2)
        self.assertFalse(os.path.exists(os.path.join(
            self.tmp, "out", "slow.json")))


if __name__ == "__main__":
    harness.main()
