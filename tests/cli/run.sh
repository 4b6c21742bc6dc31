#!/usr/bin/env bash
# run.sh - command-line behaviour: options, exit codes, damaged captures, config errors, outputs.
# Usage: tests/cli/run.sh PORTSIDE
set -uo pipefail
bin=${1:?usage: run.sh PORTSIDE}
cd "$(dirname "$0")/../.."
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
ko() { echo "FAIL cli: $*"; fail=$((fail + 1)); }

# expect NAME WANT_RC(0|nonzero) STDERR_REGEX STDOUT_LINES(-1 = any) -- ARGS...
expect() {
    local name=$1 want=$2 errre=$3 lines=$4
    shift 5
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ $rc -ge 128 ]; then ko "$name: crashed (rc=$rc)"; return; fi
    if [ "$want" = 0 ] && [ $rc -ne 0 ]; then ko "$name: rc=$rc, want 0: $(cat "$tmp/err")"; return; fi
    if [ "$want" = nonzero ] && [ $rc -eq 0 ]; then ko "$name: rc=0, want non-zero"; return; fi
    if [ -n "$errre" ] && ! grep -Eq "$errre" "$tmp/err"; then
        ko "$name: stderr lacks /$errre/: $(head -c 400 "$tmp/err")"; return
    fi
    if [ "$lines" != -1 ] && [ "$(wc -l <"$tmp/out")" -ne "$lines" ]; then
        ko "$name: $(wc -l <"$tmp/out") stdout lines, want $lines"; return
    fi
    if [ "$name" != help ] && [ "$name" != version ] && [ -s "$tmp/out" ] &&
        ! /usr/bin/python3 tests/golden/normalize.py <"$tmp/out" >/dev/null 2>&1; then
        ko "$name: stdout is not JSON Lines"; return
    fi
    ok
}

expect help 0 "" -1 -- --help
grep -q "Usage: portside" "$tmp/out" && ok || ko "help text missing"
expect version 0 "" 1 -- --version
expect no-args nonzero "give -r FILE" 0 --
expect bad-option nonzero "Usage" 0 -- --no-such-option
expect missing-file nonzero "cannot open .*No such file" 0 -- -r "$tmp/nope.pcap"
expect directory nonzero "directory" 0 -- -r pcaps
expect empty nonzero "empty \\(0 bytes\\)" 0 -- -r pcaps/damaged/empty.pcap
expect not-a-capture nonzero "not a pcap or pcapng capture" 0 -- -r pcaps/damaged/notpcap.pcap
expect bad-linktype nonzero "unsupported link type 147" 0 -- -r pcaps/damaged/badlink.pcap
expect header-only 0 "" 0 -- -q -r pcaps/damaged/header-only.pcap
expect truncated 0 "warning: .*damaged" -1 -- -r pcaps/damaged/truncated.pcap
expect flipped 0 "" -1 -- -r pcaps/damaged/flipped.pcap
expect huge-length 0 "warning: .*damaged" -1 -- -r pcaps/damaged/hugelen.pcap
[ "$(wc -l <"$tmp/err")" -ge 1 ] && ok || ko "summary missing on stderr"

# One error line per problem, naming file:line.
printf 'flow = {\n  max_flows = 1000;\n  bogus = 1;\n};\ndetection = { window_s = 5; };\n' >"$tmp/bad.conf"
expect config-errors nonzero "bad.conf:3: .*unknown key 'flow.bogus'" 0 -- -c "$tmp/bad.conf" -r pcaps/demo.pcap
grep -Eq "bad.conf:5: .*detection.window_s" "$tmp/err" && ok || ko "second config error not reported"
printf 'sensor = { name = "x" \n' >"$tmp/syntax.conf"
expect config-syntax nonzero "syntax.conf:[0-9]+:" 0 -- -c "$tmp/syntax.conf" -r pcaps/demo.pcap
expect check-config-ok 0 "valid" 0 -- --check-config -c config/portside.conf
expect check-config-bad nonzero "bad.conf:3" 0 -- --check-config -c "$tmp/bad.conf"

# -o PATH appends; -o - and -o PATH together write the same records.
expect to-file 0 "" 0 -- -q -r pcaps/demo.pcap -o "$tmp/det.jsonl"
first=$(wc -l <"$tmp/det.jsonl")
[ "$first" -gt 0 ] && ok || ko "demo produced no detections"
expect append 0 "" -1 -- -q -r pcaps/demo.pcap -o "$tmp/det.jsonl" -o -
[ "$(wc -l <"$tmp/det.jsonl")" -eq $((first * 2)) ] && ok || ko "-o PATH did not append"
[ "$(wc -l <"$tmp/out")" -eq "$first" ] && ok || ko "-o - and -o PATH differ"
# Flags override the config file's outputs.
printf 'output = { paths = ["%s"]; };\n' "$tmp/cfg-out.jsonl" >"$tmp/out.conf"
expect config-output 0 "" 0 -- -q -c "$tmp/out.conf" -r pcaps/demo.pcap
[ "$(wc -l <"$tmp/cfg-out.jsonl")" -eq "$first" ] && ok || ko "output.paths not used"
expect flag-overrides 0 "" "$first" -- -q -c "$tmp/out.conf" -r pcaps/demo.pcap -o -
[ "$(wc -l <"$tmp/cfg-out.jsonl")" -eq "$first" ] && ok || ko "-o did not override output.paths"
expect unwritable nonzero "cannot open output" 0 -- -r pcaps/demo.pcap -o /nonexistent/dir/x

# Expected clients: a learned baseline survives the run in its state file; a client outside it
# is new_client; trusted networks drop discovery (mode drop) or keep it at info.
printf 'baseline = { learn_s = 2; file = "%s/bl.txt"; };\n' "$tmp" >"$tmp/learn.conf"
expect learn 0 "" -1 -- -q -c "$tmp/learn.conf" -r pcaps/demo.pcap
grep -q "^# portside baseline v1 learned" "$tmp/bl.txt" && grep -q "^198.18.0.10 198.18.0.2 2375$" "$tmp/bl.txt" &&
    ok || ko "baseline file not written"
expect baseline-known 0 "" -1 -- -q -c "$tmp/learn.conf" -r pcaps/docker-cli.pcap
[ "$(grep -c '"new_client":false' "$tmp/out")" -eq "$(wc -l <"$tmp/out")" ] && ok ||
    ko "known client flagged new"
expect baseline-new 0 "" -1 -- -q -c "$tmp/learn.conf" -r pcaps/docker-curl.pcap
[ "$(grep -c '"new_client":true' "$tmp/out")" -eq "$(wc -l <"$tmp/out")" ] && [ -s "$tmp/out" ] &&
    ok || ko "new client not flagged"
printf 'trust = { docker = ["198.18.0.11/32"]; };\n' >"$tmp/trust.conf"
expect trust-drop 0 "" 0 -- -q -c "$tmp/trust.conf" -r pcaps/docker-curl.pcap
printf 'trust = { any = ["198.18.0.0/24"]; mode = "info"; };\n' >"$tmp/trust-info.conf"
expect trust-info 0 "" -1 -- -q -c "$tmp/trust-info.conf" -r pcaps/docker-curl.pcap
[ "$(grep -c '"severity":"info"' "$tmp/out")" -eq "$(wc -l <"$tmp/out")" ] && [ -s "$tmp/out" ] &&
    ok || ko "trusted clients not at info"

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
