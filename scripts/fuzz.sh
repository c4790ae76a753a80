#!/usr/bin/env bash
# Fuzz rcgc with its own libFuzzer target (tests/fuzz/fuzz_api.c):
#     scripts/fuzz.sh [seconds] [jobs]          (defaults: 3600 1)
# Builds with clang, RCGC_DEBUG=ON, ASan + UBSan and coverage in the library
# (-DRCGC_FUZZ=ON; the preset "fuzz") into $RCGC_FUZZ_DIR (default build/fuzz), copies the
# committed corpus into a scratch directory there, and runs `jobs` fuzzing
# processes of `seconds` each.  Ends with one summary line to paste into
# RELIABILITY.md:
#     fuzz: <seconds> s x <jobs> at <commit>: <runs> runs (<n> exec/s), cov: <c> ft: <f>, corpus <n> inputs, <n> crashes
# and exits 1 if any input crashed, timed out or broke the shadow model,
# printing each reproducer; replay one with
#     $RCGC_FUZZ_DIR/tests/fuzz/fuzz_api <reproducer>
# (or build/<any>/tests/test_fuzz_replay <reproducer>, without libFuzzer).
# RCGC_FUZZ_FAST_PATHS=1 builds the library without RCGC_DEBUG instead
# (the preset's other options kept): debug builds always take the whole
# allocation and deallocation paths, so only this build fuzzes the inline
# fast paths and the size-class pages as release builds run them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-3600}
jobs=${2:-1}
dir=${RCGC_FUZZ_DIR:-$root/build/fuzz}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# The options are CMakePresets.json's "fuzz" preset.
preset_args=()
if [ "${RCGC_FUZZ_FAST_PATHS:-0}" = 1 ]; then preset_args=(-DRCGC_DEBUG=OFF); fi
if ! { (cd "$root" && cmake --preset fuzz -B "$dir" "${preset_args[@]}") &&
       cmake --build "$dir" -j2 --target fuzz_api; } >"$dir.log" 2>&1; then
    tail -n 60 "$dir.log"
    echo "fuzz: build failed (full log: $dir.log)"
    exit 1
fi
fuzzer=$dir/tests/fuzz/fuzz_api
# What was built: the commit, "+changes" when src, include or tests/fuzz differ from it.
if commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
    git -C "$root" diff --quiet HEAD -- src include tests/fuzz || commit="$commit+changes"
else
    commit=${RCGC_FUZZ_COMMIT:-"a tree outside git"}
fi
corpus=$dir/corpus
artifacts=$dir/artifacts
rm -rf "$corpus" "$artifacts" "$dir"/fuzz-*.log
cp -r "$root/tests/fuzz/corpus" "$corpus"
mkdir -p "$artifacts"

# -timeout: an input that runs 10 s is a hang (a walk that never ends).
flags=(-max_total_time="$seconds" -max_len=2048 -timeout=10 -print_final_stats=1
       -artifact_prefix="$artifacts/")
echo "fuzz: $jobs x $seconds s from $(ls "$corpus" | wc -l) inputs of tests/fuzz/corpus"
status=0
if [ "$jobs" -le 1 ]; then
    "$fuzzer" "${flags[@]}" "$corpus" >"$dir/fuzz-0.log" 2>&1 || status=$?
else
    # libFuzzer writes each job's output to fuzz-<n>.log in the current directory.
    (cd "$dir" && "$fuzzer" "${flags[@]}" -jobs="$jobs" -workers="$jobs" "$corpus" \
        >"$dir/fuzz-jobs.log" 2>&1) || status=$?
fi

runs=0
rate=0
for log in "$dir"/fuzz-[0-9]*.log; do
    [ -f "$log" ] || continue
    r=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    e=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    runs=$((runs + ${r:-0}))
    rate=$((rate + ${e:-0}))
done
# Coverage of the whole corpus the run ended with (all jobs share it).
inited=$("$fuzzer" -runs=0 "$corpus" 2>&1 | grep -m1 'INITED' || true)
cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$inited")
ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$inited")
found=$(find "$artifacts" -type f | sort)
crashes=$(grep -c . <<<"$found" || true)

if [ "$crashes" -gt 0 ] || [ "$status" -ne 0 ]; then
    for log in "$dir"/fuzz-*.log; do
        grep -h -m3 -E 'model mismatch|^rcgc: |ERROR: |runtime error|SUMMARY' "$log" || true
    done
    # The bytes too, so that a CI log alone reproduces it:
    #     base64 -d > crash <<'EOF' ... EOF
    for f in $found; do
        echo "fuzz: reproducer $f, in base64:"
        base64 -w 76 "$f"
    done
    [ -n "$found" ] || echo "fuzz: fuzzer exited with status $status (logs: $dir/fuzz-*.log)"
    echo "fuzz: $seconds s x $jobs at $commit: $runs runs ($rate exec/s), cov: $cov ft: $ft," \
         "corpus $(ls "$corpus" | wc -l) inputs, $crashes crashes"
    exit 1
fi
echo "fuzz: $seconds s x $jobs at $commit: $runs runs ($rate exec/s), cov: $cov ft: $ft," \
     "corpus $(ls "$corpus" | wc -l) inputs, 0 crashes"
