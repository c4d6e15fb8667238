#!/usr/bin/python3
"""Stopping a worker: one SIGTERM finishes the scan in hand and exits 0;
a second kills the scanner and leaves the entry pending for a peer.  And
WORKER_CONCURRENCY scans run side by side in one process."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from scenario import Pipeline  # noqa: E402


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class Signals(harness.Case):
    def test_sigterm_finishes_the_scan_in_hand(self):
        p = Pipeline(self, worker_env={"KICS_STANDIN_SLEEP": "2"})
        sha = p.base_sha
        p.deliver(1, sha)
        harness.wait_until(lambda: len(p.scans()) == 1, 20,
                           what="the scan to start")
        w = p.workers[0]
        w.proc.send_signal(signal.SIGTERM)
        w.proc.wait(30)
        self.assertEqual(w.proc.returncode, 0, w.log_text())
        harness.wait_until(lambda: p.completed(sha), 10,
                           what="the check run to complete")
        self.assertEqual(p.completed(sha)[0]["conclusion"], "failure")
        self.assertEqual((p.stream_len(), p.pending()), (0, 0))

    def test_a_second_signal_abandons_the_scan_for_a_peer(self):
        p = Pipeline(self, worker_env={"KICS_STANDIN_SLEEP": "60"})
        sha = p.base_sha
        p.deliver(1, sha)
        harness.wait_until(lambda: len(p.scans()) == 1, 20,
                           what="the scan to start")
        scanner = p.scans()[0]["pid"]
        w = p.workers[0]
        w.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        w.proc.send_signal(signal.SIGTERM)
        w.proc.wait(10)
        self.assertNotEqual(w.proc.returncode, 0)
        harness.wait_until(lambda: gone(scanner), 5,
                           what="the scanner to be killed")
        self.assertEqual(p.pending(), 1)
        self.assertEqual(p.completed(sha), [])
        # A peer takes it over and finishes it.
        p.worker_env["KICS_STANDIN_SLEEP"] = "0"
        p.add_worker("kics-peer")
        harness.wait_until(lambda: p.completed(sha), 30,
                           what="the peer to finish the scan")
        self.assertEqual(len(p.runs(sha)), 1)

    def test_concurrency_runs_scans_side_by_side(self):
        p = Pipeline(self, worker_env={"KICS_STANDIN_SLEEP": "3",
                                       "WORKER_CONCURRENCY": "3"})
        sha = p.base_sha
        for pr in (1, 2, 3):
            p.set_pr(pr, sha)
            p.deliver(pr, sha)
        harness.wait_until(lambda: len(p.completed(sha)) == 3, 30,
                           what="three check runs")
        starts = sorted(s["time"] for s in p.scans())
        self.assertEqual(len(starts), 3)
        # Each scan started before the first one could have ended.
        self.assertLess(starts[-1], starts[0] + 3)


if __name__ == "__main__":
    harness.main()
