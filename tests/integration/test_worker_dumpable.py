#!/usr/bin/python3
"""A worker is not dumpable (PR_SET_DUMPABLE 0): another process of its
uid, such as the scanner it runs, cannot read its /proc/<pid>/environ,
where CALLBACK_SECRET and the Redis password are, while it can read that
of an ordinary process of the same uid.  The worker runs as nobody here,
since root reads any process's environment."""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NOBODY = "65534"
SETPRIV = shutil.which("setpriv")


def as_nobody(args):
    return [SETPRIV, "--reuid=" + NOBODY, "--regid=" + NOBODY,
            "--clear-groups"] + list(args)


def read_as_nobody(pid):
    """What a process of uid nobody gets reading pid's environ."""
    p = subprocess.run(as_nobody([sys.executable, "-c",
                       "import sys; open(sys.argv[1], 'rb').read()",
                       "/proc/%d/environ" % pid]),
                       capture_output=True, text=True)
    return p.returncode, p.stderr


class Dumpable(harness.Case):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0 or SETPRIV is None:
            raise unittest.SkipTest("needs root and setpriv")
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.api = self.track(harness.api(self.tmp, self.redis,
                                          self.github))
        os.chmod(self.tmp, 0o755)

    def test_a_worker_s_environment_is_closed_to_its_uid(self):
        work = os.path.join(self.tmp, "work-nobody")
        os.makedirs(work)
        os.chmod(work, 0o777)
        env = harness.kics_worker_env(self.api.url,
                                      self.api.callback_secret, self.redis,
                                      self.github, work, consumer="nobody")
        w = self.track(harness.Daemon(
            SETPRIV, env, self.tmp, name="prscan-worker-kics-nobody",
            args=as_nobody([os.path.join(harness.BIN_DIR,
                                         "prscan-worker-kics")])[1:]))
        w.wait_http("http://127.0.0.1:%s/healthz" % env["STATUS_PORT"])
        code, err = read_as_nobody(w.proc.pid)
        self.assertNotEqual(code, 0)
        self.assertIn("PermissionError", err)

        plain = subprocess.Popen(as_nobody(["sleep", "30"]))
        self.addCleanup(plain.kill)
        harness.wait_until(
            lambda: os.stat("/proc/%d" % plain.pid).st_uid == 65534, 5,
            what="sleep to run as nobody")
        self.assertEqual(read_as_nobody(plain.pid), (0, ""))


if __name__ == "__main__":
    harness.main()
