/*
 * Collection share (issue 10, target 3): build a retained list of N small
 * containers, each a one-item rcgc list holding a boxed integer (Python's
 * `root.append([i])`), with automatic collection on.  Nothing becomes
 * garbage, so every collection is pure overhead: its share of the building
 * time, the largest single pause and peak RSS are the figures, with the
 * resident memory the first build added, per container.  The time
 * inside collections is measured through rcgc_callback_add (START / STOP),
 * as bench/retain.py does with gc.callbacks.  The list is dropped after each
 * run, untimed.
 *
 *   RETAIN_THROUGHPUT  under RCGC_POLICY_THROUGHPUT (default: the CPython
 *                      policy)
 *   RETAIN_NO_AUTO_GC  automatic collection off: the time and memory floor
 *
 * usage: retain_<impl> [containers (1000000)] [runs (3)]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>

#include <rcgc.h>

#include "bench_util.h"
#include "bench_gc.h"

#ifdef RETAIN_NO_AUTO_GC
#define IMPL "rcgc_nogc"
#elif defined(RETAIN_THROUGHPUT)
#define IMPL "rcgc_throughput"
#else
#define IMPL "rcgc"
#endif

typedef struct box { long value; } box;
static const rcgc_type box_type = {.name = "int", .size = sizeof(box)};

static void out_of_memory(void)
{
    fprintf(stderr, "retain: out of memory (%s)\n", strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    long count = bench_arg(argc, argv, 1, 1000000);
    int runs = (int)bench_arg(argc, argv, 2, 3);
    if (runs > BENCH_MAX_RUNS) runs = BENCH_MAX_RUNS;
    if (bench_gc_start() != 0) out_of_memory();
#ifdef RETAIN_NO_AUTO_GC
    rcgc_disable();
#endif
#ifdef RETAIN_THROUGHPUT
    if (rcgc_set_policy(RCGC_POLICY_THROUGHPUT) != 0) out_of_memory();
#endif
    double rss_before = bench_rss_mib("VmRSS"), rss_built = rss_before;
    double total[BENCH_MAX_RUNS], in_collections[BENCH_MAX_RUNS];
    long checksum = 0;
    for (int r = 0; r < runs; r++) {
        double collected_before = bench_gc.total_ns;
        double start = bench_now_ns();
        void *root = rcgc_list_new();
        if (!root) out_of_memory();
        for (long i = 0; i < count; i++) {
            void *item = rcgc_list_new();
            box *b = rcgc_new(&box_type);
            if (!item || !b) out_of_memory();
            b->value = i;
            if (rcgc_list_append_steal(item, b) != 0 || rcgc_list_append_steal(root, item) != 0)
                out_of_memory();
        }
        total[r] = bench_now_ns() - start;
        in_collections[r] = bench_gc.total_ns - collected_before;
        if (r == 0) rss_built = bench_rss_mib("VmRSS");
        checksum = 0;
        for (size_t i = 0; i < rcgc_list_len(root); i++)
            checksum += ((box *)rcgc_list_get(rcgc_list_get(root, i), 0))->value;
        rcgc_decref(root);
    }
    double peak = bench_peak_rss_mib();
    double median_total = bench_median(total, runs);
    double median_collections = bench_median(in_collections, runs);
    bench_result("retain_checksum", IMPL, "sum", (double)checksum);
    bench_result("retain_total", IMPL, "ms", median_total / 1e6);
    bench_result("retain", IMPL, "ns_per_container", median_total / (double)count);
    bench_result("retain_collection_ms", IMPL, "ms", median_collections / 1e6);
    bench_result("retain_share", IMPL, "percent", 100 * median_collections / median_total);
    bench_result("retain_longest_pause", IMPL, "ms", bench_gc.longest_ns / 1e6);
    bench_result("retain_peak_rss", IMPL, "MiB", peak);
    bench_result("retain_bytes_per_container", IMPL, "bytes",
                 (rss_built - rss_before) * 1048576 / (double)count);
    bench_gc_report("retain", IMPL, runs);
    return 0;
}
