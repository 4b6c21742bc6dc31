#!/usr/bin/env bash
# test.sh - the whole test suite from a fresh Debian 12 clone: deps, warnings-as-errors build,
# unit tests, golden captures, CLI, peer corpora, ASan+UBSan, short fuzz runs, benchmark smoke.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
fuzz_seconds=${PS_FUZZ_SECONDS:-8}
jobs=$(nproc)
passed=0 failed=0
failures=()

step() { # step NAME COMMAND... : runs a step, counts it, keeps its log
    local name=$1; shift
    local log="$root/build-test/logs/$name.log"
    mkdir -p "$root/build-test/logs"
    local t0=$SECONDS
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1)); echo "ok   $name ($((SECONDS - t0)) s)"
    else
        failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name ($((SECONDS - t0)) s)"
        tail -n 60 "$log" | sed 's/^/    /'
    fi
}

scripts/deps.sh || { echo "dependency installation failed"; exit 1; }

format_check() {
    local bad=0
    while IFS= read -r f; do
        clang-format --dry-run --Werror "$f" || bad=1
    done < <(git ls-files '*.c' '*.h' 2>/dev/null || find sensor dissectors include tests bench -name '*.[ch]')
    return $bad
}

build() { # build DIR CMAKE_ARGS...
    local dir=$1; shift
    cmake -S "$root" -B "$dir" -DPS_WERROR=ON "$@" && cmake --build "$dir" -j"$jobs"
}

unit() { ctest --test-dir "$1" --output-on-failure -j"$jobs"; }

fuzz_all() {
    local dir=$1 rc=0
    for t in "$dir"/fuzz_*; do
        [ -x "$t" ] || continue
        local name corpus
        name=$(basename "$t")
        corpus=$(mktemp -d)
        [ -d "$root/tests/fuzz/corpus/$name" ] && cp -r "$root/tests/fuzz/corpus/$name/." "$corpus/"
        # past findings (tests/fuzz/regressions/<target>) are replayed as a read-only corpus
        local regs=()
        [ -d "$root/tests/fuzz/regressions/$name" ] && regs=("$root/tests/fuzz/regressions/$name")
        echo "== $name for ${fuzz_seconds}s"
        if ! (cd "$corpus" && "$t" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 \
                -print_final_stats=1 "$corpus" "${regs[@]}" 2>&1 | tail -n 12); then
            echo "$name FAILED"; rc=1
        fi
        rm -rf "$corpus"
    done
    return $rc
}

step format format_check
step build build "$root/build-test/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo
step unit unit "$root/build-test/release"
step golden tests/golden/run.sh "$root/build-test/release/portside"
step cli tests/cli/run.sh "$root/build-test/release/portside"
step live tests/live/run.sh "$root/build-test/release/portside"
step robust tests/robust/run.sh "$root/build-test/release/portside"
if [ -x tests/peers/run.sh ]; then
    step peers tests/peers/run.sh "$root/build-test/release/portside"
fi
step redis tests/redis/run.sh "$root/build-test/release/portside"
step build-asan build "$root/build-test/asan" -DCMAKE_BUILD_TYPE=Debug -DPS_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step unit-asan unit "$root/build-test/asan"
step golden-asan tests/golden/run.sh "$root/build-test/asan/portside"
step cli-asan tests/cli/run.sh "$root/build-test/asan/portside"
step build-fuzz build "$root/build-test/fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DPS_FUZZ=ON -DPS_SANITIZE=ON -DPS_TESTS=OFF
step fuzz fuzz_all "$root/build-test/fuzz"
if [ -x bench/run ]; then
    step bench-smoke bench/run --smoke "$root/build-test/release"
fi

echo
[ ${#failures[@]} -eq 0 ] || echo "failed steps: ${failures[*]} (logs in build-test/logs/)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
