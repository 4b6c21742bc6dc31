#!/usr/bin/env bash
# campaign.sh - long libFuzzer campaign: every fuzz target in turn, one process at a time.
# Usage: tests/fuzz/campaign.sh [BUILD_DIR [WORK_DIR]]
#   PS_FUZZ_RUNS (default 10000000) executions per target, PS_FUZZ_CAP (default 480) seconds at
#   most per target, PS_FUZZ_TARGETS (default: all) names to run. Builds the fuzzers (clang,
#   ASan+UBSan; PS_FUZZ_SANITIZE=0: libFuzzer only, several times faster) in BUILD_DIR unless
#   they exist; each target's corpus starts from tests/fuzz/corpus/<target> and the past findings
#   in tests/fuzz/regressions/<target>, and grows in WORK_DIR/corpus/<target>; crashes, leaks and
#   timeouts go to WORK_DIR/artifacts/<target>/ and the target is restarted for the time left.
#   Results:
#   WORK_DIR/results.tsv (target, executions, cov, ft, corpus files, corpus bytes, findings,
#   seconds) and one log per target.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build=${1:-/tmp/build-fuzz-campaign}
work=${2:-/tmp/fuzz-campaign}
runs=${PS_FUZZ_RUNS:-10000000}
cap=${PS_FUZZ_CAP:-480}

if [ ! -x "$build/fuzz_e2e" ]; then
    san=ON
    [ "${PS_FUZZ_SANITIZE:-1}" = 0 ] && san=OFF
    # only the fuzz targets: without the sanitizer runtime, the other binaries cannot link the
    # fuzzer-instrumented core library
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
        -DPS_FUZZ=ON -DPS_SANITIZE=$san -DPS_TESTS=OFF >/dev/null &&
        nice -n 10 cmake --build "$build" -j2 \
            --target $(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//') >/dev/null ||
        { echo "build failed"; exit 1; }
fi
mkdir -p "$work"
results=$work/results.tsv
[ -f "$results" ] || printf 'target\texecutions\tcov\tft\tcorpus_files\tcorpus_bytes\tfindings\tseconds\n' >"$results"

targets=${PS_FUZZ_TARGETS:-$(cd "$build" && ls fuzz_* | tr '\n' ' ')}
for name in $targets; do
    bin=$build/$name
    [ -x "$bin" ] || continue
    corpus=$work/corpus/$name arts=$work/artifacts/$name log=$work/$name.log
    mkdir -p "$corpus" "$arts"
    [ -d "$root/tests/fuzz/corpus/$name" ] && cp -rn "$root/tests/fuzz/corpus/$name/." "$corpus/"
    regs=$root/tests/fuzz/regressions/$name
    [ -d "$regs" ] && cp -rn "$regs/." "$corpus/"
    : >"$log"
    done_runs=0 findings=0 t0=$SECONDS cov=0 ft=0
    while [ "$done_runs" -lt "$runs" ] && [ $((SECONDS - t0)) -lt "$cap" ] && [ "$findings" -lt 5 ]; do
        left=$((cap - (SECONDS - t0)))
        (cd "$work" && nice -n 10 "$bin" -runs=$((runs - done_runs)) -max_total_time="$left" \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$arts/" \
            "$corpus" >"$work/run.log" 2>&1)
        rc=$?
        cat "$work/run.log" >>"$log"
        n=$(grep -a 'stat::number_of_executed_units' "$work/run.log" | tail -1 | awk '{print $2}')
        [ -z "$n" ] && n=$(grep -aoE '^#[0-9]+' "$work/run.log" | tail -1 | tr -d '#')
        done_runs=$((done_runs + ${n:-0}))
        line=$(grep -aE '^#[0-9]+.*cov: ' "$log" | tail -1)
        cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$line")
        ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$line")
        if [ $rc -ne 0 ]; then
            findings=$((findings + 1))
            echo "== finding (rc=$rc) after $done_runs executions" >>"$log"
            # a crash before stats: count at least one execution so the loop ends
            [ -z "$n" ] && done_runs=$((done_runs + 1))
        fi
    done
    files=$(find "$corpus" -type f | wc -l)
    bytes=$(du -sb "$corpus" | cut -f1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$done_runs" "${cov:-0}" "${ft:-0}" \
        "$files" "$bytes" "$findings" $((SECONDS - t0)) >>"$results"
    echo "$name: $done_runs runs, cov $cov, ft $ft, corpus $files, findings $findings, $((SECONDS - t0)) s"
done
column -t -s $'\t' "$results"
