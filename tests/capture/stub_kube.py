#!/usr/bin/env python3
"""stub_kube.py - stub kubelet, kube-apiserver, etcd and a plain web app answering like the real ones, for recording captures.

Python 3 standard library only. Usage:
  stub_kube.py ROLE --listen HOST:PORT [--quiet]
ROLE:
  apiserver      kube-apiserver 1.30 insecure port (8080) / kubectl proxy: discovery,
                 lists (Table when asked), secrets, self-subject reviews, pod create
                 (201), token requests; exec/attach -> 403 Status; every answer has
                 Audit-Id and X-Kubernetes-Pf-* headers.
  kubelet-ro     kubelet read-only port (10255): /pods, /healthz, /metrics, /stats;
                 debugging handlers -> 405 "Debug endpoints are disabled."
  kubelet-open   a kubelet API reached in clear with anonymous auth and debugging
                 handlers (/run answers the command's output, exec -> 101 on Upgrade)
  kubelet-tls    port 10250 spoken to in clear: Go's HTTP/1.0 400 "Client sent an
                 HTTP request to an HTTPS server."
  etcd           etcd 3.5 v3 JSON gateway: /version, /v3/kv/range, /v3/kv/put,
                 /v3/maintenance/snapshot; auth errors as etcdserver text
  webapp         an ordinary web application on 8080 (Jenkins-like /api/json,
                 /version, /metrics, /login): no Kubernetes signature
Go net/http habits: headers written sorted, Content-Length when the body fits
the 2 KiB response buffer, chunked otherwise.
"""
import argparse
import base64
import email.utils
import hashlib
import json
import re
import socket
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

K8S_VERSION = {"major": "1", "minor": "30", "gitVersion": "v1.30.0",
               "gitCommit": "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a",
               "gitTreeState": "clean", "buildDate": "2024-04-17T17:27:03Z",
               "goVersion": "go1.22.2", "compiler": "gc", "platform": "linux/amd64"}
FS_UID = "8d9d0c35-6a7e-4b51-9d6c-1e7f3b2a0c11"
PL_UID = "5b1e8a8e-3f0c-4c7e-bd0e-7a1f0e2d9c22"


def _hex(s):
    return hashlib.sha256(s.encode()).hexdigest()


def _uid(s):
    return str(uuid.UUID(_hex(s)[:32]))


PODS = [
    ("default", "web-frontend-7d4b9c", "nginx", "nginx:1.27-alpine", "10.244.1.12"),
    ("default", "api-5f6d8b", "api", "registry.example/shop/api:2.4.1", "10.244.1.13"),
    ("kube-system", "coredns-76f75df574-x2v9q", "coredns", "registry.k8s.io/coredns/coredns:v1.11.1",
     "10.244.0.2"),
    ("kube-system", "kube-proxy-4kq2m", "kube-proxy", "registry.k8s.io/kube-proxy:v1.30.0",
     "198.18.0.6"),
]
SECRETS = [("default", "db-credentials", "Opaque"), ("default", "default-token-x7k2p",
                                                     "kubernetes.io/service-account-token"),
           ("kube-system", "bootstrap-token-abcdef", "bootstrap.kubernetes.io/token")]


def pod_obj(ns, name, cname, image, ip):
    return {"metadata": {"name": name, "namespace": ns, "uid": _uid(name),
                         "resourceVersion": "4711", "creationTimestamp": "2025-06-30T09:00:00Z",
                         "labels": {"app": cname}},
            "spec": {"containers": [{"name": cname, "image": image,
                                     "env": [{"name": "DB_PASSWORD", "valueFrom": {
                                         "secretKeyRef": {"name": "db-credentials",
                                                          "key": "password"}}}],
                                     "resources": {}, "imagePullPolicy": "IfNotPresent"}],
                     "nodeName": "node-1", "serviceAccountName": "default"},
            "status": {"phase": "Running", "podIP": ip, "hostIP": "198.18.0.6",
                       "startTime": "2025-06-30T09:00:05Z"}}


def pod_list(kind="PodList", api="v1"):
    return {"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": "4711"},
            "items": [pod_obj(*p) for p in PODS]}


def table(cols, rows):
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": "4711"},
            "columnDefinitions": [{"name": c, "type": "string", "format": "",
                                   "description": c, "priority": 0} for c in cols],
            "rows": [{"cells": r, "object": {"kind": "PartialObjectMetadata",
                                             "apiVersion": "meta.k8s.io/v1",
                                             "metadata": {"name": r[0] if r else ""}}}
                     for r in rows]}


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "details": {}, "code": code}


RES_V1 = [("pods", "Pod", True, ["create", "delete", "get", "list", "watch"]),
          ("pods/exec", "PodExecOptions", True, ["create", "get"]),
          ("pods/attach", "PodAttachOptions", True, ["create", "get"]),
          ("pods/log", "Pod", True, ["get"]),
          ("secrets", "Secret", True, ["create", "delete", "get", "list", "watch"]),
          ("configmaps", "ConfigMap", True, ["create", "delete", "get", "list", "watch"]),
          ("namespaces", "Namespace", False, ["create", "delete", "get", "list", "watch"]),
          ("nodes", "Node", False, ["create", "delete", "get", "list", "watch"]),
          ("nodes/proxy", "NodeProxyOptions", False, ["create", "get"]),
          ("services", "Service", True, ["create", "delete", "get", "list", "watch"]),
          ("serviceaccounts", "ServiceAccount", True, ["create", "delete", "get", "list"]),
          ("serviceaccounts/token", "TokenRequest", True, ["create"])]
GROUPS = {"apps/v1": [("deployments", "Deployment", True, ["create", "get", "list"]),
                      ("daemonsets", "DaemonSet", True, ["create", "get", "list"])],
          "authorization.k8s.io/v1": [
              ("selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ["create"]),
              ("selfsubjectrulesreviews", "SelfSubjectRulesReview", True, ["create"])],
          "authentication.k8s.io/v1": [
              ("selfsubjectreviews", "SelfSubjectReview", False, ["create"])]}


def resource_list(gv, res):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [{"name": n, "singularName": "", "namespaced": ns, "kind": k,
                           "verbs": v} for n, k, ns, v in res]}


def api_groups():
    gs = []
    for gv in GROUPS:
        g, v = gv.split("/")
        gs.append({"name": g, "versions": [{"groupVersion": gv, "version": v}],
                   "preferredVersion": {"groupVersion": gv, "version": v}})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": gs}


# ---------------------------------------------------------------- roles

def apiserver(method, path, query, headers, body):
    accept = headers.get("accept", "")
    want_table = "as=Table" in accept
    if path == "/version":
        return 200, K8S_VERSION
    if path in ("/healthz", "/livez", "/readyz"):
        return 200, b"ok"
    if path == "/api":
        return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "198.18.0.5:6443"}]}
    if path == "/apis":
        return 200, api_groups()
    if path == "/api/v1":
        return 200, resource_list("v1", RES_V1)
    m = re.match(r"^/apis/([^/]+/[^/]+)$", path)
    if m and m.group(1) in GROUPS:
        return 200, resource_list(m.group(1), GROUPS[m.group(1)])
    if path.startswith("/openapi"):
        return 404, status(404, "NotFound", "the server could not find the requested resource")
    m = re.match(r"^/api/v1/(?:namespaces/([^/]+)/)?(pods|secrets|configmaps|services|"
                 r"serviceaccounts)(?:/([^/]+))?(?:/([^/]+))?$", path)
    if m:
        ns, res, name, sub = m.groups()
        if sub in ("exec", "attach", "portforward"):
            return 403, status(403, "Forbidden",
                               'pods "%s" is forbidden: User "system:anonymous" cannot %s '
                               'resource "pods/%s" in API group "" in the namespace "%s"'
                               % (name, "create" if method == "POST" else "get", sub, ns))
        if sub == "token" and method == "POST":
            tok = "eyJhbGciOiJSUzI1NiIsImtpZCI6InN0dWIifQ." + base64.urlsafe_b64encode(
                b'{"sub":"system:serviceaccount:%s:%s"}' % (ns.encode(), name.encode())
            ).decode().rstrip("=") + ".c3R1Yi1zaWduYXR1cmU"
            return 201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                         "metadata": {"name": name, "namespace": ns},
                         "spec": {"audiences": ["https://kubernetes.default.svc"],
                                  "expirationSeconds": 3600},
                         "status": {"token": tok, "expirationTimestamp": "2025-07-01T11:00:00Z"}}
        if res == "pods" and method == "POST" and not name:
            try:
                pod = json.loads(body.decode())
            except ValueError:
                return 400, status(400, "BadRequest", "invalid JSON")
            pod.setdefault("metadata", {})["namespace"] = ns or "default"
            pod["metadata"]["uid"] = _uid(pod["metadata"].get("name", "pod"))
            pod["metadata"]["creationTimestamp"] = "2025-07-01T10:00:00Z"
            pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
            return 201, pod
        if method != "GET":
            return 405, status(405, "MethodNotAllowed", "the server does not allow this method")
        if res == "pods":
            items = [p for p in PODS if ns in (None, p[0])]
            if name:
                for p in items:
                    if p[1] == name:
                        o = pod_obj(*p)
                        o.update({"kind": "Pod", "apiVersion": "v1"})
                        return 200, o
                return 404, status(404, "NotFound", 'pods "%s" not found' % name)
            if want_table:
                return 200, table(["Name", "Ready", "Status", "Restarts", "Age"],
                                  [[p[1], "1/1", "Running", "0", "1d"] for p in items])
            lst = pod_list()
            lst["items"] = [pod_obj(*p) for p in items]
            return 200, lst
        if res == "secrets":
            items = [s for s in SECRETS if ns in (None, s[0])]
            if want_table and not name:
                return 200, table(["Name", "Type", "Data", "Age"],
                                  [[s[1], s[2], "2", "1d"] for s in items])
            objs = [{"metadata": {"name": s[1], "namespace": s[0]}, "type": s[2],
                     "data": {"password": base64.b64encode(b"S3cr3t-" + s[1].encode()).decode()}}
                    for s in items]
            if name:
                for o in objs:
                    if o["metadata"]["name"] == name:
                        o.update({"kind": "Secret", "apiVersion": "v1"})
                        return 200, o
                return 404, status(404, "NotFound", 'secrets "%s" not found' % name)
            return 200, {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": objs}
        return 200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []}
    if path == "/api/v1/nodes" and method == "GET":
        if want_table:
            return 200, table(["Name", "Status", "Roles", "Age", "Version"],
                              [["node-1", "Ready", "<none>", "1d", "v1.30.0"]])
        return 200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": [
            {"metadata": {"name": "node-1"}, "status": {"addresses": [
                {"type": "InternalIP", "address": "198.18.0.6"}]}}]}
    if path == "/api/v1/namespaces" and method == "GET":
        names = ["default", "kube-system", "kube-public"]
        if want_table:
            return 200, table(["Name", "Status", "Age"], [[n, "Active", "1d"] for n in names])
        return 200, {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {},
                     "items": [{"metadata": {"name": n}} for n in names]}
    if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" and method == "POST":
        try:
            req = json.loads(body.decode())
        except ValueError:
            return 400, status(400, "BadRequest", "invalid JSON")
        req["status"] = {"allowed": True, "reason": "stub: AlwaysAllow"}
        return 201, req
    if path == "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews" and method == "POST":
        try:
            req = json.loads(body.decode())
        except ValueError:
            return 400, status(400, "BadRequest", "invalid JSON")
        req["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"],
                                            "resources": ["*"]}],
                         "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                         "incomplete": False}
        return 201, req
    return 404, status(404, "NotFound", "the server could not find the requested resource")


DEBUG_PATHS = ("/run/", "/exec/", "/attach/", "/portForward/", "/containerLogs/", "/runningpods",
               "/logs", "/configz", "/debug/", "/checkpoint/")


def kubelet(method, path, query, headers, body, debug):
    if not debug and path.startswith(DEBUG_PATHS):
        return 405, b"Debug endpoints are disabled.\n", "text/plain; charset=utf-8"
    if path == "/healthz":
        return 200, b"ok", "text/plain; charset=utf-8"
    if path in ("/pods", "/pods/"):
        return 200, pod_list(), None
    if path.startswith("/runningpods"):
        lst = pod_list()
        for p in lst["items"]:
            p["spec"] = {"containers": [{"name": c["name"], "image": c["image"]}
                                        for c in p["spec"]["containers"]]}
            del p["status"]
        return 200, lst, None
    if path.startswith("/metrics"):
        return 200, (b"# HELP kubelet_running_pods Number of pods running\n"
                     b"# TYPE kubelet_running_pods gauge\nkubelet_running_pods 4\n"), \
            "text/plain; version=0.0.4; charset=utf-8"
    if path.startswith("/stats"):
        return 200, {"node": {"nodeName": "node-1"}, "pods": [
            {"podRef": {"name": p[1], "namespace": p[0]}} for p in PODS]}, None
    if path == "/configz":
        return 200, {"kubeletconfig": {"authentication": {"anonymous": {"enabled": True}},
                                       "authorization": {"mode": "AlwaysAllow"},
                                       "readOnlyPort": 10255}}, None
    m = re.match(r"^/run/([^/]+)/([^/]+)/([^/]+)/?$", path)
    if m:
        if method != "POST":
            return 405, b"405: Method Not Allowed", "text/plain; charset=utf-8"
        cmd = query.get("cmd", [""])[0] or parse_qs(body.decode("latin-1")).get("cmd", [""])[0]
        out = {"id": b"uid=0(root) gid=0(root) groups=0(root)\n",
               "whoami": b"root\n"}.get(cmd.strip(), b"")
        if not cmd:
            return 500, b"Internal Error: missing command\n", "text/plain; charset=utf-8"
        if b"token" in cmd.encode():
            out = b"eyJhbGciOiJSUzI1NiIsImtpZCI6InN0dWIifQ.stub.c2ln\n"
        return 200, out, "text/plain; charset=utf-8"
    m = re.match(r"^/(exec|attach|portForward)/", path)
    if m:
        if headers.get("upgrade"):
            return 101, b"", None
        return 400, b"Upgrade request required\n", "text/plain; charset=utf-8"
    if path.startswith("/containerLogs/"):
        return 200, b"2025-07-01T10:00:00Z GET /index.html 200\n", "text/plain; charset=utf-8"
    return 404, b"404 page not found\n", "text/plain; charset=utf-8"


def b64(s):
    return base64.b64encode(s if isinstance(s, bytes) else s.encode()).decode()


def etcd(method, path, query, headers, body):
    hdr = {"revision": "4711", "raft_term": "3", "cluster_id": "14841639068965178418",
           "member_id": "10276657743932975437"}
    if path == "/version" and method == "GET":
        return 200, {"etcdserver": "3.5.15", "etcdcluster": "3.5.0"}
    if path == "/health":
        return 200, {"health": "true", "reason": ""}
    m = re.match(r"^/v3(?:beta|alpha)?/(kv/range|kv/put|maintenance/snapshot|auth/.*)$", path)
    if not m or method != "POST":
        return 404, b"404 page not found\n"
    op = m.group(1)
    try:
        req = json.loads(body.decode() or "{}")
    except ValueError:
        return 400, {"error": "invalid character", "code": 3, "message": "invalid character"}
    if headers.get("x-test-auth") == "1":
        return 400, {"error": "etcdserver: user name is empty", "code": 3,
                     "message": "etcdserver: user name is empty"}
    if op == "kv/range":
        key = base64.b64decode(req.get("key", ""))
        kvs = []
        store = {b"/registry/secrets/default/db-credentials": b"k8s\x00\n\x0c\n\x02v1\x12\x06Secret",
                 b"/registry/secrets/kube-system/bootstrap-token-abcdef":
                     b"k8s\x00\n\x0c\n\x02v1\x12\x06Secret",
                 b"/registry/pods/default/web-frontend-7d4b9c": b"k8s\x00\n\t\n\x02v1\x12\x03Pod"}
        end = base64.b64decode(req.get("range_end", "")) if req.get("range_end") else None
        for k in sorted(store):
            if (end is None and k == key) or (end is not None and key <= k and
                                              (end == b"\x00" or k < end)):
                kvs.append({"key": b64(k), "create_revision": "100", "mod_revision": "100",
                            "version": "1", "value": b64(store[k])})
        r = {"header": hdr}
        if kvs:
            r["kvs"] = kvs
            r["count"] = str(len(kvs))
        return 200, r
    if op == "kv/put":
        return 200, {"header": hdr}
    if op == "maintenance/snapshot":
        blob = b"\x00" * 64 + b"bolt-db-stub" * 8
        return 200, (json.dumps({"result": {"header": hdr, "remaining_bytes": "0",
                                            "blob": b64(blob)}}) + "\n").encode()
    return 200, {"header": hdr}


def webapp(method, path, query, headers, body):
    if path == "/api/json":
        return 200, {"_class": "hudson.model.Hudson", "mode": "NORMAL", "nodeDescription":
                     "the built-in node", "numExecutors": 2, "jobs": [
                         {"_class": "hudson.model.FreeStyleProject", "name": "shop-build",
                          "url": "http://198.18.0.8:8080/job/shop-build/", "color": "blue"}]}
    if path == "/version":
        return 200, {"version": "2.452.2", "build": "2024-06-12"}
    if path == "/metrics":
        return 200, (b"# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n"
                     b'http_requests_total{code="200"} 1027\n'), "text/plain; version=0.0.4"
    if path in ("/login", "/"):
        return 200, b"<!doctype html><title>Sign in [Jenkins]</title>\n", "text/html;charset=utf-8"
    if path == "/api/v1/pods":
        return 404, b"<html><body>Not found</body></html>\n", "text/html;charset=utf-8"
    return 404, b"Not found\n", "text/plain"


# ---------------------------------------------------------------- server

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sys_version = ""

    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def version_string(self):
        return ""

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        out = b""
        if "chunked" in te.lower():
            while True:
                line = self.rfile.readline(4096)
                if not line:
                    return out
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(4096) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(n + 2)[:n]
        n = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(min(n, 1 << 20)) if n > 0 else b""

    def _write(self, code, body, ctype, extra=()):
        reasons = {200: "OK", 201: "Created", 400: "Bad Request", 403: "Forbidden",
                   404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
                   101: "Switching Protocols"}
        if isinstance(body, (dict, list)):
            body = (json.dumps(body, separators=(",", ":")) + "\n").encode()
            ctype = ctype or "application/json"
        hdr = list(extra)
        if ctype:
            hdr.append(("Content-Type", ctype))
        hdr.append(("Date", email.utils.formatdate(usegmt=True)))
        chunked = len(body) > 2048 and self.request_version == "HTTP/1.1"
        if code == 101:
            hdr += [("Connection", "Upgrade"), ("Upgrade", self.headers.get("Upgrade", ""))]
        elif chunked:
            hdr.append(("Transfer-Encoding", "chunked"))
        else:
            hdr.append(("Content-Length", str(len(body))))
        hdr.sort(key=lambda kv: kv[0])
        head = "HTTP/1.1 %d %s\r\n" % (code, reasons.get(code, "Status"))
        head += "".join("%s: %s\r\n" % kv for kv in hdr) + "\r\n"
        self.wfile.write(head.encode("latin-1"))
        if code == 101:
            self.close_connection = True
        elif chunked:
            for i in range(0, len(body), 4096):
                p = body[i:i + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
            self.wfile.write(b"0\r\n\r\n")
        elif self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _dispatch(self):
        role = self.server.role
        if role == "kubelet-tls":
            # Go's TLS server seeing a plaintext request.
            self.close_connection = True
            self.wfile.write(b"HTTP/1.0 400 Bad Request\r\n\r\n"
                             b"Client sent an HTTP request to an HTTPS server.\n")
            return
        body = self._read_body()
        target = self.requestline.split()[1] if len(self.requestline.split()) >= 2 else self.path
        rawpath, _, rawq = target.partition("?")
        path = unquote(rawpath)
        query = parse_qs(rawq, keep_blank_values=True)
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        extra = []
        ctype = None
        if role == "apiserver":
            code, obj = apiserver(self.command, path, query, hdrs, body)
            aid = str(uuid.uuid4())
            extra = [("Audit-Id", aid), ("Cache-Control", "no-cache, private"),
                     ("X-Kubernetes-Pf-Flowschema-Uid", FS_UID),
                     ("X-Kubernetes-Pf-Prioritylevel-Uid", PL_UID)]
            if isinstance(obj, bytes):
                ctype = "text/plain; charset=utf-8"
                extra.append(("X-Content-Type-Options", "nosniff"))
        elif role in ("kubelet-ro", "kubelet-open"):
            code, obj, ctype = kubelet(self.command, path, query, hdrs, body,
                                       role == "kubelet-open")
        elif role == "etcd":
            code, obj = etcd(self.command, path, query, hdrs, body)
            if isinstance(obj, bytes):
                ctype = "application/json" if path.endswith("snapshot") else "text/plain; charset=utf-8"
            else:
                extra = [("Grpc-Metadata-Content-Type", "application/grpc")]
        else:
            r = webapp(self.command, path, query, hdrs, body)
            code, obj = r[0], r[1]
            ctype = r[2] if len(r) > 2 else None
            extra = [("Server", "Jetty(10.0.20)"), ("X-Jenkins", "2.452.2")]
        self._write(code, obj, ctype, extra)

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, role, quiet):
        self.role, self.quiet = role, quiet
        super().__init__(addr, Handler)

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("role", choices=["apiserver", "kubelet-ro", "kubelet-open", "kubelet-tls",
                                     "etcd", "webapp"])
    ap.add_argument("--listen", required=True)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    host, _, port = a.listen.rpartition(":")
    srv = Server((host, int(port)), a.role, a.quiet)
    sys.stderr.write("stub_kube: %s on %s\n" % (a.role, a.listen))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
