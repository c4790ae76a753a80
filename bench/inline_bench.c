/*
 * The header's inline fast paths against the functions: an interpreter's
 * hot loop (load an item from a list, take a reference, check its type, use
 * it, drop the reference), linked to the shared library as programs are.
 * Compiled twice: inline_bench (the header's paths) and inline_bench_calls
 * (RCGC_NO_INLINE: a call through the PLT for each).
 *
 * usage: inline_bench [rounds (200000)]
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime, in bench_util.h */
#include <stdlib.h>

#include <rcgc.h>

#include "bench_util.h"

#ifdef RCGC_NO_INLINE
#define IMPL "calls"
#else
#define IMPL "inline"
#endif

typedef struct box { long value; } box;
static const rcgc_type box_type = {.name = "box", .size = sizeof(box)};

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    void *list = rcgc_list_new();
    for (int i = 0; i < 100; i++) {
        box *b = rcgc_new(&box_type);
        b->value = i;
        rcgc_list_append(list, b);
        rcgc_decref(b);
    }
    long sum = 0;
    double t0 = bench_now_ns();
    for (long r = 0; r < rounds; r++)
        for (size_t i = 0; i < 100; i++) {
            box *b = rcgc_list_get(list, i);
            rcgc_incref(b);
            if (rcgc_typeof(b) == &box_type) sum += b->value;
            rcgc_decref(b);
        }
    double ns = bench_now_ns() - t0;
    rcgc_decref(list);
    bench_result("hot_loop_checksum", IMPL, "sum", (double)sum);
    bench_result("hot_loop", IMPL, "ns_per_item", ns / ((double)rounds * 100));
    return 0;
}
