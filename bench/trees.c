/*
 * Allocation and free throughput, binary-trees style: build complete binary
 * trees of many depths, walk them, drop them, while one long-lived tree stays
 * alive throughout.  Compiled once per memory manager, so that each binary
 * links only its own (mimalloc, once linked, replaces malloc process-wide):
 *   TREES_RCGC      rcgc_new / rcgc_decref, automatic collection on (default);
 *                   with TREES_NO_AUTO_GC too, off (what collection costs;
 *                   cyclic trees then have their cycles broken by hand);
 *                   with TREES_THROUGHPUT, under RCGC_POLICY_THROUGHPUT
 *   TREES_MALLOC    malloc / free
 *   TREES_MIMALLOC  mi_malloc / mi_free
 *   TREES_BOEHM     GC_MALLOC, freed by Boehm GC's collector
 * With TREES_CYCLIC too (rcgc and Boehm), every node also points to its
 * parent (strongly, in rcgc), so every tree is a cycle that only the
 * collector frees: the churn of cyclic garbage.
 * bench/trees.py does the same work in CPython 3.12.
 *
 * usage: trees_<impl> [max depth (16)] [runs (3)]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <string.h>

#include "bench_util.h"

typedef struct tree {
    struct tree *left, *right;
#ifdef TREES_CYCLIC
    struct tree *parent;
#endif
} tree;
#ifdef TREES_CYCLIC
#define CYCLIC_SUFFIX "_cyclic"
#else
#define CYCLIC_SUFFIX ""
#endif

static void out_of_memory(void)
{
    fprintf(stderr, "trees: out of memory (%s)\n", strerror(errno));
    exit(1);
}

#if defined(TREES_RCGC)
#include <rcgc.h>
#ifdef TREES_NO_AUTO_GC
#define IMPL "rcgc_nogc" CYCLIC_SUFFIX
static void setup(void) { rcgc_disable(); }
static void report_collections(int runs) { (void)runs; }
#else
#ifdef TREES_THROUGHPUT
#define IMPL "rcgc_throughput" CYCLIC_SUFFIX
#else
#define IMPL "rcgc" CYCLIC_SUFFIX
#endif
/* Where the time goes: collections per generation and their time. */
#include "bench_gc.h"
static void setup(void)
{
    if (bench_gc_start() != 0) out_of_memory();
#ifdef TREES_THROUGHPUT
    if (rcgc_set_policy(RCGC_POLICY_THROUGHPUT) != 0) out_of_memory();
#endif
}
static void report_collections(int runs) { bench_gc_report("trees", IMPL, runs); }
#endif

static int tree_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    tree *t = self;
    RCGC_VISIT(t->left);
    RCGC_VISIT(t->right);
#ifdef TREES_CYCLIC
    RCGC_VISIT(t->parent);
#endif
    return 0;
}
static void tree_clear(void *self)
{
    tree *t = self;
    RCGC_CLEAR(t->left);
    RCGC_CLEAR(t->right);
#ifdef TREES_CYCLIC
    RCGC_CLEAR(t->parent);
#endif
}
static const rcgc_type tree_type = {
    .name = "tree", .size = sizeof(tree), .traverse = tree_traverse, .clear = tree_clear,
};
/* Takes over the caller's references to left and right. */
static tree *tree_new(tree *left, tree *right)
{
    tree *t = rcgc_new(&tree_type);
    if (!t) out_of_memory();
    t->left = left;
    t->right = right;
#ifdef TREES_CYCLIC
    if (left) {   /* each child holds its parent: a cycle per child */
        rcgc_incref(t);
        left->parent = t;
        rcgc_incref(t);
        right->parent = t;
    }
#endif
    return t;
}
#if defined(TREES_CYCLIC) && defined(TREES_NO_AUTO_GC)
/* Without the collector the cycles are broken by hand: memory's floor. */
static void unlink_parents(tree *t)
{
    if (!t->left) return;
    unlink_parents(t->left);
    unlink_parents(t->right);
    RCGC_CLEAR(t->left->parent);
    RCGC_CLEAR(t->right->parent);
}
#else
static void unlink_parents(tree *t) { (void)t; }
#endif
static void tree_free(tree *t)
{
    unlink_parents(t);
    rcgc_decref(t);
}

#elif defined(TREES_MALLOC) || defined(TREES_MIMALLOC)
#if defined(TREES_MALLOC)
#define IMPL "malloc"
#define node_alloc malloc
#define node_free free
#else
#include <mimalloc.h>
#define IMPL "mimalloc"
#define node_alloc mi_malloc
#define node_free mi_free
#endif
static void setup(void) {}
static void report_collections(int runs) { (void)runs; }
static tree *tree_new(tree *left, tree *right)
{
    tree *t = node_alloc(sizeof *t);
    if (!t) out_of_memory();
    t->left = left;
    t->right = right;
    return t;
}
static void tree_free(tree *t)
{
    if (t->left) {
        tree_free(t->left);
        tree_free(t->right);
    }
    node_free(t);
}

#elif defined(TREES_BOEHM)
#include <gc.h>
#define IMPL "boehm" CYCLIC_SUFFIX
static void setup(void) { GC_INIT(); }
static void report_collections(int runs) { (void)runs; }
static tree *tree_new(tree *left, tree *right)
{
    tree *t = GC_MALLOC(sizeof *t);
    if (!t) out_of_memory();
    t->left = left;
    t->right = right;
#ifdef TREES_CYCLIC
    if (left) left->parent = right->parent = t;
#endif
    return t;
}
static void tree_free(tree *t) { (void)t; /* the collector finds it */ }

#else
#error "define one of TREES_RCGC, TREES_MALLOC, TREES_MIMALLOC, TREES_BOEHM"
#endif

static long nodes_made;

static tree *bottom_up_tree(int depth)
{
    nodes_made++;
    if (depth <= 0) return tree_new(NULL, NULL);
    tree *left = bottom_up_tree(depth - 1);
    return tree_new(left, bottom_up_tree(depth - 1));
}

static long item_check(const tree *t)
{
    return t->left ? 1 + item_check(t->left) + item_check(t->right) : 1;
}

/* The benchmarks game's binary-trees program; returns the sum of all checks,
   which every implementation must agree on. */
static long binary_trees(int max_depth)
{
    const int min_depth = 4;
    long checks = 0;
    tree *stretch = bottom_up_tree(max_depth + 1);
    checks += item_check(stretch);
    tree_free(stretch);

    tree *long_lived = bottom_up_tree(max_depth);
    for (int depth = min_depth; depth <= max_depth; depth += 2) {
        long iterations = 1L << (max_depth - depth + min_depth);
        for (long i = 0; i < iterations; i++) {
            tree *t = bottom_up_tree(depth);
            checks += item_check(t);
            tree_free(t);
        }
    }
    checks += item_check(long_lived);
    tree_free(long_lived);
    return checks;
}

int main(int argc, char **argv)
{
    int max_depth = (int)bench_arg(argc, argv, 1, 16);
    int runs = (int)bench_arg(argc, argv, 2, 3);
    if (runs > BENCH_MAX_RUNS) runs = BENCH_MAX_RUNS;
    if (max_depth < 6 || max_depth > 24) {
        fprintf(stderr, "trees: max depth must be 6..24\n");
        return 2;
    }
    setup();
    double ns[BENCH_MAX_RUNS];
    long checks = 0;
    for (int r = 0; r < runs; r++) {
        nodes_made = 0;
        double start = bench_now_ns();
        checks = binary_trees(max_depth);
        ns[r] = bench_now_ns() - start;
    }
    double median = bench_median(ns, runs);
    bench_result("trees_nodes", IMPL, "count", (double)nodes_made);
    bench_result("trees_checksum", IMPL, "sum", (double)checks);
    bench_result("trees_total", IMPL, "ms", median / 1e6);
    bench_result("trees", IMPL, "ns_per_node", median / (double)nodes_made);
    bench_result("trees_peak_rss", IMPL, "MiB", bench_peak_rss_mib());
    report_collections(runs);
    return 0;
}
