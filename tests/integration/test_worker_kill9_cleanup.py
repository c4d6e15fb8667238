#!/usr/bin/python3
"""A worker killed with SIGKILL in the middle of a scan takes its scanner
with it (PR_SET_PDEATHSIG), and when it starts again it removes the
workspace it left behind, but not that of a live replica sharing its
WORK_DIR (each workspace is flock()ed by its worker)."""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

OWNER = "octo"
INPUT = os.path.join(harness.FIXTURES, "kics-inputs",
                     "dockerfile_missing_user_instruction")


def pids_in(directory):
    """The live processes whose working directory is directory."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % pid)
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cwd == directory and state != "Z":
            found.append(int(pid))
    return found


class KillCleanup(harness.Case):
    def setUp(self):
        super().setUp()
        self.redis = self.start_redis()
        self.github = self.start_github()
        self.shas = {}
        for pr, repo in ((1, "one"), (2, "two")):
            self.shas[repo] = harness.make_repo(self.github, OWNER, repo,
                                                [INPUT], pr_number=pr)
        self.api = self.track(harness.api(self.tmp, self.redis,
                                          self.github))
        self.work = os.path.join(self.tmp, "shared-work")
        # Not workspaces, though alike: WORK_DIR may be a shared /tmp.
        self.decoys = [os.path.join(self.work, d) for d in
                       ("prscan-abcdef", "prscan-ws-abcdefg", "prscan-it-x")]
        for d in self.decoys:
            os.makedirs(d)
        other = os.path.join(self.work, "prscan-ws-zzzzzz")
        os.makedirs(other)
        os.chown(other, 65534, 65534)   # another uid's: left alone
        self.decoys.append(other)
        self.scan_log = os.path.join(self.tmp, "kics-calls.jsonl")

    def worker(self, name):
        return self.track(harness.kics_worker(
            self.tmp, self.api, self.redis, self.github, consumer=name,
            WORK_DIR=self.work, KICS_STANDIN_SLEEP=30,
            KICS_STANDIN_LOG=self.scan_log))

    def deliver(self, repo, pr):
        ev = harness.pull_request_event(OWNER, repo, self.shas[repo],
                                        pr_number=pr)
        status, body = harness.post_webhook(self.api.url, ev,
                                            self.api.webhook_secret)
        self.assertEqual(status, 202, body)

    def scans(self):
        try:
            with open(self.scan_log, encoding="utf-8") as f:
                return [json.loads(line)["cwd"] for line in f]
        except FileNotFoundError:
            return []

    def test_a_killed_worker_leaves_no_scanner_and_no_workspace(self):
        peer = self.worker("kics-b")
        self.deliver("one", 1)
        harness.wait_until(lambda: len(self.scans()) == 1, 20,
                           what="the peer to be scanning")
        victim = self.worker("kics-a")
        self.deliver("two", 2)
        harness.wait_until(lambda: len(self.scans()) == 2, 20,
                           what="the victim to be scanning")
        peer_src, victim_src = self.scans()
        scanners = pids_in(victim_src)
        self.assertEqual(len(scanners), 1, scanners)

        victim.kill9()
        harness.wait_until(lambda: not pids_in(victim_src), 5,
                           what="the victim's scanner to die with it")
        self.assertTrue(os.path.isdir(victim_src))

        again = self.worker("kics-a")
        harness.wait_until(
            lambda: "abandoned workspace removed" in again.log_text(), 10,
            what="the stale workspace to be removed")
        self.assertFalse(os.path.exists(os.path.dirname(victim_src)))
        self.assertIn("dir=" + os.path.dirname(victim_src),
                      again.log_text())
        self.assertTrue(os.path.isdir(peer_src))
        self.assertEqual(len(pids_in(peer_src)), 1)
        for d in self.decoys:
            self.assertTrue(os.path.isdir(d), d)
        again.kill9()
        peer.kill9()


if __name__ == "__main__":
    harness.main()
