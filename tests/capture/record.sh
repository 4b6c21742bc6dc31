#!/usr/bin/env bash
# record.sh - records portside's Docker Engine API test captures in throw-away network namespaces.
#
# Run as root from anywhere: tests/capture/record.sh [OUTDIR]   (default: <repo>/pcaps)
# Needs: iproute2 (ip netns, veth, bridge), tcpdump, curl, the docker CLI
# (/usr/local/bin/docker), /usr/bin/python3 with scapy (pcapng conversion),
# ethtool (optional: without it checksums may be left to offload, see below).
#
# Topology: every host is its own namespace, wired by a veth to the bridge br0
# in namespace ps-span; tcpdump on br0 (promiscuous) sees every frame, as a
# SPAN port would. Nothing is created in the root namespace and no namespace
# has a default route, so nothing can leave: the only targets are
#   ps-dock  198.18.0.2 :2375 :4243, [2001:db8::2]:2375  stub dockerd
#   ps-deny  198.18.0.3 :2375                            stub dockerd, authz deny
#   ps-web   198.18.0.4 :8080                            python -m http.server
# and the clients are ps-cli1 198.18.0.10 / 2001:db8::10 and ps-cli2 198.18.0.11.
# Idempotent: leftovers of an earlier run are removed first; a trap removes
# the namespaces, processes and temporary files on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/pcaps}
PY=/usr/bin/python3
DOCKER=${DOCKER:-/usr/local/bin/docker}
NSLIST=(ps-span ps-cli1 ps-cli2 ps-dock ps-deny ps-web)
DOCK=198.18.0.2
DENY=198.18.0.3
WEB=198.18.0.4
DOCK6=2001:db8::2
PIDS=()
TCPDUMP_PID=
TMP=
WRITTEN=()

die() { echo "record.sh: $*" >&2; exit 1; }
log() { echo "record.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
for t in ip tcpdump curl "$DOCKER" "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done

del_namespaces() {
    local n
    for n in "${NSLIST[@]}"; do
        if ip netns list | awk '{print $1}' | grep -qx "$n"; then
            # Processes of ours left in it (earlier run) keep it alive: end them.
            local p
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
    if ip netns list | grep -q '^ps-'; then
        echo "record.sh: WARNING: namespaces left: $(ip netns list | grep '^ps-' | tr '\n' ' ')" >&2
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Refuses any target outside 198.18.0.0/15, 2001:db8::/32 (belt and braces:
# the namespaces have no route elsewhere anyway).
check_target() {
    case "$1" in
        *://198.1[89].*|*://\[2001:db8:*|tcp://198.1[89].*|tcp://\[2001:db8:*) ;;
        *) die "refusing target outside the test ranges: $1" ;;
    esac
}

# Runs a command in a namespace with a scrubbed environment (no proxies).
inns() {
    local ns=$1; shift
    ip netns exec "$ns" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$TMP/home" \
        DOCKER_CONFIG="$TMP/dockercfg" LANG=C.UTF-8 "$@"
}

# dk NS HOSTURL args...: the real docker CLI; its failures are expected data.
dk() {
    local ns=$1 host=$2; shift 2
    check_target "$host"
    echo "  [$ns] docker -H $host $*" >&2
    inns "$ns" "$DOCKER" -H "$host" "$@" >>"$TMP/client.log" 2>&1 || true
    sleep 0.2
}

# crl NS curl-args... URL(s): curl, never through a proxy.
crl() {
    local ns=$1; shift
    local a
    for a in "$@"; do case "$a" in http://*) check_target "$a" ;; esac; done
    echo "  [$ns] curl $*" >&2
    inns "$ns" curl -s -S --noproxy '*' --max-time 10 -o /dev/null "$@" >>"$TMP/client.log" 2>&1 || true
    sleep 0.2
}

ns_add() {
    ip netns add "$1"
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$1" link set lo up
}

offloads_off() { # ns dev: software checksums, no TSO/GSO/GRO super-frames
    if command -v ethtool >/dev/null; then
        ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 ||
            log "ethtool -K failed on $1/$2: checksums may be partial in captures"
    fi
}

# host NAME LASTOCTET IPv4: a namespace ps-NAME with eth0 on the bridge.
add_host() {
    local name=$1 oct=$2 addr=$3
    ns_add "ps-$name"
    ip -n "ps-$name" link add eth0 address "02:00:c6:12:00:$oct" type veth \
        peer name "$name" netns ps-span
    ip -n ps-span link set "$name" master br0 up
    ip -n "ps-$name" addr add "$addr/15" dev eth0
    ip -n "ps-$name" link set eth0 up
    offloads_off "ps-$name" eth0
    offloads_off ps-span "$name"
}

setup() {
    del_namespaces
    TMP=$(mktemp -d /tmp/ps-record.XXXXXX)
    mkdir -p "$TMP/home" "$TMP/dockercfg" "$TMP/www/api"
    ns_add ps-span
    ip -n ps-span link add br0 type bridge stp_state 0 mcast_snooping 0
    ip -n ps-span link set br0 up
    add_host cli1 0a 198.18.0.10
    add_host cli2 0b 198.18.0.11
    add_host dock 02 $DOCK
    add_host deny 03 $DENY
    add_host web 04 $WEB
    command -v ethtool >/dev/null ||
        log "no ethtool: veth checksum offload stays on; TCP checksums in the captures may be wrong"

    # Benign web content.
    printf '<!doctype html>\n<html><head><title>Shop</title></head><body><h1>Welcome</h1></body></html>\n' \
        >"$TMP/www/index.html"
    printf '{"status":"ok","items":[{"id":1,"name":"mug"},{"id":2,"name":"tee"}]}\n' >"$TMP/www/api/json"
    printf '{"version":"2.4.1","commit":"9f3c2ab"}\n' >"$TMP/www/version"
    printf '# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 1027\n' \
        >"$TMP/www/metrics"

    start_bg ps-dock "$PY" "$HERE/stub_docker.py" --quiet --listen $DOCK:2375 --listen $DOCK:4243
    start_bg ps-deny "$PY" "$HERE/stub_docker.py" --quiet --deny --listen $DENY:2375
    (cd "$TMP/www" && exec ip netns exec ps-web "$PY" -m http.server 8080 --bind $WEB \
        >"$TMP/web.log" 2>&1) &
    PIDS+=($!)
    wait_listen ps-dock 2375
    wait_listen ps-dock 4243
    wait_listen ps-deny 2375
    wait_listen ps-web 8080
    sleep 1
}

start_bg() {
    local ns=$1; shift
    ip netns exec "$ns" "$@" >>"$TMP/server.log" 2>&1 &
    PIDS+=($!)
}

wait_listen() { # ns port
    local i
    for i in $(seq 50); do
        ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
        sleep 0.1
    done
    die "nothing listens on $1 port $2"
}

enable_ipv6() { # ns addr
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.disable_ipv6=0 \
        net.ipv6.conf.eth0.accept_ra=0 net.ipv6.conf.eth0.router_solicitations=0
    ip -n "$1" addr add "$2/64" dev eth0 nodad
}

cap_start() { # file
    local f=$1
    : >"$TMP/tcpdump.err"
    ip netns exec ps-span tcpdump -i br0 --immediate-mode -U -s 0 -Z root -w "$f" >"$TMP/tcpdump.err" 2>&1 &
    TCPDUMP_PID=$!
    local i
    for i in $(seq 50); do
        grep -q 'listening on' "$TMP/tcpdump.err" && { sleep 0.2; return 0; }
        sleep 0.1
    done
    die "tcpdump did not start: $(cat "$TMP/tcpdump.err")"
}

cap_stop() {
    # --immediate-mode delivers every packet at once; the pause lets the last
    # FIN/ACKs through before tcpdump stops.
    sleep 1
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
}

report() { # file
    local n
    n=$(tcpdump -r "$1" 2>/dev/null | wc -l)
    WRITTEN+=("$(printf '%-34s %7d bytes %5d packets' "${1#"$ROOT"/}" "$(stat -c %s "$1")" "$n")")
}

# ------------------------------------------------------------------ sessions

rec_cli() {
    local f=$OUT/docker-cli.pcap H=tcp://$DOCK:2375
    log "recording $f"
    cap_start "$f"
    dk ps-cli1 $H version
    dk ps-cli1 $H info
    dk ps-cli1 $H ps
    dk ps-cli1 $H ps -a
    dk ps-cli1 $H inspect web-frontend
    dk ps-cli1 $H top web-frontend
    dk ps-cli1 $H logs web-frontend
    dk ps-cli1 $H images
    dk ps-cli1 $H image inspect nginx:1.27-alpine
    dk ps-cli1 $H history postgres:16
    dk ps-cli1 $H network ls
    dk ps-cli1 $H volume ls
    dk ps-cli1 $H system df
    dk ps-cli1 $H node ls
    cap_stop
    report "$f"
}

rec_curl() {
    local f=$OUT/docker-curl.pcap U=http://$DOCK:2375
    log "recording $f"
    cap_start "$f"
    crl ps-cli2 -A 'Mozilla/5.0 zgrab/0.x' -H 'Accept-Encoding: gzip' "$U/v1.16/version"
    crl ps-cli2 "$U/version"
    crl ps-cli2 -I "$U/_ping"
    crl ps-cli2 "$U/v1.24/containers/json"
    crl ps-cli2 "$U/containers/json?all=1"
    crl ps-cli2 "$U//containers/json"
    crl ps-cli2 --compressed -H 'X-Test-Gzip: 1' "$U/v1.50/images/json"
    crl ps-cli2 -0 -H 'Host:' "$U/v1.50/info"
    crl ps-cli2 "$U/v1.50/containers/json?chunked=1"
    crl ps-cli2 "$U/v1.50/events?since=1751349990&until=1751350050"
    crl ps-cli2 "$U/_ping" "$U/v1.50/containers/db/json"
    crl ps-cli2 "$U/v1.50/containers/db/stats?stream=false"
    crl ps-cli2 "$U/v1.50/containers/web-frontend/changes"
    crl ps-cli2 "$U/v1.50/swarm"
    crl ps-cli2 "$U/v1.50/secrets"
    crl ps-cli2 "$U/v1.50/plugins"
    crl ps-cli2 "$U/v1.50/distribution/nginx:latest/json"
    crl ps-cli2 "$U/v1.50/nonexistent"
    cap_stop
    report "$f"
}

rec_denied() {
    local f=$OUT/docker-denied.pcap H=tcp://$DENY:2375
    log "recording $f"
    cap_start "$f"
    dk ps-cli1 $H version
    dk ps-cli1 $H ps
    dk ps-cli1 $H info
    dk ps-cli1 $H images
    crl ps-cli1 "http://$DENY:2375/v1.50/containers/json?all=1"
    crl ps-cli1 "http://$DENY:2375/_ping"
    cap_stop
    report "$f"
}

rec_ipv6() {
    local f=$OUT/docker-ipv6.pcap H="tcp://[$DOCK6]:2375"
    enable_ipv6 ps-dock $DOCK6
    enable_ipv6 ps-cli1 2001:db8::10
    start_bg ps-dock "$PY" "$HERE/stub_docker.py" --quiet --listen "[$DOCK6]:2375"
    wait_listen ps-dock 2375
    sleep 1
    log "recording $f"
    cap_start "$f"
    dk ps-cli1 "$H" version
    dk ps-cli1 "$H" ps
    cap_stop
    report "$f"
}

rec_4243() {
    local f=$OUT/docker-port4243.pcapng H=tcp://$DOCK:4243
    log "recording $f"
    cap_start "$TMP/p4243.pcap"
    dk ps-cli1 $H version
    dk ps-cli1 $H info
    dk ps-cli1 $H ps
    dk ps-cli1 $H images
    cap_stop
    # tcpdump 4.99 on Debian 12 writes pcap only: convert, keeping timestamps.
    "$PY" - "$TMP/p4243.pcap" "$f" <<'EOF'
import sys, logging
logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.utils import rdpcap, wrpcapng
wrpcapng(sys.argv[2], rdpcap(sys.argv[1]))
EOF
    report "$f"
}

poll_web() { # ns: benign polling, one connection per URL
    local p
    for p in / /index.html /api/json /version /metrics; do
        crl "$1" "http://$WEB:8080$p"
    done
}

rec_benign() {
    local f=$OUT/benign-web.pcap
    log "recording $f"
    cap_start "$f"
    poll_web ps-cli2
    poll_web ps-cli1
    cap_stop
    report "$f"
}

rec_demo() {
    local f=$OUT/demo.pcap H=tcp://$DOCK:2375
    log "recording $f"
    cap_start "$f"
    poll_web ps-cli2
    crl ps-cli1 -A 'Mozilla/5.0 zgrab/0.x' -H 'Accept-Encoding: gzip' "http://$DOCK:2375/v1.16/version"
    sleep 0.5
    dk ps-cli1 $H version
    dk ps-cli1 $H info
    poll_web ps-cli2
    dk ps-cli1 $H ps
    dk ps-cli1 $H inspect db
    dk ps-cli1 $H images
    crl ps-cli2 "http://$WEB:8080/metrics"
    cap_stop
    report "$f"
}

main() {
    mkdir -p "$OUT"
    setup
    rec_cli
    rec_curl
    rec_denied
    rec_4243
    rec_benign
    rec_demo
    rec_ipv6
    echo "record.sh: wrote:"
    printf '  %s\n' "${WRITTEN[@]}"
    # The damaged copies are cut from docker-cli.pcap: refresh them (and the
    # hand-built edge cases, which are deterministic) now.
    if [ "$OUT" = "$ROOT/pcaps" ]; then
        echo "record.sh: hand-built captures:"
        "$PY" "$HERE/make_edge_pcaps.py" "$OUT" | sed 's/^/  /'
    fi
}

main "$@"
