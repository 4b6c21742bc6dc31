#!/usr/bin/env bash
# run.sh - peer corpus test: replays every capture in pcaps/peers/ and compares portside's
# --http-log output with what Suricata, Zeek and nDPI expect (tests/peers/cases.yaml).
# Usage: tests/peers/run.sh PORTSIDE [-v]
set -uo pipefail
bin=${1:?usage: run.sh PORTSIDE [-v]}
verbose=${2:-}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
cd "$(dirname "$0")/../.."
root=pcaps/peers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -d "$root" ]; then
    echo "FAIL peers: $root is missing"
    echo "peers: 0 passed, 1 failed"
    exit 1
fi

# Default configuration on purpose: the corpus must stay silent with what users run.
# Not -q: the end-of-run summary on stderr carries counters some checks use.
while IFS= read -r pcap; do
    rel=${pcap#"$root"/}
    key=${rel//\//__}
    "$bin" --http-log -r "$pcap" -o - >"$tmp/$key.jsonl" 2>"$tmp/$key.err"
    echo $? >"$tmp/$key.rc"
done < <(find "$root" \( -name '*.pcap' -o -name '*.pcapng' \) -print | sort)

/usr/bin/python3 tests/peers/compare.py --cases tests/peers/cases.yaml --root "$root" \
    --outdir "$tmp" $verbose
