#!/usr/bin/python3
"""Static checks of what deploys prscan (no cluster, no Docker engine):

- `kubectl kustomize` renders deploy/kubernetes/base and overlays/dev
  (with placeholder secret files); in the rendered YAML every prscan
  container has a liveness probe on /healthz and a readiness probe on
  /readyz at its port (the API's 8080, the workers' STATUS_PORT 8081),
  resource requests and limits, a non-root security context, secrets
  only as files read through NAME_FILE (never a value in the
  environment), and every worker a HorizontalPodAutoscaler; the base
  reaches Redis through an ExternalName Service named by REDIS_HOST.
- every docker/Dockerfile.*'s final stage runs as a numeric non-root
  USER, has a HEALTHCHECK, and installs no compiler.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

import yaml  # noqa: E402  (Debian's python3-yaml)

K8S = os.path.join(harness.SOURCE_DIR, "deploy", "kubernetes")
SECRET_FILES = ("github-app.pem", "webhook-secret", "callback-secret",
                "redis-password", "blackduck-api-token", "admin-token")
SECRET_VARS = ("GITHUB_APP_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET",
               "CALLBACK_SECRET", "REDIS_PASSWORD", "BLACKDUCK_API_TOKEN",
               "ADMIN_TOKEN")
WORKERS = ("prscan-worker-kics", "prscan-worker-blackduck")
COMPILERS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|cc|make|cmake|"
                       r"cpp|binutils)\b")


def kubectl():
    path = shutil.which("kubectl")
    if path is None:
        msg = "kubectl not installed (scripts/install-deps.sh)"
        if os.environ.get("PRSCAN_BIN_DIR"):
            raise AssertionError(msg)
        raise unittest.SkipTest(msg)
    return path


class Kubernetes(harness.Case):
    def render(self, which):
        tree = os.path.join(self.tmp, "kubernetes")
        shutil.copytree(K8S, tree)
        secrets = os.path.join(tree, "overlays", "dev", "secrets")
        os.makedirs(secrets, exist_ok=True)
        for f in SECRET_FILES:
            with open(os.path.join(secrets, f), "w") as fh:
                fh.write("placeholder\n")
        p = subprocess.run([kubectl(), "kustomize", os.path.join(tree,
                                                                 which)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [d for d in yaml.safe_load_all(p.stdout) if d]

    def by_kind(self, docs, kind):
        return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}

    def check_container(self, name, pod, c):
        port = 8080 if name == "prscan-api" else 8081
        named = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        for probe, path in (("livenessProbe", "/healthz"),
                            ("readinessProbe", "/readyz")):
            get = c[probe]["httpGet"]
            self.assertEqual(get["path"], path, name)
            self.assertEqual(named.get(get["port"], get["port"]), port,
                             name)
        for part in ("requests", "limits"):
            self.assertTrue({"cpu", "memory"} <= set(c["resources"][part]),
                            "%s: %s" % (name, part))
        sc = dict(pod.get("securityContext", {}))
        sc.update(c.get("securityContext", {}))
        self.assertTrue(sc.get("runAsNonRoot"), name)
        self.assertNotEqual(sc.get("runAsUser"), 0, name)
        self.assertFalse(sc.get("allowPrivilegeEscalation", True), name)
        env = {e["name"]: e for e in c.get("env", [])}
        for var in SECRET_VARS:
            self.assertNotIn(var, env, "%s: %s as a value" % (name, var))
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        files = {n: v for n, v in env.items() if n.endswith("_FILE")}
        self.assertIn("CALLBACK_SECRET_FILE", files, name)
        self.assertIn("REDIS_PASSWORD_FILE", files, name)
        for var, e in files.items():
            self.assertIn(var[:-5], SECRET_VARS, name)
            path = e["value"]
            vol = [v for v, m in mounts.items()
                   if path.startswith(m.rstrip("/") + "/")]
            self.assertEqual(len(vol), 1, "%s: %s" % (name, path))
            secret = volumes[vol[0]]["secret"]
            keys = [i["path"] for i in secret["items"]]
            self.assertIn(os.path.basename(path), keys, name)
        return env

    def check(self, docs):
        deps = self.by_kind(docs, "Deployment")
        for name in ("prscan-api",) + WORKERS:
            pod = deps[name]["spec"]["template"]["spec"]
            env = self.check_container(name, pod, pod["containers"][0])
            if name == "prscan-api":
                self.assertIn("GITHUB_APP_PRIVATE_KEY_FILE", env)
                self.assertIn("GITHUB_WEBHOOK_SECRET_FILE", env)
                self.assertEqual(env["REDELIVER"]["value"], "on")
            if name == "prscan-worker-blackduck":
                self.assertIn("BLACKDUCK_API_TOKEN_FILE", env)
            if name in WORKERS:
                self.assertIn("fieldRef",
                              env["CONSUMER_NAME"]["valueFrom"])
                self.assertGreaterEqual(
                    pod["terminationGracePeriodSeconds"],
                    int(env["SCAN_TIMEOUT"]["value"]))
        hpas = self.by_kind(docs, "HorizontalPodAutoscaler")
        targets = sorted(h["spec"]["scaleTargetRef"]["name"]
                         for h in hpas.values())
        self.assertEqual(targets, sorted(WORKERS))
        for h in hpas.values():
            self.assertLessEqual(h["spec"]["minReplicas"],
                                 h["spec"]["maxReplicas"])
        svc = self.by_kind(docs, "Service")
        self.assertEqual(svc["prscan-api"]["spec"]["ports"][0]["port"],
                         8080)
        config = self.by_kind(docs, "ConfigMap")
        cm = [c for n, c in config.items() if n.startswith("prscan-config")]
        self.assertEqual(len(cm), 1)
        self.assertIn(cm[0]["data"]["REDIS_HOST"], svc)
        self.assertEqual(cm[0]["data"]["STATUS_PORT"], "8081")
        return svc, cm[0]

    def test_base_renders_with_a_managed_redis(self):
        svc, cm = self.check(self.render("base"))
        redis = svc[cm["data"]["REDIS_HOST"]]
        self.assertEqual(redis["spec"]["type"], "ExternalName")

    def test_dev_overlay_renders(self):
        docs = self.render(os.path.join("overlays", "dev"))
        svc, cm = self.check(docs)
        secrets = self.by_kind(docs, "Secret")
        self.assertEqual(len(secrets), 1)
        secret = list(secrets.values())[0]
        self.assertEqual(sorted(secret["data"]), sorted(SECRET_FILES))
        deps = self.by_kind(docs, "Deployment")
        for d in deps.values():
            for v in d["spec"]["template"]["spec"].get("volumes", []):
                if "secret" in v:
                    self.assertEqual(v["secret"]["secretName"],
                                     secret["metadata"]["name"])
        self.assertIn("redis", deps)
        self.assertEqual(svc["redis"]["spec"]["type"], "ClusterIP")
        self.assertTrue(all(d["metadata"].get("namespace") == "prscan-dev"
                            for d in docs if d["kind"] != "Namespace"))


def final_stage(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # Continuation lines joined, comments dropped.
    text = re.sub(r"\\\n", " ", text)
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    start = max(i for i, ln in enumerate(lines)
                if ln.upper().startswith("FROM "))
    return lines[start:]


class Images(unittest.TestCase):
    def test_final_stages(self):
        files = sorted(glob.glob(os.path.join(harness.SOURCE_DIR, "docker",
                                              "Dockerfile.*")))
        self.assertGreaterEqual(len(files), 3)
        for path in files:
            name = os.path.basename(path)
            stage = final_stage(path)
            users = [ln.split()[1] for ln in stage
                     if ln.upper().startswith("USER ")]
            self.assertTrue(users, "%s: no USER" % name)
            uid = users[-1].split(":")[0]
            self.assertTrue(uid.isdigit() and int(uid) != 0,
                            "%s: USER %s" % (name, users[-1]))
            self.assertTrue(any(ln.upper().startswith("HEALTHCHECK ")
                                for ln in stage), "%s: no HEALTHCHECK" % name)
            for ln in stage:
                if ln.upper().startswith("RUN ") and "install" in ln:
                    found = COMPILERS.search(ln)
                    self.assertIsNone(found, "%s: installs %s" % (
                        name, found and found.group(0)))


if __name__ == "__main__":
    harness.main()
