#!/usr/bin/python3
"""make_robust_pcaps.py - hostile and damaged captures for tests/robust/run.sh.

Writes into OUT_DIR (a temporary directory; nothing here is committed):
  snaplen.pcap        an HTTP session captured with snaplen 60 (every data packet cut)
  ipv4-totlen.pcap    IPv4 total length larger than the frame, and smaller than the header
  tcp-doff.pcap       TCP data offset below 5 and past the end of the segment
  ipv6-ext100.pcap    IPv6 with a chain of 100 extension headers before TCP
  overlap50k.pcap     50,000 overlapping segments on one flow (some with different bytes)
  pipeline100k.pcap   100,000 pipelined Docker API requests on one connection, answered
  header1m.pcap       a request with a 1 MiB header line
  headers10k.pcap     a request with 10,000 header lines
  utf8.pcap           invalid UTF-8 in the URL, User-Agent and Host of Docker API calls
  utf8-long.pcap      the same with 1000-byte URLs of invalid UTF-8 (records near the size cap)
  hugerec.pcap        a record header claiming a 2 GiB packet
  truncated.pcap      a capture cut in the middle of a record
  badmagic.pcap       a file whose magic is not pcap's or pcapng's
  flip-NN.pcap        a real session with bytes flipped at random (fixed seeds)
Plain struct packing (no scapy), so 100k-packet files take seconds.

Usage: /usr/bin/python3 tests/robust/make_robust_pcaps.py OUT_DIR
"""
import os
import random
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "."
CLI_MAC, SRV_MAC = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
CLI, SRV = bytes([198, 18, 0, 10]), bytes([198, 18, 0, 2])
CLI6 = bytes.fromhex("20010db8000000000000000000000010")
SRV6 = bytes.fromhex("20010db8000000000000000000000002")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def tcp_hdr(sport, dport, seq, ack, flags, payload, src, dst, doff=5, v6=False):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                    (doff & 0xF) << 4, flags, 65535, 0, 0)
    plen = len(h) + len(payload)
    if v6:
        pseudo = src + dst + struct.pack("!IxxxB", plen, 6)
    else:
        pseudo = src + dst + struct.pack("!xBH", 6, plen)
    c = csum(pseudo + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:]


def ipv4(src, dst, proto, body, totlen=None, ident=1):
    tl = 20 + len(body) if totlen is None else totlen
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tl, ident & 0xFFFF, 0x4000, 64, proto, 0, src, dst)
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + body


def eth(payload, to_srv=True, etype=0x0800):
    d, s = (SRV_MAC, CLI_MAC) if to_srv else (CLI_MAC, SRV_MAC)
    return d + s + struct.pack("!H", etype) + payload


class Tcp:
    """One TCP connection; seg() returns an Ethernet frame with correct checksums."""

    def __init__(self, cport=40000, sport=2375):
        self.cport, self.sport = cport, sport
        self.seq = [1000, 500000]
        self.ident = 1

    def frame(self, d, flags, payload=b"", seq=None):
        src, dst = (CLI, SRV) if d == 0 else (SRV, CLI)
        sp, dp = (self.cport, self.sport) if d == 0 else (self.sport, self.cport)
        s = self.seq[d] if seq is None else seq
        ack = self.seq[1 - d] if flags & 0x10 else 0
        t = tcp_hdr(sp, dp, s, ack, flags, payload, src, dst)
        self.ident += 1
        return eth(ipv4(src, dst, 6, t + payload, ident=self.ident), d == 0)

    def seg(self, d, flags, payload=b""):
        f = self.frame(d, flags, payload)
        self.seq[d] = (self.seq[d] + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF
        return f

    def handshake(self):
        return [self.seg(0, 0x02), self.seg(1, 0x12), self.seg(0, 0x10)]

    def send(self, d, data, mss=1400):
        return [self.seg(d, 0x18, data[i:i + mss]) for i in range(0, len(data), mss)]

    def close(self):
        return [self.seg(0, 0x11), self.seg(1, 0x11), self.seg(0, 0x10)]


def write_pcap(name, frames, snaplen=262144, cut=None, t0=1751364000.0, step=0.0001):
    """Classic little-endian microsecond pcap; cut(frame) gives the captured length."""
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
        for i, fr in enumerate(frames):
            t = t0 + i * step
            cap = len(fr) if cut is None else min(len(fr), cut(fr))
            f.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), cap, len(fr)))
            f.write(fr[:cap])


RESP = (b"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Type: application/json\r\n"
        b"Server: Docker/24.0.7 (linux)\r\nContent-Length: 2\r\n\r\n[]")


def docker_session(req, resp=RESP, cport=40000):
    c = Tcp(cport)
    return c.handshake() + c.send(0, req) + c.send(1, resp) + c.close()


def main():
    os.makedirs(OUT, exist_ok=True)
    req = b"GET /v1.43/containers/json HTTP/1.1\r\nHost: 198.18.0.2:2375\r\nUser-Agent: Docker-Client/24.0.7 (linux)\r\n\r\n"

    write_pcap("snaplen.pcap", docker_session(req), snaplen=60, cut=lambda fr: 60)

    c = Tcp(40001)
    fr = c.handshake()
    good = c.frame(0, 0x18, req)
    ip = bytearray(good[14:])
    big = bytearray(ip)
    struct.pack_into("!H", big, 2, 65535)  # longer than the frame
    small = bytearray(ip)
    struct.pack_into("!H", small, 2, 10)  # shorter than its own header
    hl = bytearray(ip)
    hl[0] = 0x4F  # header length 60 > what is there for options
    write_pcap("ipv4-totlen.pcap", fr + [eth(bytes(x)) for x in (big, small, hl)] + c.close())

    c = Tcp(40002)
    fr = c.handshake()
    t_small = tcp_hdr(40002, 2375, c.seq[0], c.seq[1], 0x18, req, CLI, SRV, doff=2)
    t_big = tcp_hdr(40002, 2375, c.seq[0], c.seq[1], 0x18, b"", CLI, SRV, doff=15)
    write_pcap("tcp-doff.pcap", fr + [eth(ipv4(CLI, SRV, 6, t_small + req)),
                                      eth(ipv4(CLI, SRV, 6, t_big))] + c.close())

    # IPv6: 100 destination-options headers (8 bytes each), then TCP SYN.
    t = tcp_hdr(40003, 2375, 1, 0, 0x02, b"", CLI6, SRV6, v6=True)
    ext = b"".join(bytes([60 if i < 99 else 6, 0]) + b"\x01\x04\0\0\0\0" for i in range(100))
    pkt6 = struct.pack("!IHBB16s16s", 0x60000000, len(ext) + len(t), 60, 64, CLI6, SRV6) + ext + t
    hbh = struct.pack("!IHBB16s16s", 0x60000000, len(ext) + len(t), 0, 64, CLI6, SRV6) + ext + t
    write_pcap("ipv6-ext100.pcap", [eth(pkt6, etype=0x86DD), eth(hbh, etype=0x86DD)])

    # 50,000 overlapping segments: each 100 bytes, advancing by 10, shuffled within windows of
    # 8 (so they overlap while out of order); every 97th past the first requests differs.
    c = Tcp(40004)
    fr = c.handshake()
    base = c.seq[0]
    stream = (req * 5000)[:50000 * 10 + 100]
    segs = []
    for i in range(50000):
        data = stream[i * 10:i * 10 + 100]
        if i >= 100 and i % 97 == 0:
            data = b"X" * len(data)
        segs.append(c.frame(0, 0x18, data, seq=base + i * 10))
    rnd = random.Random(1)
    for w in range(0, len(segs), 8):
        win = segs[w:w + 8]
        rnd.shuffle(win)
        fr += win
    c.seq[0] = base + 49999 * 10 + 100
    write_pcap("overlap50k.pcap", fr + c.send(1, RESP) + c.close(), step=0.00001)

    # 100,000 pipelined requests, sent in full segments; then all answers.
    c = Tcp(40005)
    fr = c.handshake()
    reqs = b"".join(b"GET /v1.43/containers/json?n=%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(100000))
    fr += c.send(0, reqs)
    fr += c.send(1, RESP * 100000)
    write_pcap("pipeline100k.pcap", fr + c.close(), step=0.00001)

    big_hdr = b"GET /v1.43/info HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
    write_pcap("header1m.pcap", docker_session(big_hdr, cport=40006))

    many = b"GET /v1.43/info HTTP/1.1\r\nHost: h\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n"
    write_pcap("headers10k.pcap", docker_session(many, cport=40007))

    bad = (b"GET /v1.43/containers/json?x=\xff\xfe\xc3\x28\xed\xa0\x80\xf4\x90\x80\x80 HTTP/1.1\r\n"
           b"Host: \xc0\xaf\xe2\x82:2375\r\nUser-Agent: Docker-Client/\xff\xbe (linux\x80)\r\n\r\n")
    write_pcap("utf8.pcap", docker_session(bad, cport=40008))

    # Eight calls with 1000-byte URLs of invalid UTF-8 (each byte written as 4 characters).
    fr = []
    for k in range(8):
        url = b"/v1.43/containers/json?" + bytes([0x41 + k]) + b"=" + b"\xff" * 1000
        r = b"GET " + url + b" HTTP/1.1\r\nHost: \xff" + b"\xfe" * 200 + b"\r\nUser-Agent: \xff" + b"\xfe" * 200 + b"\r\n\r\n"
        fr += docker_session(r, cport=40100 + k)
    write_pcap("utf8-long.pcap", fr)

    # A good session, then a record header claiming 2 GiB.
    path = os.path.join(OUT, "hugerec.pcap")
    write_pcap("hugerec.pcap", docker_session(req, cport=40009))
    with open(path, "ab") as f:
        f.write(struct.pack("<IIII", 1751364001, 0, 0x80000000, 0x80000000) + b"\0" * 64)

    write_pcap("whole.pcap", docker_session(req, cport=40010) * 1)
    with open(os.path.join(OUT, "whole.pcap"), "rb") as f:
        whole = f.read()
    with open(os.path.join(OUT, "truncated.pcap"), "wb") as f:
        f.write(whole[:len(whole) - 37])
    with open(os.path.join(OUT, "badmagic.pcap"), "wb") as f:
        f.write(b"\x00\x01\x02\x03" + whole[4:])
    for seed in range(12):
        rnd = random.Random(seed)
        b = bytearray(whole)
        for _ in range(8 + seed * 4):
            i = rnd.randrange(24, len(b))
            b[i] ^= 1 << rnd.randrange(8)
        with open(os.path.join(OUT, "flip-%02d.pcap" % seed), "wb") as f:
            f.write(b)


if __name__ == "__main__":
    main()
