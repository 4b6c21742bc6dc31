#!/usr/bin/env bash
# record_scans.sh - records real masscan, zmap and nmap sweeps of container ports, plus a Linux control, in network namespaces.
#
# Run as root: tests/capture/record_scans.sh [OUTDIR]   (default: <repo>/pcaps)
# Writes OUTDIR/scan-masscan.pcap, scan-masscan-banners.pcap, scan-zmap.pcap,
# scan-nmap.pcap, scan-linux-control.pcap; then make_scan_pcaps.py writes the
# hand-built ones to OUTDIR/scan/.
# Needs: iproute2, tcpdump, masscan (Debian 1.3.2), zmap (Debian 2.1.1),
# nmap, curl, /usr/bin/python3; ethtool optional (software checksums).
#
# Topology: each host is a namespace with a veth on bridge br0 in pss-span;
# tcpdump on br0 is the SPAN port. No namespace has a default route and
# nothing is created in the root namespace, so nothing can leave. Targets:
#   pss-tgt   198.18.0.2 .3 .4 .5 on one interface, stub listeners on
#             :2375 and :10250 (accept, read, close after 3 s)
#   pss-scan  198.18.0.66 (masscan, zmap, nmap; masscan --banners uses
#             198.18.0.67, which masscan answers ARP for itself, so the
#             kernel does not reset its connections)
#   pss-cli   198.18.0.10 (ordinary curl / Python connect() control)
# Every sweep names its target range explicitly and it must lie in
# 198.18.0.0/15 (check_range); zmap gets an empty blacklist and an explicit
# /24, masscan an explicit /24 and --router-mac of pss-tgt. Rates are low
# (<= 1000 pps) and each capture stays well under 1 MB.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/pcaps}
PY=/usr/bin/python3
NSLIST=(pss-span pss-tgt pss-scan pss-cli)
RANGE=198.18.0.0/24
SCANNER=198.18.0.66
BANNER_IP=198.18.0.67
CLI=198.18.0.10
TGTS=(198.18.0.2 198.18.0.3 198.18.0.4 198.18.0.5)
PORTS=2375,2376,2377,4243,4244,10250,10255,10256,6443,8080,8001,2379,2380,5000
TGT_MAC=02:00:c6:12:00:02
SCAN_MAC=02:00:c6:12:00:42
CLI_MAC=02:00:c6:12:00:0a
PIDS=()
TCPDUMP_PID=
TMP=
WRITTEN=()

die() { echo "record_scans.sh: $*" >&2; exit 1; }
log() { echo "record_scans.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
for t in ip tcpdump masscan zmap nmap curl "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done

# Refuses any range or address outside 198.18.0.0/15.
check_range() {
    "$PY" - "$1" <<'EOF' || die "refusing target outside 198.18.0.0/15: $1"
import ipaddress, sys
net = ipaddress.ip_network(sys.argv[1], strict=False)
sys.exit(0 if net.subnet_of(ipaddress.ip_network("198.18.0.0/15")) else 1)
EOF
}

del_namespaces() {
    local n p
    for n in "${NSLIST[@]}"; do
        if ip netns list | awk '{print $1}' | grep -qx "$n"; then
            for p in $(ip netns pids "$n" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
            ip netns del "$n" 2>/dev/null || true
        fi
    done
}

cleanup() {
    local rc=$?
    set +e
    [ -n "$TCPDUMP_PID" ] && kill -INT "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    del_namespaces
    [ -n "$TMP" ] && rm -rf "$TMP"
    if ip netns list | grep -q '^pss-'; then
        echo "record_scans.sh: WARNING: namespaces left: $(ip netns list | grep '^pss-' | tr '\n' ' ')" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ns_add() {
    ip netns add "$1"
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$1" link set lo up
}

offloads_off() {
    if command -v ethtool >/dev/null; then
        ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
    fi
}

add_host() { # name mac addr...
    local name=$1 mac=$2 a
    shift 2
    ns_add "pss-$name"
    ip -n "pss-$name" link add eth0 address "$mac" type veth peer name "$name" netns pss-span
    ip -n pss-span link set "$name" master br0 up
    for a in "$@"; do ip -n "pss-$name" addr add "$a/15" dev eth0; done
    ip -n "pss-$name" link set eth0 up
    offloads_off "pss-$name" eth0
    offloads_off pss-span "$name"
}

wait_listen() { # ns port
    local i
    for i in $(seq 50); do
        ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
        sleep 0.1
    done
    die "nothing listens on $1 port $2"
}

setup() {
    del_namespaces
    TMP=$(mktemp -d /tmp/pss-record.XXXXXX)
    ns_add pss-span
    ip -n pss-span link add br0 type bridge stp_state 0 mcast_snooping 0 ageing_time 30000
    ip -n pss-span link set br0 up
    add_host tgt $TGT_MAC "${TGTS[@]}"
    add_host scan $SCAN_MAC $SCANNER
    add_host cli $CLI_MAC $CLI
    # Stub listeners: accept, read what comes, close after 3 s; no banner
    # (dockerd and the kubelet speak only when spoken to).
    cat >"$TMP/stub.py" <<'EOF'
import socket, sys, threading, time
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(128)
    while True:
        c, _ = s.accept()
        def hold(c=c):
            c.settimeout(3)
            try:
                c.recv(4096)
            except OSError:
                pass
            time.sleep(0.5); c.close()
        threading.Thread(target=hold, daemon=True).start()
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
while True:
    time.sleep(3600)
EOF
    ip netns exec pss-tgt "$PY" "$TMP/stub.py" 2375 10250 >"$TMP/stub.log" 2>&1 &
    PIDS+=($!)
    wait_listen pss-tgt 2375
    wait_listen pss-tgt 10250
    # Let the bridge learn every MAC (one ARP exchange each way).
    ip netns exec pss-scan ping -c1 -W1 "${TGTS[0]}" >/dev/null 2>&1 || true
    ip netns exec pss-cli ping -c1 -W1 "${TGTS[0]}" >/dev/null 2>&1 || true
    sleep 0.5
}

cap_start() {
    : >"$TMP/tcpdump.err"
    ip netns exec pss-span tcpdump -i br0 --immediate-mode -U -s 0 -Z root -w "$1" \
        >"$TMP/tcpdump.err" 2>&1 &
    TCPDUMP_PID=$!
    local i
    for i in $(seq 50); do
        grep -q 'listening on' "$TMP/tcpdump.err" && { sleep 0.2; return 0; }
        sleep 0.1
    done
    die "tcpdump did not start: $(cat "$TMP/tcpdump.err")"
}

cap_stop() {
    sleep 1
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
}

report() {
    local n
    n=$(tcpdump -r "$1" 2>/dev/null | wc -l)
    WRITTEN+=("$(printf '%-36s %7d bytes %5d packets' "${1#"$ROOT"/}" "$(stat -c %s "$1")" "$n")")
    [ "$(stat -c %s "$1")" -lt 1048576 ] || log "WARNING: $1 is over 1 MB"
}

# ------------------------------------------------------------------ sessions

rec_masscan() {
    local f=$OUT/scan-masscan.pcap
    check_range $RANGE
    log "recording $f (masscan SYN sweep of $RANGE, 14 ports, 1000 pps)"
    cap_start "$f"
    # masscan 1.3.2 in a namespace can hang after --wait ("waiting -N secs"):
    # SIGINT once the 3,584 probes and the wait are surely done.
    timeout -s INT -k 5 12 ip netns exec pss-scan masscan $RANGE -p$PORTS --rate 1000 --wait 2 \
        --adapter eth0 --adapter-ip $SCANNER --adapter-mac ${SCAN_MAC//:/-} \
        --router-mac ${TGT_MAC//:/-} --seed 20250701 >"$TMP/masscan.out" 2>"$TMP/masscan.err" || true
    grep -q 'open' "$TMP/masscan.out" || log "masscan found nothing open: $(tail -c 300 "$TMP/masscan.err")"
    cap_stop
    report "$f"
}

rec_masscan_banners() {
    local f=$OUT/scan-masscan-banners.pcap r=198.18.0.0/29
    check_range $r
    log "recording $f (masscan --banners of $r on 2375,10250)"
    cap_start "$f"
    # masscan 1.3.2 in banner mode does not exit by itself after --wait:
    # SIGINT after 15 s (two banners' worth), SIGKILL 5 s later.
    ( timeout -s INT -k 5 15 ip netns exec pss-scan masscan $r -p2375,10250 --banners --rate 100 \
        --adapter eth0 --adapter-ip $BANNER_IP --adapter-mac ${SCAN_MAC//:/-} \
        --router-mac ${TGT_MAC//:/-} --seed 20250702 >"$TMP/masscan-b.out" 2>"$TMP/masscan-b.err" ) 2>/dev/null || true
    grep -q 'Banner\|open' "$TMP/masscan-b.out" "$TMP/masscan-b.err" ||
        log "masscan --banners reported nothing: $(tail -3 "$TMP/masscan-b.err")"
    cap_stop
    report "$f"
}

rec_zmap() {
    local f=$OUT/scan-zmap.pcap
    check_range $RANGE
    : >"$TMP/empty-blacklist"
    log "recording $f (zmap 2.1.1 of $RANGE port 2375, 500 kbps)"
    cap_start "$f"
    # The Debian blacklist lists 198.18.0.0/15 (reserved): give zmap an
    # empty one; the explicit /24 is then the whole target set.
    timeout 60 ip netns exec pss-scan zmap -i eth0 -G $TGT_MAC -S $SCANNER -p 2375 -B 500K -c 2 \
        -b "$TMP/empty-blacklist" -o "$TMP/zmap.out" -q $RANGE 2>"$TMP/zmap.err" ||
        die "zmap failed: $(cat "$TMP/zmap.err")"
    cap_stop
    report "$f"
}

rec_nmap() {
    local f=$OUT/scan-nmap.pcap r=198.18.0.2-5
    check_range 198.18.0.0/29
    log "recording $f (nmap -sS of $r, 14 ports)"
    cap_start "$f"
    timeout 120 ip netns exec pss-scan nmap -sS -n -Pn -e eth0 --max-rate 1000 -p $PORTS $r \
        -oN "$TMP/nmap.out" >/dev/null 2>"$TMP/nmap.err" || die "nmap failed: $(cat "$TMP/nmap.err")"
    cap_stop
    report "$f"
}

rec_control() {
    local f=$OUT/scan-linux-control.pcap t p
    log "recording $f (curl and Python connect() from $CLI)"
    cap_start "$f"
    for t in "${TGTS[@]}"; do
        check_range "$t/32"
        ip netns exec pss-cli curl -s --noproxy '*' --max-time 2 -o /dev/null "http://$t:2375/version" || true
        for p in 10250 2376 6443; do
            ip netns exec pss-cli "$PY" -c "import socket,sys
s=socket.socket(); s.settimeout(2)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); s.close()
except OSError: pass" "$t" "$p"
        done
    done
    cap_stop
    report "$f"
}

main() {
    mkdir -p "$OUT"
    setup
    rec_masscan
    rec_masscan_banners
    rec_zmap
    rec_nmap
    rec_control
    echo "record_scans.sh: wrote:"
    printf '  %s\n' "${WRITTEN[@]}"
    echo "record_scans.sh: hand-built captures:"
    "$PY" "$HERE/make_scan_pcaps.py" "$OUT/scan" | sed 's/^/  /'
}

main "$@"
