/*
 * Tracing (tracemalloc for rcgc): what the tracer records, for the modules
 * that read it (snapshots, the capture, reports).  trace.c explains how.
 *
 * A trace is one block rcgc allocated (an object, container storage, an
 * internal table) while tracing: its size, the type it was made for, and
 * its traceback.  Sites and tracebacks are interned: equal ones are one
 * pointer, and they live until rcgc_trace_stop (whoever keeps them longer,
 * a snapshot, copies them).
 */
#ifndef RCGC_TRACE_H
#define RCGC_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "rcgc.h"
#include "unwind.h"   /* rcgc__unwind, rcgc__symbolize */

/* Where an allocation was asked for: the caller of a public function, as
   the header's macros saw it. */
typedef struct trace_site {
    const char *file;
    const char *func;
    int line;
} trace_site;

typedef struct traceback {
    uint32_t nframes;         /* 1 + number of pcs */
    uint32_t hash;
    const trace_site *site;   /* frame 0, the most recent */
    void *pcs[];              /* frames 1..nframes-1: return addresses, innermost first */
} traceback;

/* The trace of a block, or NULL (untraced, or not tracing). */
const traceback *rcgc__trace_of(const void *block, size_t *size, const rcgc_type **type);
/* The trace of an object (its whole allocation, header included). */
const traceback *rcgc__trace_of_object(const void *obj);

typedef void (*trace_visit_fn)(const void *block, size_t size, const traceback *tb,
                               const rcgc_type *type, void *arg);
/* Every trace, in no particular order; fn must not allocate through rcgc. */
void rcgc__trace_foreach(trace_visit_fn fn, void *arg);

/* Frame i of tb as "app.c:120 in main" (or "0x... in f" without lines). */
void rcgc__format_frame(const traceback *tb, uint32_t i, char *buf, size_t cap);
/* A size as tracemalloc's _format_size writes it ("576 KiB", with sign "+576 KiB"); in
   snapshot.c, shared with rcgc-report. */
void rcgc__format_size(char *buf, size_t cap, double size, bool sign);

#endif
