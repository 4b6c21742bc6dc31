#!/usr/bin/env bash
# run.sh - Redis output end to end against real redis-servers this script starts on free loopback ports.
# Usage: tests/redis/run.sh PORTSIDE      (exit 77 = skipped: redis-server or redis-cli missing)
set -uo pipefail
bin=$(realpath "${1:?usage: run.sh PORTSIDE}")
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
RESP="$PY tests/redis/resp.py"
for t in redis-server redis-cli openssl; do
    if ! command -v $t >/dev/null; then
        echo "redis: skipped ($t not installed; scripts/deps.sh installs it)"
        exit 77
    fi
done
pass=0 fail=0
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); }
ko() { echo "FAIL redis: $*"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok; else ko "$1"; fi; }

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis NAME PORT [ARGS...]: starts a server with its own directory; $NAME_pid holds the pid.
start_redis() {
    local name=$1 port=$2
    shift 2
    mkdir -p "$tmp/$name"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp/$name" \
        --logfile "$tmp/$name/redis.log" "$@" &
    local pid=$!
    pids+=("$pid")
    eval "${name}_pid=$pid"
    for _ in $(seq 100); do
        if [ "$port" != 0 ] && [ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ]; then return 0; fi
        if [ "$port" = 0 ] && grep -q "Ready to accept" "$tmp/$name/redis.log" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "redis: cannot start redis-server ($name): $(tail -3 "$tmp/$name/redis.log")"
    return 1
}

stop_redis() { # NAME
    local pid
    pid=$(eval echo "\$${1}_pid")
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# conf FILE SPOOLDIR [EXTRA redis KEYS]: a configuration for one case; the extra keys
# replace the defaults below.
conf() {
    local extra=${3:-} k
    {
        printf 'decode = { checksum_validation = "no"; };\nredis = {\n  spool_dir = "%s";\n' "$2"
        for k in flush_timeout_s=2 connect_timeout_ms=500 command_timeout_ms=1000; do
            case "$extra" in *"${k%%=*}"*) ;; *) printf '  %s = %s;\n' "${k%%=*}" "${k#*=}" ;; esac
        done
        printf '  %s\n};\n' "$extra"
    } >"$1"
}

# dedup FILE: records by first appearance of their id.
dedup() {
    $PY -c '
import json, sys
seen = set()
for line in open(sys.argv[1], "rb"):
    i = json.loads(line)["id"]
    if i not in seen:
        seen.add(i)
        sys.stdout.buffer.write(line)
' "$1"
}

segments() { find "$1" -name '*.seg' -size +0 2>/dev/null | wc -l; }

P=$(free_port)
start_redis main "$P" || exit 1
URI="redis://127.0.0.1:$P"

# ---- 1. replay: stream and channel equal the JSON Lines output --------------------------
conf "$tmp/c1.conf" "$tmp/spool1"
$RESP "$P" subscribe portside:alerts >"$tmp/sub1" 2>"$tmp/sub1.err" &
sub=$!
pids+=("$sub")
for _ in $(seq 100); do grep -q ready "$tmp/sub1.err" && break; sleep 0.05; done
"$bin" -c "$tmp/c1.conf" -r pcaps/demo.pcap -o - -o "$URI" >"$tmp/out1" 2>"$tmp/err1"
rc=$?
check "1: exit status $rc: $(head -c 300 "$tmp/err1")" '[ $rc -eq 0 ]'
check "1: no detections" '[ -s "$tmp/out1" ]'
$RESP "$P" xrange portside:detections detection >"$tmp/x1"
check "1: stream differs from stdout" 'cmp -s "$tmp/out1" "$tmp/x1"'
for _ in $(seq 100); do [ "$(wc -l <"$tmp/sub1")" -ge "$(wc -l <"$tmp/out1")" ] && break; sleep 0.05; done
check "1: channel differs from stdout" 'cmp -s "$tmp/out1" "$tmp/sub1"'
check "1: spool warning without reason" '! grep -q "left in spool" "$tmp/err1"'
check "1: spool not empty" '[ "$(segments "$tmp/spool1")" -eq 0 ]'
kill "$sub" 2>/dev/null
# MAXLEN ~ keeps the stream bounded (approximate trimming works per macro node of 100).
conf "$tmp/c1b.conf" "$tmp/spool1" 'stream = "trim"; stream_maxlen = 1; publish = false;'
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26; do
    "$bin" -q -c "$tmp/c1b.conf" -r pcaps/demo.pcap -o "$URI" || break
done
n=$(redis-cli -p "$P" XLEN trim)
check "1: MAXLEN not applied (XLEN trim = $n of 208)" '[ "$n" -lt 208 ]'
check "1: publish = false still published" '[ "$(redis-cli -p "$P" PUBSUB NUMSUB trim | tail -1)" = 0 ]'

# ---- 2. Redis down before the run, then up: the spool is delivered on the next start -----
redis-cli -p "$P" FLUSHALL >/dev/null
stop_redis main
conf "$tmp/c2.conf" "$tmp/spool2"
"$bin" -c "$tmp/c2.conf" -r pcaps/demo.pcap -o - -o "$URI" >"$tmp/out2" 2>"$tmp/err2"
rc=$?
n=$(wc -l <"$tmp/out2")
check "2: exit status $rc" '[ $rc -eq 0 ]'
check "2: no spool warning: $(head -c 300 "$tmp/err2")" \
    'grep -q "portside: $n detections left in spool $tmp/spool2 for the next start" "$tmp/err2"'
check "2: no connection error" 'grep -q "cannot connect" "$tmp/err2"'
start_redis main "$P" || exit 1
"$bin" -q -c "$tmp/c2.conf" -r pcaps/damaged/header-only.pcap -o "$URI" 2>"$tmp/err2b"
rc=$?
check "2: second run exit status $rc: $(head -c 300 "$tmp/err2b")" '[ $rc -eq 0 ]'
$RESP "$P" xrange portside:detections detection >"$tmp/x2"
dedup "$tmp/x2" >"$tmp/x2d"
check "2: spooled records not delivered in order" 'cmp -s "$tmp/out2" "$tmp/x2d"'
check "2: spool not drained" '[ "$(segments "$tmp/spool2")" -eq 0 ]'

# ---- 3. Redis stopped during a run (SHUTDOWN SAVE, then SIGSTOP), then back -------------
$RESP multiply pcaps/demo.pcap 3000 "$tmp/big.pcap"
for mode in shutdown sigstop; do
    redis-cli -p "$P" FLUSHALL >/dev/null
    rm -f "$tmp/main/dump.rdb"
    conf "$tmp/c3.conf" "$tmp/spool3$mode"
    "$bin" -q -c "$tmp/c3.conf" -r "$tmp/big.pcap" -o "$tmp/out3$mode" -o "$URI" 2>"$tmp/err3$mode" &
    ps_pid=$!
    for _ in $(seq 400); do
        [ "$(redis-cli -p "$P" XLEN portside:detections 2>/dev/null || echo 0)" -gt 0 ] && break
        sleep 0.01
    done
    if [ $mode = shutdown ]; then
        redis-cli -p "$P" SHUTDOWN SAVE >/dev/null 2>&1
        wait "$main_pid" 2>/dev/null
    else
        kill -STOP "$main_pid"
    fi
    wait $ps_pid
    rc=$?
    check "3 $mode: exit status $rc" '[ $rc -eq 0 ]'
    check "3 $mode: stop came too late (no spool warning)" 'grep -q "left in spool" "$tmp/err3$mode"'
    if [ $mode = shutdown ]; then
        start_redis main "$P" || exit 1
    else
        kill -CONT "$main_pid"
    fi
    "$bin" -q -c "$tmp/c3.conf" -r pcaps/damaged/header-only.pcap -o "$URI" 2>"$tmp/err3b$mode"
    check "3 $mode: second run failed: $(head -c 300 "$tmp/err3b$mode")" '[ $? -eq 0 ]'
    # On a loaded machine the flush timeout may end the second run before the
    # whole spool is out; what remains is kept for the next start, as designed.
    for _ in 1 2 3; do
        grep -q "left in spool" "$tmp/err3b$mode" || break
        "$bin" -q -c "$tmp/c3.conf" -r pcaps/damaged/header-only.pcap -o "$URI" 2>"$tmp/err3b$mode"
    done
    $RESP "$P" xrange portside:detections detection >"$tmp/x3"
    dedup "$tmp/x3" >"$tmp/x3d"
    check "3 $mode: $(wc -l <"$tmp/x3d") of $(wc -l <"$tmp/out3$mode") delivered, or out of order ($(tail -c 300 "$tmp/err3$mode" | tr '\n' ' ') / $(tail -c 300 "$tmp/err3b$mode" | tr '\n' ' '))" \
        'cmp -s "$tmp/out3$mode" "$tmp/x3d"'
done

# ---- 4. CLIENT PAUSE: the replay is not held back ---------------------------------------
redis-cli -p "$P" FLUSHALL >/dev/null
conf "$tmp/c4.conf" "$tmp/spool4" 'flush_timeout_s = 1;'
redis-cli -p "$P" CLIENT PAUSE 5000 WRITE >/dev/null
t0=$(date +%s.%N)
"$bin" -c "$tmp/c4.conf" -r pcaps/demo.pcap -o - -o "$URI" >"$tmp/out4" 2>"$tmp/err4"
rc=$?
t1=$(date +%s.%N)
secs=$($PY -c "print(round($t1 - $t0, 2))")
check "4: exit status $rc" '[ $rc -eq 0 ]'
check "4: held back by CLIENT PAUSE ($secs s)" "$PY -c 'import sys; sys.exit(not $secs < 2.5)'"
check "4: no spool warning" 'grep -q "left in spool" "$tmp/err4"'
redis-cli -p "$P" CLIENT UNPAUSE >/dev/null
"$bin" -q -c "$tmp/c4.conf" -r pcaps/damaged/header-only.pcap -o "$URI" 2>/dev/null
$RESP "$P" xrange portside:detections detection >"$tmp/x4"
dedup "$tmp/x4" >"$tmp/x4d"
check "4: not all delivered after the pause" 'cmp -s "$tmp/out4" "$tmp/x4d"'

# ---- 5. AUTH with an ACL user -----------------------------------------------------------
redis-cli -p "$P" FLUSHALL >/dev/null
redis-cli -p "$P" ACL SETUSER alice on '>s3cret-pw' '~portside:*' '&portside:*' +@all >/dev/null
conf "$tmp/c5.conf" "$tmp/spool5"
PORTSIDE_REDIS_PASSWORD=wrong-pw "$bin" -c "$tmp/c5.conf" -r pcaps/demo.pcap -o - \
    -o "redis://alice@127.0.0.1:$P" >"$tmp/out5" 2>"$tmp/err5"
rc=$?
check "5: wrong password: exit status $rc" '[ $rc -eq 0 ]'
check "5: no clear AUTH error: $(head -c 300 "$tmp/err5")" \
    'grep -q "AUTH failed for user alice: WRONGPASS" "$tmp/err5"'
check "5: records not spooled" 'grep -q "detections left in spool" "$tmp/err5"'
check "5: password leaked to stderr" '! grep -q "wrong-pw" "$tmp/err5"'
conf "$tmp/c5b.conf" "$tmp/spool5" 'password_env = "ALICE_PW";'
ALICE_PW=s3cret-pw "$bin" -q -c "$tmp/c5b.conf" -r pcaps/damaged/header-only.pcap \
    -o "redis://alice@127.0.0.1:$P" 2>"$tmp/err5b"
check "5: right password: $(head -c 300 "$tmp/err5b")" '[ $? -eq 0 ]'
$RESP "$P" xrange portside:detections detection >"$tmp/x5"
dedup "$tmp/x5" >"$tmp/x5d"
check "5: spooled records not delivered with AUTH" 'cmp -s "$tmp/out5" "$tmp/x5d"'
# The password comes from the configuration too, and never from the URI.
redis-cli -p "$P" FLUSHALL >/dev/null
conf "$tmp/c5c.conf" "$tmp/spool5" 'password = "s3cret-pw";'
"$bin" -q -c "$tmp/c5c.conf" -r pcaps/demo.pcap -o "redis://alice@127.0.0.1:$P/0" 2>"$tmp/err5c"
check "5: redis.password: $(head -c 300 "$tmp/err5c")" \
    '[ $? -eq 0 ] && [ "$(redis-cli -p "$P" XLEN portside:detections)" -eq "$(wc -l <"$tmp/out5")" ]'
"$bin" -q -c "$tmp/c5.conf" -r pcaps/demo.pcap -o "redis://alice:s3cret-pw@127.0.0.1:$P" \
    2>"$tmp/err5d"
rc=$?
check "5: password in URI accepted (rc $rc)" '[ $rc -ne 0 ] && [ $rc -lt 128 ]'
check "5: password in URI echoed or unexplained: $(cat "$tmp/err5d")" \
    'grep -q "redis://alice:\*\*\*@127.0.0.1:$P.: a password does not belong in the URI" "$tmp/err5d" && ! grep -q s3cret "$tmp/err5d"'

# ---- 6. TLS: CA file, hostname verification, client certificate -------------------------
{
    d="$tmp/pki"
    mkdir -p "$d"
    (
        cd "$d" || exit 1
        EC=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
        openssl req -x509 "${EC[@]}" -keyout ca.key -out ca.crt -days 2 -subj /CN=portside-test-ca
        openssl req "${EC[@]}" -keyout srv.key -out srv.csr -subj /CN=localhost
        printf 'subjectAltName=DNS:localhost\n' >srv.ext
        openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt \
            -days 2 -extfile srv.ext
        openssl req "${EC[@]}" -keyout cli.key -out cli.csr -subj /CN=portside-sensor
        printf 'extendedKeyUsage=clientAuth\n' >cli.ext
        openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out cli.crt \
            -days 2 -extfile cli.ext
    ) >"$tmp/openssl.log" 2>&1 || ko "6: openssl: $(tail -3 "$tmp/openssl.log")"
    TP=$(free_port)
    TLS=(--port 0 --tls-port "$TP" --tls-cert-file "$d/srv.crt" --tls-key-file "$d/srv.key"
        --tls-ca-cert-file "$d/ca.crt")
    if start_redis tls 0 "${TLS[@]}" --tls-auth-clients no; then
        sleep 0.2
        conf "$tmp/c6.conf" "$tmp/spool6" "ca_file = \"$d/ca.crt\";"
        "$bin" -c "$tmp/c6.conf" -r pcaps/demo.pcap -o - -o "rediss://localhost:$TP" \
            >"$tmp/out6" 2>"$tmp/err6"
        check "6: rediss:// with ca_file: $(grep redis "$tmp/err6" | head -3)" \
            '[ $? -eq 0 ] && ! grep -q "left in spool" "$tmp/err6"'
        $RESP --tls "$d/ca.crt" "$TP" xrange portside:detections detection >"$tmp/x6"
        check "6: TLS stream differs from stdout" 'cmp -s "$tmp/out6" "$tmp/x6"'
        # No CA file: the system store does not know the test CA.
        conf "$tmp/c6b.conf" "$tmp/spool6b"
        "$bin" -q -c "$tmp/c6b.conf" -r pcaps/demo.pcap -o "rediss://localhost:$TP" 2>"$tmp/err6b"
        check "6: untrusted server accepted: $(head -c 300 "$tmp/err6b")" \
            'grep -q "TLS handshake failed: certificate verify failed: self-signed certificate in certificate chain" "$tmp/err6b" && grep -q "left in spool" "$tmp/err6b"'
        # The certificate names localhost, not 127.0.0.1.
        conf "$tmp/c6c.conf" "$tmp/spool6c" "ca_file = \"$d/ca.crt\";"
        "$bin" -q -c "$tmp/c6c.conf" -r pcaps/demo.pcap -o "rediss://127.0.0.1:$TP" 2>"$tmp/err6c"
        check "6: wrong host name accepted: $(head -c 300 "$tmp/err6c")" \
            'grep -q "certificate verify failed: IP address mismatch" "$tmp/err6c"'
        conf "$tmp/c6d.conf" "$tmp/spool6c" "ca_file = \"$d/ca.crt\"; verify_hostname = false;"
        "$bin" -q -c "$tmp/c6d.conf" -r pcaps/damaged/header-only.pcap -o "rediss://127.0.0.1:$TP" \
            2>"$tmp/err6d"
        check "6: verify_hostname = false: $(head -c 300 "$tmp/err6d")" \
            '[ $? -eq 0 ] && ! grep -q "left in spool" "$tmp/err6d"'
        stop_redis tls
    fi
    # Client certificates required by the server.
    if start_redis tlsc 0 "${TLS[@]}" --tls-auth-clients yes; then
        sleep 0.2
        conf "$tmp/c6e.conf" "$tmp/spool6e" "ca_file = \"$d/ca.crt\";"
        "$bin" -q -c "$tmp/c6e.conf" -r pcaps/demo.pcap -o "rediss://localhost:$TP" 2>"$tmp/err6e"
        check "6: server demanding a client certificate accepted none: $(head -c 300 "$tmp/err6e")" \
            'grep -q "left in spool" "$tmp/err6e"'
        conf "$tmp/c6f.conf" "$tmp/spool6e" \
            "ca_file = \"$d/ca.crt\"; cert_file = \"$d/cli.crt\"; key_file = \"$d/cli.key\";"
        "$bin" -q -c "$tmp/c6f.conf" -r pcaps/damaged/header-only.pcap -o "rediss://localhost:$TP" \
            2>"$tmp/err6f"
        check "6: client certificate: $(head -c 300 "$tmp/err6f")" \
            '[ $? -eq 0 ] && ! grep -q "left in spool" "$tmp/err6f" && [ "$(segments "$tmp/spool6e")" -eq 0 ]'
        stop_redis tlsc
    fi
}

# ---- 7. bad URIs and bad settings -------------------------------------------------------
# expect_err NAME REGEX ARGS...: non-zero exit (no crash) and the message on stderr.
expect_err() {
    local name=$1 re=$2
    shift 2
    "$bin" "$@" >/dev/null 2>"$tmp/err7"
    local rc=$?
    if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then ko "7 $name: exit status $rc"; return; fi
    if ! grep -Eq -- "$re" "$tmp/err7"; then ko "7 $name: stderr lacks /$re/: $(cat "$tmp/err7")"; return; fi
    ok
}
conf "$tmp/c7.conf" "$tmp/spool7"
expect_err port "bad Redis URI 'redis://x:99999': port out of range" \
    -c "$tmp/c7.conf" -r pcaps/demo.pcap -o redis://x:99999
expect_err scheme "unsupported output 'http://'" -c "$tmp/c7.conf" -r pcaps/demo.pcap -o http://x
expect_err ipv6 "bad Redis URI 'redis://\[::1': missing ']' after IPv6 address" \
    -c "$tmp/c7.conf" -r pcaps/demo.pcap -o 'redis://[::1'
expect_err db "bad database number 'x'" -c "$tmp/c7.conf" -r pcaps/demo.pcap -o redis://h/x
expect_err two "only one Redis output" -c "$tmp/c7.conf" -r pcaps/demo.pcap -o "$URI" -o "$URI/1"
printf 'redis = {\n  fsync = "sometimes";\n  queue_size = 1;\n  verify_hostname = "yes";\n};\n' \
    >"$tmp/bad7.conf"
expect_err fsync "bad7.conf:2: 'redis.fsync' must be one of \"always\", \"interval\", \"never\"" \
    --check-config -c "$tmp/bad7.conf"
grep -q "bad7.conf:3: 'redis.queue_size' must be an integer between 16 and" "$tmp/err7" && ok ||
    ko "7: queue_size error missing"
grep -q "bad7.conf:4: 'redis.verify_hostname' must be true or false" "$tmp/err7" && ok ||
    ko "7: verify_hostname error missing"
conf "$tmp/c7b.conf" "$tmp/spool7" 'publish = false; xadd = false;'
expect_err nothing "redis.publish and redis.xadd are both false" \
    -c "$tmp/c7b.conf" -r pcaps/demo.pcap -o "$URI"
conf "$tmp/c7c.conf" "/proc/portside/spool"
expect_err spool "cannot create spool directory /proc/portside/spool" \
    -c "$tmp/c7c.conf" -r pcaps/demo.pcap -o "$URI"
conf "$tmp/c7d.conf" "$tmp/spool7" "ca_file = \"$tmp/nope.pem\";"
expect_err ca "cannot load CA file.*nope.pem" -c "$tmp/c7d.conf" -r pcaps/demo.pcap \
    -o "rediss://localhost:$P"

# ---- consumer group example -------------------------------------------------------------
if ! $PY -c 'import redis' 2>/dev/null; then
    echo "redis: consumer check skipped (python3-redis missing; scripts/deps.sh installs it)"
    echo "redis: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
fi
redis-cli -p "$P" FLUSHALL >/dev/null
"$bin" -q -c "$tmp/c1.conf" -r pcaps/demo.pcap -o - -o "$URI" >"$tmp/out8" 2>/dev/null
"$bin" -q -c "$tmp/c1.conf" -r pcaps/demo.pcap -o "$URI" 2>/dev/null # other ids
# Add a repeat of the first record, as a cut write would.
redis-cli -p "$P" XADD portside:detections '*' detection "$(head -1 "$tmp/out8")" >/dev/null
$PY scripts/redis-consumer.py --port "$P" --group g1 --consumer c1 --exit-when-idle 1 \
    >"$tmp/cons8" 2>"$tmp/cons8.err"
check "8: consumer failed: $(head -c 300 "$tmp/cons8.err")" '[ $? -eq 0 ]'
check "8: consumer saw $(wc -l <"$tmp/cons8") records, want 16 after dropping the repeat" \
    '[ "$(wc -l <"$tmp/cons8")" -eq 16 ] && head -8 "$tmp/cons8" | cmp -s - "$tmp/out8"'
pend=$(redis-cli -p "$P" XPENDING portside:detections g1 | head -1)
check "8: consumer left $pend entries unacknowledged" '[ "$pend" = 0 ]'

echo "redis: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
