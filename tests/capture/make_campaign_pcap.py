#!/usr/bin/python3
"""make_campaign_pcap.py - joins two recorded captures into one attack chain from one source.

pcaps/scan-masscan.pcap (real masscan 1.3.2 sweeping the container ports from 198.18.0.66) is
followed, 5 s after its last packet, by pcaps/docker-cli.pcap (the real docker CLI listing and
inspecting containers) with its client 198.18.0.10 rewritten to 198.18.0.66: the TeamTNT
sequence "masscan, then docker ps / inspect" seen from one source, for campaign correlation.
Checksums are recomputed; nothing else changes. Writes pcaps/campaign-teamtnt.pcap.
"""
import os
import sys

from scapy.all import IP, TCP, PcapReader, PcapWriter

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCAN = os.path.join(ROOT, "pcaps", "scan-masscan.pcap")
DISC = os.path.join(ROOT, "pcaps", "docker-cli.pcap")
OUT = os.path.join(ROOT, "pcaps", "campaign-teamtnt.pcap")
OLD, NEW = "198.18.0.10", "198.18.0.66"


def main():
    scan = list(PcapReader(SCAN))
    disc = list(PcapReader(DISC))
    if not scan or not disc:
        sys.exit("empty input capture")
    shift = scan[-1].time + 5 - disc[0].time
    w = PcapWriter(OUT, linktype=1, sync=True)
    for p in scan:
        w.write(p)
    for p in disc:
        if IP in p:
            ip = p[IP]
            if ip.src == OLD:
                ip.src = NEW
            if ip.dst == OLD:
                ip.dst = NEW
            del ip.chksum
            if TCP in p:
                del p[TCP].chksum
            p = p.__class__(bytes(p))  # rebuild with fresh checksums
        p.time = p.time + shift
        w.write(p)
    w.close()
    print(f"wrote {OUT}: {len(scan)} scan + {len(disc)} discovery packets")


if __name__ == "__main__":
    main()
