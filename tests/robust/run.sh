#!/usr/bin/env bash
# run.sh - robustness: damaged and hostile captures end in exit 0 (or the documented one-line
# error), no crash, hang or unbounded memory, valid JSON Lines, and the expected anomaly counted.
# Usage: tests/robust/run.sh PORTSIDE
#   PS_ROBUST_RSS_MB (default 400) and PS_ROBUST_SECONDS (default 60) bound each run;
#   PS_ROBUST_STRICT=1 turns known issues (KNOWN lines) into failures.
set -uo pipefail
bin=${1:?usage: run.sh PORTSIDE}
bin=$(readlink -f "$bin")
cd "$(dirname "$0")/../.."
rss_mb=${PS_ROBUST_RSS_MB:-400}
secs=${PS_ROBUST_SECONDS:-60}
pass=0 fail=0 known=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 tests/robust/make_robust_pcaps.py "$tmp" || { echo "FAIL robust: generator"; exit 1; }

ok() { pass=$((pass + 1)); }
ko() { echo "FAIL robust: $*"; fail=$((fail + 1)); }

# Valid JSON Lines: every line one JSON object, the whole file strict UTF-8.
jsonl_ok() {
    /usr/bin/python3 -c '
import json, sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")  # strict: raises on invalid UTF-8
for n, line in enumerate(text.splitlines(), 1):
    if not isinstance(json.loads(line), dict):
        sys.exit("line %d is not an object" % n)
' "$1"
}

# run NAME WANT_RC(0|nonzero) STDERR_REGEX RECORDS(-1 = any) FILE [ARGS...]
run() {
    local name=$1 want=$2 errre=$3 records=$4 file=$5
    shift 5
    local out=$tmp/$name.out err=$tmp/$name.err rss=$tmp/$name.rss t0=$SECONDS
    : >"$out"
    timeout -k 5 "$secs" /usr/bin/time -o "$rss" -f %M "$bin" -r "$file" -o "$out" "$@" 2>"$err"
    local rc=$? took=$((SECONDS - t0))
    local kb
    kb=$(tail -n 1 "$rss" 2>/dev/null | tr -dc 0-9)
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then ko "$name: no result within ${secs}s (hang?)"; return 1; fi
    if [ $rc -ge 128 ] || grep -q 'Command terminated by signal' "$rss" 2>/dev/null; then
        ko "$name: crashed (rc=$rc): $(tail -n 3 "$err")"; return 1
    fi
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$err"; then
        ko "$name: sanitizer report: $(grep -m1 -E 'ERROR|runtime error' "$err")"; return 1
    fi
    if [ "$want" = 0 ] && [ $rc -ne 0 ]; then ko "$name: rc=$rc, want 0: $(head -c 300 "$err")"; return 1; fi
    if [ "$want" = nonzero ] && [ $rc -eq 0 ]; then ko "$name: rc=0, want an error"; return 1; fi
    if [ "$want" = nonzero ] && [ "$(grep -vc 'Command exited' "$err")" -ne 1 ]; then
        ko "$name: want one error line, got: $(head -c 300 "$err")"; return 1
    fi
    if [ -z "$kb" ] || [ "$kb" -gt $((rss_mb * 1024)) ]; then
        ko "$name: peak RSS ${kb:-?} KiB over ${rss_mb} MiB"; return 1
    fi
    if [ -n "$errre" ] && ! grep -Eq "$errre" "$err"; then
        ko "$name: stderr lacks /$errre/: $(grep -E 'anomalies|warning|portside: [^0-9]' "$err" | head -c 400)"
        return 1
    fi
    if ! jsonl_ok "$out"; then ko "$name: output is not valid JSON Lines in UTF-8"; return 1; fi
    local n
    n=$(wc -l <"$out")
    if [ "$records" != -1 ] && [ "$n" -ne "$records" ]; then
        ko "$name: $n records, want $records"; return 1
    fi
    echo "ok   $name (rc=$rc, ${kb} KiB, ${took} s, $n records)"
    ok
}

d=$tmp
run snaplen-cut      0 'decode\.ipv4\.truncated=' -1 "$d/snaplen.pcap"
run ipv4-total-len   0 'decode\.ipv4\.bad_total_len=' -1 "$d/ipv4-totlen.pcap"
run tcp-data-offset  0 'decode\.tcp\.bad_hlen=2' -1 "$d/tcp-doff.pcap"
run ipv6-100-ext     0 'decode\.ipv6\.too_many_ext=2' 0 "$d/ipv6-ext100.pcap"
run overlap-50k      0 'stream\.overlap_different=[0-9]+' -1 "$d/overlap50k.pcap"
run pipeline-100k    0 'http\.pipeline_cap=[0-9]{5}' -1 "$d/pipeline100k.pcap"
run header-1mib      0 'http\.header_too_long=1' 0 "$d/header1m.pcap"
run headers-10k      0 'http\.(header_too_long|too_many_headers)=1' 0 "$d/headers10k.pcap"
printf 'http = { max_header_bytes = 1048576; };\n' >"$tmp/bigheads.conf"
run headers-10k-cap  0 'http\.too_many_headers=1' -1 "$d/headers10k.pcap" -c "$tmp/bigheads.conf"
run invalid-utf8     0 'detections: 1 records' 1 "$d/utf8.pcap"
# the text \xNN stands for each invalid byte, in the URL, Host and User-Agent alike
for f in '"url":"/v1.43/containers/json?x=\\\\xFF\\\\xFE\\\\xC3(' '"host":"\\\\xC0\\\\xAF' \
    '"user_agent":"Docker-Client/\\\\xFF\\\\xBE'; do
    grep -qF "$(printf '%b' "$f")" "$tmp/invalid-utf8.out" && ok || ko "invalid-utf8: $f not in the record"
done
run record-2gib      0 'warning: .*damaged.*2147483648' 1 "$d/hugerec.pcap"
run truncated        0 'warning: .*damaged' 1 "$d/truncated.pcap"
run bad-magic        nonzero 'not a pcap or pcapng capture' 0 "$d/badmagic.pcap"
for f in "$d"/flip-*.pcap; do
    run "$(basename "$f" .pcap)" 0 '' -1 "$f"
done
for f in pcaps/damaged/*.pcap; do # the checked-in damaged captures: a result or one clear line
    case $(basename "$f") in
    empty.pcap | notpcap.pcap | badlink.pcap) run "damaged-$(basename "$f" .pcap)" nonzero '' 0 "$f" ;;
    *) run "damaged-$(basename "$f" .pcap)" 0 '' -1 "$f" ;;
    esac
done

# A record longer than 16 KiB (the correlator's line buffer until it was sized for the longest
# record possible, PS_RECORD_MAX): eight calls with 1000-byte URLs of invalid UTF-8 make the final
# record ~18 KiB; both records must be written (see docs/fuzzing.md, "Findings").
run invalid-utf8-long 0 'http\.url_truncated=8' 2 "$d/utf8-long.pcap"

echo "robust: $pass passed, $fail failed, $known known issues"
[ "$fail" -eq 0 ]
