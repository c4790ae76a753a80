/*
 * rcgc tools — leak hunting on top of rcgc.h: objgraph's census, growth and
 * pictures, "why is this alive", LeakCanary's watched objects, exact leak
 * checks for tests, the report at exit, and leak detection over time.  rcgc knows every object's type and references, so these
 * answer the question C leak checkers leave open: this object should be
 * gone; what keeps it?
 *
 * Every function that prints takes an rcgc_write_fn (NULL: the sink of
 * rcgc_set_output, stderr by default) and gives it one whole line per call.
 * The tools change nothing the program sees: no collection except where a
 * function says so, no count left changed, no object moved between
 * generations.  Their own tables are not in rcgc_memory_in_use.
 */
#ifndef RCGC_TOOLS_H
#define RCGC_TOOLS_H

#include <stdio.h>

#include "rcgc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- census: live objects per type ------------------------------------- */

typedef struct {
    const rcgc_type *type;
    size_t count, bytes;   /* bytes: header and body, as rcgc_memory_in_use counts them */
} rcgc_type_count;

/* Live objects per type, every type (with or without traverse), most first
   (equal counts by name).  Writes at most cap entries and returns the number
   of types alive, which may exceed cap, as snprintf does.  out may be NULL
   when cap is 0. */
RCGC_API size_t rcgc_census(rcgc_type_count *out, size_t cap);

/* objgraph.show_most_common_types: one line per type, the name padded to
   the longest shown, then the count:  "list    1532".  limit 0: all. */
RCGC_API void rcgc_show_most_common_types(size_t limit, rcgc_write_fn out, void *arg);

/* objgraph.show_growth: the types whose count grew since the previous call
   (the first call: since the program started), largest growth first, as
   "closure     1000     +1000".  Returns how many types grew (all of them,
   not only the `limit` shown; limit 0: no limit). */
RCGC_API size_t rcgc_show_growth(size_t limit, rcgc_write_fn out, void *arg);

/* ---- who holds it --------------------------------------------------------- */

/* A holder is a tracked object with references that no tracked object
   explains: its count is above the references found by traversing every
   tracked object (a C variable, a global, an untracked structure holds it).
   The garbage list's references are rcgc's own and explain nothing away.
   Calls fn for each holder, gathered first and held meanwhile (as
   rcgc_get_objects does); 0, fn's first non-zero result, or -1 + ENOMEM. */
RCGC_API int rcgc_get_holders(rcgc_visit_fn fn, void *arg);

/* Prints the shortest chain of strong references from a holder to obj, one
   link a line, and returns its number of links: 0 when obj is itself a
   holder, or sits in the garbage list, or is frozen (one line saying so);
   -1 + ENOENT when no holder reaches it (cyclic garbage a collection would
   free, or held only by objects rcgc cannot enumerate); -1 + EINVAL for
   NULL; -1 + ENOMEM.  Linear in the heap.  The first line reads
     <list 0x55d0c100> refcount 2, held from outside (1 reference not from tracked objects)
   and each further line, indented, names how the previous object refers to
   the next ([3] a list index, ["f"] a dict key, #2 a traverse position):
       [3] -> <env 0x55d0c1c0> refcount 1 */
RCGC_API int rcgc_why_alive(const void *obj, rcgc_write_fn out, void *arg);

/* ---- watching (LeakCanary) ------------------------------------------------- */

/* Say that obj should die soon; `why` (copied; may be NULL) is shown if it
   does not.  Holds only a weak reference.  0, or -1 + EINVAL / ENOMEM. */
RCGC_API int rcgc_watch(void *obj, const char *why);
/* Runs a full collection, then reports each watched object still alive,
   with its why-alive chain, and returns their number.  Watched objects that
   died are forgotten; those alive stay watched.  A collection already
   running (a call from a finalizer) is not waited for: the report is then
   made without one. */
RCGC_API size_t rcgc_check_watched(rcgc_write_fn out, void *arg);

/* ---- leak checks for tests ------------------------------------------------- */

/* Objects made between begin and end and still alive after a full
   collection at end, grouped by type (largest groups first), one why-alive
   chain per group.  end returns the number of leaked objects (not groups);
   0 prints nothing.  A second begin restarts the check; end without begin
   returns 0.  Objects of every type are seen, with or without traverse. */
RCGC_API void rcgc_leakcheck_begin(void);
RCGC_API size_t rcgc_leakcheck_end(rcgc_write_fn out, void *arg);

/* ---- what is alive at exit ------------------------------------------------- */

/* Runs a full collection, then prints what is still alive, grouped by type
   (largest groups first) with one why-alive chain per group (objects of
   types without traverse are counted but have no chain), then the garbage
   list's uncollectable objects.  Returns the number of live objects.
   RCGC_LEAK_REPORT=1 in the environment calls it at exit (atexit), writing
   to stderr (a sink set with rcgc_set_output may be gone by then). */
RCGC_API size_t rcgc_leak_report(rcgc_write_fn out, void *arg);

/* ---- leak detection over time ---------------------------------------------- */

/* Takes a sample: the time, rcgc_memory_in_use(), the collections run since
   the previous sample, and the live objects of each followed type (census
   counts).  Call it once per unit of work (a request, a frame, a loop
   turn); RCGC_MONITOR=1 in the environment (read when rcgc starts) also
   makes every full collection take one.  Memory is bounded: the 256 most
   recent samples are kept, and at most 32 types are followed (a type is
   followed from the first sample at which it is among the 32 most numerous;
   when all 32 are followed, a more numerous type replaces the least
   numerous).  Changes nothing the program sees and runs no user code; the
   samples are rcgc's own memory, not in rcgc_memory_in_use.  If that memory
   cannot be had, the sample is not taken and the next report says so. */
RCGC_API void rcgc_monitor_sample(void);

/* Names each type whose count keeps rising, fastest first, and returns how
   many.  The rule looks at the last n samples in which the type was
   followed, n = 16 at most; with fewer than 8 it judges nothing.  Over
   those n samples (n - 1 steps), a type is a suspect when
     - its count rose (the next sample's count is higher) in at least 75 %
       of the steps, and
     - it grew (last count minus first) by more than the noise: the
       largest fall from one sample to the next, or twice the standard
       deviation of the n - 1 changes if that is more.  (So the least
       growth named is 6, in 8 samples.)
   A program leaking one object per sample is named at its 8th sample; one
   whose counts only go up and down (objects freed as fast as made, batches
   built and dropped) is not, unless a batch outgrows 16 samples: growth
   longer than the window looks like a leak until it falls.  Cyclic garbage
   piling up between collections is growth too: sample after collections
   (RCGC_MONITOR=1) in programs that make it.  The first line
   sums up the samples judged:
     monitor: the last 16 of 40 samples: memory in use 8192 -> 9152 bytes, 0 collections; 1 suspect
   then one line per suspect, followed by the why-alive chain of its
   longest-lived tracked object (the first in the oldest generation),
   indented:
       closure: 25 -> 40 in 16 samples, +1.0 per sample (rose in 15 of 15 steps, noise 0.0), for example:
         <list 0x55d0c100> refcount 1, held from outside (1 reference not from tracked objects)
           [0] -> <closure 0x55d0c2a0> refcount 1
   A type without traverse (or none of whose objects is tracked) ends its
   line with ", not tracked: no chain to show".  With fewer than 8 samples
   the one line is "monitor: 3 samples, too few to judge (8 needed)". */
RCGC_API size_t rcgc_monitor_report(rcgc_write_fn out, void *arg);

/* Writes a self-contained HTML page (inline SVG, nothing fetched) plotting
   memory in use and the live objects of the suspects and of the 8 most
   numerous other followed types over the kept samples, suspects highlighted
   and named in the legend, collections marked, followed by the report.  0,
   or -1 + errno (EINVAL for NULL; fopen's or a write's errno), the file
   then possibly incomplete. */
RCGC_API int rcgc_monitor_write_html(const char *path);

/* Forgets every sample and followed type (a new start, e.g. after warming
   up) and gives their memory back. */
RCGC_API void rcgc_monitor_reset(void);

/* ---- pictures (objgraph's show_backrefs / show_refs) ----------------------- */

#define RCGC_DOT_REFERRERS 1u   /* what refers to objs (objgraph.show_backrefs) */
#define RCGC_DOT_REFERENTS 2u   /* what objs refer to (objgraph.show_refs) */
#define RCGC_DOT_ADDRESSES 4u   /* also print each object's address in its box */

/* Writes a Graphviz DOT picture of the n objects objs and of what refers to
   them (RCGC_DOT_REFERRERS) or what they refer to (RCGC_DOT_REFERENTS),
   exactly one of the two, up to max_depth references away (0: objs alone),
   breadth first, then flushes f.  Render it with `dot -Tsvg`.
   objgraph's style: one box per object with its type name and a summary
   ("3 items" for a list, "2 keys" for a dict, else "refcount 2"), white to
   grey with depth, the starting objects in red letters with a thick border;
   holders (see rcgc_get_holders) filled orange with
   "held from outside (1 ref)", objects in the garbage list filled pink,
   frozen ones light blue, each with a line saying so.  Edges point the
   way references do and are labelled as rcgc_why_alive labels links
   ([3] list index, ["f"] dict key, #2 traverse position); at most 10 edges
   are drawn per object expanded, the rest summed up in a red
   "N more referrers" ("N more references") box.  Boxes are named o0, o1, ...
   in the order found, so the same program writes the same text.
   Only tracked objects are found as referrers.  Linear in the heap per
   level; changes nothing the program sees; no user code runs but the
   types' traverse and the stream's writes, which happen after the picture
   is complete.  0, or -1 with errno: EINVAL (NULL f, NULL objs with n > 0,
   a NULL object, bad flags), ENOMEM, or the stream's error on writing
   (EIO when the stream gives none). */
RCGC_API int rcgc_write_dot(FILE *f, void *const *objs, size_t n, unsigned max_depth,
                            unsigned flags);

/* ---- memory profiling: tracing (tracemalloc) ----------------------------- */

/* tracemalloc.start(nframes): from now on every block rcgc allocates
   (objects, container storage, internal tables) is traced to the traceback
   of the call that asked for it: its first frame is the caller's file, line
   and function, recorded by the header's macros (no unwinding), the next
   nframes - 1 come from unwinding the stack.  1..64, else -1 + EINVAL;
   -1 + ENOMEM.  Called while tracing, changes nframes for new traces.
   RCGC_TRACEMALLOC=N in the environment starts it before the first
   allocation (PYTHONTRACEMALLOC). */
RCGC_API int rcgc_trace_start(int nframes);
/* Stops tracing and forgets every trace; traced memory reads 0 and 0. */
RCGC_API void rcgc_trace_stop(void);
RCGC_API bool rcgc_trace_is_tracing(void);
/* tracemalloc.get_traced_memory(): the bytes of the blocks traced now and
   the most there were since tracing started or rcgc_trace_reset_peak.  The
   same bytes rcgc_memory_in_use counts for them (headers included).  0 and
   0 while not tracing. */
RCGC_API void rcgc_trace_get_memory(size_t *current, size_t *peak);
RCGC_API void rcgc_trace_reset_peak(void);
/* Blocks left untraced because the tracer's own tables could not grow (the
   blocks themselves were made: the tracer never costs the program an
   object).  0 after rcgc_trace_stop. */
RCGC_API size_t rcgc_trace_lost(void);
/* tracemalloc.get_tracemalloc_memory(): the bytes of the tracer's own
   tables (not traced, not in rcgc_memory_in_use). */
RCGC_API size_t rcgc_trace_tracer_memory(void);
/* tracemalloc.get_object_traceback(obj), printed: one frame a line, most
   recent call first, "  app.c:120 in main".  -1 + ENOENT if obj was not
   traced (made before tracing began, or while it was off); -1 + EINVAL. */
RCGC_API int rcgc_trace_object_site(const void *obj, rcgc_write_fn out, void *arg);

/* ---- memory profiling: snapshots (tracemalloc's Snapshot) ------------------- */

/* A copy of the traces at one moment: each trace's traceback resolved to
   text (file, line, function), its type's name and its bytes.  It owns all
   it shows: it outlives rcgc_trace_stop, and a dump loaded in another
   process prints the same.  rcgc's own memory, not in rcgc_memory_in_use. */
typedef struct rcgc_snapshot rcgc_snapshot;

/* Statistics keys (tracemalloc's key_type).  By type, "(storage)" names
   blocks made for no type.  The cumulative keys (tracemalloc's
   cumulative=True) count each block under every file or line of its
   traceback, once per key even if frames repeat it. */
typedef enum {
    RCGC_BY_TYPE,
    RCGC_BY_FILENAME,
    RCGC_BY_LINENO,
    RCGC_BY_TRACEBACK,
    RCGC_BY_FILENAME_CUMULATIVE,
    RCGC_BY_LINENO_CUMULATIVE
} rcgc_key;

/* tracemalloc.take_snapshot(): NULL + EINVAL while not tracing (tracemalloc
   raises), NULL + ENOMEM. */
RCGC_API rcgc_snapshot *rcgc_snapshot_take(void);
RCGC_API void rcgc_snapshot_free(rcgc_snapshot *s);   /* NULL: nothing */
/* Writes s to path (src/snapshot.c has the format: versioned, fixed-width
   little-endian, checksummed).  0, or -1 + errno: EINVAL (NULL), ENOMEM,
   fopen's or a write's errno (EIO when it gives none); a file left
   incomplete is removed. */
RCGC_API int rcgc_snapshot_dump(const rcgc_snapshot *s, const char *path);
/* Reads a dump.  NULL + errno: fopen's, EIO (a read failed), EINVAL (not
   a snapshot dump of this version: cut, foreign or damaged), ENOMEM. */
RCGC_API rcgc_snapshot *rcgc_snapshot_load(const char *path);
/* Snapshot.filter_traces([Filter(include, file_pattern)]) in place: keeps
   the traces whose most recent frame's file matches file_pattern
   (fnmatch(3), no flags: `*` matches `/` too) if include, those whose file
   does not if not (tracemalloc's default all_frames=False).  0, or
   -1 + EINVAL (NULL). */
RCGC_API int rcgc_snapshot_filter(rcgc_snapshot *s, bool include, const char *file_pattern);
/* Snapshot.statistics(key) printed, largest first (by size, then count,
   then key, all descending, as tracemalloc sorts); limit 0: all.  One line
   a call of out:
     [ Top 10 lines ]
     app.c:120: size=576 KiB, count=4, average=144 KiB
   headings "types", "files", "lines", "tracebacks" (", cumulative" after
   them for the cumulative keys), the number being the limit (the number of
   statistics when limit is 0); by type "closure: size=...", by file
   "app.c: size=...", by traceback the most recent frame's file:line, then
   each frame, most recent first, "  app.c:120 in main".  Sizes as
   tracemalloc's (B, KiB, MiB...).  Prints nothing and sets errno on
   EINVAL (NULL s, bad key) or ENOMEM. */
RCGC_API void rcgc_snapshot_print_top(const rcgc_snapshot *s, rcgc_key key, size_t limit,
                                      rcgc_write_fn out, void *arg);
/* Snapshot.compare_to(before, key) printed, largest change first (by |size
   change|, size, |count change|, count, key):
     [ Top 10 differences by lines ]
     app.c:120: size=576 KiB (+576 KiB), count=4 (+4), average=144 KiB
   a key only in before reads "size=0 B (-576 KiB), count=0 (-4)".  Errors
   as rcgc_snapshot_print_top. */
RCGC_API void rcgc_snapshot_print_compare(const rcgc_snapshot *now, const rcgc_snapshot *before,
                                          rcgc_key key, size_t limit, rcgc_write_fn out,
                                          void *arg);

/* ---- memory profiling: regions ----------------------------------------------- */

/* memory_profiler, by region.  Between begin and the matching end, every
   block rcgc allocates or frees (what rcgc_memory_in_use counts) is counted
   in the region, whether or not tracing is on; regions nest, and a nested
   region's memory counts in the regions around it too.  Per region name:
   bytes allocated, bytes freed, increment (allocated - freed), peak (the
   highest increment reached inside one occurrence, from 0 at its begin) and
   occurrences.  O(1) per allocation.  The name is copied.  begin(NULL):
   errno = EINVAL, and the region (its end still balances) is not recorded;
   ENOMEM likewise when rcgc's own memory cannot be had.  end with no region
   open does nothing else and sets errno = EINVAL. */
RCGC_API void rcgc_profile_begin(const char *region);
RCGC_API void rcgc_profile_end(void);
/* The table, one line per call of out (src/regions.c has the exact format):
     Region              Allocated         Freed     Increment          Peak  Occurrences
     =====================================================================================
     load               96.000 KiB    32.000 KiB    64.000 KiB    80.000 KiB            1
       parse            24.000 KiB     8.000 KiB    16.000 KiB    16.000 KiB            4
   rows in the order regions were first begun, names indented two spaces
   per region open around their first begin; sizes in KiB with three
   decimals, in MiB from 1 MiB on; a region still open is counted up to now
   and marked " (open)". */
RCGC_API void rcgc_profile_print(rcgc_write_fn out, void *arg);

/* ---- memory profiling: the capture file ---------------------------------------- */

/* memray's model: records every block rcgc allocates and frees (with its
   traceback while tracing, and its type), each collection with its pause,
   and samples of live objects per type, to the file at path, for
   rcgc-report (stats, compare, leaks, timeline, flamegraph).  The format is
   docs/capture-format.md.  Written through a 64 KiB buffer of rcgc's own
   memory, flushed when full, at rcgc_capture_stop and at exit; a program
   killed mid-write leaves a file whose complete records the report reads.
   RCGC_TRACE_FILE=path in the environment starts one when rcgc starts,
   with tracing (one frame, unless RCGC_TRACEMALLOC=N asks for more); this
   function leaves tracing as it is (untraced blocks have no traceback).
   0, or -1 + errno: EINVAL (NULL or empty path), EBUSY (a capture is
   running), ENOMEM, or open's errno. */
RCGC_API int rcgc_capture_start(const char *path);
/* Writes a last sample and the end record, flushes and closes.  0, or
   -1 + errno: EINVAL (no capture), or the error (a write's errno, ENOMEM)
   that ended the capture early; what was written before it stays
   readable. */
RCGC_API int rcgc_capture_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* RCGC_TOOLS_H */
