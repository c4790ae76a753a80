/*
 * What the rcgc variants of the benchmarks share: the time spent inside
 * collections, through the gc.callbacks hook (rcgc_callback_add; two clock
 * reads a collection), per generation and in all, with the longest pause.
 * Include after bench_util.h and rcgc.h; a benchmark calls bench_gc_start()
 * once and reads bench_gc or prints it with bench_gc_report().
 */
#ifndef RCGC_BENCH_GC_H
#define RCGC_BENCH_GC_H

#include <stdio.h>

static struct {
    double started_ns;
    double total_ns;        /* in all collections since the start */
    double longest_ns;      /* the longest one */
    double ns[3];           /* per generation */
    long count[3];
} bench_gc;

static void bench_gc_time(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)arg;
    if (phase == RCGC_PHASE_START) {
        bench_gc.started_ns = bench_now_ns();
        return;
    }
    double pause = bench_now_ns() - bench_gc.started_ns;
    bench_gc.total_ns += pause;
    if (pause > bench_gc.longest_ns) bench_gc.longest_ns = pause;
    bench_gc.ns[info->generation] += pause;
    bench_gc.count[info->generation]++;
}

/* 0, or -1 when the callback could not be registered. */
static inline int bench_gc_start(void)
{
    return rcgc_callback_add(bench_gc_time, NULL);
}

/* <workload>_gen<g> collections_per_run and <workload>_gen<g>_ms ms_per_run. */
static inline void bench_gc_report(const char *workload, const char *impl, int runs)
{
    for (int g = 0; g < 3; g++) {
        char name[64];
        snprintf(name, sizeof name, "%s_gen%d", workload, g);
        bench_result(name, impl, "collections_per_run", (double)bench_gc.count[g] / runs);
        snprintf(name, sizeof name, "%s_gen%d_ms", workload, g);
        bench_result(name, impl, "ms_per_run", bench_gc.ns[g] / 1e6 / runs);
    }
}

#endif
