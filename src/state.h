/*
 * The state of one heap: everything rcgc keeps between calls, the tools'
 * tables included, so that a heap can be made, handed to another thread and
 * destroyed as one unit (state.c).  Included by internal.h after the header
 * layout and the generation lists, which the state embeds.
 */
#ifndef RCGC_STATE_H
#define RCGC_STATE_H

typedef struct gc_generation {
    gc_link head;
    size_t threshold;
    size_t count;
    /* Automatic collection of this generation once count passes trigger:
       the threshold, scaled by 2^scale under the throughput policy
       (collect.c's rcgc__schedule_triggers).  Generation 0: 0 = never. */
    size_t trigger;
    int scale;
} gc_generation;

typedef struct callback_entry {
    rcgc_callback_fn fn;
    void *arg;
} callback_entry;

typedef struct weakref_table weakref_table;
typedef struct plain_chunk plain_chunk;
/* Live objects of one type (census.c). */
#define CENSUS_WAYS 8
typedef struct census_entry {
    const rcgc_type *type;   /* NULL: empty slot */
    size_t count;
    size_t shown;            /* count at the previous rcgc_show_growth */
} census_entry;

/* A heap (rcgc.h's opaque rcgc_heap) is this struct. */
typedef struct rcgc_heap {
    gc_generation generations[RCGC_NUM_GENERATIONS];
    gc_link permanent;
    size_t last_examined;           /* objects the last collection looked at */
    size_t promoted;                /* to generation 1 since its last collection */
    bool survivors_die_young;       /* as collect.c's adapt judged it */
    rcgc_policy policy;
    /* Every object the collector does not look at: those of types without
       traverse, and untracked ones of types with it (TYPE_BIT_UNTRACKED).
       With the lists above it makes every live object findable, which is
       what teardown needs (H1 in state.c). */
    gc_link untracked;
    size_t long_lived_total, long_lived_pending;
    /* The last full collection's survivors in list order, if it found the
       list scattered in memory: where the next one prefetches (collect.c's
       scan_order; entries may name objects freed since, never followed). */
    gc_link **scan_hints;
    size_t scan_hints_len, scan_hints_cap;
    bool enabled;
    bool collecting;
    unsigned debug;
    rcgc_gen_stats stats[RCGC_NUM_GENERATIONS];

    void **garbage;                 /* strong references */
    size_t garbage_len, garbage_cap;
    callback_entry *callbacks;
    size_t callbacks_len, callbacks_cap;
    rcgc_write_fn output;
    void *output_arg;

    /* Deallocation without recursion: objects whose count reached zero while
       another deallocation runs wait here, linked through their gc_link
       (untracked at that point, so the link is free). */
    unsigned dealloc_depth;
    gc_link *dealloc_pending;       /* singly linked through next */

    /* The same for objects of types without traverse (object.c). */
    unsigned plain_depth;
    struct plain_chunk *plain_pending;
    /* Finalizers running in deallocations, innermost first (object.c). */
    struct finalizing *finalizing;

    weakref_table *weakrefs;

    /* Watched objects and the objects made since rcgc_leakcheck_begin
       (leakcheck.c); object.c reports births and deaths while observing. */
    ptrmap watched, made_since;
    uint64_t watch_order;
    bool leakcheck_open, leakcheck_incomplete, tools_observing;

    /* Live objects per type (census.c). */
    census_entry *census;
    size_t census_cap, census_len;
    /* The types counted lately, checked first: one entry per way, a type
       always in the way its address picks (census.c, C2). */
    census_entry *census_ways[CENSUS_WAYS];
    census_entry census_none;       /* matches no type: before any, and while observing */

    /* Samples over time (monitor.c); RCGC_MONITOR=1 sets monitor_on_full. */
    struct monitor *monitor;
    size_t monitor_missed;          /* samples lost to a failed allocation */
    bool monitor_on_full;
    bool leak_report_due;           /* RCGC_LEAK_REPORT: not reported yet */

    /* Memory profiling: memory_profiler's regions (regions.c) and the
       capture file of RCGC_TRACE_FILE (capture.c).  Each module owns its
       block and its flag; the memory events reach it while the flag is set. */
    struct profile_regions *regions;
    bool regions_active;
    struct capture_file *capture;
    bool capturing;

    /* Tests only: the n-th allocation of rcgc's own bookkeeping fails
       (alloc.c), as the hook makes the others fail. */
    unsigned own_refusal;
    unsigned page_refusal;          /* the same for size-class pages */
    /* Tests only: 1 makes every full collection use its prefetch arrays
       (collect.c's scan_order), -1 none, 0 lets it judge (debug builds:
       always, so that every test and the conformance tester run them). */
    signed char scan_order_forced;

    /* Memory observed (trace.c): while set, alloc.c reports every block it
       allocates or frees to rcgc__memory_event.  T3: it is tracing ||
       regions_active || capturing (rcgc__update_memory_observed). */
    bool memory_observed;
    bool tracing;                   /* trace.c */
    int trace_nframes;
    trace_site site;                /* the caller of the running public call (site_enter) */
    const rcgc_type *site_owner;    /* the type that call allocates for */
    void *entry_frame;              /* that call's frame address, where unwind.c starts */
    struct trace_tables *trace;     /* rcgc's own memory; NULL while not tracing */
    size_t trace_current, trace_peak, trace_lost;

    /* Names of return addresses (unwind.c): pc -> name, in rcgc's own
       memory; libdw's view of this process (libc's memory, held here where
       leak checkers look), NULL until needed or when it cannot be had. */
    ptrmap symbols;
    struct Dwfl *dwfl;
    bool dwfl_failed;

    rcgc_alloc_hook_fn alloc_hook;
    void *alloc_hook_arg;
    size_t bytes_in_use;
    /* Where objects of up to SMALL_MAX bytes live (pages.c). */
    size_class classes[CLASS_COUNT];
    size_t pages;                   /* pages held, full ones included */
    /* Empty pages kept for the next (pages.c): hot ones as they were, cold
       ones with their memory given back to the system but still mapped;
       and the chunks all pages are cut from. */
    struct block_page *pages_hot;
    size_t pages_hot_count, pages_cold;
    page_chunk *chunks;
    size_t chunks_len, chunks_cap, cold_hint;
    uint64_t serial;

    /* The heap itself (state.c). */
    _Atomic(uintptr_t) owner;       /* the thread using it (its token), 0: none; H2 */
    bool is_default;
    bool tearing_down;              /* in rcgc_heap_destroy / rcgc_shutdown */
    /* User code that rcgc is running outside collections and deallocations
       (the allocation hook, output sinks, inspection visitors): the call
       goes on in this heap when it returns, so the heap is busy (state.c,
       H4). */
    unsigned calling_out;
    struct rcgc_heap *next_heap;    /* all heaps, for the debug checks and exit */

#ifdef RCGC_DEBUG
    /* Misuse checks (debug.c): body address -> LIVE or FREED, and the freed
       objects' memory, held back so a late use finds them. */
    ptrmap registry;
    bool registry_incomplete;
    struct quarantine_slot *quarantine;
    size_t quarantine_next;
#endif
} rcgc_state;

/* The calling thread's heap; NULL until the thread first uses rcgc, which
   then finds the default heap (state.c).  initial-exec: one load from the
   thread pointer, where the default model costs a call per function in a
   shared library. */
extern _Thread_local rcgc_state *rcgc__current __attribute__((tls_model("initial-exec")));
rcgc_state *rcgc__first_use(void);
/* The RCGC_* switches, applied to the current heap (the default heap's
   first use; tests, for a heap of their own). */
void rcgc__read_environment(void);
static inline rcgc_state *state(void)
{
    rcgc_state *S = rcgc__current;
    if (__builtin_expect(S == NULL, 0)) S = rcgc__first_use();
    return S;
}
/* fn for every heap alive (under the heaps' lock; fn must not make or
   destroy heaps). */
void rcgc__each_heap(void (*fn)(rcgc_state *S, void *arg), void *arg);
/* fn() with S as the calling thread's current heap, then back: for the
   exit and fork hooks, which act on heaps no thread may be in. */
void rcgc__as_current(rcgc_state *S, void (*fn)(void));

#endif
