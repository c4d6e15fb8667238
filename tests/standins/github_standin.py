#!/usr/bin/python3
"""A local stand-in for GitHub: the REST routes prscan uses, and git's
smart HTTP (read only), with GitHub's limits, errors and authentication.

Usage:
  github_standin.py --port 0 --app-id ID --public-key PEM_PATH \
      --repos-dir DIR [--state-dir DIR]

Prints "READY port=<n>" on stdout once listening.  Test control lives
under /_standin/ (calls, faults); see tests/standins/README.md.
Standard library plus Debian's python3-jwt and python3-cryptography.
"""

import argparse
import base64
import copy
import datetime
import json
import os
import re
import secrets
import string
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

import github_standin_ops

DOCS = "https://docs.github.com/rest"
JWT_SLACK = 10          # seconds allowed beyond GitHub's 10 minute JWT
IAT_FUTURE = 60         # seconds iat may lie in the future (clock drift)
TOKEN_LIFE = 3600
MAX_ANNOTATIONS = 50
MAX_OUTPUT_CHARS = 65535
MAX_TITLE = 255
MAX_MESSAGE = 65536     # 64 KiB (annotation message, raw_details)
RATE_LIMIT = 5000

APP_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "pull_requests": "read",
    "metadata": "read",
}
STATUSES = ("queued", "in_progress", "completed", "waiting", "requested",
        "pending")
CONCLUSIONS = ("action_required", "cancelled", "failure", "neutral",
           "success", "skipped", "stale", "timed_out")
LEVELS = ("notice", "warning", "failure")
PERM_RANK = {"read": 1, "write": 2, "admin": 3}

REPO_RE = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
GIT_RE = re.compile(r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?"
            r"/(?P<rest>info/refs|git-upload-pack|git-receive-pack)$")


def now_iso(t=None):
    if t is None:
        t = time.time()
    return datetime.datetime.fromtimestamp(
        int(t), tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_token():
    alphabet = string.ascii_letters + string.digits
    return "ghs_" + "".join(secrets.choice(alphabet) for _ in range(36))


class ApiError(Exception):
    """An error answer: status and GitHub's JSON body."""

    def __init__(self, status, message, errors=None, headers=None):
        super().__init__(message)
        self.status = status
        self.body = {"message": message, "documentation_url": DOCS}
        if errors is not None:
            self.body["errors"] = errors
        self.headers = headers or {}


def invalid(message, errors=None):
    return ApiError(422, message, errors if errors is not None else [])


class State:
    """Everything the stand-in remembers; one lock guards it all."""

    def __init__(self, state_dir):
        self.lock = threading.Lock()
        self.state_dir = state_dir
        self.tokens = {}        # token -> {installation, repositories,...}
        self.runs = {}          # id (str) -> check run record
        self.next_run = 1
        self.calls = []
        self.faults = []
        self.seq = 0
        self.load()

    def path(self):
        return os.path.join(self.state_dir, "state.json")

    def load(self):
        if not self.state_dir or not os.path.exists(self.path()):
            return
        with open(self.path(), encoding="utf-8") as f:
            data = json.load(f)
        self.tokens = data.get("tokens", {})
        self.runs = data.get("runs", {})
        self.next_run = data.get("next_run", 1)
        self.calls = data.get("calls", [])
        self.seq = data.get("seq", 0)

    def save(self):
        """Called with the lock held, after every change."""
        if not self.state_dir:
            return
        os.makedirs(self.state_dir, exist_ok=True)
        tmp = self.path() + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"tokens": self.tokens, "runs": self.runs,
                   "next_run": self.next_run,
                   "calls": self.calls, "seq": self.seq}, f)
        os.replace(tmp, self.path())


class Standin:
    def __init__(self, args):
        self.app_id = str(args.app_id)
        with open(args.public_key, "rb") as f:
            self.public_key = f.read()
        self.repos_dir = os.path.abspath(args.repos_dir)
        self.state = State(args.state_dir)
        self.base_url = None

    # -- test control -------------------------------------------------

    def record(self, method, path, status, body, auth_kind, fault=False):
        with self.state.lock:
            self.state.seq += 1
            entry = {"seq": self.state.seq, "method": method,
                 "path": path, "status": status,
                 "time": time.time(), "body": body,
                 "auth_kind": auth_kind}
            if fault:
                entry["fault"] = True
            self.state.calls.append(entry)
            self.state.save()

    def take_fault(self, method, path):
        """The first armed fault matching; its count is used up."""
        with self.state.lock:
            for fault in self.state.faults:
                m = fault.get("method") or "*"
                if m != "*" and m.upper() != method:
                    continue
                rx = fault.get("path_regex") or ""
                if not re.search(rx, path):
                    continue
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.state.faults.remove(fault)
                return dict(fault)
        return None

    def add_fault(self, body):
        if not isinstance(body, dict):
            raise invalid("fault must be an object")
        try:
            re.compile(body.get("path_regex") or "")
        except re.error as e:
            raise invalid("bad path_regex: %s" % e)
        fault = {
            "method": body.get("method") or "*",
            "path_regex": body.get("path_regex") or "",
            "status": body.get("status"),
            "count": int(body.get("count", 1)),
            "headers": body.get("headers") or {},
            "delay_ms": int(body.get("delay_ms", 0)),
            "body": body.get("body"),
        }
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    # -- App authentication ------------------------------------------

    def check_jwt(self, token):
        try:
            claims = jwt.decode(
                token, self.public_key, algorithms=["RS256"],
                options={"verify_exp": False,
                     "verify_iat": False,
                     "verify_nbf": False,
                     "verify_aud": False,
                     "verify_iss": False})
        except jwt.PyJWTError:
            raise ApiError(401, "A JSON web token could not be "
                       "decoded")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or iat > now + IAT_FUTURE:
            raise ApiError(401, "'Issued at' claim ('iat') must be "
                       "an Integer representing the time "
                       "that the assertion was issued")
        if not isinstance(exp, int) or exp <= now:
            raise ApiError(401, "'Expiration time' claim ('exp') "
                       "must be a numeric value representing "
                       "the future time at which the "
                       "assertion expires")
        if exp - iat > 600 + JWT_SLACK:
            raise ApiError(401, "'Expiration time' claim ('exp') is "
                       "too far in the future")
        iss = claims.get("iss")
        if isinstance(iss, bool) or not isinstance(iss, (str, int)) \
                or str(iss) != self.app_id:
            raise ApiError(401, "'Issuer' claim ('iss') must be an "
                       "Integer")
        return claims

    def repo_exists(self, name):
        """Whether any owner in repos-dir has a repository so named."""
        try:
            owners = os.listdir(self.repos_dir)
        except OSError:
            return False
        for owner in owners:
            for cand in (name + ".git", name):
                p = os.path.join(self.repos_dir, owner, cand)
                if os.path.isdir(p):
                    return True
        return False

    def mint(self, installation, body):
        body = body if isinstance(body, dict) else {}
        repos = body.get("repositories")
        if repos is not None:
            if not isinstance(repos, list) or not all(
                    isinstance(r, str) for r in repos):
                raise invalid("Invalid request.\n\nFor "
                          "'properties/repositories', "
                          "must be an array of strings.")
            for r in repos:
                if not self.repo_exists(r):
                    raise invalid(
                        "There is at least one "
                        "repository that does not "
                        "exist or is not accessible "
                        "to the parent installation.")
            repos = sorted(set(r.lower() for r in repos))
        perms = body.get("permissions")
        if perms is None:
            perms = dict(APP_PERMISSIONS)
        else:
            if not isinstance(perms, dict):
                raise invalid("Invalid request.\n\nFor "
                          "'properties/permissions', must "
                          "be an object.")
            for k, v in perms.items():
                have = APP_PERMISSIONS.get(k)
                if v not in PERM_RANK or have is None or \
                        PERM_RANK[v] > PERM_RANK[have]:
                    raise invalid(
                        "The permissions requested "
                        "are not granted to this "
                        "installation.")
            perms = dict(perms)
        token = new_token()
        expires = time.time() + TOKEN_LIFE
        with self.state.lock:
            self.state.tokens[token] = {
                "installation": installation,
                "repositories": repos,
                "permissions": perms,
                "expires": expires,
                "used": 0,
            }
            self.state.save()
        answer = {
            "token": token,
            "expires_at": now_iso(expires),
            "permissions": perms,
            "repository_selection":
                "selected" if repos is not None else "all",
        }
        if repos is not None:
            answer["repositories"] = [{"name": r} for r in repos]
        return answer

    def token_info(self, token):
        with self.state.lock:
            info = self.state.tokens.get(token)
            if info is None or info["expires"] <= time.time():
                return None
            info["used"] += 1
            return copy.deepcopy(info)

    def require_token(self, token, repo, perm, level):
        """The token's record, or ApiError as GitHub answers."""
        info = self.token_info(token) if token else None
        if info is None:
            raise ApiError(401, "Bad credentials")
        repos = info["repositories"]
        if repos is not None and repo.lower() not in repos:
            raise ApiError(404, "Not Found")
        have = info["permissions"].get(perm)
        if have is None or PERM_RANK.get(have, 0) < PERM_RANK[level]:
            raise ApiError(403, "Resource not accessible by "
                       "integration")
        return info

    # -- check runs ----------------------------------------------------

    def validate_output(self, output, errors):
        if not isinstance(output, dict):
            raise invalid("Invalid request.\n\nFor "
                      "'properties/output', must be an "
                      "object.")
        for key in ("title", "summary"):
            if not isinstance(output.get(key), str):
                raise invalid(
                    "Invalid request.\n\n\"%s\" wasn't "
                    "supplied." % key)
        for key in ("summary", "text"):
            val = output.get(key)
            if val is None:
                continue
            if not isinstance(val, str):
                raise invalid("Invalid request.\n\nFor "
                          "'properties/%s', must be a "
                          "string." % key)
            if len(val) > MAX_OUTPUT_CHARS:
                errors.append({
                    "resource": "CheckRun",
                    "field": "output.%s" % key,
                    "code": "custom",
                    "message": "Output %s is too long "
                    "(maximum is %d characters)" % (
                        key, MAX_OUTPUT_CHARS)})
        anns = output.get("annotations")
        if anns is None:
            return
        if not isinstance(anns, list):
            raise invalid("Invalid request.\n\nFor "
                      "'properties/annotations', must be "
                      "an array.")
        if len(anns) > MAX_ANNOTATIONS:
            raise invalid("Only %d annotations may be created per "
                      "request" % MAX_ANNOTATIONS,
                      [{"resource": "CheckRun",
                    "field": "output.annotations",
                    "code": "too_long"}])
        for i, a in enumerate(anns):
            self.validate_annotation(i, a, errors)

    def validate_annotation(self, i, a, errors):
        if not isinstance(a, dict):
            raise invalid("Invalid request.\n\nannotations[%d] "
                      "must be an object." % i)
        for key in ("path", "start_line", "end_line",
                "annotation_level", "message"):
            if key not in a or a[key] is None:
                raise invalid("Invalid request.\n\n\"%s\" "
                          "wasn't supplied." % key)
        if not isinstance(a["path"], str) or not a["path"]:
            raise invalid("Invalid request.\n\nFor "
                      "'items', \"path\" must be a string.")
        for key in ("start_line", "end_line", "start_column",
                "end_column"):
            v = a.get(key)
            if v is None and key.endswith("column"):
                continue
            if isinstance(v, bool) or not isinstance(v, int):
                raise invalid("Invalid request.\n\nFor "
                          "'items', \"%s\" is not an "
                          "integer." % key)
        if a["start_line"] < 1 or a["end_line"] < a["start_line"]:
            errors.append({"resource": "CheckRun",
                       "field": "annotations[%d]" % i,
                       "code": "invalid",
                       "message": "Line numbers must be "
                       "positive and end_line must not "
                       "precede start_line"})
        if (a.get("start_column") is not None or
            a.get("end_column") is not None) and \
                a["start_line"] != a["end_line"]:
            errors.append({"resource": "CheckRun",
                       "field": "annotations[%d]" % i,
                       "code": "invalid",
                       "message": "start_column and end_column"
                       " may only be used when start_line "
                       "equals end_line"})
        if a["annotation_level"] not in LEVELS:
            raise invalid("Invalid request.\n\nFor 'items', "
                      "\"%s\" is not a member of ['notice', "
                      "'warning', 'failure']." %
                      a["annotation_level"])
        if not isinstance(a["message"], str):
            raise invalid("Invalid request.\n\nmessage must be a "
                      "string.")
        if len(a["message"].encode("utf-8")) > MAX_MESSAGE:
            errors.append({"resource": "CheckRun",
                       "field": "annotations[%d].message" % i,
                       "code": "custom",
                       "message": "message is too long "
                       "(maximum is 64 KB)"})
        raw = a.get("raw_details")
        if raw is not None and (not isinstance(raw, str) or
                len(raw.encode("utf-8")) > MAX_MESSAGE):
            errors.append({"resource": "CheckRun",
                       "field": "annotations[%d].raw_details"
                       % i, "code": "custom",
                       "message": "raw_details is too long "
                       "(maximum is 64 KB)"})
        title = a.get("title")
        if title is not None and (not isinstance(title, str) or
                len(title) > MAX_TITLE):
            errors.append({"resource": "CheckRun",
                       "field": "annotations[%d].title" % i,
                       "code": "custom",
                       "message": "title is too long "
                       "(maximum is 255 characters)"})

    def validate_run(self, body, creating):
        if not isinstance(body, dict):
            raise ApiError(400, "Problems parsing JSON")
        errors = []
        if creating:
            for key in ("name", "head_sha"):
                if not isinstance(body.get(key), str) or \
                        not body[key]:
                    raise invalid(
                        "Invalid request.\n\n\"%s\" "
                        "wasn't supplied." % key)
            if not re.fullmatch(r"[0-9a-f]{40}", body["head_sha"]):
                raise invalid("No commit found for SHA: %s" %
                          body["head_sha"])
        elif "name" in body and (not isinstance(body["name"], str) or
                     not body["name"]):
            raise invalid("Invalid request.\n\nname must be a "
                      "non-empty string.")
        status = body.get("status")
        if status is not None and status not in STATUSES:
            raise invalid("Invalid request.\n\nFor "
                      "'properties/status', \"%s\" is not a "
                      "member of %s." % (status, list(STATUSES)))
        concl = body.get("conclusion")
        if concl is not None and concl not in CONCLUSIONS:
            raise invalid("Invalid request.\n\nFor "
                      "'properties/conclusion', \"%s\" is not "
                      "a member of %s." % (concl,
                                list(CONCLUSIONS)))
        if status == "completed" and concl is None:
            raise invalid("Validation Failed", [{
                "resource": "CheckRun", "field": "conclusion",
                "code": "missing_field"}])
        if "output" in body and body["output"] is not None:
            self.validate_output(body["output"], errors)
        if errors:
            raise invalid("Validation Failed", errors)

    def apply_run(self, run, body):
        """Applies a validated body; called with the lock held."""
        for key in ("name", "details_url", "external_id",
                "started_at", "completed_at", "actions"):
            if key in body:
                run[key] = body[key]
        if "status" in body:
            run["status"] = body["status"]
        if body.get("conclusion") is not None:
            run["conclusion"] = body["conclusion"]
            run["status"] = "completed"
        if run["status"] == "completed" and not run["completed_at"]:
            run["completed_at"] = now_iso()
        out = body.get("output")
        if out:
            for key in ("title", "summary", "text"):
                if key in out:
                    run["output"][key] = out[key]
            for a in out.get("annotations") or []:
                ann = {k: a.get(k) for k in (
                    "path", "start_line", "end_line",
                    "start_column", "end_column",
                    "annotation_level", "title", "message",
                    "raw_details")}
                ann["blob_href"] = "%s/%s/%s/blob/%s/%s" % (
                    self.base_url, run["_owner"],
                    run["_repo"], run["head_sha"],
                    ann["path"])
                run["_annotations"].append(ann)
            run["output"]["annotations_count"] = len(
                run["_annotations"])

    def public_run(self, run):
        r = {k: v for k, v in run.items() if not k.startswith("_")}
        r = copy.deepcopy(r)
        r["output"]["annotations_url"] = "%s/repos/%s/%s/check-runs/" \
            "%d/annotations" % (self.base_url, run["_owner"],
                        run["_repo"], run["id"])
        return r

    def create_run(self, owner, repo, body):
        self.validate_run(body, True)
        with self.state.lock:
            rid = self.state.next_run
            self.state.next_run += 1
            run = {
                "id": rid,
                "node_id": "CR_%d" % rid,
                "head_sha": body["head_sha"],
                "name": body["name"],
                "status": "queued",
                "conclusion": None,
                "external_id": "",
                "details_url": None,
                "started_at": now_iso(),
                "completed_at": None,
                "output": {"title": None, "summary": None,
                       "text": None,
                       "annotations_count": 0},
                "html_url": "%s/%s/%s/runs/%d" % (
                    self.base_url, owner, repo, rid),
                "url": "%s/repos/%s/%s/check-runs/%d" % (
                    self.base_url, owner, repo, rid),
                "app": {"id": int(self.app_id)
                    if self.app_id.isdigit()
                    else self.app_id},
                "_owner": owner, "_repo": repo,
                "_annotations": [],
            }
            self.apply_run(run, body)
            self.state.runs[str(rid)] = run
            self.state.save()
            return self.public_run(run)

    def find_run(self, owner, repo, rid):
        run = self.state.runs.get(str(rid))
        if run is None or run["_owner"].lower() != owner.lower() or \
                run["_repo"].lower() != repo.lower():
            raise ApiError(404, "Not Found")
        return run

    def update_run(self, owner, repo, rid, body):
        self.validate_run(body, False)
        with self.state.lock:
            run = self.find_run(owner, repo, rid)
            self.apply_run(run, body)
            self.state.save()
            return self.public_run(run)

    def pull_files(self, owner, repo, number):
        """The files of pull request number: main...refs/pull/N/head of
        the bare repository, as GitHub lists them (3000 at most)."""
        bare = os.path.join(self.repos_dir, owner, repo + ".git")
        p = subprocess.run(
            ["git", "-C", bare, "diff", "--no-color", "--no-ext-diff",
             "-U3", "main...refs/pull/%d/head" % number],
            capture_output=True, text=True, errors="replace")
        if not os.path.isdir(bare) or p.returncode != 0:
            raise ApiError(404, "Not Found")
        return split_diff(p.stdout)[:3000]

    def contents(self, owner, repo, path, ref):
        """GET .../contents/{path}?ref=: a file as GitHub sends it
        (base64 in lines of 60), a directory as a list, else 404."""
        bare = os.path.join(self.repos_dir, owner, repo + ".git")
        spec = "%s:%s" % (ref or "HEAD", path)
        kind = subprocess.run(["git", "-C", bare, "cat-file", "-t", spec],
                              capture_output=True, text=True)
        if not os.path.isdir(bare) or kind.returncode != 0:
            raise ApiError(404, "Not Found")
        if kind.stdout.strip() == "tree":
            return []
        data = subprocess.run(["git", "-C", bare, "cat-file", "blob",
                               spec], capture_output=True).stdout
        b64 = base64.b64encode(data).decode()
        return {"type": "file", "encoding": "base64", "size": len(data),
                "name": os.path.basename(path), "path": path,
                "sha": "0" * 40,
                "content": "".join(b64[i:i + 60] + "\n"
                                   for i in range(0, len(b64), 60))}

    def get_run(self, owner, repo, rid):
        with self.state.lock:
            return self.public_run(self.find_run(owner, repo, rid))

    def annotations(self, owner, repo, rid):
        with self.state.lock:
            run = self.find_run(owner, repo, rid)
            return copy.deepcopy(run["_annotations"])

    def runs_for_ref(self, owner, repo, ref):
        with self.state.lock:
            out = [self.public_run(r)
                   for _, r in sorted(self.state.runs.items(),
                          key=lambda kv: int(kv[0]))
                   if r["_owner"].lower() == owner.lower() and
                   r["_repo"].lower() == repo.lower() and
                   r["head_sha"] == ref]
        out.reverse()           # GitHub lists the newest first
        return out


def split_diff(text):
    """GitHub's file objects from `git diff` output: filename, status,
    additions, deletions, changes and patch (the hunks)."""
    files = []
    for chunk in re.split(r"^diff --git ", text, flags=re.M)[1:]:
        lines = chunk.split("\n")
        name = lines[0].split(" b/", 1)[-1]
        status = "modified"
        if any(x.startswith("new file mode") for x in lines[1:5]):
            status = "added"
        elif any(x.startswith("deleted file mode") for x in lines[1:5]):
            status = "removed"
        start = next((i for i, x in enumerate(lines)
                      if x.startswith("@@")), None)
        f = {"sha": "0" * 40, "filename": name, "status": status,
             "additions": 0, "deletions": 0, "changes": 0}
        if start is not None:
            hunks = [x for x in lines[start:] if x != ""]
            f["patch"] = "\n".join(hunks)
            f["additions"] = sum(1 for x in hunks if x.startswith("+"))
            f["deletions"] = sum(1 for x in hunks if x.startswith("-"))
            f["changes"] = f["additions"] + f["deletions"]
        files.append(f)
    return files


def paginate(items, query):
    """GitHub's per_page (default 30, max 100) and page (from 1)."""
    try:
        per_page = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
    except ValueError:
        raise invalid("Invalid pagination parameters")
    per_page = max(1, min(per_page, 100))
    page = max(1, page)
    last = max(1, (len(items) + per_page - 1) // per_page)
    return items[(page - 1) * per_page:page * per_page], page, last, \
        per_page


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""

    def log_message(self, fmt, *args):
        # One line per request on stderr, never with credentials.
        sys.stderr.write("standin: %s %s\n" % (
            self.command, self.path.split("?")[0]))

    # -- plumbing ------------------------------------------------------

    @property
    def si(self):
        return self.server.standin

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0",
                       16)
                if size == 0:
                    while self.rfile.readline() not in (
                            b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def auth(self):
        """(kind, credential): kind none/jwt/token/basic/unknown."""
        h = self.headers.get("Authorization")
        if not h:
            return "none", None
        scheme, _, cred = h.strip().partition(" ")
        scheme = scheme.lower()
        cred = cred.strip()
        if scheme == "basic":
            try:
                raw = base64.b64decode(cred, validate=True)
                user, _, pw = raw.decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return "unknown", None
            return "basic", (user, pw)
        if scheme in ("bearer", "token"):
            if cred.count(".") == 2 and not cred.startswith("gh"):
                return "jwt", cred
            return "token", cred
        return "unknown", None

    def send_json(self, status, obj, headers=None):
        data = b"" if obj is None else \
            json.dumps(obj, indent=1).encode() + b"\n"
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type",
                     "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Request-Id",
                 secrets.token_hex(8).upper())
        self.send_header("X-RateLimit-Limit", str(RATE_LIMIT))
        self.send_header("X-RateLimit-Remaining", str(RATE_LIMIT - 1))
        self.send_header("X-RateLimit-Reset",
                 str(int(time.time()) + 3600))
        self.send_header("X-RateLimit-Resource", "core")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def dispatch(self):
        try:
            self._dispatch()
        except BrokenPipeError:
            pass

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = dispatch

    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        method = self.command
        raw = self.read_body()
        if path.startswith("/_standin/"):
            return self.control(method, path, raw)
        git = GIT_RE.match(path)
        body = None
        if not git and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        kind, cred = self.auth()
        fault = self.si.take_fault(method, path)
        if fault:
            if fault["delay_ms"]:
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault["status"]:
                self.si.record(method, path, fault["status"],
                           None if git else body, kind,
                           fault=True)
                fbody = fault["body"] if fault["body"] \
                    is not None else {
                    "message": "Injected fault",
                    "documentation_url": DOCS}
                return self.send_json(fault["status"], fbody,
                              fault["headers"])
        if git:
            return self.git(method, git, url.query, raw, kind,
                    cred)
        try:
            if raw and body is None:
                raise ApiError(400, "Problems parsing JSON")
            status, obj, headers = self.route(method, path, query,
                              body, kind, cred)
        except ApiError as e:
            status, obj, headers = e.status, e.body, e.headers
        self.si.record(method, path, status, body, kind)
        self.send_json(status, obj, headers)

    # -- REST ----------------------------------------------------------

    def route(self, method, path, query, body, kind, cred):
        si = self.si
        ops = github_standin_ops.route(self, method, path, query, kind,
                                       cred, ApiError)
        if ops is not None:
            return ops
        m = re.fullmatch(r"/app/installations/(\d+)/access_tokens",
                 path)
        if m:
            if method != "POST":
                raise ApiError(404, "Not Found")
            if kind != "jwt":
                raise ApiError(401, "A JSON web token could "
                           "not be decoded")
            si.check_jwt(cred)
            return 201, si.mint(int(m.group(1)), body), None
        if path == "/app" and method == "GET":
            if kind != "jwt":
                raise ApiError(401, "A JSON web token could "
                           "not be decoded")
            si.check_jwt(cred)
            return 200, {"id": int(si.app_id) if si.app_id.isdigit()
                     else si.app_id, "slug": "prscan",
                     "name": "prscan",
                     "permissions": APP_PERMISSIONS}, None
        m = re.fullmatch(REPO_RE + r"/pulls/(?P<n>\d+)/files", path)
        if m and method == "GET":
            if kind != "token":
                raise ApiError(401, "Bad credentials")
            si.require_token(cred, m["repo"], "pull_requests", "read")
            files = si.pull_files(m["owner"], m["repo"], int(m["n"]))
            page, n, last, per = paginate(files, query)
            return 200, page, self.links(path, n, last, per)
        m = re.fullmatch(REPO_RE + r"/contents/(?P<path>.+)", path)
        if m and method == "GET":
            if kind != "token":
                raise ApiError(401, "Bad credentials")
            si.require_token(cred, m["repo"], "contents", "read")
            ref = (query.get("ref") or [None])[0]
            return 200, si.contents(m["owner"], m["repo"], m["path"],
                                    ref), None
        m = re.fullmatch(REPO_RE + r"/check-runs", path)
        if m:
            if method != "POST":
                raise ApiError(404, "Not Found")
            self.need(kind, cred, m, "write")
            return 201, si.create_run(m["owner"], m["repo"],
                          body), None
        m = re.fullmatch(REPO_RE + r"/check-runs/(?P<id>\d+)", path)
        if m:
            if method == "PATCH":
                self.need(kind, cred, m, "write")
                return 200, si.update_run(
                    m["owner"], m["repo"], m["id"], body), None
            if method == "GET":
                self.need(kind, cred, m, "read")
                return 200, si.get_run(m["owner"], m["repo"],
                               m["id"]), None
            raise ApiError(404, "Not Found")
        m = re.fullmatch(REPO_RE + r"/check-runs/(?P<id>\d+)"
                 r"/annotations", path)
        if m and method == "GET":
            self.need(kind, cred, m, "read")
            items = si.annotations(m["owner"], m["repo"], m["id"])
            page, n, last, per = paginate(items, query)
            return 200, page, self.links(path, n, last, per)
        m = re.fullmatch(REPO_RE + r"/commits/(?P<ref>[^/]+)"
                 r"/check-runs", path)
        if m and method == "GET":
            self.need(kind, cred, m, "read")
            runs = si.runs_for_ref(m["owner"], m["repo"], m["ref"])
            page, n, last, per = paginate(runs, query)
            return 200, {"total_count": len(runs),
                     "check_runs": page}, \
                self.links(path, n, last, per)
        raise ApiError(404, "Not Found")

    def need(self, kind, cred, m, level):
        if kind != "token":
            raise ApiError(401, "Bad credentials")
        self.si.require_token(cred, m["repo"], "checks", level)

    def links(self, path, page, last, per_page):
        if last <= 1:
            return None
        base = "%s%s?per_page=%d&page=" % (self.si.base_url, path,
                           per_page)
        parts = []
        if page < last:
            parts.append('<%s%d>; rel="next"' % (base, page + 1))
            parts.append('<%s%d>; rel="last"' % (base, last))
        if page > 1:
            parts.append('<%s%d>; rel="first"' % (base, 1))
            parts.append('<%s%d>; rel="prev"' % (base, page - 1))
        return {"Link": ", ".join(parts)}

    # -- test control --------------------------------------------------

    def control(self, method, path, raw):
        si = self.si
        if path == "/_standin/calls" and method == "GET":
            with si.state.lock:
                calls = copy.deepcopy(si.state.calls)
            return self.send_json(200, calls)
        if path == "/_standin/faults" and method == "POST":
            try:
                fault = si.add_fault(json.loads(raw or b"{}"))
            except ValueError:
                return self.send_json(400, {"message":
                                "bad JSON"})
            except ApiError as e:
                return self.send_json(e.status, e.body)
            return self.send_json(201, fault)
        if path == "/_standin/faults" and method == "DELETE":
            with si.state.lock:
                si.state.faults.clear()
            return self.send_json(204, None)
        if path == "/_standin/faults" and method == "GET":
            with si.state.lock:
                faults = copy.deepcopy(si.state.faults)
            return self.send_json(200, faults)
        if path == "/_standin/tokens" and method == "GET":
            with si.state.lock:
                tokens = sorted(si.state.tokens)
            return self.send_json(200, tokens)
        ops = github_standin_ops.control(self, method, path, raw)
        if ops is not None:
            return self.send_json(*ops)
        return self.send_json(404, {"message": "Not Found"})

    # -- git smart HTTP -------------------------------------------------

    def git_unauthorized(self, method, path, kind):
        self.si.record(method, path, 401, None, kind)
        data = b"Invalid username or token. Password authentication " \
            b"is not supported for Git operations.\n"
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def git_plain(self, method, path, kind, status, text):
        self.si.record(method, path, status, None, kind)
        data = text.encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def git(self, method, m, query, raw, kind, cred):
        path = urllib.parse.urlsplit(self.path).path
        owner, repo, rest = m["owner"], m["repo"], m["rest"]
        if kind != "basic":
            return self.git_unauthorized(method, path, kind)
        try:
            self.si.require_token(cred[1], repo, "contents",
                          "read")
        except ApiError as e:
            if e.status == 404:
                return self.git_plain(method, path, kind, 404,
                              "Repository not found.")
            return self.git_unauthorized(method, path, kind)
        qs = urllib.parse.parse_qs(query)
        service = (qs.get("service") or [""])[0]
        if rest == "git-receive-pack" or \
                service == "git-receive-pack":
            return self.git_plain(method, path, kind, 403,
                          "Write access to repository not "
                          "granted.")
        bare = os.path.join(self.si.repos_dir, owner, repo + ".git")
        if not os.path.isdir(bare):
            return self.git_plain(method, path, kind, 404,
                          "Repository not found.")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.si.repos_dir,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": "/%s/%s.git/%s" % (owner, repo, rest),
            "QUERY_STRING": query,
            "REQUEST_METHOD": method,
            "CONTENT_TYPE": self.headers.get("Content-Type") or "",
            "CONTENT_LENGTH": str(len(raw)),
            "REMOTE_USER": cred[0] or "x-access-token",
            "REMOTE_ADDR": self.client_address[0],
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for h in ("Content-Encoding", "Git-Protocol"):
            v = self.headers.get(h)
            if v:
                env["HTTP_" + h.upper().replace("-", "_")] = v
        proc = subprocess.run(["git", "http-backend"], input=raw,
                      env=env, capture_output=True)
        out = proc.stdout
        head, sep, payload = out.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = out.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k.strip(), v.strip()))
        if proc.returncode != 0 and not sep:
            status, headers, payload = 500, [], b""
        self.si.record(method, path, status, None, kind)
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in ("content-length",
                         "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(payload)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--app-id", required=True)
    ap.add_argument("--public-key", required=True)
    ap.add_argument("--repos-dir", required=True)
    ap.add_argument("--state-dir")
    args = ap.parse_args()
    standin = Standin(args)
    server = Server((args.host, args.port), Handler)
    server.standin = standin
    port = server.server_address[1]
    standin.base_url = "http://%s:%d" % (args.host, port)
    sys.stdout.write("READY port=%d\n" % port)
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
