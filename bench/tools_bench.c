/*
 * What the leak-hunting tools cost on a big heap: a chain of N tracked
 * objects (default 1,000,000) held by one list.  Prints RESULT lines (see
 * bench_util.h); bench/tools_bench.py does the same with CPython 3.12's gc
 * module the way objgraph does it.
 *
 * usage: tools_bench [objects (1000000)] [runs (5)]
 */
#define _POSIX_C_SOURCE 200809L
#include <sys/resource.h>

#include <rcgc.h>
#include <rcgc_tools.h>

#include "bench_util.h"

typedef struct link { void *next; } link;

static int link_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    RCGC_VISIT(((link *)self)->next);
    return 0;
}
static void link_clear(void *self) { RCGC_CLEAR(((link *)self)->next); }
static const rcgc_type link_type = {.name = "link", .size = sizeof(link),
                                    .traverse = link_traverse, .clear = link_clear};

static void discard(const char *line, void *arg) { (void)line, (void)arg; }
static int count_holder(void *obj, void *arg) { (void)obj; ++*(size_t *)arg; return 0; }

static double max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    long n = bench_arg(argc, argv, 1, 1000000);
    int runs = (int)bench_arg(argc, argv, 2, 5);
    if (runs > BENCH_MAX_RUNS) runs = BENCH_MAX_RUNS;
    rcgc_disable();
    void *root = rcgc_list_new();
    link *tail = rcgc_new(&link_type);
    rcgc_list_append(root, tail);
    rcgc_decref(tail);
    for (long i = 1; i < n; i++) {
        link *next = rcgc_new(&link_type);
        tail->next = next;   /* the reference rcgc_new gave us moves into the chain */
        tail = next;
    }
    /* A second holder with a short chain: finding it still marks and counts
       the whole heap, but prints four lines, not a million. */
    void *side = rcgc_list_new();
    link *a = rcgc_new(&link_type), *b = rcgc_new(&link_type), *c = rcgc_new(&link_type);
    rcgc_list_append(side, a);
    rcgc_decref(a);
    a->next = b;
    b->next = c;
    double census[BENCH_MAX_RUNS], growth[BENCH_MAX_RUNS], why[BENCH_MAX_RUNS],
        why_short[BENCH_MAX_RUNS], holders[BENCH_MAX_RUNS];
    double rss_before = max_rss_kib();
    rcgc_type_count counts[16];
    size_t nholders = 0;
    int links = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now_ns();
        rcgc_census(counts, 16);
        double t1 = bench_now_ns();
        rcgc_show_growth(10, discard, NULL);
        double t2 = bench_now_ns();
        links = rcgc_why_alive(tail, discard, NULL);
        double t3 = bench_now_ns();
        nholders = 0;
        rcgc_get_holders(count_holder, &nholders);
        double t4 = bench_now_ns();
        int short_links = rcgc_why_alive(c, discard, NULL);
        double t5 = bench_now_ns();
        if (short_links != 3) links = -1;
        why_short[r] = (t5 - t4) / 1e6;
        census[r] = (t1 - t0) / 1e3;
        growth[r] = (t2 - t1) / 1e3;
        why[r] = (t3 - t2) / 1e6;
        holders[r] = (t4 - t3) / 1e6;
    }
    double rss_after = max_rss_kib();
    if (links != n || nholders != 2) {
        fprintf(stderr, "tools_bench: chain of %d links and %zu holders, expected %ld and 2\n",
                links, nholders, n);
        return 1;
    }
    bench_result("tools_objects", "rcgc", "count", (double)n);
    bench_result("tools_census", "rcgc", "us", bench_median(census, runs));
    bench_result("tools_growth", "rcgc", "us", bench_median(growth, runs));
    bench_result("tools_why_alive", "rcgc", "ms", bench_median(why, runs));
    bench_result("tools_why_alive_short", "rcgc", "ms", bench_median(why_short, runs));
    bench_result("tools_holders", "rcgc", "ms", bench_median(holders, runs));
    bench_result("tools_extra_rss", "rcgc", "bytes_per_object",
                 (rss_after - rss_before) * 1024.0 / (double)n);
    rcgc_decref(root);
    rcgc_decref(side);
    return 0;
}
