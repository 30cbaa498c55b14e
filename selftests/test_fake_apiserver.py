#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Self-test of selftests/fake_apiserver.py over real sockets.

Each behaviour the C kube client, the scheduler and the scaler rely on is
checked the way a client sees it: http.client for plain requests, and a
raw-socket chunked reader for watch streams (so chunk boundaries, the
terminal chunk and abrupt drops are visible).  Run from anywhere:
    python3 selftests/test_fake_apiserver.py [-v] [TestClass.test_name]
"""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_apiserver.py")


class Dropped(Exception):
    """The watch connection ended without the terminal chunk."""


class Server:
    """A fake_apiserver.py subprocess and a small HTTP client for it."""

    def __init__(self, *extra, tls=None, token=None):
        self.dir = tempfile.mkdtemp(prefix="fake-apiserver-test-")
        self.tls = tls          # (cert, key) or None
        self.token = token
        self.port_file = os.path.join(self.dir, "port")
        self.err_path = os.path.join(self.dir, "stderr")
        args = [sys.executable, SERVER, "--port", "0", "--port-file", self.port_file,
                "--bookmark-interval", "0.2", "--seed", "1", *extra]
        if tls:
            args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        if token:
            args += ["--token", token]
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("fake apiserver did not start:\n" + self.stderr())
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.tls[0])
        return ctx

    def connect(self, timeout=10):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context())
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def raw_socket(self, timeout):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if self.tls:
            s = self.ssl_context().wrap_socket(s, server_hostname="127.0.0.1")
        return s

    def request(self, method, path, body=None, ctype="application/json", headers=None, conn=None,
                auth=True):
        """(status, response, decoded body: JSON when it is JSON, else bytes)."""
        c = conn or self.connect()
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        h = {"Accept": "application/json"}
        if data is not None:
            h["Content-Type"] = ctype
        if self.token and auth:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        if conn is None:
            c.close()
        if (r.getheader("Content-Type") or "").startswith("application/json") and \
                r.getheader("Content-Encoding") != "gzip":
            return r.status, r, json.loads(raw)
        return r.status, r, raw

    def ok(self, method, path, body=None, ctype="application/json", code=None):
        st, _, obj = self.request(method, path, body, ctype)
        if not (200 <= st < 300) or (code and st != code):
            raise AssertionError(f"{method} {path}: {st} {obj}")
        return obj

    def control(self, **knobs):
        return self.ok("POST", "/fake/control", knobs)

    def seed(self, objs, defaults=False):
        return self.ok("POST", "/fake/objects", {"objects": objs, "defaults": defaults})

    def watch(self, path, timeout=5.0):
        return WatchStream(self, path, timeout)


class WatchStream:
    """A watch over a raw socket: decodes the chunked framing itself, keeps
    every chunk's payload, and tells a clean end from an abrupt one."""

    def __init__(self, srv, path, timeout):
        self.sock = srv.raw_socket(timeout)
        auth = f"Authorization: Bearer {srv.token}\r\n" if srv.token else ""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
                          f"{auth}\r\n".encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.chunks = []
        self.pending = b""
        self.ended = False
        if not self.chunked:
            n = int(self.headers.get("content-length", "0"))
            self.body = json.loads(self._exact(n)) if n else None
            self.ended = True

    def _recv(self):
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError) as e:
            raise Dropped(str(e))
        if not data:
            raise Dropped("EOF before the terminal chunk")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._recv()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def next(self):
        """The next event, or None after the terminal chunk."""
        while b"\n" not in self.pending:
            if self.ended:
                return None
            size = int(self._line().split(b";")[0], 16)
            if size == 0:
                self._line()
                self.ended = True
                continue
            data = self._exact(size)
            if self._exact(2) != b"\r\n":
                raise AssertionError("chunk not followed by CRLF")
            self.chunks.append(data)
            self.pending += data
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def next_non_bookmark(self):
        while True:
            ev = self.next()
            if ev is None or ev["type"] != "BOOKMARK":
                return ev

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def pod(name, ns="default", labels=None, scheduler=None, annotations=None, **spec):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
         "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9"}], **spec}}
    if scheduler:
        p["spec"]["schedulerName"] = scheduler
    if annotations:
        p["metadata"]["annotations"] = annotations
    return p


def deployment(name, replicas=2, ns="default"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}


def names(lst):
    return [i["metadata"]["name"] for i in lst["items"]]


PODS = "/api/v1/namespaces/default/pods"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"


class FakeApiTest(unittest.TestCase):
    """Plain-HTTP server shared by the tests; reset before each."""

    @classmethod
    def setUpClass(cls):
        cls.s = Server()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()

    def setUp(self):
        self.s.ok("POST", "/fake/reset")
        self.watches = []

    def tearDown(self):
        for w in self.watches:
            w.close()
        if self.s.proc.poll() is not None:
            self.fail("server died:\n" + self.s.stderr())

    def watch(self, path, timeout=5.0):
        w = self.s.watch(path, timeout)
        self.watches.append(w)
        return w

    def assertStatus(self, got, code, reason, message=None):
        st, _, obj = got
        self.assertEqual(st, code, obj)
        self.assertEqual(obj["kind"], "Status")
        self.assertEqual(obj["apiVersion"], "v1")
        self.assertEqual(obj["status"], "Failure")
        self.assertEqual(obj["code"], code)
        self.assertEqual(obj["reason"], reason)
        self.assertEqual(obj["metadata"], obj["metadata"] or {})
        if message is not None:
            self.assertEqual(obj["message"], message)
        return obj


class TestBasics(FakeApiTest):
    def test_health_version_discovery(self):
        st, r, body = self.s.request("GET", "/healthz")
        self.assertEqual((st, body), (200, b"ok"))
        v = self.s.ok("GET", "/version")
        self.assertEqual(v["major"], "1")
        self.assertIn("gitVersion", v)
        self.assertEqual(self.s.ok("GET", "/api")["versions"], ["v1"])
        groups = [g["name"] for g in self.s.ok("GET", "/apis")["groups"]]
        for g in ("apps", "coordination.k8s.io", "events.k8s.io"):
            self.assertIn(g, groups)
        res = {r["name"] for r in self.s.ok("GET", "/api/v1")["resources"]}
        self.assertTrue({"pods", "pods/binding", "nodes", "events"} <= res)
        res = {r["name"]: r for r in self.s.ok("GET", "/apis/apps/v1")["resources"]}
        self.assertEqual(res["deployments/scale"]["kind"], "Scale")

    def test_unknown_path_and_method(self):
        obj = self.assertStatus(self.s.request("GET", "/nope"), 404, "NotFound",
                                "the server could not find the requested resource")
        self.assertEqual(obj["details"], {})
        self.assertStatus(self.s.request("GET", "/api/v1/widgets"), 404, "NotFound")
        self.assertStatus(self.s.request("GET", "/api/v1/pods/x"), 404, "NotFound")
        self.assertStatus(self.s.request("PUT", PODS, {}), 405, "MethodNotAllowed")

    def test_malformed_json_is_400(self):
        got = self.s.request("POST", PODS, b'{"metadata": {"name": ')
        obj = self.assertStatus(got, 400, "BadRequest")
        self.assertIn("json parse error", obj["message"])
        self.assertStatus(self.s.request("POST", PODS, b"[1,2]"), 400, "BadRequest")
        self.assertStatus(self.s.request("POST", PODS, pod("x"), ctype="text/plain"),
                          415, "UnsupportedMediaType")
        # the connection survives errors
        self.assertEqual(self.s.request("GET", "/healthz")[0], 200)

    def test_keep_alive(self):
        c = self.s.connect()
        self.s.request("GET", "/healthz", conn=c)
        sock = c.sock
        for _ in range(5):
            st, _, _ = self.s.request("GET", "/api/v1/nodes", conn=c)
            self.assertEqual(st, 200)
            self.s.request("POST", PODS, b"{bad", conn=c)
        self.assertIs(c.sock, sock, "the server closed a keep-alive connection")
        c.close()

    def test_gzip_for_large_lists(self):
        self.s.seed([pod(f"p{i}", annotations={"a": "x" * 2000}) for i in range(100)])
        st, r, raw = self.s.request("GET", PODS, headers={"Accept-Encoding": "gzip"})
        self.assertEqual(st, 200)
        self.assertEqual(r.getheader("Content-Encoding"), "gzip")
        import gzip
        self.assertEqual(len(json.loads(gzip.decompress(raw))["items"]), 100)


class TestObjects(FakeApiTest):
    def test_global_resource_version_and_metadata(self):
        rvs = []
        n = self.s.ok("POST", "/api/v1/nodes", {"metadata": {"name": "n1"}}, code=201)
        rvs.append(n["metadata"]["resourceVersion"])
        p = self.s.ok("POST", PODS, pod("p1"), code=201)
        rvs.append(p["metadata"]["resourceVersion"])
        lease = self.s.ok("POST", LEASES, {"metadata": {"name": "l"}, "spec": {}}, code=201)
        rvs.append(lease["metadata"]["resourceVersion"])
        for rv in rvs:
            self.assertIsInstance(rv, str)
        self.assertEqual([int(x) for x in rvs], sorted(int(x) for x in rvs))
        self.assertEqual(len(set(rvs)), 3)
        for o in (n, p, lease):
            self.assertTrue(o["metadata"]["uid"])
            self.assertRegex(o["metadata"]["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(p["kind"], "Pod")
        self.assertEqual(p["apiVersion"], "v1")
        self.assertEqual(lease["apiVersion"], "coordination.k8s.io/v1")
        d = self.s.ok("POST", DEPLOY, deployment("web", 0), code=201)
        self.assertEqual(d["metadata"]["generation"], 1)
        d2 = self.s.ok("PATCH", DEPLOY + "/web", {"spec": {"replicas": 0, "paused": True}},
                       "application/merge-patch+json")
        self.assertEqual(d2["metadata"]["generation"], 2)
        d3 = self.s.ok("PATCH", DEPLOY + "/web", {"metadata": {"labels": {"a": "b"}}},
                       "application/merge-patch+json")
        self.assertEqual(d3["metadata"]["generation"], 2)
        self.assertGreater(int(d3["metadata"]["resourceVersion"]), int(d2["metadata"]["resourceVersion"]))

    def test_noop_update_keeps_resource_version(self):
        p = self.s.ok("POST", PODS, pod("p1", labels={"a": "1"}))
        p2 = self.s.ok("PATCH", PODS + "/p1", {"metadata": {"labels": {"a": "1"}}},
                       "application/merge-patch+json")
        self.assertEqual(p2["metadata"]["resourceVersion"], p["metadata"]["resourceVersion"])
        p3 = self.s.ok("PUT", PODS + "/p1", p2)
        self.assertEqual(p3["metadata"]["resourceVersion"], p["metadata"]["resourceVersion"])

    def test_pod_defaults_create_and_conflicts(self):
        p = self.s.ok("POST", PODS, pod("p1", scheduler="fuzzy-scheduler"))
        self.assertEqual(p["status"], {"phase": "Pending", "qosClass": "BestEffort"})
        self.assertEqual(p["spec"]["schedulerName"], "fuzzy-scheduler")
        self.assertIn("node.kubernetes.io/not-ready", [t["key"] for t in p["spec"]["tolerations"]])
        q = pod("p2")
        q["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "500m", "memory": "64Mi"}}
        q["status"] = {"phase": "Running"}
        q = self.s.ok("POST", PODS, q)
        self.assertEqual(q["spec"]["containers"][0]["resources"]["requests"], {"cpu": "500m", "memory": "64Mi"})
        self.assertEqual(q["status"]["qosClass"], "Guaranteed")
        self.assertEqual(q["status"]["phase"], "Pending", "create resets status")
        self.assertStatus(self.s.request("POST", PODS, pod("p1")), 409, "AlreadyExists",
                          'pods "p1" already exists')
        self.assertStatus(self.s.request("GET", PODS + "/zz"), 404, "NotFound", 'pods "zz" not found')
        bad = pod("p3")
        bad["metadata"]["resourceVersion"] = "5"
        self.assertStatus(self.s.request("POST", PODS, bad), 500, "InternalError")
        obj = self.assertStatus(self.s.request("POST", PODS, {"metadata": {"name": "p4"}, "spec": {}}),
                                422, "Invalid", 'Pod "p4" is invalid: spec.containers: Required value')
        self.assertEqual(obj["details"]["causes"][0]["field"], "spec.containers")
        gen = self.s.ok("POST", PODS, {"metadata": {"generateName": "g-"}, "spec": pod("x")["spec"]})
        self.assertRegex(gen["metadata"]["name"], r"^g-[a-z0-9]{5}$")
        # spec is immutable but for a few fields; nodeName only via binding
        got = self.s.request("PATCH", PODS + "/p1", {"spec": {"nodeName": "n1"}},
                             "application/merge-patch+json")
        self.assertIn("Forbidden", self.assertStatus(got, 422, "Invalid")["message"])
        ok = self.s.ok("PATCH", PODS + "/p1", {"spec": {"containers": [{"name": "c", "image": "busybox"}]}},
                       "application/strategic-merge-patch+json")
        self.assertEqual(ok["spec"]["containers"][0]["image"], "busybox")
        # delete returns the pod
        gone = self.s.ok("DELETE", PODS + "/p2")
        self.assertEqual(gone["kind"], "Pod")
        self.assertStatus(self.s.request("DELETE", PODS + "/p2"), 404, "NotFound")

    def test_nodes_and_status_subresource(self):
        self.s.seed([{"kind": "Node", "metadata": {"name": "n1", "labels": {"zone": "a"}},
                      "spec": {"unschedulable": True,
                               "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]},
                      "status": {"allocatable": {"cpu": "1500m", "memory": "4Gi"}}},
                     {"kind": "Node", "metadata": {"name": "n2"}}], defaults=True)
        n1 = self.s.ok("GET", "/api/v1/nodes/n1")
        self.assertEqual(n1["status"]["allocatable"]["cpu"], "1500m")
        self.assertEqual(n1["status"]["conditions"][0]["type"], "Ready")
        self.assertEqual(n1["spec"]["taints"][0]["effect"], "NoSchedule")
        self.assertEqual(names(self.s.ok("GET", "/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue")), ["n1"])
        self.assertEqual(names(self.s.ok("GET", "/api/v1/nodes?labelSelector=zone%3Da")), ["n1"])
        # status changes through the main endpoint are ignored, as the real server does
        self.s.ok("PATCH", "/api/v1/nodes/n2", {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
                  "application/merge-patch+json")
        self.assertEqual(self.s.ok("GET", "/api/v1/nodes/n2")["status"]["conditions"][0]["status"], "True")
        self.s.ok("PATCH", "/api/v1/nodes/n2/status",
                  {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
                  "application/strategic-merge-patch+json")
        self.assertEqual(self.s.ok("GET", "/api/v1/nodes/n2")["status"]["conditions"][0]["status"], "False")

    def test_field_and_label_selectors(self):
        objs = [pod("a", labels={"app": "x"}, scheduler="fuzzy-scheduler"),
                pod("b", labels={"app": "y"}, scheduler="fuzzy-scheduler", nodeName="n1"),
                pod("c", labels={"app": "x", "tier": "be"}, nodeName="n2"),
                pod("d", ns="other", scheduler="fuzzy-scheduler")]
        objs[2]["status"] = {"phase": "Running"}
        self.s.seed(objs, defaults=True)

        def sel(q, ns=True):
            return names(self.s.ok("GET", (PODS if ns else "/api/v1/pods") + "?" + q))
        self.assertEqual(sel("fieldSelector=spec.nodeName%3Dn1"), ["b"])
        self.assertEqual(sel("fieldSelector=spec.nodeName%3D", ns=False), ["a", "d"])
        self.assertEqual(sel("fieldSelector=spec.schedulerName%3Dfuzzy-scheduler,spec.nodeName%3D"), ["a"])
        self.assertEqual(sel("fieldSelector=status.phase%3DPending"), ["a", "b"])
        self.assertEqual(sel("fieldSelector=status.phase!%3DPending"), ["c"])
        self.assertEqual(sel("fieldSelector=metadata.name%3Dc"), ["c"])
        self.assertEqual(sel("fieldSelector=metadata.namespace%3Dother", ns=False), ["d"])
        self.assertEqual(sel("labelSelector=app%3Dx"), ["a", "c"])
        self.assertEqual(sel("labelSelector=app%3D%3Dx,tier%3Dbe"), ["c"])
        self.assertEqual(sel("labelSelector=app!%3Dx"), ["b"])
        self.assertEqual(sel("labelSelector=app+in+(x,y),!tier"), ["a", "b"])
        self.assertEqual(sel("labelSelector=tier"), ["c"])
        self.assertStatus(self.s.request("GET", PODS + "?fieldSelector=spec.foo%3D1"), 400, "BadRequest",
                          "field label not supported: spec.foo")
        self.assertStatus(self.s.request("GET", PODS + "?labelSelector=a+in+x"), 400, "BadRequest")


class TestLists(FakeApiTest):
    def test_pagination_snapshot_and_expiry(self):
        self.s.seed([pod(f"p{i:02d}") for i in range(25)])
        first = self.s.ok("GET", PODS + "?limit=10")
        rv = first["metadata"]["resourceVersion"]
        self.assertEqual(first["kind"], "PodList")
        self.assertEqual(names(first), [f"p{i:02d}" for i in range(10)])
        self.assertEqual(first["metadata"]["remainingItemCount"], 15)
        self.assertNotIn("kind", first["items"][0], "list items carry no kind")
        # changes after the first page do not show in later pages
        self.s.ok("DELETE", PODS + "/p15")
        self.s.ok("POST", PODS, pod("p12a"))
        second = self.s.ok("GET", PODS + "?limit=10&continue=" + first["metadata"]["continue"])
        self.assertEqual(second["metadata"]["resourceVersion"], rv)
        self.assertEqual(names(second), [f"p{i:02d}" for i in range(10, 20)])
        third = self.s.ok("GET", PODS + "?limit=10&continue=" + second["metadata"]["continue"])
        self.assertEqual(names(third), [f"p{i:02d}" for i in range(20, 25)])
        self.assertNotIn("continue", third["metadata"])
        self.assertNotIn("remainingItemCount", third["metadata"])
        # selectors: fewer items than the limit can come with a continue token
        sel = self.s.ok("GET", PODS + "?limit=3&fieldSelector=metadata.name%3Dp01")
        self.assertEqual(names(sel), ["p01"])
        # garbage token, rv with continue
        self.assertStatus(self.s.request("GET", PODS + "?limit=1&continue=xyz"), 400, "BadRequest")
        self.assertStatus(self.s.request("GET", PODS + "?limit=1&resourceVersion=1&continue="
                                         + first["metadata"]["continue"]), 400, "BadRequest")
        # compaction expires the token: 410 with an inconsistent continuation
        self.s.control(compact=True)
        obj = self.assertStatus(self.s.request("GET", PODS + "?limit=10&continue=" + first["metadata"]["continue"]),
                                410, "Expired")
        self.assertIn("continue parameter is too old", obj["message"])
        rest = self.s.ok("GET", PODS + "?limit=100&continue=" + obj["metadata"]["continue"])
        self.assertEqual(names(rest)[0], "p10")
        self.assertNotIn("p15", names(rest))

    def test_list_resource_version_semantics(self):
        self.s.ok("POST", PODS, pod("a"))
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        self.s.ok("POST", PODS, pod("b"))
        self.s.ok("DELETE", PODS + "/a")
        self.assertEqual(names(self.s.ok("GET", PODS + "?resourceVersion=0")), ["b"])
        self.assertEqual(names(self.s.ok("GET", PODS + f"?resourceVersion={rv}")), ["b"])
        exact = self.s.ok("GET", PODS + f"?resourceVersion={rv}&resourceVersionMatch=Exact")
        self.assertEqual((names(exact), exact["metadata"]["resourceVersion"]), (["a"], rv))
        self.s.control(compact=True)
        self.assertStatus(self.s.request("GET", PODS + f"?resourceVersion={rv}&resourceVersionMatch=Exact"),
                          410, "Expired")
        t0 = time.monotonic()
        obj = self.assertStatus(self.s.request("GET", PODS + "?resourceVersion=999999"), 504, "Timeout")
        self.assertIn("Too large resource version", obj["message"])
        self.assertGreater(time.monotonic() - t0, 2.5)


class TestWatch(FakeApiTest):
    def test_list_then_watch(self):
        self.s.ok("POST", PODS, pod("old"))
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        w = self.watch(PODS + f"?watch=1&resourceVersion={rv}")
        self.assertEqual(w.status, 200)
        self.assertEqual(w.headers["transfer-encoding"], "chunked")
        self.assertEqual(w.headers["content-type"], "application/json")
        self.s.ok("POST", PODS, pod("p", labels={"v": "1"}))
        self.s.ok("PATCH", PODS + "/p", {"metadata": {"labels": {"v": "2"}}}, "application/merge-patch+json")
        self.s.ok("DELETE", PODS + "/p")
        evs = [w.next() for _ in range(3)]
        self.assertEqual([e["type"] for e in evs], ["ADDED", "MODIFIED", "DELETED"])
        self.assertEqual(evs[1]["object"]["metadata"]["labels"]["v"], "2")
        self.assertEqual(evs[0]["object"]["kind"], "Pod")
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        self.assertEqual(rvs, sorted(rvs))
        self.assertGreater(rvs[0], int(rv))
        self.assertEqual(len(w.chunks), 3, "one chunk per event")

    def test_watch_from_zero_and_replay(self):
        for i in range(5):
            self.s.ok("POST", PODS, pod(f"p{i}"))
        w = self.watch(PODS + "?watch=true&resourceVersion=0")
        self.assertEqual([w.next()["object"]["metadata"]["name"] for _ in range(5)],
                         [f"p{i}" for i in range(5)])
        rv1 = self.s.ok("GET", PODS + "/p1")["metadata"]["resourceVersion"]
        w2 = self.watch(PODS + f"?watch=1&resourceVersion={rv1}")
        got = [w2.next() for _ in range(3)]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in got],
                         [("ADDED", "p2"), ("ADDED", "p3"), ("ADDED", "p4")])
        w3 = self.watch("/api/v1/watch/namespaces/default/pods/p3")
        self.assertEqual(w3.next()["object"]["metadata"]["name"], "p3")

    def test_bookmarks_and_timeout(self):
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        w = self.watch(PODS + f"?watch=1&resourceVersion={rv}&allowWatchBookmarks=true")
        t0 = time.monotonic()
        ev = w.next()
        self.assertLess(time.monotonic() - t0, 1.5)
        self.assertEqual(ev["type"], "BOOKMARK")
        self.assertEqual(ev["object"], {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": rv}})
        self.s.ok("POST", "/api/v1/nodes", {"metadata": {"name": "n"}})   # another kind moves the rv
        while True:
            ev = w.next()
            self.assertEqual(ev["type"], "BOOKMARK")
            if int(ev["object"]["metadata"]["resourceVersion"]) > int(rv):
                break
        # no bookmarks unless asked; timeoutSeconds ends the stream with the terminal chunk
        w2 = self.watch(PODS + f"?watch=1&resourceVersion={rv}&timeoutSeconds=1")
        t0 = time.monotonic()
        self.assertIsNone(w2.next())
        self.assertGreater(time.monotonic() - t0, 0.8)
        self.assertEqual(w2.chunks, [])

    def test_other_kinds(self):
        rv = self.s.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"]
        wn = self.watch(f"/api/v1/nodes?watch=1&resourceVersion={rv}")
        wd = self.watch(f"/apis/apps/v1/deployments?watch=1&resourceVersion={rv}")
        we = self.watch(f"/apis/events.k8s.io/v1/namespaces/default/events?watch=1&resourceVersion={rv}")
        self.s.seed([{"kind": "Node", "metadata": {"name": "n1"}}], defaults=True)
        self.s.ok("POST", DEPLOY, deployment("web", 0))
        self.s.ok("POST", "/api/v1/namespaces/default/events",
                  {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"},
                   "reason": "FailedScheduling", "message": "m", "type": "Warning"})
        ev = wn.next()
        self.assertEqual((ev["type"], ev["object"]["kind"], ev["object"]["metadata"]["name"]), ("ADDED", "Node", "n1"))
        ev = wd.next()
        self.assertEqual((ev["object"]["kind"], ev["object"]["apiVersion"]), ("Deployment", "apps/v1"))
        ev = we.next()
        self.assertEqual((ev["object"]["apiVersion"], ev["object"]["note"]), ("events.k8s.io/v1", "m"))
        ev = wd.next()     # the controller's status write
        self.assertEqual((ev["type"], ev["object"]["kind"], ev["object"]["status"]["observedGeneration"]),
                         ("MODIFIED", "Deployment", 1))

    def test_send_initial_events(self):
        self.s.ok("POST", PODS, pod("a"))
        w = self.watch(PODS + "?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                              "&allowWatchBookmarks=true")
        self.assertEqual(w.next()["type"], "ADDED")
        bm = w.next()
        self.assertEqual(bm["type"], "BOOKMARK")
        self.assertEqual(bm["object"]["metadata"]["annotations"], {"k8s.io/initial-events-end": "true"})
        self.assertStatus(self.s.request("GET", PODS + "?watch=1&sendInitialEvents=true"), 422, "Invalid")

    def test_selector_transitions(self):
        self.s.seed([pod("p", scheduler="fuzzy-scheduler"), pod("q", scheduler="other")], defaults=True)
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        w = self.watch("/api/v1/pods?watch=1&resourceVersion=" + rv +
                       "&fieldSelector=spec.schedulerName%3Dfuzzy-scheduler,spec.nodeName%3D")
        self.s.ok("POST", PODS + "/q/binding", {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "q"},
                                                "target": {"kind": "Node", "name": "n1"}})
        self.s.ok("POST", PODS + "/p/binding", {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
                                                "target": {"kind": "Node", "name": "n1"}})
        ev = w.next()
        self.assertEqual((ev["type"], ev["object"]["metadata"]["name"]), ("DELETED", "p"))
        self.assertNotIn("nodeName", ev["object"]["spec"], "the last matching state")
        self.assertEqual(ev["object"]["metadata"]["resourceVersion"],
                         self.s.ok("GET", PODS + "/p")["metadata"]["resourceVersion"])
        # a pod that starts matching comes as ADDED
        w2 = self.watch(PODS + "?watch=1&resourceVersion=" + rv + "&labelSelector=team%3Dx")
        self.s.ok("PATCH", PODS + "/q", {"metadata": {"labels": {"team": "x"}}}, "application/merge-patch+json")
        self.assertEqual(w2.next()["type"], "ADDED")

    def test_expired_resource_version(self):
        self.s.ok("POST", PODS, pod("a"))
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        self.s.ok("POST", PODS, pod("b"))
        self.s.control(compact=True)
        w = self.watch(PODS + f"?watch=1&resourceVersion={rv}")
        self.assertEqual(w.status, 200)
        ev = w.next()
        self.assertEqual(ev["type"], "ERROR")
        st = ev["object"]
        self.assertEqual((st["kind"], st["status"], st["code"], st["reason"]), ("Status", "Failure", 410, "Expired"))
        self.assertIn("too old resource version", st["message"])
        self.assertIsNone(w.next(), "the stream ends after the ERROR event")
        # the current rv is still fine
        cur = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        w2 = self.watch(PODS + f"?watch=1&resourceVersion={cur}")
        self.s.ok("POST", PODS, pod("c"))
        self.assertEqual(w2.next()["object"]["metadata"]["name"], "c")
        # as a plain HTTP 410
        self.s.control(watch_410="status")
        got = self.s.request("GET", PODS + f"?watch=1&resourceVersion={rv}")
        self.assertStatus(got, 410, "Expired")
        # the bounded history expires old rvs by itself
        self.s.control(watch_410="error_event", history=5)
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        for i in range(8):
            self.s.ok("POST", PODS, pod(f"h{i}"))
        self.assertEqual(self.watch(PODS + f"?watch=1&resourceVersion={rv}").next()["type"], "ERROR")
        self.assertEqual(self.s.ok("GET", "/fake/state?resource=none")["historyLength"], 5)

    def test_large_object(self):
        big = "é€" * 40000 + "x" * 80000      # 200 KB of UTF-8 with multi-byte characters
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        w = self.watch(PODS + f"?watch=1&resourceVersion={rv}")
        self.s.ok("POST", PODS, pod("big", annotations={"blob": big}))
        ev = w.next()
        self.assertEqual(ev["object"]["metadata"]["annotations"]["blob"], big)
        self.assertEqual(self.s.ok("GET", PODS + "/big")["metadata"]["annotations"]["blob"], big)
        got = self.s.request("POST", PODS, pod("toobig", annotations={"blob": "x" * 300000}))
        self.assertIn("Too long", self.assertStatus(got, 422, "Invalid")["message"])

    def test_split_chunks(self):
        big = "é€" * 40000 + "x" * 80000
        self.s.control(split_chunks=True)
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        w = self.watch(PODS + f"?watch=1&resourceVersion={rv}")
        self.s.ok("POST", PODS, pod("big", annotations={"blob": big}))
        for i in range(20):
            self.s.ok("POST", PODS, pod(f"s{i}"))
        evs = [w.next() for _ in range(21)]
        self.assertEqual(evs[0]["object"]["metadata"]["annotations"]["blob"], big)
        self.assertEqual([e["object"]["metadata"]["name"] for e in evs[1:]], [f"s{i}" for i in range(20)])
        sizes = {len(c) for c in w.chunks}
        self.assertGreater(len(w.chunks), 30)
        self.assertGreater(len(sizes), 10, "random chunk sizes")
        self.assertTrue(any(not c.endswith(b"\n") for c in w.chunks), "chunks cut through events")

        def utf8_cut(c):
            try:
                c.decode("utf-8")
                return False
            except UnicodeDecodeError:
                return True
        self.assertTrue(any(utf8_cut(c) for c in w.chunks), "chunks cut through UTF-8 sequences")

    def test_drop_watches(self):
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        ws = [self.watch(PODS + f"?watch=1&resourceVersion={rv}") for _ in range(2)]
        self.s.ok("POST", PODS, pod("a"))
        for w in ws:
            self.assertEqual(w.next()["type"], "ADDED")
        self.assertEqual(self.s.control(drop_watches=True)["dropped"], 2)
        for w in ws:
            with self.assertRaises(Dropped):
                w.next()
            self.assertFalse(w.ended)
            self.assertTrue(w.buf or w.pending, "a partial chunk came before the drop")
        # reconnecting from the last rv loses nothing
        rv = self.s.ok("GET", PODS + "/a")["metadata"]["resourceVersion"]
        self.s.ok("POST", PODS, pod("b"))
        self.assertEqual(self.watch(PODS + f"?watch=1&resourceVersion={rv}").next()["object"]["metadata"]["name"], "b")

    def test_client_disconnect_mid_stream(self):
        self.s.seed([pod(f"p{i}", annotations={"a": "y" * 100000}) for i in range(30)])
        for _ in range(3):
            w = self.s.watch(PODS + "?watch=1&resourceVersion=0&allowWatchBookmarks=1", 5)
            w.sock.recv(1000)
            w.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            w.close()          # RST while the server is writing 3 MB
        self.s.control(bookmark_interval=0.05)
        deadline = time.monotonic() + 3
        while self.s.ok("GET", "/fake/state?resource=none")["openWatches"] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.s.ok("GET", "/fake/state?resource=none")["openWatches"], 0)
        self.assertEqual(self.s.request("GET", "/healthz")[0], 200)


class TestSubresources(FakeApiTest):
    BIND = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
            "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}}

    def test_binding(self):
        self.s.seed([{"kind": "Node", "metadata": {"name": "n1"}}], defaults=True)
        self.s.ok("POST", PODS, pod("p", scheduler="fuzzy-scheduler"))
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        w = self.watch(PODS + f"?watch=1&resourceVersion={rv}")
        st, _, body = self.s.request("POST", PODS + "/p/binding", self.BIND)
        self.assertEqual((st, body), (201, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                            "status": "Success", "code": 201}))
        ev = w.next()
        self.assertEqual(ev["type"], "MODIFIED")
        self.assertEqual(ev["object"]["spec"]["nodeName"], "n1")
        self.assertIn({"type": "PodScheduled", "status": "True"},
                      [{k: c[k] for k in ("type", "status")} for c in ev["object"]["status"]["conditions"]])
        obj = self.assertStatus(self.s.request("POST", PODS + "/p/binding", dict(self.BIND, target={"name": "n2"})),
                                409, "Conflict",
                                'Operation cannot be fulfilled on pods/binding "p": '
                                'pod p is already assigned to node "n1"')
        self.assertEqual(obj["details"], {"name": "p", "kind": "pods/binding"})
        self.assertStatus(self.s.request("POST", PODS + "/zz/binding", dict(self.BIND, metadata={"name": "zz"})),
                          404, "NotFound", 'pods "zz" not found')
        self.assertStatus(self.s.request("POST", PODS + "/q/binding", self.BIND), 400, "BadRequest")
        self.s.ok("POST", PODS, pod("r"))
        self.assertStatus(self.s.request("POST", PODS + "/r/binding",
                                         {"kind": "Binding", "metadata": {"name": "r"}, "target": {}}),
                          422, "Invalid")
        # the legacy collection form
        self.s.ok("POST", "/api/v1/namespaces/default/bindings", dict(self.BIND, metadata={"name": "r"}), code=201)
        self.assertEqual(self.s.ok("GET", PODS + "/r")["spec"]["nodeName"], "n1")
        log = self.s.ok("GET", "/fake/state?resource=none")["bindings"]
        self.assertEqual([(b["pod"], b["code"]) for b in log],
                         [("p", 201), ("p", 409), ("zz", 404), ("r", 422), ("r", 201)])
        self.s.ok("POST", PODS, pod("ua"))
        c = self.s.connect()
        c.request("POST", PODS + "/ua/binding", json.dumps(dict(self.BIND, metadata={"name": "ua"})).encode(),
                  {"Content-Type": "application/json", "User-Agent": "ksense-scheduler/1 (replica-a)"})
        self.assertEqual(c.getresponse().status, 201)
        c.close()
        log = self.s.ok("GET", "/fake/state?resource=none")["bindings"]
        self.assertEqual(log[-1]["userAgent"], "ksense-scheduler/1 (replica-a)")

    def test_kubelet_knob(self):
        self.s.control(kubelet=True)
        self.s.seed([{"kind": "Node", "metadata": {"name": "n1"}}], defaults=True)
        self.s.ok("POST", PODS, pod("p"))
        self.s.ok("POST", PODS + "/p/binding", self.BIND)
        p = self.s.ok("GET", PODS + "/p")
        self.assertEqual(p["status"]["phase"], "Running")
        self.assertEqual(p["status"]["hostIP"], "127.0.0.1")

    def test_events(self):
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "p.1", "namespace": "default"},
              "involvedObject": {"kind": "Pod", "namespace": "default", "name": "p", "uid": "u1"},
              "reason": "FailedScheduling", "type": "Warning",
              "message": "0/2 nodes are available: n1: denied (score 0.91), n2: Insufficient cpu",
              "source": {"component": "fuzzy-scheduler"}, "count": 1,
              "firstTimestamp": "2024-01-01T00:00:00Z", "lastTimestamp": "2024-01-01T00:00:00Z"}
        self.s.ok("POST", "/api/v1/namespaces/default/events", ev, code=201)
        lst = self.s.ok("GET", "/api/v1/namespaces/default/events"
                               "?fieldSelector=reason%3DFailedScheduling,involvedObject.name%3Dp")
        self.assertEqual(len(lst["items"]), 1)
        self.assertEqual(lst["items"][0]["message"], ev["message"])
        self.assertEqual(self.s.ok("GET", "/api/v1/events?fieldSelector=source%3Dfuzzy-scheduler")["items"][0]
                         ["reason"], "FailedScheduling")
        v1 = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "p.2"},
              "eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "fuzzy-scheduler",
              "reportingInstance": "fuzzy-scheduler-0", "action": "Scheduling", "reason": "FailedScheduling",
              "type": "Warning", "note": "no node fits",
              "regarding": {"kind": "Pod", "namespace": "default", "name": "p"}}
        self.s.ok("POST", "/apis/events.k8s.io/v1/namespaces/default/events", v1, code=201)
        core = self.s.ok("GET", "/api/v1/namespaces/default/events/p.2")
        self.assertEqual((core["message"], core["involvedObject"]["name"], core["reportingComponent"]),
                         ("no node fits", "p", "fuzzy-scheduler"))
        back = self.s.ok("GET", "/apis/events.k8s.io/v1/namespaces/default/events/p.1")
        self.assertEqual((back["apiVersion"], back["note"], back["deprecatedCount"]),
                         ("events.k8s.io/v1", ev["message"], 1))
        got = self.s.request("POST", "/apis/events.k8s.io/v1/namespaces/default/events",
                             dict(v1, metadata={"name": "p.3"}, eventTime=None))
        self.assertIn("eventTime: Required value", self.assertStatus(got, 422, "Invalid")["message"])

    def test_deployment_chain_and_scale(self):
        d = self.s.ok("POST", DEPLOY, deployment("web", 2), code=201)
        rs = self.s.ok("GET", "/apis/apps/v1/namespaces/default/replicasets")["items"]
        self.assertEqual(len(rs), 1)
        ref = rs[0]["metadata"]["ownerReferences"][0]
        self.assertEqual((ref["kind"], ref["name"], ref["uid"], ref["controller"]),
                         ("Deployment", "web", d["metadata"]["uid"], True))
        pods = self.s.ok("GET", PODS + "?labelSelector=app%3Dweb")["items"]
        self.assertEqual(len(pods), 2)
        for p in pods:
            ref = p["metadata"]["ownerReferences"][0]
            self.assertEqual((ref["kind"], ref["uid"]), ("ReplicaSet", rs[0]["metadata"]["uid"]))
            self.assertTrue(p["metadata"]["name"].startswith(rs[0]["metadata"]["name"] + "-"))
        sc = self.s.ok("GET", DEPLOY + "/web/scale")
        self.assertEqual((sc["kind"], sc["apiVersion"]), ("Scale", "autoscaling/v1"))
        self.assertEqual((sc["spec"]["replicas"], sc["status"]["replicas"], sc["status"]["selector"]),
                         (2, 2, "app=web"))
        sc = self.s.ok("PATCH", DEPLOY + "/web/scale", {"spec": {"replicas": 5}}, "application/merge-patch+json")
        self.assertEqual(sc["spec"]["replicas"], 5)
        self.assertEqual(len(self.s.ok("GET", PODS + "?labelSelector=app%3Dweb")["items"]), 5)
        self.s.ok("PATCH", DEPLOY + "/web/scale", {"spec": {"replicas": 1}}, "application/strategic-merge-patch+json")
        self.assertEqual(len(self.s.ok("GET", PODS + "?labelSelector=app%3Dweb")["items"]), 1)
        dep = self.s.ok("GET", DEPLOY + "/web")
        self.assertEqual((dep["spec"]["replicas"], dep["status"]["replicas"], dep["metadata"]["generation"]),
                         (1, 1, 3))
        # PUT with a stale resourceVersion: 409; with the current one or none: fine
        stale = dict(sc, spec={"replicas": 3})
        got = self.s.request("PUT", DEPLOY + "/web/scale", stale)
        self.assertStatus(got, 409, "Conflict",
                          'Operation cannot be fulfilled on deployments.apps "web": the object has been '
                          'modified; please apply your changes to the latest version and try again')
        cur = self.s.ok("GET", DEPLOY + "/web/scale")
        self.assertEqual(self.s.ok("PUT", DEPLOY + "/web/scale", dict(cur, spec={"replicas": 3}))["spec"]["replicas"], 3)
        nover = {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": "web"}, "spec": {"replicas": 0}}
        self.assertEqual(self.s.ok("PUT", DEPLOY + "/web/scale", nover)["spec"], {})
        self.assertEqual(self.s.ok("GET", PODS + "?labelSelector=app%3Dweb")["items"], [])
        self.assertStatus(self.s.request("PATCH", DEPLOY + "/web/scale",
                                         {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}},
                                         "application/merge-patch+json"), 409, "Conflict")
        # a new template: a second ReplicaSet; deleting the Deployment collects both and their pods
        self.s.ok("PATCH", DEPLOY + "/web", {"spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "c", "image": "nginx:1.26"}]}}}}, "application/strategic-merge-patch+json")
        rs = self.s.ok("GET", "/apis/apps/v1/namespaces/default/replicasets")["items"]
        self.assertEqual(sorted(r["spec"]["replicas"] for r in rs), [0, 2])
        self.assertEqual(self.s.ok("GET", "/apis/apps/v1/namespaces/default/replicasets/"
                                   + rs[0]["metadata"]["name"] + "/scale")["kind"], "Scale")
        st = self.s.ok("DELETE", DEPLOY + "/web")
        self.assertEqual((st["kind"], st["status"], st["details"]["group"]), ("Status", "Success", "apps"))
        self.assertEqual(self.s.ok("GET", "/apis/apps/v1/namespaces/default/replicasets")["items"], [])
        self.assertEqual(self.s.ok("GET", PODS)["items"], [])

    def test_deployment_validation_and_seeded_chain(self):
        bad = deployment("web")
        bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
        self.assertIn("does not match template", self.assertStatus(self.s.request("POST", DEPLOY, bad),
                                                                   422, "Invalid")["message"])
        # a chain seeded by hand, with fixed uids
        d = deployment("db", 1)
        d["metadata"]["uid"] = "d-uid"
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": "db-abc", "uid": "rs-uid", "labels": {"app": "db"},
                           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "db",
                                                "uid": "d-uid", "controller": True}]},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}}, "template": d["spec"]["template"]}}
        p = pod("db-abc-xyz12", labels={"app": "db"}, nodeName="n1")
        p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "db-abc",
                                             "uid": "rs-uid", "controller": True}]
        p["status"] = {"phase": "Running"}
        out = self.s.seed([d, rs, p])["objects"]
        self.assertEqual([o["uid"] for o in out], ["d-uid", "rs-uid", out[2]["uid"]])
        got = self.s.ok("GET", PODS + "/db-abc-xyz12")
        self.assertEqual(got["status"]["phase"], "Running")
        self.assertEqual(got["metadata"]["ownerReferences"][0]["uid"], "rs-uid")
        self.assertEqual(self.s.ok("GET", DEPLOY + "/db/scale")["spec"]["replicas"], 1)

    def test_leases(self):
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "fuzzy-scheduler"},
                 "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                          "renewTime": "2024-01-01T00:00:00.000000Z"}}
        self.assertStatus(self.s.request("GET", LEASES + "/fuzzy-scheduler"), 404, "NotFound",
                          'leases.coordination.k8s.io "fuzzy-scheduler" not found')
        l1 = self.s.ok("POST", LEASES, lease, code=201)
        obj = self.assertStatus(self.s.request("POST", LEASES, lease), 409, "AlreadyExists",
                                'leases.coordination.k8s.io "fuzzy-scheduler" already exists')
        self.assertEqual(obj["details"], {"name": "fuzzy-scheduler", "group": "coordination.k8s.io",
                                          "kind": "leases"})
        l1["spec"]["renewTime"] = "2024-01-01T00:00:05.000000Z"
        l2 = self.s.ok("PUT", LEASES + "/fuzzy-scheduler", l1)
        self.assertGreater(int(l2["metadata"]["resourceVersion"]), int(l1["metadata"]["resourceVersion"]))
        l1["spec"]["holderIdentity"] = "b"     # b raced with a stale copy
        obj = self.assertStatus(self.s.request("PUT", LEASES + "/fuzzy-scheduler", l1), 409, "Conflict",
                                'Operation cannot be fulfilled on leases.coordination.k8s.io "fuzzy-scheduler": '
                                'the object has been modified; please apply your changes to the latest '
                                'version and try again')
        self.assertEqual(obj["details"]["group"], "coordination.k8s.io")
        del l2["metadata"]["resourceVersion"]
        self.assertStatus(self.s.request("PUT", LEASES + "/fuzzy-scheduler", l2), 422, "Invalid")
        self.assertEqual(self.s.ok("GET", LEASES + "/fuzzy-scheduler")["spec"]["holderIdentity"], "a")
        other = dict(lease, metadata={"name": "other"})
        self.s.ok("PUT", LEASES + "/other", other, code=201)     # AllowCreateOnUpdate
        # every successful write is logged with its holder, for leadership checks
        writes = self.s.ok("GET", "/fake/state?resource=none")["leaseWrites"]
        self.assertEqual([(w["name"], w["holder"]) for w in writes],
                         [("fuzzy-scheduler", "a"), ("fuzzy-scheduler", "a"), ("other", "a")])
        self.assertTrue(all(w["time"] > 0 for w in writes))

    def test_hpa(self):
        hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
               "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                        "minReplicas": 1, "maxReplicas": 5}}
        path = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
        self.s.ok("POST", path, hpa, code=201)
        self.assertEqual(names(self.s.ok("GET", "/apis/autoscaling/v2/horizontalpodautoscalers")), ["web"])
        self.assertEqual(self.s.ok("GET", "/apis/autoscaling")["preferredVersion"]["version"], "v2")
        bad = dict(hpa, metadata={"name": "bad"}, spec={"maxReplicas": 0})
        self.assertStatus(self.s.request("POST", path, bad), 422, "Invalid")

    def test_patch_types(self):
        self.s.ok("POST", PODS, pod("p", labels={"a": "1"}))
        p = self.s.ok("PATCH", PODS + "/p", [{"op": "add", "path": "/metadata/labels/b", "value": "2"},
                                             {"op": "remove", "path": "/metadata/labels/a"}],
                      "application/json-patch+json")
        self.assertEqual(p["metadata"]["labels"], {"b": "2"})
        self.assertStatus(self.s.request("PATCH", PODS + "/p", [{"op": "test", "path": "/metadata/labels/b",
                                                                 "value": "9"}], "application/json-patch+json"),
                          422, "Invalid")
        self.s.ok("PATCH", PODS + "/p", {"metadata": {"labels": {"b": None, "c": "3"}}},
                  "application/merge-patch+json")
        self.assertEqual(self.s.ok("GET", PODS + "/p")["metadata"]["labels"], {"c": "3"})
        self.assertStatus(self.s.request("PATCH", PODS + "/p", {"metadata": {"labels": {"x": "y"}}},
                                         "application/json"), 415, "UnsupportedMediaType")
        self.assertStatus(self.s.request("PATCH", PODS + "/p", b"{nope", "application/merge-patch+json"),
                          400, "BadRequest")
        self.assertStatus(self.s.request("PATCH", PODS + "/p", {"metadata": {"resourceVersion": "1",
                                                                             "labels": {"x": "y"}}},
                                         "application/merge-patch+json"), 409, "Conflict")
        # strategic merge: containers merge by name
        self.s.ok("POST", DEPLOY, deployment("web", 0))
        d = self.s.ok("PATCH", DEPLOY + "/web", {"spec": {"template": {"spec": {"containers": [
            {"name": "side", "image": "busybox"}]}}}}, "application/strategic-merge-patch+json")
        self.assertEqual([c["name"] for c in d["spec"]["template"]["spec"]["containers"]], ["c", "side"])
        d = self.s.ok("PATCH", DEPLOY + "/web", {"spec": {"template": {"spec": {"containers": [
            {"name": "side", "$patch": "delete"}]}}}}, "application/strategic-merge-patch+json")
        self.assertEqual([c["name"] for c in d["spec"]["template"]["spec"]["containers"]], ["c"])
        self.assertStatus(self.s.request("PATCH", DEPLOY + "/nope", {}, "application/merge-patch+json"),
                          404, "NotFound", 'deployments.apps "nope" not found')


class TestControl(FakeApiTest):
    def test_fail_next(self):
        self.s.control(fail_next={"method": "GET", "path_regex": "^/api/v1/nodes", "code": 500, "count": 2})
        for _ in range(2):
            self.assertStatus(self.s.request("GET", "/api/v1/nodes"), 500, "InternalError")
        self.assertEqual(self.s.request("POST", "/api/v1/nodes", {"metadata": {"name": "n"}})[0], 201,
                         "other methods unaffected")
        self.assertEqual(self.s.request("GET", "/api/v1/nodes")[0], 200)
        self.s.control(fail_next={"path_regex": "watch=1", "code": 429, "retry_after": 2})
        st, r, obj = self.s.request("GET", PODS + "?watch=1")
        self.assertEqual((st, obj["reason"], r.getheader("Retry-After")), (429, "TooManyRequests", "2"))
        self.s.control(fail_next={"path_regex": "pods", "drop": True})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.s.request("GET", PODS)
        self.assertEqual(self.s.request("GET", PODS)[0], 200)
        self.assertStatus(self.s.request("POST", "/fake/control", {"bogus": 1}), 400, "BadRequest")

    def test_drop_after_commit(self):
        """drop "after": the write is made, the answer never comes; drop
        true/"before": nothing is made."""
        self.s.seed([{"kind": "Node", "metadata": {"name": "n1"}}], defaults=True)
        self.s.ok("POST", PODS, pod("a"))
        self.s.ok("POST", PODS, pod("b"))
        bind = {"kind": "Binding", "apiVersion": "v1", "target": {"kind": "Node", "name": "n1"}}
        self.s.control(fail_next={"method": "POST", "path_regex": "pods/a/binding", "drop": "after"})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.s.request("POST", PODS + "/a/binding", dict(bind, metadata={"name": "a"}))
        self.assertEqual(self.s.ok("GET", PODS + "/a")["spec"]["nodeName"], "n1", "committed")
        self.s.control(fail_next={"method": "POST", "path_regex": "pods/b/binding", "drop": "before"})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionResetError)):
            self.s.request("POST", PODS + "/b/binding", dict(bind, metadata={"name": "b"}))
        self.assertNotIn("nodeName", self.s.ok("GET", PODS + "/b")["spec"], "not committed")
        reqs = [r for r in self.s.ok("GET", "/fake/state?resource=none")["requests"] if "binding" in r["path"]]
        self.assertEqual([r["code"] for r in reqs], [-2, -1])
        self.assertStatus(self.s.request("POST", "/fake/control", {"fail_next": {"drop": "sideways"}}),
                          400, "BadRequest")

    def test_faults_by_user_agent(self):
        """A fault can hit one client (one replica) and spare the others."""
        self.s.control(fail_next={"path_regex": "nodes", "code": 503, "count": 5, "user_agent_regex": "replica-a"})
        self.assertStatus(self.s.request("GET", "/api/v1/nodes", headers={"User-Agent": "sched (replica-a)"}),
                          503, "ServiceUnavailable")
        self.assertEqual(self.s.request("GET", "/api/v1/nodes", headers={"User-Agent": "sched (replica-b)"})[0], 200)
        self.s.control(clear_faults=True)
        self.assertEqual(self.s.request("GET", "/api/v1/nodes", headers={"User-Agent": "sched (replica-a)"})[0], 200)
        self.s.control(delay_ms=300, path_regex="nodes", user_agent_regex="slow")
        t0 = time.monotonic()
        self.s.request("GET", "/api/v1/nodes", headers={"User-Agent": "fast"})
        self.assertLess(time.monotonic() - t0, 0.25)
        t0 = time.monotonic()
        self.s.request("GET", "/api/v1/nodes", headers={"User-Agent": "slow one"})
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.s.control(clear_faults=True)

    def test_delay_count_and_client_gone(self):
        """A delay can hold only the next N requests; a client that gives up
        during the delay finds its write not made."""
        self.s.control(delay_ms=300, path_regex="^/api/v1/nodes", count=1)
        t0 = time.monotonic()
        self.s.ok("GET", "/api/v1/nodes")
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        t0 = time.monotonic()
        self.s.ok("GET", "/api/v1/nodes")
        self.assertLess(time.monotonic() - t0, 0.25, "only the first was held")
        self.s.control(delay_ms=1500, path_regex="pods$", method="POST")
        c = self.s.connect(timeout=0.3)
        with self.assertRaises((socket.timeout, TimeoutError)):
            c.request("POST", PODS, json.dumps(pod("abandoned")).encode(), {"Content-Type": "application/json"})
            c.getresponse()
        c.close()
        time.sleep(1.6)
        self.s.control(delay_ms=0, path_regex="pods$", method="POST")
        self.assertStatus(self.s.request("GET", PODS + "/abandoned"), 404, "NotFound")

    def test_delay(self):
        self.s.control(delay_ms=300, path_regex="^/api/v1/nodes")
        t0 = time.monotonic()
        self.s.ok("GET", "/api/v1/nodes")
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        t0 = time.monotonic()
        self.s.ok("GET", PODS)
        self.assertLess(time.monotonic() - t0, 0.25)
        self.s.control(delay_ms=0, path_regex="^/api/v1/nodes")
        t0 = time.monotonic()
        self.s.ok("GET", "/api/v1/nodes")
        self.assertLess(time.monotonic() - t0, 0.25)

    def test_seed_state_reset(self):
        out = self.s.seed([{"kind": "Node", "metadata": {"name": "n1"}},
                           {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "x"},
                            "spec": {"replicas": 3}},
                           {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "l"}}])
        out = out["objects"]
        self.assertEqual([o["kind"] for o in out], ["Node", "Deployment", "Lease"])
        state = self.s.ok("GET", "/fake/state")
        self.assertEqual([o["metadata"]["name"] for o in state["objects"]["nodes"]], ["n1"])
        self.assertEqual(state["objects"]["deployments.apps"][0]["metadata"]["generation"], 1)
        self.assertTrue(state["requests"])
        self.assertEqual(self.s.ok("GET", "/apis/apps/v1/namespaces/x/deployments/d")["spec"]["replicas"], 3)
        rv = int(state["resourceVersion"])
        self.assertStatus(self.s.request("POST", "/fake/objects", {"kind": "Widget", "metadata": {"name": "w"}}),
                          400, "BadRequest")
        self.s.ok("POST", "/fake/reset")
        self.assertEqual(self.s.ok("GET", "/api/v1/nodes")["items"], [])
        after = self.s.ok("GET", "/api/v1/nodes")["metadata"]["resourceVersion"]
        self.assertGreater(int(after), rv, "the rv counter never goes back")
        self.assertEqual(self.watch(PODS + f"?watch=1&resourceVersion={rv}").next()["type"], "ERROR")


def make_cert(d):
    cert, key = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return cert, key


@unittest.skipUnless(shutil.which("openssl"), "openssl not installed")
class TestTlsAndToken(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="fake-apiserver-tls-")
        cls.s = Server(tls=make_cert(cls.dir), token="s3cret")

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_tls_and_bearer_token(self):
        st, _, body = self.s.request("GET", "/healthz", auth=False)
        self.assertEqual((st, body), (200, b"ok"))
        st, _, obj = self.s.request("GET", "/api/v1/nodes", auth=False)
        self.assertEqual((st, obj), (401, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                           "status": "Failure", "message": "Unauthorized",
                                           "reason": "Unauthorized", "code": 401}))
        st, _, _ = self.s.request("GET", "/api/v1/nodes", auth=False, headers={"Authorization": "Bearer nope"})
        self.assertEqual(st, 401)
        self.assertEqual(self.s.request("GET", "/api/v1/nodes")[0], 200)
        rv = self.s.ok("GET", PODS)["metadata"]["resourceVersion"]
        w = self.s.watch(PODS + f"?watch=1&resourceVersion={rv}&allowWatchBookmarks=true")
        self.s.ok("POST", PODS, pod("p"))
        self.assertEqual(w.next_non_bookmark()["object"]["metadata"]["name"], "p")
        self.s.control(drop_watches=True)
        with self.assertRaises(Dropped):
            while True:
                w.next()
        w.close()
        # a plain-HTTP client on the TLS port does not hurt the server
        with socket.create_connection(("127.0.0.1", self.s.port)) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\n\r\n")
            raw.recv(100)
        self.assertEqual(self.s.request("GET", "/healthz")[0], 200)


class TestCommandLine(unittest.TestCase):
    def test_state_file_and_dump_on_exit(self):
        d = tempfile.mkdtemp(prefix="fake-apiserver-cli-")
        try:
            state = os.path.join(d, "state.json")
            dump = os.path.join(d, "dump.json")
            with open(state, "w") as f:
                json.dump({"objects": [{"kind": "Node", "metadata": {"name": "seeded"}}], "defaults": True}, f)
            s = Server("--state-file", state, "--dump-on-exit", dump, "--no-controllers")
            try:
                self.assertEqual(names(s.ok("GET", "/api/v1/nodes")), ["seeded"])
                s.ok("POST", DEPLOY, deployment("web"))
                self.assertEqual(s.ok("GET", "/apis/apps/v1/replicasets")["items"], [], "--no-controllers")
            finally:
                s.proc.send_signal(signal.SIGTERM)
                self.assertEqual(s.proc.wait(5), 0)
                s.stop()
            with open(dump) as f:
                self.assertEqual(json.load(f)["objects"]["nodes"][0]["metadata"]["name"], "seeded")
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_restart_loses_no_acknowledged_write(self):
        """Writers hammer the server while it is stopped with SIGTERM and
        started again from its dump, three times: every write that got a
        2xx answer is in the restarted server, and resourceVersions never
        go back."""
        import threading
        d = tempfile.mkdtemp(prefix="fake-apiserver-restart-")
        state = os.path.join(d, "state.json")
        acked, lock, last_rv = [], threading.Lock(), 0
        try:
            for round_ in range(3):
                s = Server("--state-file", state, "--dump-on-exit", state, "--no-controllers")
                try:
                    rv = int(s.ok("GET", PODS)["metadata"]["resourceVersion"])
                    self.assertGreaterEqual(rv, last_rv, "the rv counter survives the restart")
                    stop = threading.Event()

                    def writer(w):
                        i = 0
                        c = None
                        while not stop.is_set():
                            name = f"r{round_}-w{w}-{i}"
                            i += 1
                            try:
                                c = c or s.connect(timeout=5)
                                c.request("POST", PODS, json.dumps(pod(name)).encode(),
                                          {"Content-Type": "application/json"})
                                r = c.getresponse()
                                r.read()
                                if r.status == 201:
                                    with lock:
                                        acked.append(name)
                            except (OSError, http.client.HTTPException):
                                if c is not None:
                                    c.close()
                                c = None
                                time.sleep(0.01)
                        if c is not None:
                            c.close()
                    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
                    for t in threads:
                        t.start()
                    time.sleep(0.4)
                    s.proc.send_signal(signal.SIGTERM)
                    self.assertEqual(s.proc.wait(10), 0)
                    stop.set()
                    for t in threads:
                        t.join()
                finally:
                    s.stop()
                with open(state) as f:
                    last_rv = int(json.load(f)["resourceVersion"])
            s = Server("--state-file", state, "--no-controllers")
            try:
                have = set(names(s.ok("GET", PODS)))
                self.assertGreater(len(acked), 10, "the writers got through")
                self.assertEqual(sorted(set(acked) - have), [], "acknowledged but lost")
                # an rv from before the restart is expired: clients list again
                w = s.watch(PODS + "?watch=1&resourceVersion=1")
                self.assertEqual(w.next()["type"], "ERROR")
                w.close()
            finally:
                s.stop()
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
