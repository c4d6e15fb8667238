"""Shared pieces of prscan's integration tests: a private redis-server, the
GitHub stand-in, bare repositories with a pull request, the daemons under
test, and signed webhook deliveries.

Tests run as `/usr/bin/python3 tests/integration/test_x.py` from any
directory.  PRSCAN_BIN_DIR names the built binaries (default
<repo>/build/bin), PRSCAN_SOURCE_DIR the repository (default: two levels
above this file).  PRSCAN_KEEP_TMP=1 keeps the temporary directories.

Every Case audits secrets at cleanup: no secret the test's daemons were
given (webhook, callback and admin secrets, the Redis password, the Black
Duck token, the App key, DATABASE_URL's password), no installation token
the GitHub stand-in issued, may appear in a daemon's log, in Redis (every
key and value, read before Redis stops), in PostgreSQL's log or in the
argv the KICS and Detect stand-ins logged.  Case.start_postgres() starts
a throwaway PostgreSQL cluster (skipping the test when Debian's
postgresql package is not installed).
Debian's python3 with python3-redis, python3-jwt, python3-cryptography.
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.environ.get("PRSCAN_SOURCE_DIR") or
                             os.path.join(HERE, "..", ".."))
BIN_DIR = os.path.abspath(os.environ.get("PRSCAN_BIN_DIR") or
                          os.path.join(SOURCE_DIR, "build", "bin"))
STANDINS = os.path.join(SOURCE_DIR, "tests", "standins")
KICS_STANDIN = os.path.join(STANDINS, "kics")
DETECT_STANDIN = os.path.join(STANDINS, "detect")
GITHUB_STANDIN = os.path.join(STANDINS, "github_standin.py")
FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures")
PR_OPENED = os.path.join(SOURCE_DIR, "scripts", "fixtures", "pr-opened.json")
PYTHON = "/usr/bin/python3"
START_TIMEOUT = float(os.environ.get("PRSCAN_START_TIMEOUT") or 10)
LOG_TAIL_LINES = 60

# Every process the harness started, for log tails when a test fails.
_PROCESSES = []


def free_port():
    """A loopback TCP port free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(fn, timeout=START_TIMEOUT, interval=0.05, what="condition"):
    """Calls fn until it returns a true value (returned); AssertionError
    naming `what` when timeout seconds pass.  Exceptions count as false."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:      # noqa: BLE001 - retried until timeout
            last = e
        if time.monotonic() >= deadline:
            msg = "timed out after %.1fs waiting for %s" % (timeout, what)
            if last is not None:
                msg += " (last error: %r)" % (last,)
            raise AssertionError(msg)
        time.sleep(interval)


def make_tmp(prefix="prscan-it-"):
    return tempfile.mkdtemp(prefix=prefix)


def remove_tmp(path):
    if os.environ.get("PRSCAN_KEEP_TMP"):
        sys.stderr.write("harness: kept %s\n" % path)
        return
    shutil.rmtree(path, ignore_errors=True)


def _tail(text, n=LOG_TAIL_LINES):
    return "\n".join(text.splitlines()[-n:])


class _Process:
    """A child process with its output in a log file."""

    def __init__(self, name, argv, env, log_path, cwd=None):
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.proc = None
        self.saved_log = ""
        self.exit_code = None

    def _spawn(self, stdout=None):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout if stdout is not None else log,
                stderr=log, start_new_session=True)
        finally:
            log.close()
        if self not in _PROCESSES:
            _PROCESSES.append(self)

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8",
                      errors="replace") as f:
                self.saved_log = f.read()
        except OSError:
            pass
        return self.saved_log

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends sig, waits up to timeout s (then SIGKILL); exit code."""
        if self.proc is None:
            return self.exit_code
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode
        self.log_text()
        return self.exit_code

    def kill9(self):
        return self.stop(signal.SIGKILL, 5)

    def _spawn_ready(self, ready, what):
        """Spawns and waits for ready(); a server that never gets ready
        (or a check that cannot run) is killed, not left behind."""
        self._spawn()
        try:
            wait_until(ready, what=what)
        except BaseException:
            self.stop(signal.SIGKILL, 5)
            raise


class Redis(_Process):
    """A private redis-server on a loopback port with AOF and a password."""

    def __init__(self, tmpdir=None):
        self._own_tmp = tmpdir is None
        self.dir = tmpdir or make_tmp("prscan-redis-")
        self.dir = os.path.join(self.dir, "redis") if not self._own_tmp \
            else self.dir
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.password = secrets.token_hex(16)
        # The password goes through a config file, not argv.
        conf = os.path.join(self.dir, "redis.conf")
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write('requirepass "%s"\n' % self.password)
        argv = ["redis-server", conf, "--port", str(self.port),
                "--bind", "127.0.0.1", "--dir", self.dir,
                "--appendonly", "yes", "--save", "",
                "--daemonize", "no"]
        super().__init__("redis-server", argv, _base_env(),
                         os.path.join(self.dir, "redis.log"), self.dir)
        self.start()

    def start(self):
        self._spawn_ready(self._ping, "redis-server PING on %d" % self.port)

    def _ping(self):
        if not self.alive():
            raise AssertionError("redis-server exited:\n" +
                                 _tail(self.log_text()))
        c = self.client()
        try:
            return c.ping()
        finally:
            c.close()

    def client(self):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port,
                           password=self.password, decode_responses=True,
                           socket_timeout=5)

    def restart(self):
        """SIGTERM, then the same port and dir again (AOF reload)."""
        super().stop(signal.SIGTERM, 10)
        self.start()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        code = super().stop(sig, timeout)
        if self._own_tmp:
            remove_tmp(self.dir)
        return code


def _pg_bin_dir():
    """The newest /usr/lib/postgresql/N/bin holding initdb, or None."""
    root = "/usr/lib/postgresql"
    try:
        versions = sorted((v for v in os.listdir(root) if v.isdigit()),
                          key=int, reverse=True)
    except OSError:
        return None
    for v in versions:
        d = os.path.join(root, v, "bin")
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    return None


class Postgres(_Process):
    """A throwaway PostgreSQL cluster (Debian's postgresql package) in its
    own temporary directory, on a free loopback port, with password
    (SCRAM) authentication for user prscan and a database prscan.  As
    root the server runs as the unprivileged user postgres.  Skips the
    test when the server binaries are not installed."""

    USER = "prscan"
    DB = "prscan"

    def __init__(self):
        self.bin = _pg_bin_dir()
        if self.bin is None:
            raise unittest.SkipTest(
                "PostgreSQL server binaries (initdb, postgres) are not "
                "installed: scripts/install-deps.sh installs Debian's "
                "postgresql package")
        self.dir = tempfile.mkdtemp(prefix="prscan-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.as_user = []
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.as_user = ["setpriv", "--reuid=%d" % pw.pw_uid,
                            "--regid=%d" % pw.pw_gid, "--clear-groups",
                            "--"]
        pwfile = os.path.join(self.dir, "pwfile")
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.password + "\n")
        if self.as_user:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        init = subprocess.run(
            self.as_user + [os.path.join(self.bin, "initdb"), "-D",
                            self.data, "-U", self.USER, "--pwfile", pwfile,
                            "--auth=scram-sha-256", "-E", "UTF8",
                            "--no-sync", "--no-instructions"],
            env=_base_env(), capture_output=True, text=True)
        os.unlink(pwfile)
        if init.returncode != 0:
            raise AssertionError("initdb failed:\n" + init.stdout +
                                 init.stderr)
        argv = self.as_user + [
            os.path.join(self.bin, "postgres"), "-D", self.data,
            "-p", str(self.port), "-k", self.dir,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        super().__init__("postgres", argv, _base_env(),
                         os.path.join(self.dir, "postgres.log"), self.dir)
        self.start()
        self.sql("CREATE DATABASE %s" % self.DB, db="postgres")

    @property
    def url(self):
        """DATABASE_URL for prscan, password included."""
        return "postgresql://%s:%s@127.0.0.1:%d/%s" % (
            self.USER, self.password, self.port, self.DB)

    def start(self):
        self._spawn_ready(self._ready, "postgres on %d" % self.port)

    def _ready(self):
        if not self.alive():
            raise AssertionError("postgres exited:\n" +
                                 _tail(self.log_text()))
        try:
            self.sql("SELECT 1", db="postgres")
            return True
        except AssertionError:
            return False

    def sql(self, query, db=None):
        """psql -c query as prscan (the password in PGPASSWORD, not in
        argv): the output, unaligned, tuples only."""
        env = _base_env()
        env["PGPASSWORD"] = self.password
        p = subprocess.run(
            [os.path.join(self.bin, "psql"), "-X", "-A", "-t", "-q",
             "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
             str(self.port), "-U", self.USER, "-d", db or self.DB,
             "-c", query], env=env, capture_output=True, text=True,
            timeout=30)
        if p.returncode != 0:
            raise AssertionError("psql %r: %s" % (query, p.stderr))
        return p.stdout.strip()

    def rows(self, query):
        """The rows of a SELECT as a list of dicts (via json_agg)."""
        out = self.sql("SELECT coalesce(json_agg(q), '[]') FROM (%s) q" %
                       query)
        return json.loads(out)

    def stop(self, sig=signal.SIGINT, timeout=10):
        """A fast shutdown (SIGINT); the directory stays for start()."""
        return super().stop(sig, timeout)

    def remove(self):
        self.stop()
        remove_tmp(self.dir)


def generate_rsa_key(tmpdir):
    """(private PEM path, public PEM path) of a new RSA 2048 key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    priv = key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    priv_path = os.path.join(tmpdir, "app-private-key.pem")
    pub_path = os.path.join(tmpdir, "app-public-key.pem")
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(priv)
    with open(pub_path, "wb") as f:
        f.write(pub)
    return priv_path, pub_path


class GitHubStandin(_Process):
    """tests/standins/github_standin.py on a free loopback port."""

    def __init__(self, tmpdir=None, app_id="12345", state=False):
        self._own_tmp = tmpdir is None
        base = tmpdir or make_tmp("prscan-github-")
        self.dir = os.path.join(base, "github") if not self._own_tmp \
            else base
        os.makedirs(self.dir, exist_ok=True)
        self.app_id = str(app_id)
        self.private_key_path, self.public_key_path = \
            generate_rsa_key(self.dir)
        self.repos_dir = os.path.join(self.dir, "repos")
        os.makedirs(self.repos_dir, exist_ok=True)
        argv = [PYTHON, GITHUB_STANDIN, "--port", "0", "--app-id",
                self.app_id, "--public-key", self.public_key_path,
                "--repos-dir", self.repos_dir]
        if state:
            argv += ["--state-dir", os.path.join(self.dir, "state")]
        super().__init__("github-standin", argv, _base_env(),
                         os.path.join(self.dir, "standin.log"))
        self.start()

    def start(self):
        self._spawn(stdout=subprocess.PIPE)
        line = self._read_ready()
        self.port = int(line.split("port=")[1])
        self.url = "http://127.0.0.1:%d" % self.port
        self.host = "127.0.0.1:%d" % self.port

    def _read_ready(self):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                raise AssertionError("GitHub stand-in not READY:\n" +
                                     _tail(self.log_text()))
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise AssertionError("GitHub stand-in exited:\n" +
                                     _tail(self.log_text()))
            buf += chunk
        sel.close()
        line = buf.decode().splitlines()[0]
        if not line.startswith("READY port="):
            raise AssertionError("unexpected stand-in output %r" % line)
        return line

    def stop(self, sig=signal.SIGTERM, timeout=10):
        code = super().stop(sig, timeout)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if self._own_tmp:
            remove_tmp(self.dir)
        return code

    # -- HTTP -------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, parsed JSON or text, headers dict lower-case)."""
        return http_request(self.url, method, path, body, headers, timeout)

    def _control(self, method, path, body=None):
        status, data, _ = self.request(method, path, body)
        if status >= 300:
            raise AssertionError("stand-in %s %s: %s %r" % (
                method, path, status, data))
        return data

    def calls(self):
        """Every recorded call: {seq, method, path, status, time, body,
        auth_kind} (auth_kind none/jwt/token/basic/unknown)."""
        return self._control("GET", "/_standin/calls")

    def add_fault(self, path_regex, status=503, method="*", count=1,
                  headers=None, delay_ms=0, body=None):
        """The next count requests matching method and path_regex (a
        re.search on the path, no query) get status (None: only the
        delay, then the normal answer)."""
        return self._control("POST", "/_standin/faults", {
            "method": method, "path_regex": path_regex, "status": status,
            "count": count, "headers": headers or {},
            "delay_ms": delay_ms, "body": body})

    def clear_faults(self):
        self._control("DELETE", "/_standin/faults")

    def jwt(self, now=None, iat_offset=-60, exp_offset=540):
        """An App JWT signed with the App's private key."""
        import jwt
        now = int(now or time.time())
        with open(self.private_key_path, "rb") as f:
            key = f.read()
        return jwt.encode({"iat": now + iat_offset, "exp": now + exp_offset,
                           "iss": self.app_id}, key, algorithm="RS256")

    def mint_token(self, installation=1, repositories=None,
                   permissions=None):
        """A new installation token (the test's own, as the API would)."""
        body = {}
        if repositories is not None:
            body["repositories"] = repositories
        if permissions is not None:
            body["permissions"] = permissions
        status, data, _ = self.request(
            "POST", "/app/installations/%d/access_tokens" % installation,
            body, {"Authorization": "Bearer " + self.jwt()})
        if status != 201:
            raise AssertionError("token minting: %s %r" % (status, data))
        return data["token"]

    def _admin_token(self):
        return self.mint_token(permissions={"checks": "read",
                                            "metadata": "read"})

    def check_runs(self, owner, repo, sha):
        """All check runs for sha, newest first."""
        status, data, _ = self.request(
            "GET", "/repos/%s/%s/commits/%s/check-runs?per_page=100" % (
                owner, repo, sha), None,
            {"Authorization": "token " + self._admin_token()})
        if status != 200:
            raise AssertionError("check runs: %s %r" % (status, data))
        return data["check_runs"]

    def annotations(self, owner, repo, run_id):
        """Every annotation of a check run, in order (all pages)."""
        token = self._admin_token()
        out, page = [], 1
        while True:
            status, data, _ = self.request(
                "GET", "/repos/%s/%s/check-runs/%d/annotations"
                "?per_page=100&page=%d" % (owner, repo, int(run_id), page),
                None, {"Authorization": "token " + token})
            if status != 200:
                raise AssertionError("annotations: %s %r" % (status, data))
            out.extend(data)
            if len(data) < 100:
                return out
            page += 1


def http_request(base_url, method, path, body=None, headers=None,
                 timeout=10):
    """One HTTP request; body a dict/list (sent as JSON) or bytes.
    Returns (status, parsed JSON or text, headers with lower-case keys)."""
    u = urllib.parse.urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    hdrs = {"Accept": "application/vnd.github+json",
            "User-Agent": "prscan-tests"}
    hdrs.update(headers or {})
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        rh = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, _decode(raw), rh
    finally:
        conn.close()


def _decode(raw):
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(args, cwd=None, env=None, check=True):
    """Runs the git CLI with repeatable identities; stdout text."""
    e = _base_env()
    e["HOME"] = cwd or e["HOME"]
    e.update(GIT_ENV)
    e.update(env or {})
    p = subprocess.run(["git"] + list(args), cwd=cwd, env=e,
                       capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("git %s failed (%d): %s" % (
            " ".join(args), p.returncode, p.stderr))
    return p.stdout if check else p


def make_repo(standin, owner, repo, source_dirs, pr_number=1):
    """A bare repository <repos_dir>/<owner>/<repo>.git: `main` with a
    README, `feature` adding each source dir as a sub-directory, and
    refs/pull/<pr_number>/head at the head commit.  Returns its sha."""
    bare = os.path.join(standin.repos_dir, owner, repo + ".git")
    work = tempfile.mkdtemp(prefix="prscan-work-")
    try:
        git(["init", "-q", "-b", "main", work])
        with open(os.path.join(work, "README.md"), "w") as f:
            f.write("# %s\n" % repo)
        git(["add", "README.md"], work)
        git(["commit", "-q", "-m", "Initial commit"], work)
        git(["checkout", "-q", "-b", "feature"], work)
        for src in source_dirs:
            dest = os.path.join(work, os.path.basename(os.path.normpath(src)))
            shutil.copytree(src, dest)
        git(["add", "-A"], work)
        git(["commit", "-q", "-m", "Add infrastructure code"], work)
        sha = git(["rev-parse", "HEAD"], work).strip()
        os.makedirs(os.path.dirname(bare), exist_ok=True)
        shutil.rmtree(bare, ignore_errors=True)
        git(["clone", "-q", "--bare", work, bare])
        git(["update-ref", "refs/pull/%d/head" % pr_number, sha], bare)
        return sha
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _base_env():
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": os.environ.get("HOME", "/tmp"),
           "LANG": os.environ.get("LANG", "C.UTF-8")}
    return env


class Daemon(_Process):
    """A binary from PRSCAN_BIN_DIR with a minimal environment (PATH,
    HOME, LANG) plus env; output in <tmpdir>/<name>.log."""

    def __init__(self, binary, env, tmpdir, name=None, args=()):
        path = binary if os.path.isabs(binary) else \
            os.path.join(BIN_DIR, binary)
        if not os.access(path, os.X_OK):
            # Under ctest (PRSCAN_BIN_DIR set) a missing binary is a
            # failure; run by hand without a build, the test is skipped.
            if os.environ.get("PRSCAN_BIN_DIR"):
                raise AssertionError("%s not built" % path)
            raise unittest.SkipTest("%s not built" % path)
        name = name or os.path.basename(binary)
        full_env = _base_env()
        full_env.update({k: str(v) for k, v in env.items()})
        n, log = 1, os.path.join(tmpdir, name + ".log")
        while os.path.exists(log):
            n += 1
            log = os.path.join(tmpdir, "%s.%d.log" % (name, n))
        super().__init__(name, [path] + list(args), full_env, log, tmpdir)
        self.url = None
        self._spawn()

    def wait_http(self, url=None, timeout=START_TIMEOUT):
        """Polls url (default self.url) until it answers anything."""
        url = url or self.url

        def answers():
            if not self.alive():
                raise AssertionError("%s exited (%s):\n%s" % (
                    self.name, self.proc.returncode,
                    _tail(self.log_text())))
            u = urllib.parse.urlsplit(url)
            conn = http.client.HTTPConnection(u.hostname, u.port,
                                              timeout=1)
            try:
                conn.request("GET", u.path or "/")
                conn.getresponse().read()
                return True
            finally:
                conn.close()
        try:
            wait_until(answers, timeout, what="%s at %s" % (self.name, url))
        except AssertionError:
            if not self.alive():
                raise AssertionError("%s exited (%s):\n%s" % (
                    self.name, self.proc.returncode,
                    _tail(self.log_text())))
            raise


def api_env(redis, standin, port, webhook_secret, callback_secret,
            **extra):
    """The environment prscan-api reads."""
    env = {
        "PORT": port,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": redis.port,
        "REDIS_PASSWORD": redis.password,
        "GITHUB_WEBHOOK_SECRET": webhook_secret,
        "GITHUB_APP_ID": standin.app_id,
        "GITHUB_APP_PRIVATE_KEY_FILE": standin.private_key_path,
        "GITHUB_API_URL": standin.url,
        "CALLBACK_SECRET": callback_secret,
        "SCANNERS": "kics",
        # GitHub's 1 s between writes would slow every scenario down;
        # test_checkruns_output checks the spacing.
        "GITHUB_WRITE_INTERVAL_MS": 10,
    }
    env.update(extra)
    return {k: str(v) for k, v in env.items() if v is not None}


def api(tmpdir, redis, standin, webhook_secret=None, callback_secret=None,
        port=None, wait=True, **extra):
    """Starts prscan-api; the Daemon has .url, .port, .webhook_secret,
    .callback_secret.  Extra keyword arguments become variables."""
    port = port or free_port()
    webhook_secret = webhook_secret or secrets.token_hex(16)
    callback_secret = callback_secret or secrets.token_hex(16)
    d = Daemon("prscan-api", api_env(redis, standin, port, webhook_secret,
                                     callback_secret, **extra), tmpdir)
    d.port = port
    d.url = "http://127.0.0.1:%d" % port
    d.webhook_secret = webhook_secret
    d.callback_secret = callback_secret
    if wait:
        d.wait_http()
    return d


def kics_worker_env(api_url, callback_secret, redis, standin, work_dir,
                    consumer="kics-1", scan_timeout=60, **extra):
    """The environment prscan-worker-kics reads."""
    env = {
        "API_URL": api_url,
        "CALLBACK_SECRET": callback_secret,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": redis.port,
        "REDIS_PASSWORD": redis.password,
        "GITHUB_SERVER_URL": standin.url,
        "KICS_BIN": KICS_STANDIN,
        "WORK_DIR": work_dir,
        "CONSUMER_NAME": consumer,
        "SCAN_TIMEOUT": scan_timeout,
        "STATUS_PORT": free_port(),     # replicas share one host
    }
    env.update(extra)
    return {k: str(v) for k, v in env.items() if v is not None}


def kics_worker(tmpdir, api_daemon, redis, standin, consumer="kics-1",
                scan_timeout=60, **extra):
    """Starts prscan-worker-kics against api_daemon (from api())."""
    work_dir = os.path.join(tmpdir, "work-" + consumer)
    os.makedirs(work_dir, exist_ok=True)
    env = kics_worker_env(api_daemon.url, api_daemon.callback_secret,
                          redis, standin, work_dir, consumer, scan_timeout,
                          **extra)
    d = Daemon("prscan-worker-kics", env, tmpdir,
               name="prscan-worker-kics-" + consumer)
    d.work_dir = work_dir
    d.status_url = "http://127.0.0.1:%s" % env["STATUS_PORT"]
    return d


def blackduck_worker(tmpdir, api_daemon, redis, standin, token,
                     consumer="blackduck-1", scan_timeout=60, **extra):
    """Starts prscan-worker-blackduck against api_daemon (from api()),
    with the Detect stand-in and token as BLACKDUCK_API_TOKEN."""
    work_dir = os.path.join(tmpdir, "work-" + consumer)
    os.makedirs(work_dir, exist_ok=True)
    env = {
        "API_URL": api_daemon.url,
        "CALLBACK_SECRET": api_daemon.callback_secret,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": redis.port,
        "REDIS_PASSWORD": redis.password,
        "GITHUB_SERVER_URL": standin.url,
        "DETECT_BIN": DETECT_STANDIN,
        "BLACKDUCK_URL": "https://blackduck.invalid",
        "BLACKDUCK_API_TOKEN": token,
        "WORK_DIR": work_dir,
        "CONSUMER_NAME": consumer,
        "SCAN_TIMEOUT": scan_timeout,
        "STATUS_PORT": free_port(),
    }
    env.update(extra)
    env = {k: str(v) for k, v in env.items() if v is not None}
    d = Daemon("prscan-worker-blackduck", env, tmpdir,
                       name="prscan-worker-blackduck-" + consumer)
    d.work_dir = work_dir
    d.status_url = "http://127.0.0.1:%s" % env["STATUS_PORT"]
    return d


def sign(secret, body):
    """GitHub's X-Hub-Signature-256 value for body (bytes)."""
    if isinstance(secret, str):
        secret = secret.encode()
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def post_webhook(url, body, secret, event="pull_request", delivery=None,
                 content_type="application/json", path="/webhook",
                 signature=None, timeout=10):
    """POSTs a GitHub webhook delivery to url (+path when url has none).
    Returns (status, parsed JSON or text)."""
    u = urllib.parse.urlsplit(url)
    target = u.path if u.path not in ("", "/") else path
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    headers = {
        "Content-Type": content_type,
        "User-Agent": "GitHub-Hookshot/prscan-tests",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or _uuid(),
        "X-GitHub-Hook-ID": "1",
    }
    sig = signature if signature is not None else \
        (sign(secret, body) if secret is not None else None)
    if sig:
        headers["X-Hub-Signature-256"] = sig
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("POST", target, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, _decode(resp.read())
    finally:
        conn.close()


def _uuid():
    import uuid
    return str(uuid.uuid4())


def fixture(*parts):
    """A path under the project's fixtures (tests/fixtures)."""
    return os.path.join(FIXTURES, *parts)


def pull_request_event(owner, repo, sha, pr_number=1, installation=1,
                       action="opened", updated_at=None):
    """The recorded pull_request.opened body, pointed at owner/repo@sha
    (and, when given, with that pull_request.updated_at)."""
    with open(PR_OPENED, encoding="utf-8") as f:
        ev = json.load(f)
    ev["action"] = action
    ev["number"] = pr_number
    ev.setdefault("installation", {})["id"] = installation
    full = "%s/%s" % (owner, repo)
    ev["repository"]["name"] = repo
    ev["repository"]["full_name"] = full
    ev["repository"]["owner"]["login"] = owner
    pr = ev["pull_request"]
    pr["number"] = pr_number
    pr["head"]["sha"] = sha
    if updated_at is not None:
        pr["updated_at"] = updated_at
    for side in ("head", "base"):
        if pr[side].get("repo"):
            pr[side]["repo"]["name"] = repo
            pr[side]["repo"]["full_name"] = full
            pr[side]["repo"]["owner"]["login"] = owner
    return ev


class Case(unittest.TestCase):
    """Base for scenarios: self.tmp (removed afterwards), the tails of all
    daemon logs printed when the test fails, and the secret audit (see
    SecretAudit) when it ends."""

    def setUp(self):
        self.tmp = make_tmp()
        self.addCleanup(remove_tmp, self.tmp)
        self._procs = []
        self.audit = SecretAudit(len(_PROCESSES))
        # Added after remove_tmp, so it runs before it, after the rest.
        self.addCleanup(self.audit.check)

    def track(self, proc):
        """Stops proc at cleanup (after the test, in reverse order)."""
        self.addCleanup(proc.stop)
        return proc

    def start_redis(self):
        r = self.track(Redis(self.tmp))
        # Runs before r.stop and after the daemons started later stopped.
        self.addCleanup(self.audit.read_redis, r)
        return r

    def start_postgres(self):
        """A throwaway PostgreSQL (see Postgres); its password is audited."""
        pg = Postgres()
        self.addCleanup(pg.remove)
        self.audit.add(pg.password, "the PostgreSQL password")
        self.addCleanup(self.audit.add_place, "the log of postgres",
                        pg.log_text)
        return pg

    def start_github(self, **kw):
        gh = self.track(GitHubStandin(self.tmp, **kw))
        self.addCleanup(self.audit.read_github, gh)
        return gh

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        start = len(_PROCESSES)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            dump_logs(_PROCESSES[start:])
        return out


# Variables whose values are secrets; NAME_FILE names a file holding one.
SECRET_VARS = ("GITHUB_WEBHOOK_SECRET", "GITHUB_WEBHOOK_SECRET_PREVIOUS",
               "CALLBACK_SECRET", "REDIS_PASSWORD", "BLACKDUCK_API_TOKEN",
               "ADMIN_TOKEN", "GITHUB_APP_PRIVATE_KEY", "REDIS_URL",
               "DATABASE_URL")
# Shorter values (a test's "x") would match by chance.
MIN_SECRET_LEN = 6


def _pem_body_lines(pem):
    """The base64 lines of a PEM text (each a secret on its own)."""
    return [ln.strip() for ln in pem.splitlines()
            if ln.strip() and not ln.startswith("-----")]


class SecretAudit:
    """Collects the secrets of a test and where they must not be, and
    fails the test (check()) naming the secret and the place, never the
    value.  Secrets: the secret variables of every daemon started since
    `start` (values and NAME_FILE contents; comma lists split; the App
    key's base64 lines), each Redis password, every installation token
    the GitHub stand-in issued, and whatever add() was given.  Places:
    the daemons' logs, Redis's keys and values, and the argv lines of
    KICS_STANDIN_LOG / DETECT_STANDIN_LOG."""

    def __init__(self, start):
        self.start = start
        self.secrets = {}           # value -> label
        self.places = []            # (label, text)

    def add(self, value, label):
        if value and len(value) >= MIN_SECRET_LEN:
            self.secrets.setdefault(value, label)

    def add_place(self, label, read):
        """A place to search: read() gives its text at cleanup."""
        self.places.append((label, read()))

    def _add_var(self, name, value):
        if name in ("REDIS_URL", "DATABASE_URL"):
            pw = urllib.parse.urlsplit(value).password
            self.add(urllib.parse.unquote(pw or ""), name + " password")
            return
        if name == "GITHUB_APP_PRIVATE_KEY" and \
                not value.startswith("-----BEGIN"):
            self.add(value, name)
            try:
                value = base64.b64decode(value).decode("ascii")
            except (ValueError, UnicodeDecodeError):
                return
        if "-----BEGIN" in value:
            for ln in _pem_body_lines(value):
                self.add(ln, name + " (a line of the key)")
            return
        for part in value.split(","):
            self.add(part.strip(), name)

    def _from_env(self, env):
        for name in SECRET_VARS:
            if env.get(name):
                self._add_var(name, env[name])
            path = env.get(name + "_FILE")
            if path and os.path.isfile(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                if text.endswith("\n") and "-----BEGIN" not in text:
                    text = text[:-1]
                self._add_var(name, text)

    def read_redis(self, redis):
        """Every key and value of redis, while it still runs."""
        self.add(redis.password, "the Redis password")
        if not redis.alive():
            return
        c = redis.client()
        try:
            out = []
            for key in c.scan_iter(count=1000):
                kind = c.type(key)
                if kind == "string":
                    value = c.get(key)
                elif kind == "hash":
                    value = c.hgetall(key)
                elif kind == "list":
                    value = c.lrange(key, 0, -1)
                elif kind == "set":
                    value = sorted(c.smembers(key))
                elif kind == "zset":
                    value = c.zrange(key, 0, -1, withscores=True)
                elif kind == "stream":
                    value = c.xrange(key)
                else:
                    value = None
                out.append("%s %s %s" % (key, kind, value))
            self.places.append(("Redis", "\n".join(out)))
        finally:
            c.close()

    def read_github(self, gh):
        """The tokens the stand-in issued, and the App key, while it runs."""
        with open(gh.private_key_path, encoding="ascii") as f:
            for ln in _pem_body_lines(f.read()):
                self.add(ln, "a line of the App private key")
        if not gh.alive():
            return
        status, tokens, _ = gh.request("GET", "/_standin/tokens")
        if status == 200:
            for t in tokens:
                self.add(t, "an installation token")

    def _standin_argv(self, env):
        for var in ("KICS_STANDIN_LOG", "DETECT_STANDIN_LOG"):
            path = env.get(var)
            if not path or not os.path.isfile(path):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = [json.loads(ln).get("argv") for ln in f
                         if ln.strip()]
            self.places.append(("the argv in " + var, json.dumps(lines)))

    def check(self):
        seen = set()
        for p in _PROCESSES[self.start:]:
            if isinstance(p, Daemon):
                self._from_env(p.env)
                self.places.append(("the log of " + p.name, p.log_text()))
                for var in ("KICS_STANDIN_LOG", "DETECT_STANDIN_LOG"):
                    if p.env.get(var) in seen:
                        continue
                    seen.add(p.env.get(var))
                    self._standin_argv({var: p.env.get(var)})
        leaks = sorted({"%s in %s" % (label, where)
                        for where, text in self.places
                        for value, label in self.secrets.items()
                        if value in text})
        if leaks:
            raise AssertionError("secret audit: " + "; ".join(leaks))


def dump_logs(procs=None):
    """Prints the tail of each process's log on stderr."""
    for p in procs if procs is not None else _PROCESSES:
        text = p.log_text() or p.saved_log
        sys.stderr.write("\n----- %s (%s) log tail -----\n%s\n" % (
            p.name, p.log_path, _tail(text)))
    sys.stderr.flush()


def main():
    """unittest.main with verbose output."""
    unittest.main(verbosity=2)
