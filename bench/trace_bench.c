/*
 * What tracing costs: binary trees (complete trees of depth 4..12 built
 * and dropped, the create-and-free work of bench/trees.c) untraced, and
 * traced with 1 and 16 frames; and the tracer's own bytes per traced
 * object (tracemalloc's get_tracemalloc_memory as the comparison).
 * bench/trace_bench.py does the same with CPython 3.12's tracemalloc.
 *
 * usage: trace_bench [runs (5)]
 */
#define _POSIX_C_SOURCE 200809L
#include <rcgc.h>
#include <rcgc_tools.h>

#include "bench_util.h"

typedef struct tree { void *left, *right; } tree;

static int tree_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    tree *t = self;
    RCGC_VISIT(t->left);
    RCGC_VISIT(t->right);
    return 0;
}
static void tree_clear(void *self)
{
    tree *t = self;
    RCGC_CLEAR(t->left);
    RCGC_CLEAR(t->right);
}
static const rcgc_type tree_type = {.name = "tree", .size = sizeof(tree),
                                    .traverse = tree_traverse, .clear = tree_clear};

/* Deep enough that 16 frames exist above every allocation. */
static tree *build(int depth)
{
    tree *t = rcgc_new(&tree_type);
    if (!t) exit(1);
    if (depth > 0) {
        t->left = build(depth - 1);
        t->right = build(depth - 1);
    }
    return t;
}

static long nodes;
static double run_ns(void)
{
    double t0 = bench_now_ns();
    nodes = 0;
    for (int depth = 4; depth <= 12; depth += 2)
        for (int i = 0; i < (1 << (14 - depth)); i++) {
            rcgc_decref(build(depth));
            nodes += (2L << depth) - 1;
        }
    return bench_now_ns() - t0;
}

static double median_ns_per_node(int runs)
{
    double t[BENCH_MAX_RUNS];
    for (int r = 0; r < runs; r++) t[r] = run_ns() / (double)nodes;
    return bench_median(t, runs);
}

int main(int argc, char **argv)
{
    int runs = (int)bench_arg(argc, argv, 1, 5);
    if (runs > BENCH_MAX_RUNS) runs = BENCH_MAX_RUNS;
    rcgc_disable();
    run_ns();   /* warm the allocator */
    double off = median_ns_per_node(runs);
    bench_result("trace_untraced", "rcgc", "ns_per_node", off);
    int frames[] = {1, 16};
    for (int f = 0; f < 2; f++) {
        rcgc_trace_start(frames[f]);
        double on = median_ns_per_node(runs);
        char name[64];
        snprintf(name, sizeof name, "trace_%d_frames", frames[f]);
        bench_result(name, "rcgc", "ns_per_node", on);
        snprintf(name, sizeof name, "trace_%d_frames_ratio", frames[f]);
        bench_result(name, "rcgc", "x", on / off);
        /* The tracer's bytes per live traced object: a tree of 2^16 nodes kept. */
        tree *kept = build(15);
        size_t before = 0, current, peak;
        rcgc_trace_get_memory(&current, &peak);
        (void)before;
        snprintf(name, sizeof name, "trace_%d_frames_bytes", frames[f]);
        bench_result(name, "rcgc", "bytes_per_object",
                     (double)rcgc_trace_tracer_memory() / (double)((2L << 15) - 1));
        rcgc_decref(kept);
        rcgc_trace_stop();
    }
    return 0;
}
