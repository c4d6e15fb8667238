"""The GitHub stand-in's routes for operators' tools (prscanctl): a
repository's installation, pull requests, and the App's webhook
deliveries with redelivery.  github_standin.py calls route() and
control() before answering 404; see tests/standins/README.md.
"""

import datetime
import hashlib
import hmac
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

REPO_RE = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_OPS_LOCK = threading.Lock()


class _ApiError(Exception):
    pass


def _iso(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Ops:
    """Deliveries, pull request overrides and the webhook target."""

    def __init__(self, standin):
        self.si = standin
        self.lock = threading.Lock()
        self.deliveries = []        # newest last, see register()
        self.next_id = 1000
        self.attempts = []          # ids of redelivery requests, in order
        self.pulls = {}             # "owner/repo#n" -> overrides
        self.installations = {}     # "owner/repo" -> installation id
        self.webhook = None         # {"url", "secret"}

    # -- deliveries ----------------------------------------------------

    def register(self, body):
        """A delivery as GitHub lists it, plus its payload if given."""
        code = int(body.get("status_code", 200))
        at = body.get("delivered_at")
        if at is None:
            at = _iso(time.time() - float(body.get("age", 0)))
        with self.lock:
            self.next_id += 1
            d = {
                "id": self.next_id,
                "guid": body["guid"],
                "delivered_at": at,
                "redelivery": bool(body.get("redelivery", False)),
                "duration": 0.05,
                "status": body.get("status") or (
                    "OK" if 200 <= code < 300 else
                    "Invalid HTTP Response: %d" % code),
                "status_code": code,
                "event": body.get("event", "pull_request"),
                "action": body.get("action"),
                "installation_id": body.get("installation_id", 1),
                "repository_id": body.get("repository_id", 1),
                "throttled_at": None,
                "payload": body.get("payload"),
            }
            self.deliveries.append(d)
            return dict(d)

    def listing(self):
        """Newest first, without payloads."""
        with self.lock:
            items = [dict(d) for d in self.deliveries]
        items.sort(key=lambda d: (d["delivered_at"], d["id"]),
                   reverse=True)
        for d in items:
            d.pop("payload", None)
        return items

    def page(self, query, base_url):
        try:
            per_page = max(1, min(int(query.get("per_page", ["30"])[0]),
                                  100))
        except ValueError:
            raise _ApiError(422, "Invalid per_page")
        items = self.listing()
        start = 0
        cursor = query.get("cursor", [None])[0]
        if cursor:
            ids = [str(d["id"]) for d in items]
            key = cursor[3:] if cursor.startswith("v1_") else cursor
            if key not in ids:
                raise _ApiError(422, "Invalid cursor")
            start = ids.index(key)
        page = items[start:start + per_page]
        headers = None
        if start + per_page < len(items):
            nxt = items[start + per_page]["id"]
            headers = {"Link": '<%s/app/hook/deliveries?per_page=%d&'
                       'cursor=v1_%d>; rel="next"' % (base_url, per_page,
                                                      nxt)}
        return page, headers

    def find(self, did):
        with self.lock:
            for d in self.deliveries:
                if d["id"] == did:
                    return dict(d)
        return None

    def redeliver(self, did):
        d = self.find(did)
        if d is None:
            raise _ApiError(404, "Not Found")
        with self.lock:
            self.attempts.append(did)
            target = dict(self.webhook) if self.webhook else None
        if target and d.get("payload") is not None:
            threading.Thread(target=self._send, args=(d, target),
                             daemon=True).start()
        return 202, {}, None

    def send(self, body):
        """A new delivery, as GitHub makes one when an event happens:
        the payload is posted to the webhook target now, and the
        attempt is listed with the status it got (0: no answer)."""
        with self.lock:
            target = dict(self.webhook) if self.webhook else None
        if target is None:
            return 409, {"message": "no webhook target: POST "
                         "/_standin/webhook first"}
        d = {"guid": body["guid"], "event": body.get("event",
                                                     "pull_request"),
             "action": (body.get("payload") or {}).get("action"),
             "payload": body["payload"]}
        return 201, self._send(d, target, redelivery=False)

    def _send(self, d, target, redelivery=True):
        """Posts the stored payload as GitHub would, then lists the
        attempt (a redelivery by default) with the status it got."""
        raw = json.dumps(d["payload"]).encode()
        sig = "sha256=" + hmac.new(target["secret"].encode(), raw,
                                   hashlib.sha256).hexdigest()
        req = urllib.request.Request(target["url"], data=raw, headers={
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/standin",
            "X-GitHub-Event": d["event"],
            "X-GitHub-Delivery": d["guid"],
            "X-GitHub-Hook-ID": "1",
            "X-Hub-Signature-256": sig}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                code = resp.status
        except urllib.error.HTTPError as e:
            code = e.code
        except OSError:
            code = 0
        return self.register({"guid": d["guid"], "event": d["event"],
                              "action": d["action"], "status_code": code,
                              "redelivery": redelivery,
                              "payload": d["payload"]})

    # -- repositories and pull requests ---------------------------------

    def bare(self, owner, repo):
        p = os.path.join(self.si.repos_dir, owner, repo + ".git")
        if not os.path.isdir(p):
            raise _ApiError(404, "Not Found")
        return p

    def installation(self, owner, repo):
        self.bare(owner, repo)
        inst = self.installations.get(
            ("%s/%s" % (owner, repo)).lower(), 1)
        return {"id": inst, "app_id": int(self.si.app_id)
                if self.si.app_id.isdigit() else self.si.app_id,
                "account": {"login": owner},
                "repository_selection": "all",
                "target_type": "Organization"}

    @staticmethod
    def _git(bare, *args):
        p = subprocess.run(["git", "--git-dir", bare] + list(args),
                           capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else None

    def pull(self, owner, repo, number):
        bare = self.bare(owner, repo)
        sha = self._git(bare, "rev-parse", "--verify", "-q",
                        "refs/pull/%d/head" % number)
        if not sha:
            raise _ApiError(404, "Not Found")
        over = self.pulls.get("%s/%s#%d" % (owner, repo, number), {})
        heads = (self._git(bare, "for-each-ref", "--format=%(refname:short)",
                           "--points-at", sha, "refs/heads") or "").split()
        head_ref = over.get("head_ref") or (heads[0] if heads else
                                            "pull-%d" % number)
        # make_repo's bare clones point HEAD at the pull request's
        # branch: main, when there is one, is the base.
        base_ref = over.get("base_ref") or (
            "main" if self._git(bare, "rev-parse", "--verify", "-q",
                                "refs/heads/main") else
            self._git(bare, "symbolic-ref", "--short", "HEAD"))
        full = "%s/%s" % (owner, repo)
        side = {"owner": {"login": owner}, "name": repo, "full_name": full}
        return {"number": number, "state": over.get("state", "open"),
                "head": {"sha": sha, "ref": head_ref, "repo": side},
                "base": {"ref": base_ref, "repo": side},
                "html_url": "https://github.com/%s/pull/%d" % (full, number)}

    # -- dispatch --------------------------------------------------------

    def route(self, h, method, path, query, kind, cred):
        m = re.fullmatch(REPO_RE + r"/installation", path)
        if m and method == "GET":
            self.app_auth(kind, cred)
            return 200, self.installation(m["owner"], m["repo"]), None
        m = re.fullmatch(REPO_RE + r"/pulls/(?P<n>\d+)", path)
        if m and method == "GET":
            if kind != "token":
                raise _ApiError(401, "Bad credentials")
            self.si.require_token(cred, m["repo"], "pull_requests", "read")
            return 200, self.pull(m["owner"], m["repo"], int(m["n"])), None
        if path == "/app/hook/deliveries" and method == "GET":
            self.app_auth(kind, cred)
            page, headers = self.page(query, self.si.base_url)
            return 200, page, headers
        m = re.fullmatch(r"/app/hook/deliveries/(\d+)", path)
        if m and method == "GET":
            self.app_auth(kind, cred)
            d = self.find(int(m.group(1)))
            if d is None:
                raise _ApiError(404, "Not Found")
            d["request"] = {"payload": d.pop("payload", None)}
            return 200, d, None
        m = re.fullmatch(r"/app/hook/deliveries/(\d+)/attempts", path)
        if m and method == "POST":
            self.app_auth(kind, cred)
            return self.redeliver(int(m.group(1)))
        return None

    def app_auth(self, kind, cred):
        if kind != "jwt":
            raise _ApiError(401, "A JSON web token could not be decoded")
        self.si.check_jwt(cred)

    def control(self, method, path, body):
        if path == "/_standin/deliveries" and method == "POST":
            if not isinstance(body, dict) or not body.get("guid"):
                return 400, {"message": "guid required"}
            return 201, self.register(body)
        if path == "/_standin/deliveries/send" and method == "POST":
            return self.send(body)
        if path == "/_standin/deliveries" and method == "GET":
            with self.lock:
                return 200, {"deliveries": [dict(d) for d in
                                            self.deliveries],
                             "attempts": list(self.attempts)}
        if path == "/_standin/webhook" and method == "POST":
            with self.lock:
                self.webhook = {"url": body["url"],
                                "secret": body["secret"]}
            return 204, None
        if path == "/_standin/pulls" and method == "POST":
            key = "%s/%s#%d" % (body["owner"], body["repo"],
                                int(body["number"]))
            with self.lock:
                self.pulls[key] = body
            return 204, None
        if path == "/_standin/installations" and method == "POST":
            with self.lock:
                key = ("%s/%s" % (body["owner"], body["repo"])).lower()
                self.installations[key] = int(body["id"])
            return 204, None
        return None


def ops_for(standin):
    """The Ops of a Standin, made on first use."""
    with _OPS_LOCK:
        ops = getattr(standin, "_ops", None)
        if ops is None:
            ops = standin._ops = Ops(standin)
        return ops


def route(handler, method, path, query, kind, cred, api_error):
    """(status, body, headers) for an operator route, else None; errors
    raised as api_error(status, message)."""
    try:
        return ops_for(handler.si).route(handler, method, path, query,
                                         kind, cred)
    except _ApiError as e:
        raise api_error(e.args[0], e.args[1])


def control(handler, method, path, raw):
    """(status, body) for an operator test-control route, else None."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        return 400, {"message": "bad JSON"}
    try:
        return ops_for(handler.si).control(method, path, body)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        return 400, {"message": "bad request: %s" % e}
