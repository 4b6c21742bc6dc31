#!/usr/bin/env bash
# run.sh - golden tests: replays every capture in pcaps/ and compares with its committed output.
# Usage: tests/golden/run.sh PORTSIDE [--update]
set -uo pipefail
bin=${1:?usage: run.sh PORTSIDE [--update]}
update=${2:-}
cd "$(dirname "$0")/../.."
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while IFS= read -r pcap; do
    name=${pcap#pcaps/}
    name=${name//\//__}
    exp=tests/golden/expected/${name}.jsonl
    if ! "$bin" -q -c tests/golden/golden.conf -r "$pcap" -o - >"$tmp/raw" 2>"$tmp/err"; then
        echo "FAIL golden $pcap: portside exited non-zero: $(head -c 300 "$tmp/err")"
        fail=$((fail + 1)); continue
    fi
    if ! /usr/bin/python3 tests/golden/normalize.py <"$tmp/raw" >"$tmp/got" 2>"$tmp/nerr"; then
        echo "FAIL golden $pcap: output is not valid JSON Lines: $(cat "$tmp/nerr")"
        fail=$((fail + 1)); continue
    fi
    if [ "$update" = "--update" ]; then
        mkdir -p tests/golden/expected
        cp "$tmp/got" "$exp"
    fi
    if [ ! -f "$exp" ]; then
        echo "FAIL golden $pcap: no expected output $exp"
        fail=$((fail + 1)); continue
    fi
    if diff -u "$exp" "$tmp/got" >"$tmp/diff"; then
        pass=$((pass + 1))
    else
        echo "FAIL golden $pcap:"; head -40 "$tmp/diff"
        fail=$((fail + 1))
    fi
done < <(find pcaps -path pcaps/peers -prune -o -path pcaps/damaged -prune -o \
              \( -name '*.pcap' -o -name '*.pcapng' \) -print | sort)
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
