#!/usr/bin/python3
"""make_scan_pcaps.py - hand-built scanner captures (tools and builds not installable here) for portside's scan detection.

Run with /usr/bin/python3 (scapy builds the headers and checksums):
  tests/capture/make_scan_pcaps.py [OUTDIR]      (default: <repo>/pcaps/scan)
Deterministic: fixed seeds and timestamps. Packets follow
docs/shared reference scanners.md (masscan src/templ-pkt.c, zmap
src/probe_modules/module_tcp_synscan.c, nmap scan engine); addresses are
198.18.0.0/15 only. Expected results are in tests/unit/test_scan.c
(cap_table) and the table at the end of this docstring.

  masscan-master.pcap     198.18.0.66  masscan-master (window 1025, MSS, ports p/p+16)
  masscan-banner.pcap     198.18.0.66  masscan 1.3.x banner connections (window 1200)
  masscan-routermac.pcap  198.18.0.153 masscan, Ethernet dst 66:55:44:33:22:11
  zmap-2x.pcap            198.18.0.66  zmap <=4.0 (IP ID 54321, TTL 255)
  zmap-41.pcap            198.18.0.66  zmap >=4.1 (TTL 64, Windows option order, no DF)
  nmap-old.pcap           198.18.0.66  nmap before 2011 (windows 2048-4096, shared seq)
  internet-thin.pcap      198.19.240.13 masscan, only 3 probes in our /24 over 9 minutes
  benign-connects.pcap    none         300 Linux connect() SYNs from 20 clients
"""
import logging
import os
import random
import sys

logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402
from scapy.utils import wrpcap  # noqa: E402

T0 = 1751364000.0  # 2025-07-01 10:00:00 UTC
SCANNER = "198.18.0.66"
SMAC = "02:00:c6:12:00:42"
TMAC = "02:00:c6:12:00:02"
ROUTER_MAC = "66:55:44:33:22:11"
PORTS = [2375, 2376, 2377, 4243, 4244, 10250, 10255, 10256, 6443, 8080, 8001, 2379, 2380, 5000]
LISTEN = {("198.18.0.2", 2375), ("198.18.0.3", 2375), ("198.18.0.2", 10250), ("198.18.0.4", 10250)}
MSS = [("MSS", 1460)]
ZMAP41 = [("MSS", 1460), ("NOP", None), ("WScale", 8), ("NOP", None), ("NOP", None), ("SAckOK", b"")]


def ip2int(a):
    p = [int(x) for x in a.split(".")]
    return p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]


def mc_id(dst, dport, seq):
    """masscan's IP ID: (dst as host-order int ^ dst port ^ seq) & 0xffff."""
    return (ip2int(dst) ^ dport ^ seq) & 0xFFFF


def frame(t, src, dst, sport, dport, flags, seq=0, ack=0, win=1024, ttl=255, ipid=0, df=False,
          opts=(), payload=b"", smac=SMAC, dmac=TMAC):
    p = (Ether(src=smac, dst=dmac) /
         IP(src=src, dst=dst, ttl=ttl, id=ipid, flags="DF" if df else 0) /
         TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=win, options=list(opts)))
    if payload:
        p = p / Raw(payload)
    p.time = t
    return p


def masscan_pkt(t, src, dst, sport, dport, flags, seq, ack=0, win=1024, opts=(), payload=b"",
                dmac=TMAC):
    return frame(t, src, dst, sport, dport, flags, seq, ack, win, 255, mc_id(dst, dport, seq),
                 False, opts, payload, dmac=dmac)


def synack(t, tgt, tport, scanner, sport, seq_in, rng):
    return frame(t, tgt, scanner, tport, sport, "SA", rng.getrandbits(32), (seq_in + 1) & 0xFFFFFFFF,
                 64240, 64, 0, True, MSS, smac=TMAC, dmac=SMAC)


def rst_closed(t, tgt, tport, scanner, sport, seq_in):
    return frame(t, tgt, scanner, tport, sport, "RA", 0, (seq_in + 1) & 0xFFFFFFFF, 0, 64, 0, True,
                 smac=TMAC, dmac=SMAC)


def targets(rng, n, hosts=range(1, 255)):
    pairs = [("198.18.0.%d" % h, p) for h in hosts for p in PORTS]
    rng.shuffle(pairs)
    return pairs[:n]


def masscan_master(rng):
    """git master: window 1025 + MSS; source ports p and p+16; RST (window
    1200 + MSS) after a SYN-ACK."""
    out, t, base = [], T0, 40000 + rng.randrange(20000 - 16)
    live = [x for x in LISTEN]
    tg = targets(rng, 60) + live
    rng.shuffle(tg)
    for dst, dport in tg:
        sport = base + 16 * rng.randrange(2)
        seq = rng.getrandbits(32)
        out.append(masscan_pkt(t, SCANNER, dst, sport, dport, "S", seq, 0, 1025, MSS))
        if (dst, dport) in LISTEN:
            out.append(synack(t + 0.0002, dst, dport, SCANNER, sport, seq, rng))
            out.append(masscan_pkt(t + 0.0004, SCANNER, dst, sport, dport, "R", seq + 1, 0, 1200, MSS))
        t += 0.01
    return out


def masscan_banner(rng):
    """1.3.x --banners on 2375/10250: handshake from its own stack (window
    1200), no hello for these ports, every ACK sent twice, FIN answered."""
    out, t, sport = [], T0, 61000
    for dst, dport in sorted(LISTEN):
        seq = rng.getrandbits(32)
        sseq = rng.getrandbits(32)
        out.append(masscan_pkt(t, SCANNER, dst, sport, dport, "S", seq))
        out.append(frame(t + 0.0002, dst, SCANNER, dport, sport, "SA", sseq, seq + 1, 64240, 64, 0, True,
                         MSS, smac=TMAC, dmac=SMAC))
        for k in range(2):
            out.append(masscan_pkt(t + 0.01 + k * 0.0001, SCANNER, dst, sport, dport, "A", seq + 1,
                                   sseq + 1, 1200))
        # server closes after 3 s of silence; masscan answers FIN/ACK
        out.append(frame(t + 3.01, dst, SCANNER, dport, sport, "FA", sseq + 1, seq + 1, 64240, 64, 0,
                         True, smac=TMAC, dmac=SMAC))
        out.append(masscan_pkt(t + 3.0102, SCANNER, dst, sport, dport, "FA", seq + 1, sseq + 2, 1200))
        t += 0.05
    out.sort(key=lambda p: p.time)
    return out


def masscan_routermac(rng):
    """A worm script with the README's --router-mac: frames flood to an
    unknown MAC; a SPAN sees them all."""
    out, t, src = [], T0, "198.18.0.153"
    for dst, dport in targets(rng, 6, hosts=range(20, 40)):
        seq = rng.getrandbits(32)
        out.append(masscan_pkt(t, src, dst, 45000, dport, "S", seq, dmac=ROUTER_MAC))
        t += 0.02
    return out


def zmap_2x(rng):
    out, t = [], T0
    for h in rng.sample(range(1, 255), 40):
        dst = "198.18.0.%d" % h
        sport = rng.randrange(32768, 61000)
        seq = rng.getrandbits(32)
        out.append(frame(t, SCANNER, dst, sport, 2375, "S", seq, 0, 65535, 255, 54321))
        if (dst, 2375) in LISTEN:
            out.append(synack(t + 0.0002, dst, 2375, SCANNER, sport, seq, rng))
        t += 0.001
    return out


def zmap_41(rng):
    out, t = [], T0
    for h in rng.sample(range(1, 255), 40):
        dst = "198.18.0.%d" % h
        sport = rng.randrange(32768, 61000)
        seq = rng.getrandbits(32)
        out.append(frame(t, SCANNER, dst, sport, 10250, "S", seq, 0, 65535, 64, rng.getrandbits(16),
                         False, ZMAP41))
        if (dst, 10250) in LISTEN:
            out.append(synack(t + 0.0002, dst, 10250, SCANNER, sport, seq, rng))
        t += 0.001
    return out


def nmap_old(rng):
    """Pre-2011 nmap -sS: window from 1024-4096, MSS only, one seq and base
    port per phase; a retry is seq ^ 0x00010001 from port + 1."""
    out, t = [], T0
    seq, base = rng.getrandbits(32), rng.randrange(33000, 65000)
    for h in (2, 3, 4, 5):
        dst = "198.18.0.%d" % h
        ports = PORTS[:6]
        rng.shuffle(ports)
        for dport in ports:
            win = rng.choice((2048, 3072, 4096))
            out.append(frame(t, SCANNER, dst, base, dport, "S", seq, 0, win, rng.randrange(37, 60),
                             rng.getrandbits(16), False, MSS))
            if (dst, dport) in LISTEN:
                out.append(synack(t + 0.0002, dst, dport, SCANNER, base, seq, rng))
                out.append(frame(t + 0.0004, SCANNER, dst, base, dport, "R", seq + 1, 0, 0,
                                 rng.randrange(37, 60), rng.getrandbits(16)))
            else:
                out.append(rst_closed(t + 0.0002, dst, dport, SCANNER, base, seq))
            t += 0.003
    # one retry
    out.append(frame(t, SCANNER, "198.18.0.5", base + 1, 2375, "S", seq ^ 0x00010001, 0, 2048, 44,
                     rng.getrandbits(16), False, MSS))
    return out


def internet_thin(rng):
    """An Internet-wide masscan: 3 probes land in 198.18.0.0/24 over nine
    minutes; no threshold can fire, the fingerprint does."""
    out, src = [], "198.19.240.13"
    for k, (dst, dport) in enumerate([("198.18.0.77", 2375), ("198.18.0.140", 2376),
                                      ("198.18.0.9", 10250)]):
        seq = rng.getrandbits(32)
        out.append(masscan_pkt(T0 + 180.0 * k + rng.random(), src, dst, 52113, dport, "S", seq))
    return out


def benign(rng):
    """300 Linux connect() SYNs: 20 clients, each polling 3 servers on a few
    container ports (below every threshold), with handshakes."""
    out = []
    for k in range(300):
        cli = "198.18.1.%d" % (10 + k % 20)
        cmac = "02:00:c6:12:01:%02x" % (10 + k % 20)
        dst = "198.18.0.%d" % (2 + (k // 20) % 3)
        dport = (2375, 10250, 8080, 6443)[(k // 60) % 4]
        t = T0 + k * 0.5
        sport = rng.randrange(32768, 61000)
        seq = rng.getrandbits(32)
        tsval = rng.getrandbits(32)
        opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (tsval, 0)), ("NOP", None), ("WScale", 7)]
        out.append(frame(t, cli, dst, sport, dport, "S", seq, 0, 64240, 64, rng.getrandbits(16), True,
                         opts, smac=cmac, dmac=TMAC))
        if (dst, dport) in LISTEN:
            sseq = rng.getrandbits(32)
            out.append(frame(t + 0.0002, dst, cli, dport, sport, "SA", sseq, seq + 1, 65160, 64, 0, True,
                             opts[:2] + [("Timestamp", (rng.getrandbits(32), tsval)), ("NOP", None),
                                         ("WScale", 7)], smac=TMAC, dmac=cmac))
            out.append(frame(t + 0.0004, cli, dst, sport, dport, "A", seq + 1, sseq + 1, 502, 64,
                             rng.getrandbits(16), True, smac=cmac, dmac=TMAC))
        else:
            out.append(rst_closed(t + 0.0002, dst, dport, cli, sport, seq))
    return out


BUILDERS = [
    ("masscan-master.pcap", masscan_master),
    ("masscan-banner.pcap", masscan_banner),
    ("masscan-routermac.pcap", masscan_routermac),
    ("zmap-2x.pcap", zmap_2x),
    ("zmap-41.pcap", zmap_41),
    ("nmap-old.pcap", nmap_old),
    ("internet-thin.pcap", internet_thin),
    ("benign-connects.pcap", benign),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "pcaps", "scan")
    os.makedirs(out, exist_ok=True)
    for i, (name, fn) in enumerate(BUILDERS):
        pkts = fn(random.Random(20250701 + i))
        path = os.path.join(out, name)
        wrpcap(path, pkts)
        print("%-24s %6d bytes %5d packets" % (name, os.path.getsize(path), len(pkts)))


if __name__ == "__main__":
    main()
