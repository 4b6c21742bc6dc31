#!/usr/bin/python3
"""make_edge_pcaps.py - hand-built edge-case and damaged captures for portside's Docker API detection.

Run with /usr/bin/python3 (scapy builds the IP/TCP headers and checksums):
  tests/capture/make_edge_pcaps.py [OUTDIR]      (default: <repo>/pcaps)
writes OUTDIR/edge/*.pcap and OUTDIR/damaged/*.pcap. Deterministic: the same
bytes on every run (fixed ISNs, timestamps, seeds and Date header).

Every edge capture carries a Docker Engine API exchange answered with the
bytes stub_docker.py would send; addresses are 198.18.0.0/15 and
2001:db8::/32 only. The expected results are listed in pcaps/README.md.
"""
import logging
import os
import random
import struct
import sys

logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.layers.inet import IP, TCP, fragment  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stub_docker as sd  # noqa: E402

CLI, SRV = "198.18.0.10", "198.18.0.2"
CLI6, SRV6 = "2001:db8::10", "2001:db8::2"
CMAC = bytes.fromhex("0200c612000a")
SMAC = bytes.fromhex("0200c6120002")
T0 = 1751364000.0  # 2025-07-01 10:00:00 UTC
UA = "Docker-Client/28.2.2 (linux)"

LT_NULL, LT_EN10MB, LT_RAW, LT_SLL, LT_USER0, LT_SLL2 = 0, 1, 101, 113, 147, 276


# --------------------------------------------------------------- pcap writing

def pcap_header(linktype, snaplen=262144):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(ts, data, orig=None):
    sec = int(ts)
    usec = int(round((ts - sec) * 1e6))
    if usec >= 1000000:
        sec, usec = sec + 1, usec - 1000000
    return struct.pack("<IIII", sec, usec, len(data), orig or len(data)) + data


def write_pcap(path, linktype, frames):
    with open(path, "wb") as f:
        f.write(pcap_header(linktype))
        for ts, data in frames:
            f.write(pcap_record(ts, data))
    return path


# ------------------------------------------------------------ HTTP exchanges

def req(path, method="GET", host="198.18.0.2:2375", ua=UA, extra=(), body=b""):
    """A request as the Go docker client writes it."""
    h = ["%s %s HTTP/1.1" % (method, path), "Host: " + host, "User-Agent: " + ua]
    if body:
        h.append("Content-Length: %d" % len(body))
    h += list(extra)
    if method == "GET":
        h.append("Accept-Encoding: gzip")
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def resp(method, target, **kw):
    """The stub daemon's answer (fixed Date) to method target."""
    headers = kw.pop("headers", {})
    chunked = kw.pop("chunked", None)
    gz = kw.pop("gz", None)
    r = sd.route(method, target, {k.lower(): v for k, v in headers.items()})
    return b"".join(sd.render(r, method, False, sd.split_target(target)[1],
                              {k.lower(): v for k, v in headers.items()}, sd.FIXED_DATE,
                              kw.pop("chunk_size", None), chunked=chunked, gz=gz))


LIST_PATH = "/v1.50/containers/json"
LIST_REQ = req(LIST_PATH)
LIST_RESP = resp("GET", LIST_PATH)


# ---------------------------------------------------------------- TCP builder

class Seg:
    __slots__ = ("d", "seq", "ack", "flags", "data", "ts", "bad")

    def __init__(self, d, seq, ack, flags, data=b""):
        self.d, self.seq, self.ack, self.flags, self.data = d, seq, ack, flags, data
        self.ts = None
        self.bad = False


class Conn:
    """One TCP connection as a list of segments. d=0 client->server, 1 back."""

    def __init__(self, sport=47480, dport=2375, isn=(1000000, 2000000), v6=False):
        self.sport, self.dport, self.v6 = sport, dport, v6
        self.nxt = [isn[0], isn[1]]
        self.segs = []

    def _seg(self, d, flags, data=b"", seq=None):
        s = Seg(d, (self.nxt[d] if seq is None else seq) & 0xFFFFFFFF,
                self.nxt[1 - d] & 0xFFFFFFFF, flags, data)
        self.segs.append(s)
        return s

    def handshake(self):
        self._seg(0, "S")
        self.nxt[0] += 1
        self.segs[-1].ack = 0
        self._seg(1, "SA")
        self.nxt[1] += 1
        self._seg(0, "A")
        return self

    def send(self, d, data, mss=1448, cuts=None, ack=True):
        """Sends data in segments (of mss, or at explicit cut offsets)."""
        if cuts is None:
            cuts = list(range(mss, len(data), mss))
        bounds = [0] + [c for c in cuts if 0 < c < len(data)] + [len(data)]
        for a, b in zip(bounds, bounds[1:]):
            self._seg(d, "PA" if b == len(data) else "A", data[a:b])
            self.nxt[d] += b - a
        if ack:
            self._seg(1 - d, "A")
        return self

    def raw(self, d, off, data, flags="PA"):
        """A segment at sequence offset off relative to the current next byte
        of direction d, without advancing it (retransmissions, overlaps)."""
        return self._seg(d, flags, data, seq=self.nxt[d] + off)

    def advance(self, d, n):
        self.nxt[d] += n

    def close(self):
        self._seg(0, "FA")
        self.nxt[0] += 1
        self._seg(1, "FA")
        self.nxt[1] += 1
        self._seg(0, "A")
        return self

    def exchange(self, request, response, **kw):
        self.send(0, request, **kw)
        self.send(1, response, **kw)
        return self


def stamp(segs, t=T0, step=0.0002):
    for s in segs:
        if s.ts is None:
            s.ts = t
        t = max(t, s.ts) + step
    return segs


def l3(conn, s, v6=None):
    """IP packet bytes of segment s (checksums computed, or wrong when s.bad)."""
    v6 = conn.v6 if v6 is None else v6
    src, dst = (CLI6, SRV6) if v6 else (CLI, SRV)
    sp, dp = conn.sport, conn.dport
    if s.d == 1:
        src, dst, sp, dp = dst, src, dp, sp
    tcp = TCP(sport=sp, dport=dp, seq=s.seq, ack=s.ack if "A" in s.flags else 0,
              flags=s.flags, window=502 if s.d == 0 else 509)
    if s.flags == "S" or s.flags == "SA":
        tcp.options = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1000, 0)), ("NOP", None),
                       ("WScale", 7)]
        tcp.window = 64240 if s.flags == "S" else 65160
    if v6:
        pkt = IPv6(src=src, dst=dst, hlim=64) / tcp
    else:
        pkt = IP(src=src, dst=dst, ttl=64, flags="DF", id=0) / tcp
    if s.data:
        pkt = pkt / s.data
    raw = bytes(pkt)
    if s.bad:
        good = pkt[TCP].__class__(raw[40:] if v6 else raw[20:]).chksum
        pkt[TCP].chksum = (good + 0x1111) & 0xFFFF or 1
        raw = bytes(pkt)
    return raw


# ---------------------------------------------------------------- link layers

def eth(payload, d, ethertype=0x0800):
    dst, src = (SMAC, CMAC) if d == 0 else (CMAC, SMAC)
    return dst + src + struct.pack("!H", ethertype) + payload


def vlan(payload, d, ethertype=0x0800, vid=100):
    dst, src = (SMAC, CMAC) if d == 0 else (CMAC, SMAC)
    return dst + src + struct.pack("!HHH", 0x8100, vid, ethertype) + payload


def qinq(payload, d, ethertype=0x0800):
    dst, src = (SMAC, CMAC) if d == 0 else (CMAC, SMAC)
    return dst + src + struct.pack("!HHHHH", 0x88A8, 200, 0x8100, 100, ethertype) + payload


def mpls(payload, d):
    # Two labels (transport 16001, service 24005), bottom of stack on the second.
    lab = struct.pack("!II", (16001 << 12) | 64, (24005 << 12) | (1 << 8) | 64)
    return eth(lab + payload, d, 0x8847)


def sll(payload, d, ethertype=0x0800):
    # Captured on the server (Linux "any"): incoming = 0 (host), outgoing = 4.
    src = CMAC if d == 0 else SMAC
    return struct.pack("!HHH", 0 if d == 0 else 4, 1, 6) + src + b"\0\0" + \
        struct.pack("!H", ethertype) + payload


def sll2(payload, d, ethertype=0x0800):
    src = CMAC if d == 0 else SMAC
    return struct.pack("!HHIHBB", ethertype, 0, 2, 1, 0 if d == 0 else 4, 6) + src + b"\0\0" + \
        payload


def null(payload, d):
    return struct.pack("<I", 2) + payload  # AF_INET, host (little-endian) order


def outer_ip(proto, payload, d, ident):
    # Tunnel endpoints (VTEPs / GRE / IPIP peers) in 198.18.1.0/24.
    src, dst = ("198.18.1.1", "198.18.1.2") if d == 0 else ("198.18.1.2", "198.18.1.1")
    return bytes(IP(src=src, dst=dst, ttl=64, id=ident, proto=proto, flags="DF") / payload)


OUTER_MAC_A = bytes.fromhex("0200c6120101")
OUTER_MAC_B = bytes.fromhex("0200c6120102")


def outer_eth(payload, d):
    dst, src = (OUTER_MAC_B, OUTER_MAC_A) if d == 0 else (OUTER_MAC_A, OUTER_MAC_B)
    return dst + src + b"\x08\x00" + payload


def udp(sport, dport, payload):
    # Checksum 0 is allowed over IPv4 (and usual for VXLAN/Geneve).
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


class Tunnels:
    def __init__(self):
        self.ident = 100
        self.gre_seq = 1

    def _id(self):
        self.ident += 1
        return self.ident

    def vxlan(self, inner_ip, d):
        hdr = struct.pack("!II", 0x08000000, 4242 << 8)
        return outer_eth(outer_ip(17, udp(49152 + 7, 4789, hdr + eth(inner_ip, d)), d,
                                  self._id()), d)

    def geneve(self, inner_ip, d):
        hdr = struct.pack("!BBHI", 0, 0, 0x6558, 4242 << 8)
        return outer_eth(outer_ip(17, udp(49152 + 9, 6081, hdr + eth(inner_ip, d)), d,
                                  self._id()), d)

    def erspan2(self, inner_ip, d):
        gre = struct.pack("!HHI", 0x1000, 0x88BE, self.gre_seq)
        self.gre_seq += 1
        # ERSPAN type II: ver=1, vlan=0 | cos=0, en=3 (trunk), t=0, session=7 | index.
        er = struct.pack("!HHI", (1 << 12) | 0, (3 << 11) | 7, 1)
        return outer_eth(outer_ip(47, gre + er + eth(inner_ip, d), d, self._id()), d)

    def ipip(self, inner_ip, d):
        return outer_eth(outer_ip(4, inner_ip, d, self._id()), d)


# ------------------------------------------------------------------- helpers

def frames(conn, wrap=eth, segs=None):
    segs = stamp(conn.segs if segs is None else segs)
    return [(s.ts, wrap(l3(conn, s), s.d)) for s in segs]


def list_conn(**kw):
    return Conn(**kw).handshake()


def std(wrap=eth, v6=False, ethertype=None):
    c = list_conn(v6=v6).exchange(LIST_REQ, LIST_RESP).close()
    if ethertype:
        return [(s.ts, wrap(l3(c, s), s.d, ethertype)) for s in stamp(c.segs)]
    return frames(c, wrap)


# ------------------------------------------------------------------ the cases

def case_reorder():
    c = list_conn()
    r, p = LIST_REQ, LIST_RESP
    c.raw(0, 30, r[30:60], "A")
    c.raw(0, 0, r[:30], "A")
    c.raw(0, 60, r[60:], "PA")
    c.advance(0, len(r))
    c._seg(1, "A")
    n = len(p)
    a, b = 1448, 2896
    c.raw(1, b, p[b:], "PA")
    c.raw(1, a, p[a:b], "A")
    c.raw(1, 0, p[:a], "A")
    c.advance(1, n)
    c._seg(0, "A")
    c.close()
    return LT_EN10MB, frames(c)


def case_retrans():
    c = list_conn()
    r, p = LIST_REQ, LIST_RESP
    c.raw(0, 0, r, "PA")
    c.raw(0, 0, r, "PA").ts = T0 + 0.25  # RTO retransmission of the request
    c.advance(0, len(r))
    c._seg(1, "A")
    c.raw(1, 0, p[:1448], "A")
    c.raw(1, 1448, p[1448:2896], "A")
    c.raw(1, 1448, p[1448:2896], "A").ts = T0 + 0.5   # fast retransmit
    c.raw(1, 2896, p[2896:], "PA")
    c.raw(1, 0, p[:1448], "A")  # spurious retransmission after the rest
    c.advance(1, len(p))
    c._seg(0, "A")
    c.close()
    return LT_EN10MB, frames(c)


def case_onebyte():
    c = list_conn()
    for d, data in ((0, LIST_REQ), (1, LIST_RESP)):
        for i in range(len(data)):
            c._seg(d, "PA", data[i:i + 1])
            c.advance(d, 1)
            if i % 64 == 63:
                c._seg(1 - d, "A")
        c._seg(1 - d, "A")
    c.close()
    return LT_EN10MB, [(s.ts, eth(l3(c, s), s.d)) for s in stamp(c.segs, step=0.00001)]


def case_overlap_same():
    c = list_conn()
    r, p = LIST_REQ, LIST_RESP
    c.raw(0, 0, r[:40], "A")
    c.raw(0, 20, r[20:80], "A")
    c.raw(0, 60, r[60:], "PA")
    c.advance(0, len(r))
    c._seg(1, "A")
    c.raw(1, 0, p[:1448], "A")
    c.raw(1, 1000, p[1000:2448], "A")
    c.raw(1, 2000, p[2000:], "PA")
    c.advance(1, len(p))
    c._seg(0, "A")
    c.close()
    return LT_EN10MB, frames(c)


def _garble(b):
    return bytes(b"#"[0] if ch not in (13, 10) else ch for ch in b)


def case_overlap_diff():
    # First copies are right; later overlapping copies carry different bytes
    # over the part already received (Linux keeps the first copy).
    c = list_conn()
    r, p = LIST_REQ, LIST_RESP
    c.raw(0, 0, r[:40], "A")                           # "GET /v1.50/containers/json HTTP/1.1\r\nHo"
    bad = r[4:40].replace(b"containers", b"XXXXXXXXXX")
    c.raw(0, 4, bad + r[40:90], "A")                   # different bytes over [4,40)
    c.raw(0, 90, r[90:], "PA")
    c.advance(0, len(r))
    c._seg(1, "A")
    c.raw(1, 0, p[:1448], "A")
    c.raw(1, 1400, _garble(p[1400:1448]) + p[1448:2896], "A")   # garbage over [1400,1448)
    c.raw(1, 2896, p[2896:], "PA")
    c.advance(1, len(p))
    c._seg(0, "A")
    c.close()
    return LT_EN10MB, frames(c)


def case_pipeline():
    c = list_conn()
    reqs = [("HEAD", "/_ping"), ("GET", "/v1.50/version"), ("GET", LIST_PATH)]
    c.send(0, b"".join(req(t, m) for m, t in reqs))
    for m, t in reqs:
        c.send(1, resp(m, t), ack=False)
    c._seg(0, "A")
    c.close()
    return LT_EN10MB, frames(c)


def _odd_cuts(data):
    """Cut points inside chunk-size lines, between CR and LF, and 1 byte into data."""
    cuts = []
    head_end = data.index(b"\r\n\r\n") + 4
    cuts.append(head_end - 1)            # between the head's last CR and LF
    cuts.append(head_end + 1)            # inside the first chunk-size line
    i = head_end
    k = 0
    while True:
        j = data.find(b"\r\n", i)
        if j < 0:
            break
        size = int(data[i:j], 16)
        if size == 0:
            cuts.append(j + 1)           # between CR and LF of "0\r\n"
            break
        start = j + 2
        cuts.append([j + 1, start + 1, start + size + 1][k % 3])
        k += 1
        i = start + size + 2
    return sorted(set(c for c in cuts if 0 < c < len(data)))


def case_chunked():
    c = list_conn()
    body = resp("GET", LIST_PATH, chunked=True, chunk_size=0)  # odd chunk sizes
    c.send(0, LIST_REQ)
    c.send(1, body, cuts=_odd_cuts(body))
    c.close()
    return LT_EN10MB, frames(c)


def case_gzip():
    c = list_conn()
    rq = req(LIST_PATH, ua="docker-sdk-python/7.1.0").replace(b"Accept-Encoding: gzip\r\n",
                                                              b"Accept-Encoding: gzip, deflate\r\n"
                                                              b"Accept: */*\r\n"
                                                              b"Connection: keep-alive\r\n")
    body = resp("GET", LIST_PATH, chunked=True, gz=True, chunk_size=700)
    c.send(0, rq)
    c.send(1, body, cuts=_odd_cuts(body))
    c.close()
    return LT_EN10MB, frames(c)


def case_fragments():
    c = list_conn()
    c.send(0, LIST_REQ)
    c.send(1, LIST_RESP)
    c.close()
    out = []
    for s in stamp(c.segs):
        raw = l3(c, s)
        if s.d == 0 and s.data:
            pkt = IP(raw)
            pkt.flags = 0
            pkt.id = 0x4242
            frags = fragment(pkt, fragsize=64)
            order = [len(frags) - 1] + list(range(1, len(frags) - 1)) + [0]
            for k, i in enumerate(order):
                out.append((s.ts + k * 0.00001, eth(bytes(frags[i]), 0)))
        else:
            out.append((s.ts, eth(raw, s.d)))
    return LT_EN10MB, out


def case_oneside():
    c = list_conn()
    c.send(0, LIST_REQ, ack=False)
    c.advance(1, len(LIST_RESP))  # the server's answer is not in the capture
    c._seg(0, "A")
    c.close()
    return LT_EN10MB, frames(c, segs=[s for s in c.segs if s.d == 0])


def case_midstream():
    c = Conn(isn=(3141592653, 2718281828))
    c.handshake()
    first = len(c.segs)
    c.exchange(LIST_REQ, LIST_RESP).close()
    return LT_EN10MB, frames(c, segs=c.segs[first:])


def case_seqwrap():
    c = Conn(isn=(0xFFFFFFFF - 40, 0xFFFFFFFF - 1500)).handshake()
    c.exchange(LIST_REQ, LIST_RESP).close()
    return LT_EN10MB, frames(c)


EXEC_BODY = (b'{"User":"","Privileged":false,"Tty":false,"ConsoleSize":[0,0],"AttachStdin":true,'
             b'"AttachStderr":true,"AttachStdout":true,"DetachKeys":"","Env":null,'
             b'"WorkingDir":"","Cmd":["sh"]}\n')


def case_upgrade():
    cid = sd.CONTAINERS[0]["id"]
    eid = sd._hex("exec-" + sd.CONTAINERS[0]["name"])
    # Connection 1: exec create (201).
    c1 = Conn(sport=47490).handshake()
    c1.exchange(req("/v1.50/containers/%s/exec" % cid, "POST",
                    extra=["Content-Type: application/json"], body=EXEC_BODY),
                resp("POST", "/v1.50/containers/%s/exec" % cid))
    c1.close()
    # Connection 2: exec start with Upgrade: tcp -> 101, then raw stream bytes.
    c2 = Conn(sport=47492, isn=(5000000, 6000000)).handshake()
    start = req("/v1.50/exec/%s/start" % eid, "POST",
                extra=["Connection: Upgrade", "Content-Type: application/json",
                       "Upgrade: tcp"], body=b'{"Detach":false,"Tty":false,"ConsoleSize":[0,0]}\n')
    up = ("HTTP/1.1 101 UPGRADED\r\nApi-Version: %s\r\nConnection: Upgrade\r\n"
          "Content-Type: application/vnd.docker.multiplexed-stream\r\nDocker-Experimental: false\r\n"
          "Ostype: linux\r\nServer: %s\r\nUpgrade: tcp\r\n\r\n" % (sd.API, sd.SERVER)).encode()
    c2.send(0, start)
    c2.send(1, up)
    # Raw, non-HTTP bytes both ways; the output even quotes an HTTP request,
    # which must not be parsed as one.
    c2.send(0, b"id\n")
    out1 = b"uid=0(root) gid=0(root) groups=0(root)\n"
    c2.send(1, b"\x01\x00\x00\x00" + struct.pack("!I", len(out1)) + out1)
    c2.send(0, b"cat /tmp/req.txt\n")
    out2 = (b"GET /v1.50/containers/json?all=1 HTTP/1.1\r\nHost: 198.18.0.2:2375\r\n"
            b"User-Agent: Docker-Client/28.2.2 (linux)\r\n\r\n")
    c2.send(1, b"\x01\x00\x00\x00" + struct.pack("!I", len(out2)) + out2)
    c2.send(0, b"\x00\xff\xfe\x04exit\n")
    c2.close()
    f1 = frames(c1)
    f2 = [(t + 0.05, b) for t, b in frames(c2)]
    return LT_EN10MB, f1 + f2


def case_dup_span():
    fr = std()
    out = []
    for t, b in fr:
        out.append((t, b))
        out.append((t + 0.000003, b))
    return LT_EN10MB, out


def case_badcsum():
    c = list_conn().exchange(LIST_REQ, LIST_RESP).close()
    for s in c.segs:
        s.bad = True
    return LT_EN10MB, frames(c)


def case_keepalive():
    c = list_conn()
    c.exchange(req("/v1.50/version"), resp("GET", "/v1.50/version"))
    for s in c.segs:
        s.ts = None
    c.exchange(LIST_REQ, LIST_RESP)
    c.close()
    segs = stamp(c.segs)
    # a think-time gap between the two requests
    gap = False
    for s in segs:
        if s.data == LIST_REQ:
            gap = True
        if gap:
            s.ts += 1.5
    return LT_EN10MB, [(s.ts, eth(l3(c, s), s.d)) for s in segs]


def tunnel_case(kind):
    def f():
        tn = Tunnels()
        c = list_conn().exchange(LIST_REQ, LIST_RESP).close()
        return LT_EN10MB, [(s.ts, getattr(tn, kind)(l3(c, s), s.d)) for s in stamp(c.segs)]
    return f


CASES = {
    "reorder": case_reorder,
    "retrans": case_retrans,
    "onebyte": case_onebyte,
    "overlap-same": case_overlap_same,
    "overlap-diff": case_overlap_diff,
    "pipeline": case_pipeline,
    "chunked": case_chunked,
    "gzip": case_gzip,
    "ipv6": lambda: (LT_EN10MB, std(eth, v6=True, ethertype=0x86DD)),
    "vlan": lambda: (LT_EN10MB, std(vlan)),
    "qinq": lambda: (LT_EN10MB, std(qinq)),
    "mpls": lambda: (LT_EN10MB, std(mpls)),
    "sll": lambda: (LT_SLL, std(sll)),
    "sll2": lambda: (LT_SLL2, std(sll2)),
    "null": lambda: (LT_NULL, std(null)),
    "raw": lambda: (LT_RAW, std(lambda p, d: p)),
    "vxlan": tunnel_case("vxlan"),
    "geneve": tunnel_case("geneve"),
    "gre-erspan2": tunnel_case("erspan2"),
    "ipip": tunnel_case("ipip"),
    "fragments": case_fragments,
    "oneside": case_oneside,
    "midstream": case_midstream,
    "seqwrap": case_seqwrap,
    "upgrade": case_upgrade,
    "dup-span": case_dup_span,
    "badcsum": case_badcsum,
    "keepalive": case_keepalive,
}


# ------------------------------------------------------------------- damaged

def records(buf):
    """Offsets (start, end) of the records of a classic little-endian pcap."""
    out, off = [], 24
    while off + 16 <= len(buf):
        incl = struct.unpack_from("<I", buf, off + 8)[0]
        out.append((off, off + 16 + incl))
        off += 16 + incl
    return out


def make_damaged(outdir, source):
    d = os.path.join(outdir, "damaged")
    os.makedirs(d, exist_ok=True)
    src = open(source, "rb").read()
    w = []

    def put(name, data):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        w.append(p)

    put("empty.pcap", b"")
    put("notpcap.pcap", b"This is not a capture file.\nGET /v1.50/containers/json HTTP/1.1\r\n"
        b"Host: 198.18.0.2:2375\r\n\r\n")
    put("header-only.pcap", pcap_header(LT_EN10MB))
    recs = records(src)
    mid = recs[len(recs) // 2]
    put("truncated.pcap", src[:mid[0] + 16 + (mid[1] - mid[0] - 16) // 2])
    rnd = random.Random(20250701)
    b = bytearray(src)
    for _ in range(50):
        i = rnd.randrange(24, len(b))
        b[i] ^= rnd.randrange(1, 256)
    put("flipped.pcap", bytes(b))
    first = src[recs[0][0]:recs[0][1]]
    put("hugelen.pcap", pcap_header(LT_EN10MB) + first +
        struct.pack("<IIII", int(T0) + 1, 0, 0x7FFFFFFF, 0x7FFFFFFF) + b"\x00" * 64)
    _, fr = CASES["keepalive"]()
    put("badlink.pcap", pcap_header(LT_USER0) + b"".join(pcap_record(t, x) for t, x in fr))
    return w


def main():
    root = os.path.normpath(os.path.join(HERE, "..", ".."))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "pcaps")
    edge = os.path.join(outdir, "edge")
    os.makedirs(edge, exist_ok=True)
    written = []
    for name, fn in CASES.items():
        lt, fr = fn()
        written.append(write_pcap(os.path.join(edge, name + ".pcap"), lt, fr))
    src = os.path.join(outdir, "docker-cli.pcap")
    if not os.path.exists(src):
        sys.stderr.write("make_edge_pcaps: %s missing (run record.sh); damaged copies are made "
                         "from edge/keepalive.pcap\n" % src)
        src = os.path.join(edge, "keepalive.pcap")
    written += make_damaged(outdir, src)
    for p in written:
        print("%-40s %7d bytes" % (os.path.relpath(p, root), os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
