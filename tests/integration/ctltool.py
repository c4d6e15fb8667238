"""Running prscanctl from PRSCAN_BIN_DIR in integration tests, with the
Redis (and optionally GitHub stand-in and API) configuration it reads from
the environment, and reading every key and value back from Redis."""

import json
import os
import subprocess
import unittest

import harness


def env_for(redis=None, github=None, api=None, **extra):
    """prscanctl's environment: PATH, HOME, LANG, REDIS_*, and for the
    GitHub commands GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY_FILE,
    GITHUB_API_URL, API_URL."""
    env = harness._base_env()
    if redis is not None:
        env.update({"REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis.port),
                    "REDIS_PASSWORD": redis.password})
    if github is not None:
        env.update({"GITHUB_APP_ID": github.app_id,
                    "GITHUB_APP_PRIVATE_KEY_FILE": github.private_key_path,
                    "GITHUB_API_URL": github.url})
    if api is not None:
        env["API_URL"] = api.url
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(args, env, timeout=60):
    """(exit status, stdout, stderr) of `prscanctl args...`."""
    path = os.path.join(harness.BIN_DIR, "prscanctl")
    if not os.access(path, os.X_OK):
        if os.environ.get("PRSCAN_BIN_DIR"):
            raise AssertionError("%s not built" % path)
        raise unittest.SkipTest("%s not built" % path)
    p = subprocess.run([path] + list(args), env=env, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def run_json(case, args, env):
    """prscanctl --json args...: the parsed output; fails case otherwise."""
    code, out, err = run(["--json"] + list(args), env)
    case.assertEqual(code, 0, "prscanctl %s: %s%s" % (args, out, err))
    return json.loads(out)


def dump(client):
    """Every key of the Redis database with its type and its whole
    content as text (strings, hashes, lists, sets, sorted sets, stream
    entries with their fields, consumer group and consumer names, pending
    entries without their idle times)."""
    out = {}
    for key in client.scan_iter("*"):
        t = client.type(key)
        if t == "string":
            v = client.get(key)
        elif t == "hash":
            v = client.hgetall(key)
        elif t == "list":
            v = client.lrange(key, 0, -1)
        elif t == "set":
            v = sorted(client.smembers(key))
        elif t == "zset":
            v = client.zrange(key, 0, -1, withscores=True)
        elif t == "stream":
            groups = client.xinfo_groups(key)
            v = {"entries": client.xrange(key),
                 "groups": [(g["name"], [c["name"] for c in
                                         client.xinfo_consumers(
                                             key, g["name"])])
                            for g in groups],
                 "pending": [[(p["message_id"], p["consumer"],
                               p["times_delivered"])
                              for p in client.xpending_range(
                                  key, g["name"], "-", "+", 10000)]
                             for g in groups]}
        else:
            v = None
        out[key] = (t, v)
    return out
