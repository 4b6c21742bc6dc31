#!/usr/bin/env bash
# run.sh - live capture end to end: portside -i on a veth between two network namespaces.
# Usage: tests/live/run.sh PORTSIDE      (root; exit 77 = skipped when not root)
#
# ps-live-b sends, ps-live-a captures on psl-a. Only 198.18.0.0/15 addresses are used, and
# tcpreplay sends only pcaps/demo.pcap's packets, only on the veth inside these namespaces.
#   1. tcpreplay of demo.pcap: the same detections as `portside -r demo.pcap` (times aside);
#      SIGUSR1 writes a stats line; SIGTERM flushes and exits 0; sd_notify messages; then the
#      two directions on two interfaces (a tap's two ports, -i twice), merged: same detections.
#   2. real clients (curl against tests/capture/stub_docker.py) with runtime.user = "nobody":
#      uid and capabilities in /proc, segments larger than the MTU (TSO) decoded, SIGHUP with a
#      changed detection.window_s and a rotated output file, link down/up, interface removed and
#      created again, a rejected reload, stats in the log and in a Redis stats stream.
#   3. errors: bad BPF filter, missing interface, -r with -i, bad Redis URI.
set -uo pipefail
bin=$(realpath "${1:?usage: run.sh PORTSIDE}")
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "live: skipped (needs root for network namespaces; CI runs as root)"
    exit 77
fi
for t in ip tcpreplay curl; do
    command -v $t >/dev/null || { echo "live: $t missing (scripts/deps.sh installs it)"; exit 1; }
done
PY=/usr/bin/python3
A=ps-live-a B=ps-live-b
IPA=198.18.7.1 IPB=198.18.7.2
pass=0 fail=0
tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del $A 2>/dev/null
    ip netns del $B 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
ko() { echo "FAIL live: $*"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok; else ko "$1"; fi; }

# wait_for FILE REGEX SECONDS: true once FILE has a line matching REGEX.
wait_for() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -Eq "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# stop PID: SIGTERM, then the exit status (124 when it does not exit within 20 s).
stop() {
    kill -TERM "$1" 2>/dev/null
    local i
    for ((i = 0; i < 200; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then
        kill -KILL "$1"
        wait "$1" 2>/dev/null
        return 124
    fi
    wait "$1"
}

# The veth pair; psl-a in A (the sensor's side), psl-b in B (the sender's side).
make_link() {
    ip -n $A link add name psl-a type veth peer name psl-b netns $B || return 1
    ip -n $A addr add $IPA/24 dev psl-a
    ip -n $B addr add $IPB/24 dev psl-b
    ip -n $A link set psl-a up
    ip -n $B link set psl-b up
}

ip netns del $A 2>/dev/null
ip netns del $B 2>/dev/null
ip netns add $A && ip netns add $B || { echo "live: cannot create namespaces"; exit 1; }
for ns in $A $B; do # no IPv6 router/neighbour chatter on the link: only the test's packets
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n $ns link set lo up
done
make_link || { echo "live: cannot create the veth pair"; exit 1; }

# Time fields legitimately differ between live capture and replay; everything else must not.
cat >"$tmp/strip.py" <<'EOF'
import json, sys
TIME = {"timestamp", "first_seen", "last_seen"}
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in TIME}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
for line in sys.stdin:
    print(json.dumps(strip(json.loads(line)), sort_keys=True))
EOF
norm() { $PY tests/golden/normalize.py <"$1" | $PY "$tmp/strip.py"; }

# ---- 1. tcpreplay: live detections equal the replay's ----------------------------------------
t0=$SECONDS
{ cat tests/golden/golden.conf; echo 'runtime = { stats_interval_s = 0; };'; } >"$tmp/live.conf"
# systemd's side of sd_notify: a datagram socket that logs what it receives.
$PY - "$tmp/notify.sock" "$tmp/notify.log" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(0.2)
end = time.time() + 60
with open(sys.argv[2], "w", buffering=1) as f:
    while time.time() < end:
        try:
            f.write(s.recv(4096).decode() + "\n")
        except socket.timeout:
            pass
EOF
pids+=($!)
for ((i = 0; i < 50; i++)); do [ -S "$tmp/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$tmp/notify.sock WATCHDOG_USEC=400000 \
    ip netns exec $A "$bin" -c "$tmp/live.conf" -i psl-a -o "$tmp/live.jsonl" 2>"$tmp/live.err" &
pid=$!
pids+=($pid)
check "READY=1 once capturing" "wait_for '$tmp/notify.log' '^READY=1$' 10"
check "portside -i started" "wait_for '$tmp/live.err' 'capturing on psl-a' 10"
ip netns exec $B tcpreplay -q -i psl-b pcaps/demo.pcap >"$tmp/tcpreplay.log" 2>&1 ||
    ko "tcpreplay failed: $(tail -3 "$tmp/tcpreplay.log")"
sleep 0.5
kill -USR1 $pid
check "SIGUSR1 writes a stats line" "wait_for '$tmp/live.err' '^portside: stats \\{' 5"
grep '^portside: stats ' "$tmp/live.err" | tail -1 | sed 's/^portside: stats //' >"$tmp/stats.json"
check "stats line is JSON with the interface's counters" \
    "$PY -c 'import json,sys; s=json.load(open(sys.argv[1])); i=s[\"interfaces\"][0]; \
assert s[\"event_type\"]==\"stats\" and s[\"packets\"]>=214 and i[\"name\"]==\"psl-a\" and \
i[\"ps_recv\"]>=214 and \"ps_drop\" in i and s[\"detections\"][\"records\"]>0 and \
s[\"memory\"][\"in_use_bytes\"]>0' '$tmp/stats.json'"
stop $pid
rc=$?
check "SIGTERM exits 0 (rc=$rc)" "[ $rc -eq 0 ]"
check "summary written at exit" "grep -q 'portside: detections:' '$tmp/live.err'"
check "WATCHDOG=1 while running" "grep -q '^WATCHDOG=1$' '$tmp/notify.log'"
check "STOPPING=1 on SIGTERM" "wait_for '$tmp/notify.log' '^STOPPING=1$' 2"
"$bin" -q -c tests/golden/golden.conf -r pcaps/demo.pcap -o "$tmp/replay.jsonl"
check "live detections exist" "[ -s '$tmp/live.jsonl' ]"
if norm "$tmp/replay.jsonl" >"$tmp/replay.norm" && norm "$tmp/live.jsonl" >"$tmp/live.norm" &&
    diff -u "$tmp/replay.norm" "$tmp/live.norm" >"$tmp/diff"; then
    ok
else
    ko "live detections differ from the replay:"
    head -30 "$tmp/diff"
fi

# Both halves of a tap on two interfaces (-i twice): servers' packets on psl-c, clients' on
# psl-a; merged by timestamp, the detections are again the replay's.
ip -n $A link add name psl-c type veth peer name psl-d netns $B
ip -n $A link set psl-c up
ip -n $B link set psl-d up
tcpprep --cidr=198.18.0.2/32,198.18.0.4/32 --pcap=pcaps/demo.pcap --cachefile="$tmp/demo.cache"
ip netns exec $A "$bin" -c "$tmp/live.conf" -i psl-a -i psl-c -o "$tmp/tap.jsonl" \
    2>"$tmp/tap.err" &
pid=$!
pids+=($pid)
check "portside -i -i started" "wait_for '$tmp/tap.err' 'capturing on psl-a, psl-c' 10"
ip netns exec $B tcpreplay -q -i psl-d -I psl-b -c "$tmp/demo.cache" pcaps/demo.pcap \
    >"$tmp/tcpreplay2.log" 2>&1 || ko "tcpreplay (2 interfaces) failed: $(tail -3 "$tmp/tcpreplay2.log")"
sleep 0.5
kill -USR1 $pid
check "stats of two interfaces" "wait_for '$tmp/tap.err' '^portside: stats \{' 5"
grep '^portside: stats ' "$tmp/tap.err" | tail -1 | sed 's/^portside: stats //' >"$tmp/stats2.json"
check "each half of the tap carried its side" \
    "$PY -c 'import json,sys; s=json.load(open(sys.argv[1])); i=s[\"interfaces\"]; \
assert [x[\"name\"] for x in i]==[\"psl-a\",\"psl-c\"] and i[0][\"packets\"]>=114 and \
i[1][\"packets\"]>=100 and s[\"packets\"]>=214' '$tmp/stats2.json'"
stop $pid
rc=$?
check "SIGTERM exits 0 with two interfaces (rc=$rc)" "[ $rc -eq 0 ]"
if norm "$tmp/tap.jsonl" >"$tmp/tap.norm" && diff -u "$tmp/replay.norm" "$tmp/tap.norm" >"$tmp/diff2"; then
    ok
else
    ko "detections from the two halves of a tap differ from the replay:"
    head -30 "$tmp/diff2"
fi
echo "live: part 1 in $((SECONDS - t0)) s"

# ---- 2. real clients, unprivileged, reload, rotation, link down/up ---------------------------
t0=$SECONDS
ip netns exec $B $PY tests/capture/stub_docker.py --quiet --listen $IPB:2375 &
pids+=($!)
out=$tmp/out
mkdir -p "$out"
chown nobody "$out"
redis_port=
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
    redis_port=6391
    ip netns exec $A redis-server --port $redis_port --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$tmp" --logfile "$tmp/redis.log" &
    pids+=($!)
    # Ready before portside starts: an early "cannot connect" would fail the error-log check.
    for _ in $(seq 100); do
        ip netns exec $A redis-cli -p $redis_port ping 2>/dev/null | grep -q PONG && break
        sleep 0.1
    done
fi
conf() { # conf WINDOW_S
    cat tests/golden/golden.conf
    printf 'detection = { window_s = %s; };\n' "$1"
    printf 'runtime = { user = "nobody"; stats_interval_s = 1; state_dir = "%s"; };\n' "$out"
    printf 'redis = { spool_dir = ""; };\n'
}
conf 300 >"$tmp/user.conf"
outs=(-o "$out/det.jsonl")
[ -n "$redis_port" ] && outs+=(-o "redis://127.0.0.1:$redis_port")
ip netns exec $A "$bin" -c "$tmp/user.conf" -i psl-a "${outs[@]}" 2>"$tmp/user.err" &
pid=$!
pids+=($pid)
check "unprivileged portside started" "wait_for '$tmp/user.err' 'capturing on psl-a' 10"
sleep 0.3
check "runs as nobody" "grep -Eq '^Uid:\\s+65534\\s+65534\\s+65534\\s+65534' /proc/$pid/status"
check "keeps only CAP_NET_RAW" "grep -Eq '^CapEff:\\s+0000000000002000$' /proc/$pid/status &&
    grep -Eq '^CapPrm:\\s+0000000000002000$' /proc/$pid/status"
check "no_new_privs" "grep -Eq '^NoNewPrivs:\\s+1' /proc/$pid/status"

client() { ip netns exec $A curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$IPB:2375$1"; }
check "docker info through the veth" "[ \"\$(client /v1.43/info)\" = 200 ]"
check "real client detected" "wait_for '$out/det.jsonl' '\"rule\":\"docker.info\"' 5"
check "TSO segments over the MTU counted and decoded" \
    "wait_for '$tmp/user.err' '\"over_mtu\":[1-9]' 5"

mv "$out/det.jsonl" "$out/det.jsonl.1"
conf 120 >"$tmp/user.conf"
kill -HUP $pid
check "SIGHUP applies detection.window_s" \
    "wait_for '$tmp/user.err' 'reload: detection.window_s applied' 5"
check "SIGHUP reopens the rotated output" "[ -e '$out/det.jsonl' ]"
check "docker ps after the reload" "[ \"\$(client /v1.43/containers/json)\" = 200 ]"
check "new file written after rotation" \
    "wait_for '$out/det.jsonl' '\"rule\":\"docker.containers.list\"' 5"
check "rotated file keeps the earlier record" "grep -q docker.info '$out/det.jsonl.1'"

ip -n $A link set psl-a down
sleep 1.5
ip -n $A link set psl-a up
sleep 1 # the veth carrier comes back
check "docker version after link down/up" "[ \"\$(client /v1.43/version)\" = 200 ]"
check "detections continue after link down/up" \
    "wait_for '$out/det.jsonl' '\"rule\":\"docker.version\"' 5"

ip -n $A link del psl-a
check "interface removal is noticed" "wait_for '$tmp/user.err' 'capture on psl-a stopped' 5"
sleep 1
make_link
check "capture reopened with CAP_NET_RAW only" "wait_for '$tmp/user.err' 'capture on psl-a resumed' 10"
check "docker images after the interface came back" \
    "[ \"\$(client /v1.43/images/json)\" = 200 ]"
check "detections continue after the reopen" \
    "wait_for '$out/det.jsonl' '\"rule\":\"docker.images.list\"' 5"
check "reopen counted in stats" "wait_for '$tmp/user.err' '\"reopens\":1' 5"

printf 'detection = { window_s = 5; };\n' >"$tmp/user.conf"
kill -HUP $pid
check "a bad reload names file:line" "wait_for '$tmp/user.err' 'user.conf:1: .*detection.window_s' 5"
check "a bad reload keeps the running configuration" \
    "wait_for '$tmp/user.err' 'rejected; the running configuration stays' 5"
check "still running after a bad reload" "kill -0 $pid"
if [ -n "$redis_port" ]; then
    sleep 1.2
    n=$(ip netns exec $A redis-cli -p $redis_port XLEN portside:stats)
    check "stats records in the Redis stats stream ($n)" "[ '${n:-0}' -gt 0 ]"
    n=$(ip netns exec $A redis-cli -p $redis_port XLEN portside:detections)
    check "detections in Redis ($n)" "[ '${n:-0}' -ge 4 ]"
fi
stop $pid
rc=$?
check "unprivileged SIGTERM exits 0 (rc=$rc)" "[ $rc -eq 0 ]"
check "no other errors logged" "! grep -Ev 'user.conf:1|rejected|^portside: stats ' '$tmp/user.err' | grep -Eiq 'error|cannot'"
echo "live: part 2 in $((SECONDS - t0)) s"

# ---- 3. errors ---------------------------------------------------------------------------------
expect_err() { # expect_err NAME REGEX ARGS...
    local name=$1 re=$2
    shift 2
    ip netns exec $A "$bin" "$@" >"$tmp/e.out" 2>"$tmp/e.err"
    local rc=$?
    if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then
        ko "$name: rc=$rc"
    elif ! grep -Eq -- "$re" "$tmp/e.err"; then
        ko "$name: stderr lacks /$re/: $(head -c 300 "$tmp/e.err")"
    else
        ok
    fi
}
printf 'capture = { filter = "tcp port 2375 and nonsense"; };\n' >"$tmp/filter.conf"
expect_err bad-filter "bad capture filter 'tcp port 2375 and nonsense'" -c "$tmp/filter.conf" -i psl-a
expect_err missing-iface "no such interface 'ps-nope0'" -i ps-nope0
expect_err read-and-iface "-r and -i cannot be used together" -r pcaps/demo.pcap -i psl-a
expect_err bad-uri "bad Redis URI .*port out of range" -i psl-a -o redis://127.0.0.1:99999
expect_err bad-iface-name "bad interface name" -i 0123456789abcdefghij
printf 'capture = { interfaces = ["a/b"]; snaplen = 10; };\n' >"$tmp/badcap.conf"
expect_err bad-capture-keys "badcap.conf:1: .*capture.interfaces" -c "$tmp/badcap.conf"
grep -q "badcap.conf:1: .*capture.snaplen" "$tmp/e.err" && ok || ko "second capture error missing"
printf 'runtime = { user = "ps-no-such-user"; };\n' >"$tmp/nouser.conf"
expect_err unknown-user "runtime.user 'ps-no-such-user'" -c "$tmp/nouser.conf" -i psl-a

echo "live: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
