/*
 * Memory profiling's internal entry points for the modules that feed it:
 * memory_profiler's regions (regions.c) and the capture file (capture.c).
 * trace.c calls the on_* functions for every block rcgc allocates or frees
 * while state.regions_active / state.capturing; collect.c calls
 * rcgc__capture_on_collection after each collection while capturing.
 */
#ifndef RCGC_PROFILE_H
#define RCGC_PROFILE_H

#include <stddef.h>

#include "rcgc.h"

struct rcgc_heap;
struct traceback;

/* regions.c: the innermost open region counts the block (O(1)). */
void rcgc__regions_on_alloc(struct rcgc_heap *S, size_t size);
void rcgc__regions_on_free(struct rcgc_heap *S, size_t size);
/* Forget every region, open or not, and give the memory back (tests). */
void rcgc__regions_reset(struct rcgc_heap *S);

/* capture.c.  tb may be NULL (not tracing, or its trace was lost); type is
   NULL for blocks that are not objects (container storage, tables). */
void rcgc__capture_on_alloc(struct rcgc_heap *S, const void *block, size_t size,
                            const struct traceback *tb, const rcgc_type *type);
void rcgc__capture_on_free(struct rcgc_heap *S, const void *block, size_t size);
void rcgc__capture_on_collection(struct rcgc_heap *S, int generation, double seconds,
                                 size_t collected, size_t uncollectable);
/* RCGC_TRACE_FILE=path: start a capture to path (called at state init). */
void rcgc__capture_setup(void);

#endif
