#!/usr/bin/env bash
# demo.sh - one command from a fresh Debian 12: install dependencies, build, replay the demo capture.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "== build/portside -r pcaps/demo.pcap -o -" >&2
build/portside -r pcaps/demo.pcap -o -
