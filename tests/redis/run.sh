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

# ---- 9. learned baseline kept in Redis, shared by sensors, merged with the state file -------
redis-cli -p "$P" FLUSHALL >/dev/null
PAIR="198.18.0.10 198.18.0.2 2375"
mkdir -p "$tmp/state9a" "$tmp/state9b" "$tmp/state9c" "$tmp/state9d"
# conf9 FILE STATEDIR [EXTRA baseline KEYS]
conf9() {
    conf "$1" "$tmp/spool9"
    printf 'baseline = { learn_s = 2; file = "%s/bl"; %s };\n' "$2" "${3:-}" >>"$1"
}
conf9 "$tmp/c9a.conf" "$tmp/state9a"
"$bin" -q -c "$tmp/c9a.conf" -r pcaps/demo.pcap -o "$URI" 2>"$tmp/err9a"
check "9: learning run failed: $(head -c 300 "$tmp/err9a")" '[ $? -eq 0 ]'
check "9: learned pair not in the Redis set: $(redis-cli -p "$P" SMEMBERS portside:baseline)" \
    '[ "$(redis-cli -p "$P" SISMEMBER portside:baseline "$PAIR")" = 1 ]'
check "9: no learned marker: $(redis-cli -p "$P" GET portside:baseline:learned)" \
    'redis-cli -p "$P" GET portside:baseline:learned | grep -Eq "^[^ ]+ 2026-11-23T"'
check "9: state file not written" 'grep -qx "$PAIR" "$tmp/state9a/bl"'
# A second sensor with an empty state directory, the same Redis: the pair is known at once.
conf9 "$tmp/c9b.conf" "$tmp/state9b"
"$bin" -q -c "$tmp/c9b.conf" -r pcaps/docker-cli.pcap -o - -o "$URI" >"$tmp/out9b" 2>"$tmp/err9b"
check "9: known client flagged new from the Redis baseline: $(head -c 300 "$tmp/err9b")" \
    '[ -s "$tmp/out9b" ] && [ "$(grep -c "\"new_client\":false" "$tmp/out9b")" -eq "$(wc -l <"$tmp/out9b")" ]'
check "9: no load notice: $(head -c 300 "$tmp/err9b")" \
    'grep -q "baseline: 1 pairs read from Redis set portside:baseline, 1 new here; 1 in all; learning is over (ended by" "$tmp/err9b"'
check "9: Redis baseline not merged into the state file" \
    'head -1 "$tmp/state9b/bl" | grep -q "learned" && grep -qx "$PAIR" "$tmp/state9b/bl"'
"$bin" -q -c "$tmp/c9b.conf" -r pcaps/docker-curl.pcap -o - -o "$URI" >"$tmp/out9c" 2>/dev/null
check "9: a client outside the shared baseline not flagged new" \
    '[ -s "$tmp/out9c" ] && [ "$(grep -c "\"new_client\":true" "$tmp/out9c")" -eq "$(wc -l <"$tmp/out9c")" ]'
check "9: a judged (not learned) pair added to the set" \
    '[ "$(redis-cli -p "$P" SCARD portside:baseline)" = 1 ]'
# baseline.redis = false: Redis is neither read nor written (this sensor learns on its own).
conf9 "$tmp/c9d.conf" "$tmp/state9c" 'redis = false;'
"$bin" -q -c "$tmp/c9d.conf" -r pcaps/docker-curl.pcap -o - -o "$URI" >"$tmp/out9d" 2>"$tmp/err9d"
check "9: baseline.redis = false still used Redis" \
    '! grep -q "baseline:" "$tmp/err9d" && [ "$(redis-cli -p "$P" SCARD portside:baseline)" = 1 ] && grep -qx "198.18.0.11 198.18.0.2 2375" "$tmp/state9c/bl"'
# Redis unreachable: a warning, the state file alone, and no wait for the (here 60 s) timeout:
# the failed connection ends it.
conf9 "$tmp/c9e.conf" "$tmp/state9b" 'redis_timeout_ms = 60000;'
t0=$(date +%s.%N)
"$bin" -q -c "$tmp/c9e.conf" -r pcaps/docker-cli.pcap -o - -o "redis://127.0.0.1:$(free_port)" \
    >"$tmp/out9e" 2>"$tmp/err9e"
rc=$?
secs=$($PY -c "print(round($(date +%s.%N) - $t0, 2))")
check "9: unreachable Redis: rc $rc, $secs s: $(head -c 300 "$tmp/err9e")" \
    "[ $rc -eq 0 ] && grep -q 'baseline: not loaded from Redis (portside:baseline: cannot connect' '$tmp/err9e' && $PY -c 'import sys; sys.exit(not $secs < 20)'"
check "9: unreachable Redis: the state file's baseline not used" \
    '[ -s "$tmp/out9e" ] && [ "$(grep -c "\"new_client\":false" "$tmp/out9e")" -eq "$(wc -l <"$tmp/out9e")" ]'
# The cap: a set larger than baseline.max_pairs loads max_pairs pairs, with a warning.
redis-cli -p "$P" FLUSHALL >/dev/null
for i in $(seq 1 40); do echo "SADD portside:baseline \"10.9.0.$i 10.0.0.1 2375\""; done | redis-cli -p "$P" >/dev/null
redis-cli -p "$P" SET portside:baseline:learned "other 2026-01-01T00:00:00Z" >/dev/null
conf9 "$tmp/c9f.conf" "$tmp/state9d" 'max_pairs = 16; redis_key = "portside:baseline";'
"$bin" -q -c "$tmp/c9f.conf" -r pcaps/damaged/header-only.pcap -o "$URI" 2>"$tmp/err9f"
check "9: cap: $(head -c 400 "$tmp/err9f")" \
    'grep -q "more pairs than baseline.max_pairs (16)" "$tmp/err9f" && [ "$(grep -vc "^#" "$tmp/state9d/bl")" -eq 16 ]'
check "9: the marker of another sensor overwritten" \
    '[ "$(redis-cli -p "$P" GET portside:baseline:learned)" = "other 2026-01-01T00:00:00Z" ]'
# A key of another type: a clear warning, the run goes on.
redis-cli -p "$P" SET wrongtype x >/dev/null
conf9 "$tmp/c9g.conf" "$tmp/state9d" 'redis_key = "wrongtype";'
"$bin" -q -c "$tmp/c9g.conf" -r pcaps/damaged/header-only.pcap -o "$URI" 2>"$tmp/err9g"
check "9: WRONGTYPE: $(head -c 300 "$tmp/err9g")" \
    '[ $? -eq 0 ] && grep -q "baseline: not loaded from Redis (wrongtype: WRONGTYPE" "$tmp/err9g"'

# ---- 10. SIGHUP: changed Redis settings apply live, the queue and the spool are kept --------
# portside captures a veth whose other end, in a namespace of its own, gets tcpreplay's packets.
if [ "$(id -u)" -ne 0 ] || ! command -v tcpreplay >/dev/null || ! command -v ip >/dev/null; then
    echo "redis: SIGHUP check skipped (needs root, ip and tcpreplay)"
else
    ns=psr$$ va=psr$$a vb=psr$$b
    netns_cleanup() { ip link del "$va" 2>/dev/null; ip netns del "$ns" 2>/dev/null; }
    trap 'netns_cleanup; cleanup' EXIT
    ip netns add "$ns" && ip link add "$va" type veth peer name "$vb" netns "$ns" &&
        sysctl -qw "net.ipv6.conf.$va.disable_ipv6=1" && ip link set "$va" up &&
        ip -n "$ns" link set "$vb" up || ko "10: cannot create the veth"
    P2=$(free_port)
    start_redis second "$P2" || exit 1
    redis-cli -p "$P" FLUSHALL >/dev/null
    # conf10 URI STREAM [EXTRA]: the URI comes from the configuration (output.paths).
    conf10() {
        conf "$tmp/c10.conf" "$tmp/spool10" "stream = \"$2\"; ${3:-}"
        printf 'output = { paths = ["-", "%s"]; };\nruntime = { stats_interval_s = 0; };\n' "$1" \
            >>"$tmp/c10.conf"
    }
    wait_grep() { # FILE REGEX SECONDS
        for _ in $(seq $(($3 * 20))); do grep -Eq "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
        return 1
    }
    wait_xlen() { # PORT STREAM N: waits until the stream holds N entries
        for _ in $(seq 200); do
            [ "$(redis-cli -p "$1" XLEN "$2")" -ge "$3" ] && return 0
            sleep 0.05
        done
        return 1
    }
    hups() { grep -c "reloaded $tmp/c10.conf" "$tmp/err10"; }
    hup() { # waits for the reload to be done
        local n
        n=$(hups)
        kill -HUP "$pid10"
        for _ in $(seq 100); do [ "$(hups)" -gt "$n" ] && return 0; sleep 0.05; done
        return 1
    }
    replay() { # PCAP: sends it, then waits for its detections on stdout
        local before
        before=$(wc -l <"$tmp/out10")
        ip netns exec "$ns" tcpreplay -q -i "$vb" "$1" >"$tmp/tcpreplay10.log" 2>&1 ||
            ko "10: tcpreplay $1: $(tail -2 "$tmp/tcpreplay10.log")"
        for _ in $(seq 100); do [ "$(wc -l <"$tmp/out10")" -gt "$before" ] && break; sleep 0.05; done
        sleep 0.3
    }
    conf10 "$URI" s1
    "$bin" -c "$tmp/c10.conf" -i "$va" >"$tmp/out10" 2>"$tmp/err10" &
    pid10=$!
    pids+=("$pid10")
    wait_grep "$tmp/err10" "capturing on" 5 || ko "10: portside did not start: $(cat "$tmp/err10")"
    replay pcaps/docker-cli.pcap
    n1=$(wc -l <"$tmp/out10")
    check "10: detections before the reload ($n1) not on stream s1" \
        '[ "$n1" -gt 0 ] && wait_xlen "$P" s1 "$n1"'
    # a. A new stream name: applied without reconnecting; later detections go to the new stream.
    conf10 "$URI" s2
    hup || ko "10a: no reload"
    check "10a: stream change not applied: $(grep reload "$tmp/err10" | tail -3)" \
        'grep -q "reload: redis.stream applied" "$tmp/err10" && grep -q "settings changed: applied to the next records" "$tmp/err10"'
    check "10a: reconnected for a stream name" '! grep -q "reconnecting" "$tmp/err10"'
    replay pcaps/docker-curl.pcap
    n2=$(wc -l <"$tmp/out10")
    check "10a: $((n2 - n1)) later detections not on the new stream s2 ($(redis-cli -p "$P" XLEN s2))" \
        '[ "$n2" -gt "$n1" ] && wait_xlen "$P" s2 $((n2 - n1))'
    check "10a: old stream s1 got later records" '[ "$(redis-cli -p "$P" XLEN s1)" -eq "$n1" ]'
    tail -n +$((n1 + 1)) "$tmp/out10" >"$tmp/want10a"
    $RESP "$P" xrange s2 detection >"$tmp/x10a"
    check "10a: stream s2 differs from stdout" 'cmp -s "$tmp/want10a" "$tmp/x10a"'
    # b. An unchanged configuration: nothing happens to the connection.
    hup || ko "10b: no reload"
    check "10b: an unchanged reload touched the Redis output" \
        '[ "$(grep -c "settings changed" "$tmp/err10")" -eq 1 ]'
    # c. A URI where nothing listens: reconnects there, detections go to the spool; then the
    # second server: the spooled detections arrive there, in order, then the new ones.
    DEAD=$(free_port)
    conf10 "redis://127.0.0.1:$DEAD" s2
    hup || ko "10c: no reload"
    check "10c: URI change did not reconnect" \
        'wait_grep "$tmp/err10" "redis 127.0.0.1:$DEAD: settings changed: reconnecting" 2 && wait_grep "$tmp/err10" "127.0.0.1:$DEAD: cannot connect" 3'
    replay pcaps/etcd-curl.pcap
    n3=$(wc -l <"$tmp/out10")
    conf10 "redis://127.0.0.1:$P2" s2
    hup || ko "10c: no reload"
    replay pcaps/kubelet-curl.pcap
    n4=$(wc -l <"$tmp/out10")
    check "10c: $((n4 - n2)) detections since the URI change not all on the second server ($(redis-cli -p "$P2" XLEN s2))" \
        '[ "$n3" -gt "$n2" ] && [ "$n4" -gt "$n3" ] && wait_xlen "$P2" s2 $((n4 - n2))'
    tail -n +$((n2 + 1)) "$tmp/out10" >"$tmp/want10c"
    $RESP "$P2" xrange s2 detection >"$tmp/x10c"
    dedup "$tmp/x10c" >"$tmp/x10cd"
    check "10c: spooled and new detections differ from stdout" 'cmp -s "$tmp/want10c" "$tmp/x10cd"'
    # d. A setting that cannot be used (a CA file that does not exist) and a second Redis
    # output: each refused with a clear line, the running output kept.
    conf10 "rediss://localhost:$P2" s3 "ca_file = \"$tmp/nope.pem\";"
    hup || ko "10d: no reload"
    check "10d: bad CA file not refused: $(grep reload "$tmp/err10" | tail -2)" \
        'grep -q "reload: redis: cannot load CA file.*nope.pem.*; the running outputs and redis settings stay" "$tmp/err10"'
    check "10d: refused stream change reported as applied" '! grep -q "redis.stream applied.*" <(grep -A99 nope.pem "$tmp/err10")'
    conf "$tmp/c10.conf" "$tmp/spool10" 'stream = "s2";'
    printf 'output = { paths = ["-", "redis://127.0.0.1:%s", "redis://127.0.0.1:%s"]; };\n' "$P2" "$P" >>"$tmp/c10.conf"
    hup || ko "10d: no reload"
    check "10d: two Redis outputs not refused" 'grep -q "reload: only one Redis output is supported" "$tmp/err10"'
    replay pcaps/kube-kubectl.pcap
    n5=$(wc -l <"$tmp/out10")
    check "10d: records after refused reloads not on the running output" \
        '[ "$n5" -gt "$n4" ] && wait_xlen "$P2" s2 $((n5 - n2))'
    kill -TERM "$pid10"
    wait "$pid10"
    rc=$?
    check "10: exit status $rc" '[ $rc -eq 0 ]'
    stop_redis second
    netns_cleanup
fi

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
