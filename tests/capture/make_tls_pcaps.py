#!/usr/bin/python3
"""make_tls_pcaps.py - hand-built TLS / h2c / nDPI captures that real clients here cannot produce.

Run with /usr/bin/python3 (scapy builds IP/TCP headers and checksums):
  tests/capture/make_tls_pcaps.py [OUTDIR]      (default: <repo>/pcaps)
writes
  tls/pq-split-hello.pcap   Chrome-like ClientHello with GREASE and an X25519MLKEM768 key
                            share (1.7 KB), split over 3 TCP segments, to 6443; TLS 1.3
                            ServerHello answer. JA3/JA4 computed here independently of the C
                            code are printed (and listed in pcaps/README.md).
  tls/etcd-grpc-path.pcap   h2c to port 12379 whose HEADERS send :path raw
                            (/etcdserverpb.KV/Range): etcd found from the path, not the port.
  edge/midstream-oddport.pcap  a keep-alive Docker API connection on port 9999 picked up
                            mid-stream inside a request body: the first client bytes match
                            no probe (and nDPI 4.2 gives up on HTTP after them); the server's
                            next response head restarts HTTP, the request after it is seen.
Deterministic: fixed ISNs, timestamps and bytes. Addresses: 198.18.0.0/15 only.
"""
import hashlib
import logging
import os
import struct
import sys

logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.layers.inet import IP, TCP  # noqa: E402

CLI, SRV = "198.18.3.10", "198.18.3.2"
CMAC = bytes.fromhex("0200c612030a")
SMAC = bytes.fromhex("0200c6120302")
T0 = 1751367600.0  # 2025-07-01 11:00:00 UTC


class Pcap:
    def __init__(self):
        self.recs = []
        self.t = T0

    def frame(self, src_mac, dst_mac, ip):
        raw = bytes(ip)
        eth = dst_mac + src_mac + b"\x08\x00" + raw
        self.t += 0.0005
        sec = int(self.t)
        usec = int(round((self.t - sec) * 1e6))
        self.recs.append(struct.pack("<IIII", sec, usec, len(eth), len(eth)) + eth)

    def write(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
            for r in self.recs:
                f.write(r)
        print("wrote", path)


class Conn:
    """One TCP connection; handshake optional (mid-stream pickup)."""

    def __init__(self, pcap, cport, sport, handshake=True, cisn=1000, sisn=500000):
        self.p, self.cport, self.sport = pcap, cport, sport
        self.cseq, self.sseq = cisn, sisn
        if handshake:
            self._pkt(True, "S", b"")
            self.cseq += 1
            self._pkt(False, "SA", b"")
            self.sseq += 1
            self._pkt(True, "A", b"")

    def _pkt(self, from_client, flags, data):
        if from_client:
            ip = IP(src=CLI, dst=SRV, id=1) / TCP(sport=self.cport, dport=self.sport, flags=flags,
                                                  seq=self.cseq, ack=self.sseq if "A" in flags else 0,
                                                  window=64240) / data
            self.p.frame(CMAC, SMAC, ip)
        else:
            ip = IP(src=SRV, dst=CLI, id=1) / TCP(sport=self.sport, dport=self.cport, flags=flags,
                                                  seq=self.sseq, ack=self.cseq, window=64240) / data
            self.p.frame(SMAC, CMAC, ip)

    def send(self, from_client, data, seg=1400):
        for off in range(0, len(data), seg):
            chunk = data[off:off + seg]
            self._pkt(from_client, "PA", chunk)
            if from_client:
                self.cseq += len(chunk)
            else:
                self.sseq += len(chunk)
            self._pkt(not from_client, "A", b"")

    def close(self):
        self._pkt(True, "FA", b"")
        self.cseq += 1
        self._pkt(False, "FA", b"")
        self.sseq += 1
        self._pkt(True, "A", b"")


# ------------------------------------------------------------------ TLS bytes

def u16(v):
    return struct.pack(">H", v)


def vec8(b):
    return bytes([len(b)]) + b


def vec16(b):
    return u16(len(b)) + b


CIPHERS = [0x2A2A, 4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172,
           156, 157, 47, 53]
SIGALGS = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
GROUPS = [0x5A5A, 4588, 29, 23, 24]
SNI = b"kubernetes.default.svc.cluster.local"
ALPN = [b"h2", b"http/1.1"]


def ext(t, body):
    return u16(t) + vec16(body)


def client_hello():
    mlkem = bytes((i * 13 + 7) & 0xFF for i in range(1216))
    x25519 = bytes((i * 29 + 3) & 0xFF for i in range(32))
    exts = [
        ext(0x3A3A, b""),
        ext(0x0000, vec16(b"\x00" + vec16(SNI))),
        ext(0x0017, b""),
        ext(0xFF01, b"\x00"),
        ext(0x000A, vec16(b"".join(u16(g) for g in GROUPS))),
        ext(0x000B, vec8(b"\x00")),
        ext(0x0023, b""),
        ext(0x0010, vec16(b"".join(vec8(a) for a in ALPN))),
        ext(0x0005, b"\x01\x00\x00\x00\x00"),
        ext(0x000D, vec16(b"".join(u16(s) for s in SIGALGS))),
        ext(0x0012, b""),
        ext(0x0033, vec16(u16(0x5A5A) + vec16(b"\x00") + u16(0x11EC) + vec16(mlkem + x25519)
                          + u16(29) + vec16(x25519))),
        ext(0x002D, vec8(b"\x01")),
        ext(0x002B, vec8(u16(0x6A6A) + u16(0x0304) + u16(0x0303))),
        ext(0x001B, vec16(u16(2))[0:1] + u16(2)),  # compress_certificate: brotli
        ext(0x4469, vec16(vec8(b"h2"))),
        ext(0x4A4A, b"\x00"),
    ]
    body = (u16(0x0303) + bytes(range(32)) + vec8(bytes([0xEE] * 32))
            + vec16(b"".join(u16(c) for c in CIPHERS)) + vec8(b"\x00") + vec16(b"".join(exts)))
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    ext_types = [struct.unpack(">H", e[:2])[0] for e in exts]
    return hs, ext_types


def grease(v):
    return (v & 0x0F0F) == 0x0A0A and (v >> 8) == (v & 0xFF)


def fingerprints(ext_types):
    """JA3 and JA4 from the spec texts, independently of dissectors/tls.c."""
    c = [x for x in CIPHERS if not grease(x)]
    e = [x for x in ext_types if not grease(x)]
    g = [x for x in GROUPS if not grease(x)]
    ja3s = "771,%s,%s,%s,0" % ("-".join(map(str, c)), "-".join(map(str, e)),
                               "-".join(map(str, g)))
    ja3 = hashlib.md5(ja3s.encode()).hexdigest()
    ch = hashlib.sha256(",".join("%04x" % x for x in sorted(c)).encode()).hexdigest()[:12]
    es = ",".join("%04x" % x for x in sorted(x for x in e if x not in (0, 0x10)))
    es += "_" + ",".join("%04x" % x for x in SIGALGS)
    eh = hashlib.sha256(es.encode()).hexdigest()[:12]
    ja4 = "t13d%02d%02dh2_%s_%s" % (min(len(c), 99), min(len(e), 99), ch, eh)
    return ja3, ja4


def record(ctype, payload):
    return bytes([ctype, 3, 1]) + vec16(payload)


def server_hello():
    exts = ext(0x002B, u16(0x0304)) + ext(0x0033, u16(29) + vec16(bytes(32)))
    body = u16(0x0303) + bytes([0x42] * 32) + vec8(bytes([0xEE] * 32)) + u16(0x1301) + b"\x00"
    body += vec16(exts)
    return b"\x02" + struct.pack(">I", len(body))[1:] + body


def pq_split(out):
    p = Pcap()
    hs, types = client_hello()
    wire = record(22, hs)
    c = Conn(p, 51000, 6443)
    third = (len(wire) + 2) // 3
    c.send(True, wire, seg=third)  # 3 segments
    c.send(False, bytes([22, 3, 3]) + vec16(server_hello())
           + bytes([20, 3, 3, 0, 1, 1]) + bytes([23, 3, 3]) + vec16(bytes(64)))
    c.send(True, bytes([20, 3, 3, 0, 1, 1]) + bytes([23, 3, 3]) + vec16(bytes(80)))
    c.close()
    p.write(os.path.join(out, "tls", "pq-split-hello.pcap"))
    ja3, ja4 = fingerprints(types)
    print("  ClientHello %d bytes in 3 segments; expected ja3=%s ja4=%s" % (len(wire), ja3, ja4))


def h2_frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def etcd_path(out):
    p = Pcap()
    c = Conn(p, 51100, 12379)
    path = b"/etcdserverpb.KV/Range"
    block = b"\x83\x86" + b"\x04" + vec8(path) + b"\x41" + vec8(b"198.18.3.2:12379")
    block += b"\x00" + vec8(b"content-type") + vec8(b"application/grpc")
    c.send(True, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + h2_frame(4, 0, 0, b""))
    c.send(False, h2_frame(4, 0, 0, b"") + h2_frame(4, 1, 0, b""))
    c.send(True, h2_frame(4, 1, 0, b"") + h2_frame(1, 4, 1, block)
           + h2_frame(0, 1, 1, b"\x00\x00\x00\x00\x05\x0a\x03foo"))
    c.send(False, h2_frame(1, 4, 1, b"\x88") + h2_frame(0, 0, 1, b"\x00\x00\x00\x00\x00")
           + h2_frame(1, 5, 1, b"\x00" + vec8(b"grpc-status") + vec8(b"0")))
    c.close()
    p.write(os.path.join(out, "tls", "etcd-grpc-path.pcap"))


def midstream_oddport(out):
    p = Pcap()
    c = Conn(p, 51200, 9999, handshake=False, cisn=777000, sisn=888000)
    body_tail = b'"HostConfig":{"Privileged":false},"Image":"alpine:3.20","Cmd":["id"]}'
    c.send(True, body_tail)  # capture starts inside a POST /containers/create body
    docker_hdrs = (b"Api-Version: 1.47\r\nDocker-Experimental: false\r\nOstype: linux\r\n"
                   b"Server: Docker/27.5.1 (linux)\r\nDate: Tue, 01 Jul 2025 11:00:00 GMT\r\n")
    created = b'{"Id":"4f1c0e2b9a7d","Warnings":[]}\n'
    c.send(False, b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n" + docker_hdrs
           + b"Content-Length: %d\r\n\r\n" % len(created) + created)
    c.send(True, b"GET /v1.47/containers/json HTTP/1.1\r\nHost: 198.18.3.2:9999\r\n"
           b"User-Agent: Docker-Client/27.5.1 (linux)\r\n\r\n")
    lst = b'[{"Id":"4f1c0e2b9a7d","Image":"alpine:3.20"}]\n'
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + docker_hdrs
           + b"Content-Length: %d\r\n\r\n" % len(lst) + lst)
    c.close()
    p.write(os.path.join(out, "edge", "midstream-oddport.pcap"))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "pcaps")
    pq_split(out)
    etcd_path(out)
    midstream_oddport(out)


if __name__ == "__main__":
    main()
