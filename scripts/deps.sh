#!/usr/bin/env bash
# deps.sh - installs the Debian 12 packages portside needs to build, test and fuzz (idempotent).
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
      libpcap-dev libndpi-dev libssl-dev libhiredis-dev libcunit1-dev zlib1g-dev libconfig-dev
      python3 python3-yaml jq time redis-server python3-redis tcpreplay iproute2 curl)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "deps: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
