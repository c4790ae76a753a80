/*
 * Cost of a full collection per object, on the two graphs that bound it:
 *   live:    N tracked nodes, each holding the next (a chain), all reachable
 *            from one outside reference: the collector must prove them alive;
 *   garbage: N/2 pairs of nodes that hold each other, nothing else: the
 *            collector must find and free them.
 * and a third, the live chain linked in a shuffled order: each reference
 * then leads to an unpredictable address, as in a heap that has been
 * allocated and freed for a while, where memory order and link order part.
 * bench/gc_bench.py builds the same graphs in CPython 3.12 (a __slots__ class)
 * and times gc.collect() the same way.  Automatic collection is off in both;
 * only the collect call is timed; the figure is the median over runs.
 *
 * Also reports the bytes a tracked object costs beyond its body.
 *
 * usage: gc_bench [objects (1000000)] [runs (7)] [workloads (all)] [name (rcgc)]
 * where workloads is a comma-separated subset of bytes,live,shuffled,garbage
 * (to time one graph alone, in a fresh process: the garbage pairs' addresses
 * depend on what the earlier graphs left in the allocator), and name is the
 * implementation the RESULT lines name (bench/run.sh: rcgc_libc for the
 * build without mimalloc).
 */
#define _POSIX_C_SOURCE 200809L
#include <rcgc.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "internal.h"   /* only for sizeof the header */

typedef struct chain_node { void *next; } chain_node;

static int chain_node_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    chain_node *n = self;
    RCGC_VISIT(n->next);
    return 0;
}

static void chain_node_clear(void *self)
{
    chain_node *n = self;
    RCGC_CLEAR(n->next);
}

static const rcgc_type chain_node_type = {
    .name = "chain_node", .size = sizeof(chain_node),
    .traverse = chain_node_traverse, .clear = chain_node_clear,
};

static chain_node *node_new(void)
{
    chain_node *n = rcgc_new(&chain_node_type);
    if (!n) {
        fprintf(stderr, "gc_bench: %s\n", strerror(errno));
        exit(1);
    }
    return n;
}

/* A chain of `count` nodes; the caller holds the only outside reference. */
static chain_node *build_chain(size_t count)
{
    chain_node *head = node_new(), *tail = head;
    for (size_t i = 1; i < count; i++) {
        tail->next = node_new();   /* the new node's reference moves into tail */
        tail = tail->next;
    }
    return head;
}

/* The same chain, but the node that follows each one is chosen at random
   (a fixed seed: every run and CPython's side build the same kind of graph). */
static chain_node *build_shuffled_chain(size_t count)
{
    chain_node **nodes = malloc(count * sizeof *nodes);
    if (!nodes) {
        fprintf(stderr, "gc_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < count; i++) nodes[i] = node_new();
    uint64_t random_state = 0x9e3779b97f4a7c15u;
    for (size_t i = count - 1; i > 0; i--) {
        random_state ^= random_state << 13;   /* xorshift64 */
        random_state ^= random_state >> 7;
        random_state ^= random_state << 17;
        size_t j = (size_t)(random_state % (i + 1));
        chain_node *swap = nodes[i];
        nodes[i] = nodes[j];
        nodes[j] = swap;
    }
    for (size_t i = 0; i + 1 < count; i++)
        nodes[i]->next = nodes[i + 1];     /* the next node's reference moves in */
    chain_node *head = nodes[0];
    free(nodes);
    return head;
}

static void build_garbage_pairs(size_t pairs)
{
    for (size_t i = 0; i < pairs; i++) {
        chain_node *a = node_new(), *b = node_new();
        a->next = b;               /* b's reference moves into a */
        b->next = a;               /* and a's into b: each lives only through the other */
    }
}

static void expect_found(const char *workload, size_t found, size_t expected)
{
    if (found != expected) {
        fprintf(stderr, "gc_bench: %s: rcgc_collect(2) returned %zu, expected %zu\n",
                workload, found, expected);
        exit(1);
    }
}

/* The median over runs, per object; *first (if not NULL) gets the first
   timed run's: for the shuffled chain the first collection that finds the
   list in the order the untimed one left, the one that has no survivors of
   an earlier collection to prefetch along (collect.c's scan_order). */
static double time_collect_live_chain(size_t count, int runs, bool shuffled, double *first)
{
    double ns[BENCH_MAX_RUNS];
    chain_node *head = shuffled ? build_shuffled_chain(count) : build_chain(count);
    /* Untimed: the first collection moves the young objects to the oldest
       generation, where every timed collection then finds them. */
    expect_found("live chain", rcgc_collect(2), 0);
    for (int r = 0; r < runs; r++) {
        double start = bench_now_ns();
        size_t found = rcgc_collect(2);
        ns[r] = bench_now_ns() - start;
        expect_found("live chain", found, 0);
    }
    rcgc_decref(head);
    if (first) *first = ns[0] / (double)count;
    return bench_median(ns, runs) / (double)count;
}

static double time_collect_garbage_pairs(size_t count, int runs)
{
    double ns[BENCH_MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        build_garbage_pairs(count / 2);
        double start = bench_now_ns();
        size_t found = rcgc_collect(2);
        ns[r] = bench_now_ns() - start;
        expect_found("garbage pairs", found, count / 2 * 2);
    }
    return bench_median(ns, runs) / (double)count;
}

static size_t resident_bytes(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (!statm || fscanf(statm, "%lu %lu", &size, &resident) != 2) resident = 0;
    if (statm) fclose(statm);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* What a tracked object costs beyond its body: the header by layout, the
   growth of rcgc_memory_in_use (allocator rounding included) and of the
   resident set (the allocator's own bookkeeping included). */
static const char *impl = "rcgc";

static void report_bytes_per_object(size_t count)
{
    size_t rss_before = resident_bytes(), before = rcgc_memory_in_use();
    chain_node *head = build_chain(count);
    size_t after = rcgc_memory_in_use(), rss_after = resident_bytes();
    rcgc_decref(head);
    bench_result("header_bytes", impl, "bytes",
                 (double)(sizeof(gc_link) + sizeof(obj_head)));
    bench_result("body_bytes", impl, "bytes", (double)sizeof(chain_node));
    bench_result("memory_in_use_per_object", impl, "bytes",
                 (double)(after - before) / (double)count);
    bench_result("rss_per_object", impl, "bytes",
                 (double)(rss_after - rss_before) / (double)count);
}

/* Whether `name` is one of the comma-separated `workloads` (NULL: all). */
static bool selected(const char *workloads, const char *name)
{
    if (!workloads) return true;
    size_t len = strlen(name);
    for (const char *w = workloads; w; w = strchr(w, ',') ? strchr(w, ',') + 1 : NULL)
        if (strncmp(w, name, len) == 0 && (w[len] == ',' || w[len] == '\0')) return true;
    return false;
}

int main(int argc, char **argv)
{
    size_t objects = (size_t)bench_arg(argc, argv, 1, 1000000);
    int runs = (int)bench_arg(argc, argv, 2, 7);
    const char *workloads = argc > 3 && strcmp(argv[3], "all") != 0 ? argv[3] : NULL;
    if (argc > 4) impl = argv[4];
    if (runs > BENCH_MAX_RUNS) runs = BENCH_MAX_RUNS;
    rcgc_disable();
    bench_result("objects", impl, "count", (double)objects);
    /* First, before freed nodes leave memory the process could reuse. */
    if (selected(workloads, "bytes")) report_bytes_per_object(objects);
    if (selected(workloads, "live"))
        bench_result("collect_live_chain", impl, "ns_per_object",
                     time_collect_live_chain(objects, runs, false, NULL));
    if (selected(workloads, "shuffled")) {
        double first;
        bench_result("collect_live_shuffled", impl, "ns_per_object",
                     time_collect_live_chain(objects, runs, true, &first));
        bench_result("collect_live_shuffled_first", impl, "ns_per_object", first);
    }
    if (selected(workloads, "garbage"))
        bench_result("collect_garbage_pairs", impl, "ns_per_object",
                     time_collect_garbage_pairs(objects, runs));
    return 0;
}
