#!/usr/bin/python3
"""make_seeds.py - builds the fuzz seed corpora (tests/fuzz/corpus/<target>/s-*) from pcaps/.

Frames, TCP streams, HTTP exchanges, TLS hellos and scan probes are taken from the project's
captures (pcaps/, including the peer corpora copied into pcaps/peers/) and written in the input
format each fuzz target expects (see the comment atop each tests/fuzz/fuzz_*.c). Generated seeds
are named s-*; hand-made seeds (other names) are left alone. Output stays small (< 2 MB in all).

Usage: /usr/bin/python3 tests/fuzz/make_seeds.py [REPO_ROOT]   (needs python3-scapy)
"""
import glob
import hashlib
import os
import struct
import sys

from scapy.all import IP, TCP, IPv6, PcapReader, Raw, conf  # noqa: F401

conf.verb = 0
ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../.."))
CORPUS = os.path.join(ROOT, "tests/fuzz/corpus")
MAX_SEED = 16384  # bytes per seed file
MAX_PER_TARGET = 80
MAX_PER_SOURCE = 2  # seeds per capture and target, so every capture contributes
written = {}
per_source = {}
source = [""]


def put(target, name, data):
    """Writes one seed (deduplicated by content) unless the target has enough."""
    if not data:
        return
    data = bytes(data[:MAX_SEED])
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    seen = written.setdefault(target, set())
    h = hashlib.sha1(data).hexdigest()[:12]
    key = (target, source[0])
    if h in seen or len(seen) >= MAX_PER_TARGET or (source[0] != "generated" and per_source.get(key, 0) >= MAX_PER_SOURCE):
        return
    per_source[key] = per_source.get(key, 0) + 1
    seen.add(h)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]
    with open(os.path.join(d, "s-%s-%s" % (safe, h[:6])), "wb") as f:
        f.write(data)


def clean():
    for p in glob.glob(os.path.join(CORPUS, "*", "s-*")):
        os.unlink(p)


def packets(path, limit=4000):
    """(linktype, timestamp, raw frame bytes) of the first `limit` packets."""
    out = []
    try:
        with PcapReader(path) as r:
            lt = getattr(r, "linktype", 1)
            for i, p in enumerate(r):
                if i >= limit:
                    break
                out.append((lt, float(p.time), bytes(p)))
    except Exception as e:  # damaged captures are expected here
        print("  %s: %s (kept %d packets)" % (os.path.relpath(path, ROOT), e, len(out)))
    return out


def l3(frame_pkt):
    for cls in (IP, IPv6):
        if cls in frame_pkt:
            return frame_pkt[cls]
    return None


def tcp_streams(path):
    """Per connection: (client bytes, server bytes, [(dir, payload)] in capture order, dport)."""
    conns = {}
    try:
        rd = PcapReader(path)
    except Exception:
        return []
    with rd:
        for i, p in enumerate(rd):
            if i > 20000:
                break
            if TCP not in p:
                continue
            ip = l3(p)
            if ip is None:
                continue
            t = p[TCP]
            a, b = (ip.src, t.sport), (ip.dst, t.dport)
            key = tuple(sorted([a, b]))
            c = conns.get(key)
            if c is None:
                # client: the SYN sender, else the higher port
                cli = a if (t.flags & 0x02 and not t.flags & 0x10) or t.sport > t.dport else b
                c = conns[key] = {"cli": cli, "next": [None, None], "data": [bytearray(), bytearray()], "seq": []}
            d = 0 if a == c["cli"] else 1
            pl = bytes(t.payload) if t.payload else b""
            if t.flags & 0x02:
                c["next"][d] = (t.seq + 1) & 0xFFFFFFFF
            if not pl:
                continue
            nx = c["next"][d]
            if nx is None:
                nx = t.seq
            off = (nx - t.seq) & 0xFFFFFFFF
            if off >= 0x80000000:  # a hole: take it as is
                off = 0
            if off < len(pl):
                pl = pl[off:]
                c["data"][d] += pl
                c["seq"].append((d, pl))
                c["next"][d] = (t.seq + off + len(pl)) & 0xFFFFFFFF
    out = []
    for key, c in conns.items():
        srv = key[0] if key[1] == c["cli"] else key[1]
        out.append((bytes(c["data"][0]), bytes(c["data"][1]), c["seq"], srv[1]))
    return out


# ---- per-target encoders ----------------------------------------------------

DECODE_LT = {0: 0, 1: 1, 101: 4, 12: 4, 228: 7, 229: 8, 113: 6, 276: 9, 108: 5}
DELIM = b"\xa5\x5a\xa5\x5a"


def seed_decode(name, pkts):
    """fuzz_decode: selector byte (link type index, checksum mode), frames split on DELIM."""
    if not pkts:
        return
    lt = pkts[0][0]
    if lt not in DECODE_LT:
        return
    for start in range(0, min(len(pkts), 60), 12):
        frames = [f for _, _, f in pkts[start:start + 12]]
        put("fuzz_decode", name, bytes([DECODE_LT[lt] | 0x20]) + DELIM.join(frames))


def seed_e2e(name, pkts):
    """fuzz_e2e: [u16 length][flags][frame] records (flags bit 1: raw IP)."""
    if not pkts or pkts[0][0] not in (1, 101, 12, 228):
        return
    raw = pkts[0][0] != 1
    out, t0 = bytearray(), pkts[0][1]
    for lt, ts, f in pkts:
        flags = (2 if raw else 0) | (1 if ts - t0 > 10 else 0)
        t0 = ts
        f = f[:65535]
        rec = struct.pack(">HB", len(f), flags) + f
        if len(out) + len(rec) > MAX_SEED // 2:
            break
        out += rec
    put("fuzz_e2e", name, out)


def http_chunks(seq):
    """fuzz_http: chunks [head][bytes] (head: dir bit 0, kind 2 = (head>>4)+1 bytes)."""
    out = bytearray()
    for d, pl in seq:
        for i in range(0, len(pl), 16):
            piece = pl[i:i + 16]
            out.append(((len(piece) - 1) << 4) | (2 << 1) | d)
            out += piece
            if len(out) > MAX_SEED:
                return out
    return out


def split_http(data):
    """Messages of one direction: [(head bytes, body bytes)] (Content-Length only)."""
    msgs, i = [], 0
    while i < len(data):
        e = data.find(b"\r\n\r\n", i)
        if e < 0:
            break
        head = data[i:e + 2]
        n = 0
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                try:
                    n = int(line.split(b":", 1)[1].strip())
                except ValueError:
                    n = 0
        body = data[e + 4:e + 4 + max(n, 0)]
        if b"chunked" in head.lower():
            body = data[e + 4:e + 4 + 4096]
            n = len(data)  # one chunked message ends what we read
        msgs.append((head, body))
        i = e + 4 + max(n, 0)
    return msgs


METHODS = [b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"get"]
APP_INDEX = {"docker": 0, "kubelet": 1, "kubeapi": 2, "etcd": 3}
STATUSES = [0, 101, 200, 201, 204, 400, 401, 403, 404, 405, 500]


def app_of(port, url):
    if port in (10250, 10255) or url.startswith(b"/pods") or url.startswith(b"/run") or url.startswith(b"/exec"):
        return "kubelet"
    if port in (8080, 8001, 6443) or url.startswith(b"/api"):
        return "kubeapi"
    if port in (2379, 2380) or url.startswith(b"/v3") or url.startswith(b"/v2/keys"):
        return "etcd"
    return "docker"


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(name + b":"):
            return line.split(b":", 1)[1].strip()
    return b""


def seed_http_exchanges(name, streams):
    for cli, srv, seq, port in streams:
        if not cli:
            continue
        put("fuzz_http", name, http_chunks(seq))
        reqs, resps = split_http(cli), split_http(srv)
        for k, (rh, rb) in enumerate(reqs[:6]):
            parts = rh.split(b" ")
            if len(parts) < 2:
                continue
            method, url = parts[0], parts[1]
            resp = resps[k] if k < len(resps) else (b"", b"")
            try:
                status = int(resp[0].split(b" ")[1]) if resp[0] else 0
            except (IndexError, ValueError):
                status = 0
            st = STATUSES.index(status) if status in STATUSES else 2
            app = app_of(port, url)
            m = METHODS.index(method) if method in METHODS else 0
            sel = APP_INDEX[app] | (m << 2)
            ua, acc = header(rh, b"user-agent"), header(rh, b"accept")
            apis = bytes([sel, st]) + b"\0".join([url, ua, acc, rb[:3000], resp[1][:3000]])
            put("fuzz_apis", "%s-%s" % (name, app), apis)
            if app == "docker":
                put("fuzz_docker", name, bytes([m, status >> 8, status & 0xFF]) + url)
            if rb[:1] in (b"{", b"["):
                put("fuzz_json_fields", name, b"\x08" + rb)
                put("fuzz_json_writer", name, rb[:2000])
            if resp[1][:1] in (b"{", b"["):
                put("fuzz_json_scan", name, bytes([len(rb) & 1, k]) + resp[1])
            put("fuzz_json_writer", name + "-url", url + b"\0" + ua)


def tls_handshakes(data):
    """Handshake messages of a TLS record stream (record headers removed)."""
    hs, i = bytearray(), 0
    while i + 5 <= len(data) and data[i] in (0x14, 0x15, 0x16, 0x17):
        n = struct.unpack(">H", data[i + 3:i + 5])[0]
        if data[i] == 0x16:
            hs += data[i + 5:i + 5 + n]
        i += 5 + n
    return bytes(hs)


def seed_tls(name, streams):
    for cli, srv, seq, port in streams:
        if cli[:1] == b"\x16":
            hs = tls_handshakes(cli)
            if hs[:1] == b"\x01":
                put("fuzz_tls", name + "-ch", hs)
        if srv[:1] == b"\x16":
            hs = tls_handshakes(srv)
            if hs[:1] == b"\x02":
                put("fuzz_tls", name + "-sh", hs)
        if cli.startswith(b"PRI * HTTP/2.0"):
            body = bytearray([0x01 if port in (2379, 2380) else 0x00])  # preface sent by the target
            for d, pl in seq:
                if d == 0 and pl.startswith(b"PRI * HTTP/2.0"):
                    pl = pl[24:]
                for i in range(0, len(pl), 63):
                    piece = pl[i:i + 63]
                    body.append((len(piece) << 1) | d)
                    body += piece
            put("fuzz_h2", name, body)


SCAN_PORTS = [2375, 10250, 6443, 22, 80, 8080, 2379, 5000]


def seed_scan(name, path):
    """fuzz_scan: 2 config bytes, then 24-byte probe records from TCP packets."""
    out, t0 = bytearray([0x27, 0x35]), None
    try:
        rd = PcapReader(path)
    except Exception:
        return
    with rd:
        for i, p in enumerate(rd):
            if i > 3000 or len(out) > 8000:
                break
            if TCP not in p or IP not in p:
                continue
            ip, t = p[IP], p[TCP]
            ts = float(p.time)
            dt = 0 if t0 is None else min(255, int((ts - t0) / 0.05))
            t0 = ts
            src, dst = ip.src.split("."), ip.dst.split(".")
            d = bytearray(24)
            d[0] = dt
            d[1] = 0
            d[2] = int(src[3]) & 3 | (int(dst[3]) & 3) << 2
            d[3] = int(src[3])
            d[4] = int(dst[3])
            d[5], d[6] = t.sport >> 8, t.sport & 0xFF
            if t.dport in SCAN_PORTS:
                d[7] = SCAN_PORTS.index(t.dport)
            elif t.dport >= 0x8000:
                d[7], d[8] = t.dport >> 8, t.dport & 0xFF
            else:
                d[7] = 0
            d[9] = int(t.flags) & 0xFF
            d[10] = ip.ttl
            d[11] = 4 | 16 | (2 if ip.flags.DF else 0)  # window and IP ID as sent; TOS 0
            d[12], d[13] = t.window >> 8, t.window & 0xFF
            d[14:18] = struct.pack(">I", t.seq)
            d[18], d[19] = ip.id >> 8, ip.id & 0xFF
            opts = bytes(t)[20:t.dataofs * 4] if t.dataofs else b""
            d[20] = 0x80 if opts[:2] == b"\x02\x04" and len(opts) == 4 else len(opts) % 41
            d[21] = opts[0] if opts else 0
            d[22] = min(255, len(bytes(t.payload)))
            d[23] = 2 if i % 16 == 0 else 0
            out += d
    put("fuzz_scan", name, out)


def seed_reassembly():
    """fuzz_reassembly: 11-byte header then 10-byte segment records (see the target)."""

    def rec(d, flags, off, ln, key=0, ack=0, corrupt=False):
        o = off + 65536
        return bytes([d | (2 if corrupt else 0), flags, o & 0xFF, (o >> 8) & 0xFF, (o >> 16) & 0xFF,
                      ln & 0xFF, ln >> 8, key, ack & 0xFF, ack >> 8])

    hdr = bytes([0, 15, 3]) + struct.pack("<I", 1000) + struct.pack("<I", 0xFFFFFF00)
    ACK, PSH, FIN, RST = 0x10, 0x08, 0x01, 0x04
    inorder = hdr + b"".join(rec(0, ACK | PSH, i * 100, 100, 1) for i in range(8)) + \
        rec(1, ACK | PSH, 0, 300, 1, 50) + rec(0, ACK | FIN, 800, 0, 1) + rec(1, ACK | FIN, 300, 0, 1)
    put("fuzz_reassembly", "inorder", inorder)
    reorder = hdr + rec(0, ACK, 200, 100) + rec(0, ACK, 100, 100) + rec(0, ACK, 0, 100) + rec(1, ACK, 0, 50, 0, 30)
    put("fuzz_reassembly", "reorder", reorder)
    overlap = hdr + b"".join(rec(0, ACK, i * 7, 40) for i in range(30)) + rec(0, ACK, 50, 20, 9, 0, True)
    put("fuzz_reassembly", "overlap", overlap)
    gap = bytes([3, 1, 0]) + hdr[3:] + rec(0, ACK, 0, 10) + rec(0, ACK, 5000, 100) + rec(0, ACK, 20, 5, 0xFF)
    put("fuzz_reassembly", "gap-expire", gap)
    midstream = bytes([1, 4, 7]) + hdr[3:] + rec(1, ACK, 0, 64) + rec(0, ACK, 0, 64) + rec(0, RST, 64, 0)
    put("fuzz_reassembly", "midstream-rst", midstream)
    wrap = bytes([6, 255, 2]) + struct.pack("<I", 0xFFFFFFF0) * 2 + b"".join(rec(0, ACK, i * 9, 9) for i in range(10))
    put("fuzz_reassembly", "seqwrap-hist", wrap)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def seed_spool():
    def rec(payload):
        ln = struct.pack("<I", len(payload))
        return b"PSR1" + ln + struct.pack("<I", crc32c(payload, crc32c(ln))) + payload

    recs = [rec(b'{"a":%d}' % i) for i in range(5)]
    seg = b"".join(recs)
    put("fuzz_spool", "clean", b"\x00" + seg)
    cur = b"PSC1" + b"\0" * 4 + struct.pack("<QQ", 7, len(recs[0]) + len(recs[1]))
    cur += struct.pack("<I", crc32c(cur))
    put("fuzz_spool", "cursor", bytes([28]) + cur + seg)
    put("fuzz_spool", "torn", b"\x00" + seg + recs[0][:7])
    bad = bytearray(seg)
    bad[len(recs[0]) + 13] ^= 1
    put("fuzz_spool", "crc", b"\x00" + bytes(bad))


def seed_text():
    for p in glob.glob(os.path.join(ROOT, "config/*.conf")) + glob.glob(os.path.join(ROOT, "tests/**/*.conf"), recursive=True):
        with open(p, "rb") as f:
            put("fuzz_config", os.path.basename(p), f.read())
    put("fuzz_config", "inline", b'sensor = { name = "x"; };\nflow = { max_flows = 1000; memcap_mb = 64; };\n'
        b'docker = { ports = [2375, 4243]; };\noutput = { paths = ["-"]; };\n')
    for u in [b"redis://localhost:6379/0", b"rediss://user:p%40ss@[2001:db8::1]:6380/2?stream=ps",
              b"redis://:secret@10.0.0.1", b"unix:///run/redis.sock", b"redis://h:0/99999999999"]:
        put("fuzz_redis_uri", "uri", u)
    # fuzz_record: selector, cap, sensor, id, then fields (see its readers).
    for sel in range(3):
        put("fuzz_record", "kind%d" % sel, bytes([sel, 0x40, 0x00, 4]) + b"span" + bytes([3]) + b"abc" +
            bytes(range(1, 250)) + b"\xff\x02\xc3\x28" + bytes(200))
    worst = bytes([255, 0, 1]) * 6000  # every string filled with control bytes (6 chars each)
    for sel in range(3):
        put("fuzz_record", "worst%d" % sel, bytes([sel, 0xff, 0xff]) + worst[:MAX_SEED - 3])
    put("fuzz_record", "bigurl", bytes([0, 0x40, 0, 1, 0x41, 1, 0x41, 1, 0x41]) + b"\xff\x01\xff" * 120)


def main():
    clean()
    caps = sorted(glob.glob(os.path.join(ROOT, "pcaps/**/*.pcap*"), recursive=True))
    caps = [c for c in caps if not c.endswith(".out") and os.path.getsize(c) > 0]
    for path in caps:
        rel = os.path.relpath(path, os.path.join(ROOT, "pcaps"))
        name = rel.replace("/", "_").rsplit(".", 1)[0]
        source[0] = name
        if "damaged" in rel:
            pk = packets(path, 200)
            seed_decode(name, pk)
            continue
        pk = packets(path, 400)
        seed_decode(name, pk)
        seed_e2e(name, pk)
        if "scan" in rel:
            seed_scan(name, path)
            continue
        streams = tcp_streams(path)
        seed_http_exchanges(name, streams)
        seed_tls(name, streams)
    source[0] = "generated"
    per_source.clear()
    seed_reassembly()
    seed_spool()
    seed_text()
    total = 0
    for t, s in sorted(written.items()):
        print("%-18s %3d seeds" % (t, len(s)))
    for p in glob.glob(os.path.join(CORPUS, "*", "*")):
        total += os.path.getsize(p)
    print("corpus total: %d bytes" % total)
    if total > 2 * 1024 * 1024:
        sys.exit("corpus larger than 2 MB")


if __name__ == "__main__":
    main()
