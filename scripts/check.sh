#!/usr/bin/env bash
# Every test rcgc has, in stages that each build in their own directory under
# build/check-* (RCGC_CHECK_DIR overrides build/), each from its preset in
# CMakePresets.json.  Stops at the first failing stage; the last line counts
# the stages: "check: 11 passed, 0 failed".  Arguments pick stages by key (gcc
# clang asan tsan stress fuzz valgrind install package readme symbols) for a
# quicker round while working; install, package and symbols reuse gcc's
# build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=${RCGC_CHECK_DIR:-$root/build}
jobs=2
all_stages=(gcc clang asan tsan stress fuzz valgrind install package readme symbols)
if [ $# -gt 0 ]; then selected=("$@"); else selected=("${all_stages[@]}"); fi
for key in "${selected[@]}"; do
    case " ${all_stages[*]} " in
        *" $key "*) ;;
        *) echo "check: unknown stage '$key' (stages: ${all_stages[*]})" >&2; exit 2 ;;
    esac
done
stages_total=${#selected[@]}
passed=0

bash "$root/scripts/install-deps.sh"
mkdir -p "$base"

# configure_and_build DIR PRESET [cmake args...]: the configure preset of
# CMakePresets.json (one place for each stage's options), built in DIR;
# output goes to DIR.log and is shown only when something fails.
configure_and_build() {
    local dir=$1 preset=$2
    shift 2
    if ! { (cd "$root" && cmake --preset "$preset" -B "$dir" "$@") &&
           cmake --build "$dir" -j"$jobs"; } >"$dir.log" 2>&1; then
        tail -n 100 "$dir.log"
        echo "(full log: $dir.log)"
        return 1
    fi
    echo "built $dir (preset $preset${*:+ $*})"
}

run_ctest() {
    ctest --test-dir "$1" --output-on-failure --no-tests=error -j"$jobs"
}

# --- the stages -------------------------------------------------------------
gcc_dir=$base/check-gcc

stage_gcc_release() {
    configure_and_build "$gcc_dir" gcc-release &&
    run_ctest "$gcc_dir"
}

stage_clang_debug() {
    local dir=$base/check-clang-debug
    configure_and_build "$dir" clang-debug &&
    run_ctest "$dir"
}

# The sanitizers only see allocations that go through libc malloc, so this
# build leaves mimalloc out.
stage_sanitizers() {
    local dir=$base/check-asan
    configure_and_build "$dir" asan &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1 run_ctest "$dir"
}

# ThreadSanitizer on what runs threads: the heap tests, eight threads through
# the seeded stress run in heaps of their own, and the heaps example.
stage_tsan() {
    local dir=$base/check-tsan
    configure_and_build "$dir" tsan || return 1
    export TSAN_OPTIONS=halt_on_error=1:exitcode=66
    ctest --test-dir "$dir" --output-on-failure --no-tests=error -j"$jobs" \
        -R '^test_(heap|stress)\.' &&
    "$dir/examples/heaps" >/dev/null
}

# Lua's HARDMEMTESTS: every allocation that may collect runs a collection
# (RCGC_STRESS), with the debug checks on, so a collection at any allocation
# point of any test finds whatever state it would corrupt.  Tests about the
# timing of automatic collections skip themselves here (SKIP_IF_STRESS).
stage_stress() {
    local dir=$base/check-stress
    configure_and_build "$dir" stress &&
    run_ctest "$dir"
}

# Valgrind, like the sanitizers, cannot see inside mimalloc's pages: leaks of
# objects would go unnoticed, so the tests run from a libc-malloc build.
valgrind_one() {
    local exe=$1 log=$1.valgrind.log
    if RCGC_TEST_QUICK=1 valgrind -q --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite "$exe" >"$log" 2>&1; then
        echo "valgrind ok   ${exe##*/}: $(tail -n 1 "$log")"
    else
        local status=$?
        cat "$log"
        echo "valgrind FAIL ${exe##*/} (exit $status; log: $log)"
        return 1
    fi
}
export -f valgrind_one

# libFuzzer for 60 s from the committed corpus (tests/fuzz; clang, RCGC_DEBUG,
# ASan + UBSan), into a scratch copy of it; scripts/fuzz.sh prints each
# reproducer when an input crashes or breaks the shadow model.
stage_fuzz() {
    RCGC_FUZZ_DIR=$base/check-fuzz bash "$root/scripts/fuzz.sh" 60 1 &&
    RCGC_FUZZ_DIR=$base/check-fuzz-fast RCGC_FUZZ_FAST_PATHS=1 bash "$root/scripts/fuzz.sh" 40 1
}

stage_valgrind() {
    local dir=$base/check-valgrind
    configure_and_build "$dir" valgrind || return 1
    local programs
    programs=$(find "$dir/tests" -maxdepth 1 -type f -name 'test_*' -perm -u+x | sort)
    [ -f "$dir/examples/tour" ] && programs="$programs"$'\n'"$dir/examples/tour"
    if [ -z "$programs" ]; then
        echo "no test programs found in $dir/tests"
        return 1
    fi
    printf '%s\n' "$programs" | xargs -P "$jobs" -n 1 bash -c 'valgrind_one "$1"' _ || return 1
    # Threads: helgrind and DRD on the heap tests and the eight threads; after
    # rcgc_heap_destroy and rcgc_shutdown not a byte is left, reachable or not.
    local tool
    for tool in helgrind drd; do
        RCGC_TEST_QUICK=1 valgrind -q --tool=$tool --error-exitcode=99 \
            "$dir/tests/test_heap" >"$dir/$tool.log" 2>&1 &&
        RCGC_TEST_QUICK=1 valgrind -q --tool=$tool --error-exitcode=99 \
            "$dir/tests/test_stress" eight_threads >>"$dir/$tool.log" 2>&1 ||
            { cat "$dir/$tool.log"; echo "valgrind FAIL $tool"; return 1; }
        echo "valgrind ok   $tool: test_heap, test_stress eight_threads"
    done
    valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
        --error-exitcode=99 "$dir/examples/heaps" >"$dir/heaps.log" 2>&1 ||
        { cat "$dir/heaps.log"; echo "valgrind FAIL heaps: something left"; return 1; }
    echo "valgrind ok   heaps: nothing left, reachable or not"
}

stage_install() {
    sh "$root/tests/install/run.sh" "$gcc_dir"
}

# CPack's .deb and source tarball: the .deb's files serve the pkg-config
# consumer, the tarball builds and installs (about 30 s).
stage_package() {
    sh "$root/tests/install/package.sh" "$gcc_dir"
}

# The README's path (tour, install, pkg-config, find_package) typed in
# order on a copy of the tree, with a scratch $HOME (about 30 s).
stage_readme() {
    bash "$root/tests/readme/replay.sh" "$root"
}

stage_symbols() {
    sh "$root/tests/install/check-symbols.sh" "$gcc_dir/librcgc.so" \
        "$root/include/rcgc.h" "$root/include/rcgc_tools.h"
}

# --- running them ------------------------------------------------------------
run_stage() {
    local key=$1 name=$2 fn=$3 start=$SECONDS
    case " ${selected[*]} " in *" $key "*) ;; *) return 0 ;; esac
    echo
    echo "=== check [$((passed + 1))/$stages_total] $name ==="
    if "$fn"; then
        passed=$((passed + 1))
        echo "=== $name: passed ($((SECONDS - start)) s) ==="
    else
        echo "=== $name: FAILED ($((SECONDS - start)) s) ==="
        echo "check: stopped at stage '$name'; later stages did not run"
        echo "check: $passed passed, 1 failed"
        exit 1
    fi
}

run_stage gcc "gcc Release -Werror: build + ctest" stage_gcc_release
run_stage clang "clang Debug + RCGC_DEBUG: build + ctest" stage_clang_debug
run_stage asan "clang ASan + UBSan: build + ctest" stage_sanitizers
run_stage tsan "clang ThreadSanitizer: heaps and threads" stage_tsan
run_stage stress "gcc Debug + RCGC_DEBUG + RCGC_STRESS: build + ctest" stage_stress
run_stage fuzz "libFuzzer from tests/fuzz/corpus (clang, ASan + UBSan): 60 s with RCGC_DEBUG, 40 s on the fast paths" stage_fuzz
run_stage valgrind "valgrind: unit tests with RCGC_TEST_QUICK=1" stage_valgrind
run_stage install "install: pkg-config and find_package consumers" stage_install
run_stage package "packages: the .deb serves the pkg-config consumer, the source tarball builds" stage_package
run_stage readme "README: the newcomer's path replayed in order" stage_readme
run_stage symbols "symbol visibility of librcgc.so" stage_symbols
echo
echo "check: $passed passed, 0 failed"
