#!/usr/bin/env python3
"""check_pcaps.py - an independent, slow reference decoder that lists the HTTP exchanges in the test captures.

Standard library only. Decodes the link types and tunnels used by the
captures, reassembles IPv4 fragments and TCP streams (first copy wins, as in
Linux), parses HTTP/1.x (Content-Length, chunked, gzip, 101 stops parsing) and
prints one line per exchange: method target -> status objects=N, where N is
the item count of a JSON array answer (or -1). With --expect it compares the
edge captures with the expectations below and exits non-zero on a mismatch;
it checks the captures, not portside.

  tests/capture/check_pcaps.py [--expect] [FILE...]   (default: pcaps/edge/*.pcap)
"""
import glob
import gzip
import hashlib
import json
import os
import struct
import sys
import zlib

# Expected exchanges (method, target, status, objects) per edge capture.
LIST = ("GET", "/v1.50/containers/json", 200, 3)
EXPECT = {name: [LIST] for name in (
    "reorder", "retrans", "onebyte", "overlap-same", "overlap-diff", "chunked", "gzip", "ipv6",
    "vlan", "qinq", "mpls", "sll", "sll2", "null", "raw", "vxlan", "geneve", "gre-erspan2",
    "ipip", "fragments", "midstream", "seqwrap", "dup-span", "badcsum")}
EXPECT["oneside"] = [("GET", "/v1.50/containers/json", None, -1)]
EXPECT["pipeline"] = [("HEAD", "/_ping", 200, -1), ("GET", "/v1.50/version", 200, -1), LIST]
EXPECT["keepalive"] = [("GET", "/v1.50/version", 200, -1), LIST]
_CID = hashlib.sha256(b"container-web-frontend").hexdigest()  # as stub_docker.py
_EID = hashlib.sha256(b"exec-web-frontend").hexdigest()
EXPECT["upgrade"] = [("POST", "/v1.50/containers/%s/exec" % _CID, 201, -1),
                     ("POST", "/v1.50/exec/%s/start" % _EID, 101, -1)]


def read_pcap(path):
    """(linktype, [(ts, frame)]) of a pcap or pcapng file."""
    b = open(path, "rb").read()
    if len(b) < 24:
        raise ValueError("too short")
    magic = struct.unpack_from("<I", b)[0]
    if magic == 0x0A0D0D0A:
        return read_pcapng(b)
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise ValueError("not a capture")
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    lt = struct.unpack_from(e + "I", b, 20)[0] & 0xFFFF
    off, out = 24, []
    while off + 16 <= len(b):
        s, us, incl, _ = struct.unpack_from(e + "IIII", b, off)
        if incl > 262144 or off + 16 + incl > len(b):
            raise ValueError("bad record at %d" % off)
        out.append((s + us / (1e9 if nano else 1e6), b[off + 16:off + 16 + incl]))
        off += 16 + incl
    return lt, out


def read_pcapng(b):
    off, lt, out, e = 0, None, [], "<"
    while off + 12 <= len(b):
        btype = struct.unpack_from(e + "I", b, off)[0]
        if btype == 0x0A0D0D0A:
            e = "<" if struct.unpack_from("<I", b, off + 8)[0] == 0x1A2B3C4D else ">"
        blen = struct.unpack_from(e + "I", b, off + 4)[0]
        if btype == 1 and lt is None:
            lt = struct.unpack_from(e + "H", b, off + 8)[0]
        elif btype == 6:
            hi, lo, cap = struct.unpack_from(e + "III", b, off + 12)
            out.append((((hi << 32) | lo) / 1e6, b[off + 28:off + 28 + cap]))
        off += blen
    return lt, out


def eth_payload(f):
    if len(f) < 14:
        return None
    et, off = struct.unpack_from("!H", f, 12)[0], 14
    while et in (0x8100, 0x88A8) and off + 4 <= len(f):
        et, off = struct.unpack_from("!H", f, off + 2)[0], off + 4
    if et == 0x8847:
        while off + 4 <= len(f):
            bos = f[off + 2] & 1
            off += 4
            if bos:
                break
        return f[off:]
    return f[off:] if et in (0x0800, 0x86DD) else None


class Decoder:
    def __init__(self):
        self.frags = {}

    def link(self, lt, f):
        if lt == 1:
            return eth_payload(f)
        if lt == 113:
            return f[16:] if len(f) >= 16 and struct.unpack_from("!H", f, 14)[0] in (0x800, 0x86DD) else None
        if lt == 276:
            return f[20:] if len(f) >= 20 and struct.unpack_from("!H", f, 0)[0] in (0x800, 0x86DD) else None
        if lt == 0:
            return f[4:] if len(f) >= 4 else None
        if lt == 101:
            return f
        return None

    def ip(self, p, depth=0):
        """-> (src, dst, tcp bytes) or None."""
        if not p or depth > 3:
            return None
        v = p[0] >> 4
        if v == 4:
            ihl = (p[0] & 15) * 4
            tot = struct.unpack_from("!H", p, 2)[0]
            p = p[:tot]
            ident, fo = struct.unpack_from("!HH", p, 4)
            proto, src, dst = p[9], p[12:16], p[16:20]
            pl = p[ihl:]
            mf, off = fo & 0x2000, (fo & 0x1FFF) * 8
            if mf or off:
                k = (src, dst, ident, proto)
                ent = self.frags.setdefault(k, {"parts": {}, "end": None})
                ent["parts"].setdefault(off, pl)  # first copy wins
                if not mf:
                    ent["end"] = off + len(pl)
                if ent["end"] is None:
                    return None
                buf, pos = b"", 0
                for o in sorted(ent["parts"]):
                    if o > pos:
                        return None
                    buf += ent["parts"][o][pos - o:]
                    pos = max(pos, o + len(ent["parts"][o]))
                if pos < ent["end"]:
                    return None
                del self.frags[k]
                pl = buf
            return self.l4(proto, src, dst, pl, depth)
        if v == 6:
            return self.l4(p[6], p[8:24], p[24:40], p[40:40 + struct.unpack_from("!H", p, 4)[0]],
                           depth)
        return None

    def l4(self, proto, src, dst, pl, depth):
        if proto == 6:
            return src, dst, pl
        if proto in (4, 41):
            return self.ip(pl, depth + 1)
        if proto == 47 and len(pl) >= 4:
            flags, et = struct.unpack_from("!HH", pl)
            off = 4 + (4 if flags & 0x8000 else 0) + (4 if flags & 0x2000 else 0) + \
                (4 if flags & 0x1000 else 0)
            if et == 0x88BE:
                off += 8
            elif et != 0x6558:
                return self.ip(pl[off:], depth + 1) if et in (0x800, 0x86DD) else None
            return self.ip(eth_payload(pl[off:]), depth + 1)
        if proto == 17 and len(pl) >= 8:
            dport = struct.unpack_from("!H", pl, 2)[0]
            u = pl[8:]
            if dport == 4789:
                return self.ip(eth_payload(u[8:]), depth + 1)
            if dport == 6081 and len(u) >= 8:
                return self.ip(eth_payload(u[8 + (u[0] & 63) * 4:]), depth + 1)
        return None


class Stream:
    """One direction's bytes; arrivals kept in order so the first copy of a byte wins."""

    def __init__(self):
        self.base = None
        self.arrivals = []  # (offset from the first byte, data)

    def bytes(self):
        buf, have = bytearray(), bytearray()
        for rel, d in self.arrivals:
            end = rel + len(d)
            if end > len(buf):
                buf.extend(b"\0" * (end - len(buf)))
                have.extend(b"\0" * (end - len(have)))
            for i, ch in enumerate(d):
                if not have[rel + i]:
                    buf[rel + i] = ch
                    have[rel + i] = 1
        n = 0
        while n < len(have) and have[n]:
            n += 1
        return bytes(buf[:n])


def streams(path):
    lt, frames = read_pcap(path)
    dec = Decoder()
    flows = {}
    for _, f in frames:
        p = dec.link(lt, f)
        r = dec.ip(p) if p else None
        if not r:
            continue
        src, dst, t = r
        if len(t) < 20:
            continue
        sp, dp, seq = struct.unpack_from("!HHI", t)
        doff = (t[12] >> 4) * 4
        flags = t[13]
        key = (src, sp, dst, dp)
        st = flows.get(key)
        if st is None:
            st = flows[key] = Stream()
        data = t[doff:]
        if flags & 2:
            st.base = (seq + 1) & 0xFFFFFFFF
            continue
        if data:
            if st.base is None:
                st.base = seq
            rel = (seq - st.base) & 0xFFFFFFFF
            if rel < 0x80000000:
                st.arrivals.append((rel, data))
    return flows


def parse_head(b, pos):
    end = b.find(b"\r\n\r\n", pos)
    if end < 0:
        return None
    lines = b[pos:end].decode("latin-1").split("\r\n")
    hdr = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdr[k.strip().lower()] = v.strip()
    return lines[0], hdr, end + 4


def body(b, pos, hdr, no_body):
    if no_body:
        return b"", pos
    if "chunked" in hdr.get("transfer-encoding", "").lower():
        out = b""
        while True:
            e = b.find(b"\r\n", pos)
            if e < 0:
                return None, len(b)
            n = int(b[pos:e].split(b";")[0], 16)
            pos = e + 2
            if n == 0:
                e = b.find(b"\r\n", pos)
                return out, (e + 2 if e >= 0 else len(b))
            out += b[pos:pos + n]
            pos += n + 2
    n = int(hdr.get("content-length", "0") or 0)
    return b[pos:pos + n], pos + n


def exchanges(path):
    flows = streams(path)
    out = []
    for key, st in flows.items():
        src, sp, dst, dp = key
        if dp not in (2375, 4243, 8080):
            continue
        c2s = st.bytes()
        back = flows.get((dst, dp, src, sp))
        s2c = back.bytes() if back else b""
        reqs, pos = [], 0
        while pos < len(c2s):
            h = parse_head(c2s, pos)
            if not h:
                break
            line, hdr, pos = h
            _, pos = body(c2s, pos, hdr, False)
            reqs.append((line.split(" ")[0], line.split(" ")[1], hdr))
            if hdr.get("upgrade"):
                break
        pos = 0
        for m, target, _ in reqs:
            h = parse_head(s2c, pos) if pos < len(s2c) else None
            if not h:
                out.append((m, target, None, -1))
                continue
            line, hdr, pos = h
            status = int(line.split(" ")[1])
            bd, pos = body(s2c, pos, hdr, m == "HEAD" or status in (101, 204, 304))
            objects = -1
            if bd and "gzip" in hdr.get("content-encoding", ""):
                bd = gzip.decompress(bd)
            if bd and bd.lstrip()[:1] == b"[":
                try:
                    objects = len(json.loads(bd))
                except ValueError:
                    objects = -2
            out.append((m, target, status, objects))
            if status == 101:
                break
    return out


def main(argv):
    expect = "--expect" in argv
    files = [a for a in argv if not a.startswith("--")]
    if not files:
        root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
        files = sorted(glob.glob(os.path.join(root, "pcaps", "edge", "*.pcap")))
    bad = 0
    for f in files:
        try:
            ex = exchanges(f)
        except (ValueError, struct.error, zlib.error, EOFError, OSError) as e:
            print("%s: unreadable (%s)" % (f, e))
            continue
        name = os.path.basename(f).rsplit(".", 1)[0]
        ok = ""
        if expect and name in EXPECT:
            want = EXPECT[name]
            got = ex
            ok = " OK" if got == want else " MISMATCH (want %s)" % (want,)
            bad += got != want
        print("%s:%s" % (f, ok))
        for m, t, s, o in ex:
            print("    %s %s -> %s objects=%d" % (m, t, s, o))
    if expect:
        print("%d passed, %d failed" % (len(files) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
