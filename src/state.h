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
} gc_generation;

typedef struct callback_entry {
    rcgc_callback_fn fn;
    void *arg;
} callback_entry;

typedef struct weakref_table weakref_table;
typedef struct plain_chunk plain_chunk;
/* Live objects of one type (census.c). */
typedef struct census_entry {
    const rcgc_type *type;   /* NULL: empty slot */
    size_t count;
    size_t shown;            /* count at the previous rcgc_show_growth */
} census_entry;

typedef struct rcgc_state {
    gc_generation generations[RCGC_NUM_GENERATIONS];
    gc_link permanent;
    size_t long_lived_total, long_lived_pending;
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
    census_entry *census_last;      /* the last type counted, checked first */
    census_entry census_none;       /* matches no type: before any, and while observing */

    /* Samples over time (monitor.c); RCGC_MONITOR=1 sets monitor_on_full. */
    struct monitor *monitor;
    size_t monitor_missed;          /* samples lost to a failed allocation */
    bool monitor_on_full;

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
    uint64_t serial;
    bool initialized;
} rcgc_state;

extern rcgc_state rcgc__state;
void rcgc__state_init(void);
static inline rcgc_state *state(void)
{
    if (__builtin_expect(!rcgc__state.initialized, 0)) rcgc__state_init();
    return &rcgc__state;
}

#endif
