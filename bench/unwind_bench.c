/*
 * What capturing a stack costs, to choose the unwinder of allocation traces
 * with more than one frame (issue 8): glibc backtrace(), libunwind's
 * unw_backtrace() and rcgc__unwind's walk of frame pointers (src/unwind.c:
 * every link checked to be aligned, above the last and inside the thread's
 * stack), each capturing 1, 4, 16 and 64 return addresses at the leaf of a
 * recursion DEPTH calls deep (about what a real program has above its
 * allocations; for 64 frames, deep enough to have 64).  This file is compiled
 * with -fno-omit-frame-pointer so that the walk has a chain to follow.
 *
 * It is built twice (bench/CMakeLists.txt): unwind_bench times backtrace(),
 * unwind_bench_libunwind (UNWIND_BENCH_LIBUNWIND) unw_backtrace() in its
 * place, because libunwind exports a backtrace() of its own that replaces
 * glibc's in any program linked with it.  Both time the walk.
 *
 * Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), median of the
 * runs.
 *
 * usage: unwind_bench [captures per timing (20000)] [runs (15, at most 51)]
 * Prints "RESULT unwind_<frames> <method> ns_per_capture <median>".
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <stdint.h>

#ifdef UNWIND_BENCH_LIBUNWIND
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

#include "bench_util.h"
#include "internal.h"   /* state.entry_frame */
#include "unwind.h"

#define DEPTH 25
#define MAX_FRAMES 64

/* rcgc's own walk, as the *_at entry points start it: from the frame of
   the public function that is running. */
__attribute__((noinline)) static int walk_frame_pointers(void **pcs, int max)
{
    state()->entry_frame = __builtin_frame_address(0);
    int n = rcgc__unwind(pcs, max);
    state()->entry_frame = NULL;
    return n;
}

typedef int (*capture_fn)(void **pcs, int max);

#ifdef UNWIND_BENCH_LIBUNWIND
static int capture_libunwind(void **pcs, int max) { return unw_backtrace(pcs, max); }
#else
static int capture_backtrace(void **pcs, int max) { return backtrace(pcs, max); }
#endif

static volatile int sink;

/* This thread's CPU time: on a machine shared with busy neighbours, time
   spent waiting for a CPU is not the method's. */
static double cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The timed loop runs at the leaf of the recursion. */
__attribute__((noinline)) static double time_at_leaf(capture_fn capture, int frames, long count)
{
    void *pcs[MAX_FRAMES];
    double start = cpu_now_ns();
    for (long i = 0; i < count; i++) sink += capture(pcs, frames);
    return (cpu_now_ns() - start) / (double)count;
}

__attribute__((noinline)) static double descend(int depth, capture_fn capture, int frames,
                                                long count)
{
    double r = depth ? descend(depth - 1, capture, frames, count)
                     : time_at_leaf(capture, frames, count);
    sink += depth;   /* keeps the call from becoming a tail call */
    return r;
}

/* How many frames a method sees from the leaf: all of them must be found,
   or the method is not measuring what the others measure. */
__attribute__((noinline)) static int frames_seen(int depth, capture_fn capture)
{
    void *pcs[MAX_FRAMES];
    int r = depth ? frames_seen(depth - 1, capture) : capture(pcs, MAX_FRAMES);
    sink += depth;
    return r;
}

int main(int argc, char **argv)
{
    long count = bench_arg(argc, argv, 1, 20000);
    int runs = (int)bench_arg(argc, argv, 2, 15);
    if (runs > BENCH_MAX_RUNS) runs = BENCH_MAX_RUNS;
    static const struct { const char *name; capture_fn fn; } methods[] = {
#ifdef UNWIND_BENCH_LIBUNWIND
        {"libunwind", capture_libunwind},
#else
        {"backtrace", capture_backtrace},
#endif
        {"frame_pointers", walk_frame_pointers},
    };
    static const int frame_counts[] = {1, 4, 16, 64};
    char workload[32];
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        int seen = frames_seen(MAX_FRAMES + 6, methods[m].fn);
        printf("%s: %d of %d frames found from depth %d\n", methods[m].name, seen, MAX_FRAMES,
               MAX_FRAMES + 6);
        if (seen < MAX_FRAMES) {
            fprintf(stderr, "unwind_bench: %s sees only %d frames\n", methods[m].name, seen);
            return 1;
        }
    }
    for (size_t f = 0; f < sizeof frame_counts / sizeof frame_counts[0]; f++) {
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            double times[BENCH_MAX_RUNS];
            int depth = frame_counts[f] + 6 > DEPTH ? frame_counts[f] + 6 : DEPTH;
            descend(depth, methods[m].fn, frame_counts[f], count / 10);   /* warm up */
            for (int r = 0; r < runs; r++)
                times[r] = descend(depth, methods[m].fn, frame_counts[f], count);
            snprintf(workload, sizeof workload, "unwind_%d", frame_counts[f]);
            bench_result(workload, methods[m].name, "ns_per_capture", bench_median(times, runs));
        }
    }
    return 0;
}
