#!/usr/bin/python3
"""resp.py - tiny RESP2 client (stdlib only) for tests/redis/run.sh.

  resp.py [--tls CA] PORT xrange STREAM FIELD   values of FIELD in STREAM, one per line
  resp.py [--tls CA] PORT subscribe CHANNEL     "ready" on stderr once subscribed, then
                                                each message on its own line (flushed)
  resp.py [--tls CA] PORT call ARG...           one command, reply printed as repr()
  resp.py multiply PCAP COPIES OUT              OUT = PCAP replayed COPIES times, the
                                                client 198.18.0.10 renumbered per copy
"""
import socket
import ssl
import struct
import sys


class Conn:
    def __init__(self, port, ca=None):
        s = socket.create_connection(("localhost" if ca else "127.0.0.1", int(port)), timeout=10)
        if ca:
            ctx = ssl.create_default_context(cafile=ca)
            s = ctx.wrap_socket(s, server_hostname="localhost")
        self.s = s
        self.f = s.makefile("rb")

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def reply(self):
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError("bad reply %r" % line)

    def call(self, *args):
        self.send(*args)
        return self.reply()


def multiply(src, copies, dst):
    data = open(src, "rb").read()
    hdr, recs, off = data[:24], [], 24
    while off + 16 <= len(data):
        s, u, cl, ol = struct.unpack("<IIII", data[off:off + 16])
        recs.append((s, u, data[off + 16:off + 16 + cl]))
        off += 16 + cl
    span = recs[-1][0] - recs[0][0] + 2
    cli = bytes([198, 18, 0, 10])
    with open(dst, "wb") as f:
        f.write(hdr)
        for k in range(copies):
            new = bytes([10, 60 + (k >> 16), (k >> 8) & 255, k & 255])
            for s, u, pkt in recs:
                b = bytearray(pkt)
                if len(b) >= 34 and b[12:14] == b"\x08\x00":
                    if b[26:30] == cli:
                        b[26:30] = new
                    if b[30:34] == cli:
                        b[30:34] = new
                f.write(struct.pack("<IIII", s + k * span, u, len(b), len(b)) + bytes(b))


def main():
    a = sys.argv[1:]
    if a and a[0] == "multiply":
        multiply(a[1], int(a[2]), a[3])
        return
    ca = None
    if a and a[0] == "--tls":
        ca, a = a[1], a[2:]
    c = Conn(a[0], ca)
    cmd = a[1]
    if cmd == "xrange":
        last = "-"
        while True:
            r = c.call("XRANGE", a[2], last, "+", "COUNT", 1000)
            if isinstance(r, Exception):
                raise r
            if last != "-":
                r = r[1:]
            if not r:
                break
            for eid, fields in r:
                d = dict(zip(fields[0::2], fields[1::2]))
                sys.stdout.buffer.write(d.get(a[3].encode(), b"") + b"\n")
            last = r[-1][0].decode()
    elif cmd == "subscribe":
        c.send("SUBSCRIBE", a[2])
        c.reply()
        sys.stderr.write("ready\n")
        sys.stderr.flush()
        while True:
            m = c.reply()
            if isinstance(m, list) and m[0] == b"message":
                sys.stdout.buffer.write(m[2] + b"\n")
                sys.stdout.flush()
    elif cmd == "call":
        print(repr(c.call(*a[2:])))


if __name__ == "__main__":
    try:
        main()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
