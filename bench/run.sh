#!/usr/bin/env bash
# Builds the benchmarks (Release, no debug checks, no sanitizers), runs rcgc
# and its peers (CPython 3.12, glibc malloc, mimalloc, Boehm GC) one after the
# other in this one run, and prints a table of the figures with ratios.
# These are measurements, not tests: nothing here passes or fails on speed.
#
# Environment (all optional):
#   RCGC_BENCH_DIR     build directory             (default: build/bench)
#   RCGC_BENCH_RESULTS also keep the raw RESULT lines in this file
#   BENCH_OBJECTS      objects per collection      (default: 1000000)
#   BENCH_RUNS         timed collections, median   (default: 7)
#   BENCH_TREE_DEPTH   binary-trees max depth      (default: 16)
#   BENCH_TREE_RUNS    binary-trees runs in C      (default: 3)
#   BENCH_PY_TREE_RUNS binary-trees runs in Python (default: 1; ~15 s each)
#   BENCH_CLOSURES     interpreter closures        (default: 1000000)
#   BENCH_INTERP_RUNS  interpreter runs, median    (default: 3)
#   BENCH_CONTAINERS   retained containers         (default: 1000000)
#   BENCH_RETAIN_RUNS  retained-list runs, median  (default: 3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RCGC_BENCH_DIR:-$root/build/bench}
objects=${BENCH_OBJECTS:-1000000}
runs=${BENCH_RUNS:-7}
depth=${BENCH_TREE_DEPTH:-16}
tree_runs=${BENCH_TREE_RUNS:-3}
py_tree_runs=${BENCH_PY_TREE_RUNS:-1}
closures=${BENCH_CLOSURES:-1000000}
interp_runs=${BENCH_INTERP_RUNS:-3}
containers=${BENCH_CONTAINERS:-1000000}
retain_runs=${BENCH_RETAIN_RUNS:-3}
python=(env PYENV_VERSION=3.12.1 python3.12)

bash "$root/scripts/install-deps.sh"
log=$(mktemp)
results=$(mktemp)
trap 'rm -f "$log" "$results"' EXIT

echo "bench: building in $build ..."
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRCGC_DEBUG=OFF \
             -DRCGC_SANITIZE=OFF -DRCGC_BUILD_BENCH=ON -DRCGC_BUILD_TESTS=OFF \
             -DRCGC_BUILD_EXAMPLES=OFF &&
       cmake --build "$build" -j2; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench: build failed" >&2
    exit 1
fi

# run NAME COMMAND...: its RESULT lines go to the table, anything else it
# prints to the terminal; a failing program stops the run.
run() {
    local name=$1
    shift
    echo "bench: $name"
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "bench: $name failed" >&2
        exit 1
    fi
    grep -v '^RESULT ' "$log" || true
    grep '^RESULT ' "$log" >>"$results"
}

run "rcgc, full collections" "$build/bench/gc_bench" "$objects" "$runs"
# The same with the libc fallback (RCGC_USE_MIMALLOC=OFF), issue 10's target 4.
if { cmake -S "$root" -B "$build-libc" -DCMAKE_BUILD_TYPE=Release -DRCGC_DEBUG=OFF \
           -DRCGC_SANITIZE=OFF -DRCGC_BUILD_BENCH=ON -DRCGC_BUILD_TESTS=OFF \
           -DRCGC_BUILD_EXAMPLES=OFF -DRCGC_USE_MIMALLOC=OFF &&
     cmake --build "$build-libc" -j2 --target gc_bench; } >"$log" 2>&1; then
    run "rcgc (libc malloc), full collections" "$build-libc/bench/gc_bench" "$objects" "$runs" all rcgc_libc
else
    cat "$log" >&2
    echo "bench: the libc-fallback build failed; its rows stay empty" >&2
fi
run "CPython, full collections" "${python[@]}" "$root/bench/gc_bench.py" "$objects" "$runs"
for impl in rcgc rcgc_throughput rcgc_nogc malloc mimalloc boehm; do
    if [ -x "$build/bench/trees_$impl" ]; then
        run "$impl, binary trees" "$build/bench/trees_$impl" "$depth" "$tree_runs"
    fi
done
run "CPython, binary trees" "${python[@]}" "$root/bench/trees.py" "$depth" "$py_tree_runs"
for impl in rcgc rcgc_throughput rcgc_nogc boehm; do
    if [ -x "$build/bench/trees_${impl}_cyclic" ]; then
        run "$impl, cyclic binary trees" "$build/bench/trees_${impl}_cyclic" "$depth" "$tree_runs"
    fi
done
for impl in rcgc rcgc_throughput rcgc_static rcgc_nogc boehm; do
    if [ -x "$build/bench/interp_$impl" ]; then
        run "$impl, interpreter" "$build/bench/interp_$impl" "$closures" "$interp_runs"
    fi
done
run "CPython, interpreter" "${python[@]}" "$root/bench/interp.py" "$closures" 1
for impl in rcgc rcgc_throughput rcgc_nogc; do
    run "$impl, retained list" "$build/bench/retain_$impl" "$containers" "$retain_runs"
done
run "CPython, retained list" "${python[@]}" "$root/bench/retain.py" "$containers" "$retain_runs"
run "CPython, retained list, gc off" "${python[@]}" "$root/bench/retain.py" "$containers" "$retain_runs" nogc
run "rcgc, leak-hunting tools" "$build/bench/tools_bench" "$objects" "$runs"
run "CPython, objgraph's way" "${python[@]}" "$root/bench/tools_bench.py" "$objects" 1
run "rcgc, tracing" "$build/bench/trace_bench" "$runs"
run "CPython, tracemalloc" "${python[@]}" "$root/bench/trace_bench.py" 3

echo
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
echo "cc:      $cc $("$cc" -dumpfullversion), CMAKE_BUILD_TYPE=Release"
echo "python:  $("${python[@]}" --version 2>&1)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15-min averages, at the end; other users of the machine count)"
echo
# RCGC_BENCH_RESULTS=FILE keeps every RESULT line of this run there too.
if [ -n "${RCGC_BENCH_RESULTS:-}" ]; then cp "$results" "$RCGC_BENCH_RESULTS"; fi
awk -v objects="$objects" -v runs="$runs" -v depth="$depth" \
    -v tree_runs="$tree_runs" -v py_tree_runs="$py_tree_runs" -v closures="$closures" \
    -v interp_runs="$interp_runs" -v containers="$containers" -v retain_runs="$retain_runs" '
    $1 == "RESULT" { value[$2, $3] = $5; seen[$2, $3] = 1 }
    function cell(w, i, fmt) { return seen[w, i] ? sprintf(fmt, value[w, i]) : "-" }
    function ratio(w, peer) { return ratio_of(w, "rcgc", peer) }
    function ratio_of(w, impl, peer) {
        if (!seen[w, peer] || !seen[w, impl] || value[w, impl] <= 0) return "-"
        return sprintf("%.2fx", value[w, peer] / value[w, impl])
    }
    END {
        printf "Full collection (gc.collect() / rcgc_collect(2)), %d objects, median of %d, ns per object\n",
            objects, runs
        printf "  %-34s %10s %10s %14s\n", "graph", "rcgc", "CPython", "CPython/rcgc"
        printf "  %-34s %10s %10s %14s\n", "live: a chain of tracked nodes",
            cell("collect_live_chain", "rcgc", "%.1f"),
            cell("collect_live_chain", "cpython", "%.1f"), ratio("collect_live_chain", "cpython")
        printf "  %-34s %10s %10s %14s\n", "live: the chain in shuffled order",
            cell("collect_live_shuffled", "rcgc", "%.1f"),
            cell("collect_live_shuffled", "cpython", "%.1f"), ratio("collect_live_shuffled", "cpython")
        printf "  %-34s %10s %10s %14s\n", "  its first timed collection",
            cell("collect_live_shuffled_first", "rcgc", "%.1f"),
            cell("collect_live_shuffled_first", "cpython", "%.1f"), ratio("collect_live_shuffled_first", "cpython")
        printf "  %-34s %10s %10s %14s\n", "garbage: 2-cycles, all freed",
            cell("collect_garbage_pairs", "rcgc", "%.1f"),
            cell("collect_garbage_pairs", "cpython", "%.1f"), ratio("collect_garbage_pairs", "cpython")
        split("collect_live_chain collect_live_shuffled collect_garbage_pairs", libc_rows, " ")
        split("live chain|shuffled chain|garbage 2-cycles", libc_names, "|")
        for (k = 1; k <= 3; k++) {
            w = libc_rows[k]
            printf "  %-34s %10s %10s %14s\n", "libc malloc: " libc_names[k],
                cell(w, "rcgc_libc", "%.1f"), cell(w, "cpython", "%.1f"),
                ratio_of(w, "rcgc_libc", "cpython")
        }
        print ""
        printf "Bytes per tracked object with one pointer field (8-byte body)\n"
        printf "  %-34s %10s %10s\n", "", "rcgc", "CPython"
        printf "  %-34s %10s %10s\n", "header (layout)",
            cell("header_bytes", "rcgc", "%.0f"), cell("header_bytes", "cpython", "%.0f")
        printf "  %-34s %10s %10s\n", "resident memory growth per object",
            cell("rss_per_object", "rcgc", "%.1f"), cell("rss_per_object", "cpython", "%.1f")
        printf "  %-34s %10s %10s\n", "rcgc_memory_in_use() per object",
            cell("memory_in_use_per_object", "rcgc", "%.1f"), "-"
        print ""
        printf "Binary trees, max depth %d, %s nodes made and freed, median of %d (CPython: %d)\n",
            depth, cell("trees_nodes", "rcgc", "%.0f"), tree_runs, py_tree_runs
        printf "  %-34s %10s %10s %14s\n", "memory manager", "total ms", "ns/node", "time vs rcgc"
        n = split("rcgc rcgc_throughput rcgc_nogc malloc mimalloc boehm cpython", impls, " ")
        split("rcgc (automatic collection on)|rcgc, RCGC_POLICY_THROUGHPUT|rcgc, automatic collection off|glibc malloc/free|mimalloc mi_malloc/mi_free|Boehm GC GC_MALLOC|CPython 3.12 (__slots__ class)",
              names, "|")
        for (k = 1; k <= n; k++) {
            i = impls[k]
            if (!seen["trees", i]) continue
            if (seen["trees_checksum", i] && value["trees_checksum", i] != value["trees_checksum", "rcgc"])
                names[k] = names[k] " (CHECKSUM DIFFERS)"
            printf "  %-34s %10s %10s %14s\n", names[k], cell("trees_total", i, "%.0f"),
                cell("trees", i, "%.1f"), ratio("trees", i)
        }
        print ""
        printf "Binary trees: automatic collections per run and the time they took (gc.callbacks)\n"
        printf "  %-34s %10s %10s %10s %10s\n", "generation", "rcgc", "rcgc ms", "CPython", "CPython ms"
        for (g = 0; g < 3; g++)
            printf "  %-34s %10s %10s %10s %10s\n", g, cell("trees_gen" g, "rcgc", "%.0f"),
                cell("trees_gen" g "_ms", "rcgc", "%.1f"), cell("trees_gen" g, "cpython", "%.0f"),
                cell("trees_gen" g "_ms", "cpython", "%.1f")
        print ""
        printf "Leak-hunting tools on a chain of %s objects held by one list (CPython: as objgraph does it, 1 run)\n",
            cell("tools_objects", "rcgc", "%.0f")
        printf "  %-34s %10s %10s %14s\n", "task", "rcgc", "CPython", "CPython/rcgc"
        printf "  %-34s %10s %10s %14s\n", "census, us (typestats)", cell("tools_census", "rcgc", "%.1f"),
            cell("tools_census", "cpython", "%.0f"), ratio("tools_census", "cpython")
        printf "  %-34s %10s %10s %14s\n", "growth, us", cell("tools_growth", "rcgc", "%.1f"), "-", "-"
        printf "  %-34s %10s %10s %14s\n", "why alive, whole chain, ms", cell("tools_why_alive", "rcgc", "%.0f"),
            cell("tools_why_alive", "cpython", "%.0f"), ratio("tools_why_alive", "cpython")
        printf "  %-34s %10s %10s %14s\n", "why alive, 3-link chain, ms", cell("tools_why_alive_short", "rcgc", "%.0f"), "-", "-"
        printf "  %-34s %10s %10s %14s\n", "holders, ms", cell("tools_holders", "rcgc", "%.0f"), "-", "-"
        printf "  %-34s %10s %10s %14s\n", "peak RSS growth, bytes/object", cell("tools_extra_rss", "rcgc", "%.1f"), "-", "-"
        print ""
        printf "Tracing binary trees of depth 4..12 made and freed (CPython: tracemalloc, 10 frames for 16)\n"
        printf "  %-34s %10s %10s %10s %10s\n", "", "rcgc ns", "rcgc x", "CPython ns", "CPython x"
        printf "  %-34s %10s %10s %10s %10s\n", "untraced", cell("trace_untraced", "rcgc", "%.1f"), "1.00",
            cell("trace_untraced", "cpython", "%.0f"), "1.00"
        printf "  %-34s %10s %10s %10s %10s\n", "1 frame", cell("trace_1_frames", "rcgc", "%.1f"),
            cell("trace_1_frames_ratio", "rcgc", "%.2f"), cell("trace_1_frames", "cpython", "%.0f"),
            cell("trace_1_frames_ratio", "cpython", "%.2f")
        printf "  %-34s %10s %10s %10s %10s\n", "16 frames (CPython: 10)", cell("trace_16_frames", "rcgc", "%.1f"),
            cell("trace_16_frames_ratio", "rcgc", "%.2f"), cell("trace_10_frames", "cpython", "%.0f"),
            cell("trace_10_frames_ratio", "cpython", "%.2f")
        printf "  %-34s %10s %10s %10s %10s\n", "tracer bytes per object, 1 frame", cell("trace_1_frames_bytes", "rcgc", "%.1f"), "",
            cell("trace_1_frames_bytes", "cpython", "%.1f"), ""
        printf "  %-34s %10s %10s %10s %10s\n", "tracer bytes per object, 16 frames", cell("trace_16_frames_bytes", "rcgc", "%.1f"), "",
            cell("trace_10_frames_bytes", "cpython", "%.1f"), ""
        print ""
        printf "Cyclic binary trees (every node also holds its parent), max depth %d, median of %d\n",
            depth, tree_runs
        printf "  %-34s %10s %10s %10s\n", "memory manager", "ns/node", "t / Boehm", "peak MiB"
        n = split("rcgc rcgc_throughput rcgc_nogc boehm", impls, " ")
        split("rcgc (automatic collection on)|rcgc, RCGC_POLICY_THROUGHPUT|rcgc, off, cycles broken by hand|Boehm GC GC_MALLOC", names, "|")
        for (k = 1; k <= n; k++) {
            i = impls[k] "_cyclic"
            if (!seen["trees", i]) continue
            printf "  %-34s %10s %10s %10s\n", names[k], cell("trees", i, "%.1f"),
                seen["trees", "boehm_cyclic"] ? sprintf("%.2fx", value["trees", i] / value["trees", "boehm_cyclic"]) : "-",
                cell("trees_peak_rss", i, "%.1f")
        }
        print ""
        printf "Interpreter: %d closures, each in a cycle with its environment, median of %d (CPython: 1)\n",
            closures, interp_runs
        printf "  %-34s %10s %10s %10s %10s %10s\n", "memory manager", "ns/closure", "t / Boehm",
            "gc count", "gc ms", "peak MiB"
        n = split("rcgc rcgc_throughput rcgc_static rcgc_nogc boehm cpython", impls, " ")
        split("rcgc (shared library)|rcgc, RCGC_POLICY_THROUGHPUT|rcgc, static library|rcgc, off, cycles broken by hand|Boehm GC, arrays and hash tables|CPython 3.12, Python closures",
              names, "|")
        for (k = 1; k <= n; k++) {
            i = impls[k]
            if (!seen["interp", i]) continue
            if (value["interp_checksum", i] != value["interp_checksum", "rcgc"])
                names[k] = names[k] " (CHECKSUM DIFFERS)"
            printf "  %-34s %10s %10s %10s %10s %10s\n", names[k], cell("interp", i, "%.1f"),
                seen["interp", "boehm"] ? sprintf("%.2fx", value["interp", i] / value["interp", "boehm"]) : "-",
                cell("interp_collections", i, "%.0f"), cell("interp_collection_ms", i, "%.0f"),
                cell("interp_peak_rss", i, "%.1f")
        }
        print ""
        printf "Retained list of %d one-item lists, collection on: the collector'"'"'s share, median of %d\n",
            containers, retain_runs
        printf "  %-28s %8s %8s %8s %8s %8s %8s %8s\n", "", "ns/item", "gc ms", "share", "pause ms",
            "peak MiB", "B/item", "gc 0/1/2"
        n = split("rcgc rcgc_throughput rcgc_nogc cpython cpython_nogc", impls, " ")
        split("rcgc, CPython policy|rcgc, throughput policy|rcgc, collection off|CPython 3.12|CPython 3.12, gc off", names, "|")
        for (k = 1; k <= n; k++) {
            i = impls[k]
            if (!seen["retain", i]) continue
            printf "  %-28s %8s %8s %8s %8s %8s %8s %8s\n", names[k], cell("retain", i, "%.1f"),
                cell("retain_collection_ms", i, "%.0f"), cell("retain_share", i, "%.1f%%"),
                cell("retain_longest_pause", i, "%.1f"), cell("retain_peak_rss", i, "%.1f"),
                cell("retain_bytes_per_container", i, "%.0f"),
                sprintf("%d/%d/%d", value["retain_gen0", i], value["retain_gen1", i], value["retain_gen2", i])
        }
        print ""
        printf "Peak RSS (MiB) with automatic collection on, against the same program with it off\n"
        printf "  %-34s %10s %10s %10s %10s %10s\n", "program", "CPython p.", "ratio", "throughput",
            "ratio", "off"
        n = split("trees trees_cyclic interp retain", progs, " ")
        split("binary trees|cyclic trees (off: broken by hand)|interpreter (off: broken by hand)|retained list", names, "|")
        for (k = 1; k <= n; k++) {
            p = progs[k]
            w = (p ~ /^trees/) ? "trees_peak_rss" : p "_peak_rss"
            sfx = (p == "trees_cyclic") ? "_cyclic" : ""
            off = "rcgc_nogc" sfx
            if (!seen[w, off]) continue
            printf "  %-34s %10s %10s %10s %10s %10s\n", names[k], cell(w, "rcgc" sfx, "%.1f"),
                seen[w, "rcgc" sfx] ? sprintf("%.2fx", value[w, "rcgc" sfx] / value[w, off]) : "-",
                cell(w, "rcgc_throughput" sfx, "%.1f"),
                seen[w, "rcgc_throughput" sfx] ? sprintf("%.2fx", value[w, "rcgc_throughput" sfx] / value[w, off]) : "-",
                cell(w, off, "%.1f")
        }
        print ""
        print "ratios are peer time / rcgc time: above 1 means rcgc is faster"
    }' "$results"
