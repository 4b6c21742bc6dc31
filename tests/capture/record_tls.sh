#!/usr/bin/env bash
# record_tls.sh - records the TLS / h2c container-port captures (pcaps/tls/) with real clients
# (openssl s_client, curl) against tests/capture/stub_tls.py in throw-away network namespaces.
#
# Run as root: tests/capture/record_tls.sh [OUTDIR]   (default: <repo>/pcaps/tls)
# Topology: namespaces pst-span (bridge br0, tcpdump), pst-cli 198.18.2.10 and
# pst-k8s 198.18.2.2 (stub on 2376, 2379, 6443, 10250). Only 198.18.0.0/15 is
# used, no namespace has a default route, nothing is created in the root namespace.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/pcaps/tls}
PY=/usr/bin/python3
NS=(pst-span pst-cli pst-k8s)
SRV=198.18.2.2
TMP=$(mktemp -d)
STUB_PID= TCPDUMP_PID=

cleanup() {
    set +e
    [ -n "$TCPDUMP_PID" ] && kill -INT "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
    [ -n "$STUB_PID" ] && kill "$STUB_PID" 2>/dev/null
    for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "record_tls.sh: must run as root" >&2; exit 1; }
for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
mkdir -p "$OUT"

ip netns add pst-span
ip -n pst-span link add br0 type bridge stp_state 0 ageing_time 0 # a hub: br0 sees every frame
ip -n pst-span link set br0 up
host() { # host NS ADDR OCTET
    ip netns add "$1"
    ip -n "$1" link add eth0 address "02:00:c6:12:02:$3" type veth peer name "v-$1" netns pst-span
    ip -n "$1" addr add "$2/24" dev eth0
    ip -n "$1" link set eth0 up
    ip -n "$1" link set lo up
    ip -n pst-span link set "v-$1" master br0 up
    ip netns exec "$1" ethtool -K eth0 tx off tso off gso off gro off >/dev/null 2>&1 || true
}
host pst-cli 198.18.2.10 0a
host pst-k8s $SRV 02

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kubernetes" \
    -addext "subjectAltName=DNS:kubernetes.default.svc,DNS:node1,IP:$SRV" \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
ip netns exec pst-k8s "$PY" "$HERE/stub_tls.py" "$TMP/cert.pem" "$TMP/key.pem" \
    2376 2379 6443 10250 >"$TMP/stub.out" 2>&1 &
STUB_PID=$!
for _ in $(seq 50); do grep -q ready "$TMP/stub.out" && break; sleep 0.1; done

capture() { # capture FILE then run the commands given as a function name
    local f=$1 fn=$2
    : >"$TMP/td.err"
    ip netns exec pst-span tcpdump -i br0 --immediate-mode -U -s 0 -Z root -w "$f" >"$TMP/td.err" 2>&1 &
    TCPDUMP_PID=$!
    for _ in $(seq 50); do grep -q listening "$TMP/td.err" && break; sleep 0.1; done
    sleep 0.3
    "$fn"
    sleep 0.5
    kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=
    echo "record_tls.sh: wrote $f ($(tail -n 3 "$TMP/td.err" | tr "\n" " "))"
}
cli() { ip netns exec pst-cli "$@"; }

container_ports() {
    # apiserver: kubectl-like SNI and ALPN (openssl s_client, TLS 1.3)
    cli openssl s_client -connect $SRV:6443 -servername kubernetes.default.svc \
        -alpn h2,http/1.1 </dev/null >/dev/null 2>&1 || true
    # kubelet: curl with SNI node1
    cli curl -sk --max-time 5 --resolve node1:10250:$SRV https://node1:10250/pods >/dev/null || true
    # dockerd TLS: curl to an IP (no SNI), TLS 1.2 only
    cli curl -sk --max-time 5 --tlsv1.2 --tls-max 1.2 https://$SRV:2376/v1.41/containers/json \
        >/dev/null || true
    # etcd client port over TLS
    cli curl -sk --max-time 5 https://$SRV:2379/version >/dev/null || true
}
plaintext() {
    cli curl -s --max-time 5 http://$SRV:10250/pods >/dev/null || true
    cli curl -s --max-time 5 http://$SRV:2376/v1.41/info >/dev/null || true
}
h2c() {
    cli curl -s --max-time 5 --http2-prior-knowledge http://$SRV:2379/v3/kv/range >/dev/null ||
        echo "record_tls.sh: h2c curl exit $?" >&2
}
capture "$OUT/container-ports.pcap" container_ports
capture "$OUT/plaintext-to-tls.pcap" plaintext
capture "$OUT/h2c-etcd.pcap" h2c
