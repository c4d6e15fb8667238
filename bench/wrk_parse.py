#!/usr/bin/python3
"""Reads wrk's --latency output on stdin and prints shell assignments:
rps, p50_ms, p99_ms, requests, non2xx, sockerr (sum of socket errors)."""

import re
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)] if m else -1.0


def main():
    out = sys.stdin.read()
    vals = {"rps": 0.0, "p50_ms": -1.0, "p99_ms": -1.0, "requests": 0,
            "non2xx": 0, "sockerr": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        vals["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        vals["requests"] = int(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+(\S+)" % pct, out, re.M)
        if m:
            vals[key] = ms(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        vals["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:
        vals["sockerr"] = sum(int(g) for g in m.groups())
    for k, v in vals.items():
        print("%s=%s" % (k, ("%.3f" % v) if isinstance(v, float) else v))


if __name__ == "__main__":
    main()
