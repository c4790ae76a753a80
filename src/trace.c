/*
 * Tracing: tracemalloc for rcgc.  While tracing, every block rcgc allocates
 * (objects, container storage, internal tables) gets a trace: its size, the
 * type it was made for, and the traceback of the call that asked for it.
 *
 * The first frame costs no unwinding: the header's macros pass __FILE__,
 * __LINE__ and __func__ to the exported *_at functions, which put them in
 * state.site for the length of the call (site_enter / site_leave in
 * internal.h); frames above come from unwind.c when nframes > 1.  Sites and
 * tracebacks are interned, so a trace is four words in an open-addressing
 * table keyed by block address, and a loop allocating at one line finds its
 * traceback in a one-entry cache.
 *
 * The tracer's tables are rcgc's own memory (rcgc__own_*): not traced, not
 * in rcgc_memory_in_use, never refused by the hook.  When they cannot grow,
 * the block is simply not traced: the program never loses an object to the
 * tracer, only a trace, and state.trace_lost counts it.
 *
 * Invariants:
 *  T1  While tracing, every block alloc.c counts and the trace table holds
 *      has the size alloc.c counts for it; trace_current is their sum.
 *  T2  Every traceback and site a trace points to is interned in `tables`
 *      and lives until rcgc_trace_stop.
 *  T3  state.memory_observed is tracing || regions_active || capturing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "profile.h"
#include "rcgc_tools.h"
#include "trace.h"

typedef struct trace_slot {
    const void *block;        /* NULL: empty */
    size_t size;
    const traceback *tb;
    const rcgc_type *type;
} trace_slot;

/* A set of interned pointers (sites or tracebacks), by content hash. */
typedef struct intern_set {
    void **items;
    size_t cap, len;
} intern_set;

#define SLOT_GONE ((const void *)1)   /* a deleted trace: probes pass it */

struct trace_tables {
    trace_slot *slots;
    size_t cap, len;
    size_t filled;            /* len + deleted slots */
    unsigned shift;           /* 64 - log2(cap), for block_hash */
    intern_set sites, tracebacks;
    /* The one-entry cache of the one-frame path. */
    trace_site last_key;
    const traceback *last_tb;
};

static const trace_site unknown_site = {"<unknown>", "?", 0};

static size_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return (size_t)x;
}

/* ---- interning -------------------------------------------------------------- */

static bool intern_grow(intern_set *set, size_t (*hash)(const void *))
{
    size_t cap = set->cap ? set->cap * 2 : 64;
    void **items = rcgc__own_calloc(cap * sizeof *items);
    if (!items) return false;
    for (size_t i = 0; i < set->cap; i++) {
        if (!set->items[i]) continue;
        size_t j = hash(set->items[i]) & (cap - 1);
        while (items[j]) j = (j + 1) & (cap - 1);
        items[j] = set->items[i];
    }
    rcgc__own_free(set->items);
    set->items = items;
    set->cap = cap;
    return true;
}

static void intern_free(intern_set *set)
{
    for (size_t i = 0; i < set->cap; i++) rcgc__own_free(set->items[i]);
    rcgc__own_free(set->items);
    *set = (intern_set){NULL, 0, 0};
}

static size_t site_hash(const void *p)
{
    const trace_site *s = p;
    return mix((uint64_t)(uintptr_t)s->file ^ ((uint64_t)(uintptr_t)s->func << 1) ^
               ((uint64_t)(unsigned)s->line << 40));
}

static const trace_site *intern_site(struct trace_tables *T, const trace_site *key)
{
    size_t h = site_hash(key);
    if (T->sites.cap) {
        for (size_t i = h & (T->sites.cap - 1);; i = (i + 1) & (T->sites.cap - 1)) {
            const trace_site *s = T->sites.items[i];
            if (!s) break;
            if (s->file == key->file && s->func == key->func && s->line == key->line) return s;
        }
    }
    if ((T->sites.len + 1) * 2 > T->sites.cap && !intern_grow(&T->sites, site_hash)) return NULL;
    trace_site *s = rcgc__own_calloc(sizeof *s);
    if (!s) return NULL;
    *s = *key;
    size_t i = h & (T->sites.cap - 1);
    while (T->sites.items[i]) i = (i + 1) & (T->sites.cap - 1);
    T->sites.items[i] = s;
    T->sites.len++;
    return s;
}

static uint32_t traceback_hash_of(const trace_site *site, void *const *pcs, uint32_t npcs)
{
    uint64_t h = (uint64_t)(uintptr_t)site;
    for (uint32_t i = 0; i < npcs; i++) h = mix(h ^ (uint64_t)(uintptr_t)pcs[i]) + i;
    return (uint32_t)mix(h ^ npcs);
}

static size_t traceback_hash(const void *p)
{
    return ((const traceback *)p)->hash;
}

static const traceback *intern_traceback(struct trace_tables *T, const trace_site *site,
                                         void *const *pcs, uint32_t npcs)
{
    uint32_t h = traceback_hash_of(site, pcs, npcs);
    if (T->tracebacks.cap) {
        for (size_t i = h & (T->tracebacks.cap - 1);; i = (i + 1) & (T->tracebacks.cap - 1)) {
            const traceback *tb = T->tracebacks.items[i];
            if (!tb) break;
            if (tb->hash == h && tb->site == site && tb->nframes == npcs + 1 &&
                (npcs == 0 || memcmp(tb->pcs, pcs, npcs * sizeof *pcs) == 0))
                return tb;
        }
    }
    if ((T->tracebacks.len + 1) * 2 > T->tracebacks.cap &&
        !intern_grow(&T->tracebacks, traceback_hash))
        return NULL;
    traceback *tb = rcgc__own_calloc(sizeof *tb + npcs * sizeof *pcs);
    if (!tb) return NULL;
    tb->nframes = npcs + 1;
    tb->hash = h;
    tb->site = site;
    if (npcs) memcpy(tb->pcs, pcs, npcs * sizeof *pcs);
    size_t i = h & (T->tracebacks.cap - 1);
    while (T->tracebacks.items[i]) i = (i + 1) & (T->tracebacks.cap - 1);
    T->tracebacks.items[i] = tb;
    T->tracebacks.len++;
    return tb;
}

#define MAX_FRAMES 64

/* The traceback of the allocation being made; NULL if it could not be
   interned (out of memory). */
static const traceback *current_traceback(rcgc_state *S, struct trace_tables *T)
{
    trace_site key = S->site.file ? S->site : unknown_site;
    if (S->trace_nframes == 1) {
        if (T->last_tb && key.line == T->last_key.line && key.file == T->last_key.file &&
            key.func == T->last_key.func)
            return T->last_tb;
        const trace_site *site = intern_site(T, &key);
        const traceback *tb = site ? intern_traceback(T, site, NULL, 0) : NULL;
        if (tb) {
            T->last_key = key;
            T->last_tb = tb;
        }
        return tb;
    }
    void *pcs[MAX_FRAMES];
    int npcs = rcgc__unwind(pcs, S->trace_nframes - 1);
    const trace_site *site = intern_site(T, &key);
    return site ? intern_traceback(T, site, pcs, (uint32_t)(npcs > 0 ? npcs : 0)) : NULL;
}

/* ---- the trace table -------------------------------------------------------------- */

/* Fibonacci hashing: one multiply, the top bits (addresses differ in
   their middle bits, which the multiply carries up). */
static inline size_t block_hash(const struct trace_tables *T, const void *block)
{
    return (size_t)(((uint64_t)(uintptr_t)block * UINT64_C(0x9e3779b97f4a7c15)) >> T->shift);
}

static inline trace_slot *find_trace(const struct trace_tables *T, const void *block)
{
    if (!T || !T->cap) return NULL;
    for (size_t i = block_hash(T, block);; i = (i + 1) & (T->cap - 1)) {
        if (T->slots[i].block == block) return &T->slots[i];
        if (!T->slots[i].block) return NULL;
    }
}

/* Rebuild at the size the live traces need (deleted slots dropped). */
static bool rehash(struct trace_tables *T)
{
    size_t cap = T->cap ? T->cap : 1024;
    while ((T->len + 1) * 2 > cap) cap *= 2;
    trace_slot *slots = rcgc__own_calloc(cap * sizeof *slots);
    if (!slots) return false;
    trace_slot *old = T->slots;
    size_t old_cap = T->cap;
    T->slots = slots;
    T->cap = cap;
    T->shift = 64 - (unsigned)__builtin_ctzll(cap);
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].block || old[i].block == SLOT_GONE) continue;
        size_t j = block_hash(T, old[i].block);
        while (slots[j].block) j = (j + 1) & (cap - 1);
        slots[j] = old[i];
    }
    rcgc__own_free(old);
    T->filled = T->len;
    return true;
}

/* A block is never traced twice (its address was untraced when freed), so
   the first free or deleted slot of its probe takes it. */
static inline bool add_trace(struct trace_tables *T, trace_slot entry)
{
    if ((T->filled + 1) * 4 > T->cap * 3 && !rehash(T)) return false;
    size_t i = block_hash(T, entry.block);
    while (T->slots[i].block && T->slots[i].block != SLOT_GONE) i = (i + 1) & (T->cap - 1);
    if (!T->slots[i].block) T->filled++;
    T->slots[i] = entry;
    T->len++;
    return true;
}

/* Deleted slots stay as SLOT_GONE for the probes that pass them; add_trace
   reuses them and rehash drops them. */
static inline void remove_trace(struct trace_tables *T, trace_slot *s)
{
    s->block = SLOT_GONE;
    T->len--;
}

static inline void trace_new(rcgc_state *S, const void *block, size_t size)
{
    struct trace_tables *T = S->trace;
    const traceback *tb = T->last_tb && S->trace_nframes == 1 && S->site.line == T->last_key.line &&
                                  S->site.file == T->last_key.file && S->site.func == T->last_key.func
                              ? T->last_tb
                              : current_traceback(S, T);
    if (!tb || !add_trace(T, (trace_slot){block, size, tb, S->site_owner})) {
        S->trace_lost++;
        return;
    }
    S->trace_current += size;
    if (S->trace_current > S->trace_peak) S->trace_peak = S->trace_current;
}

static inline void trace_gone(rcgc_state *S, const void *block)
{
    trace_slot *s = find_trace(S->trace, block);
    if (!s) return;   /* made before tracing began, or its trace was lost */
    S->trace_current -= s->size;
    remove_trace(S->trace, s);
}

static void profile_events(rcgc_state *S, const void *block, size_t size, const void *old,
                           size_t old_size) __attribute__((noinline));

void rcgc__memory_event(rcgc_state *S, const void *block, size_t size, const void *old,
                        size_t old_size)
{
    if (S->tracing) {
        if (old && block) {   /* resized in place or moved: the same trace, a new size */
            trace_slot *s = find_trace(S->trace, old);
            if (s) {
                trace_slot moved = *s;
                S->trace_current -= s->size;
                remove_trace(S->trace, s);
                moved.block = block;
                moved.size = size;
                if (add_trace(S->trace, moved)) {
                    S->trace_current += size;
                    if (S->trace_current > S->trace_peak) S->trace_peak = S->trace_current;
                } else {
                    S->trace_lost++;
                }
            }
        } else if (block) {
            trace_new(S, block, size);
        } else {
            trace_gone(S, old);
        }
    }
    if (__builtin_expect(S->regions_active || S->capturing, 0))
        profile_events(S, block, size, old, old_size);
}

/* memory_profiler's regions and the capture file (profile.h); a resize is
   the old block's free and the new one's allocation.  Apart, so that the
   tracer's path stays small. */
static void profile_events(rcgc_state *S, const void *block, size_t size, const void *old,
                           size_t old_size)
{
    if (S->regions_active) {
        if (old) rcgc__regions_on_free(S, old_size);
        if (block) rcgc__regions_on_alloc(S, size);
    }
    if (S->capturing) {
        if (old) rcgc__capture_on_free(S, old, old_size);
        if (block && S->capturing) {
            const rcgc_type *type = S->site_owner;
            const traceback *tb = S->tracing ? rcgc__trace_of(block, NULL, &type) : NULL;
            rcgc__capture_on_alloc(S, block, size, tb, type);
        }
    }
}

void rcgc__update_memory_observed(rcgc_state *S)
{
    S->memory_observed = S->tracing || S->regions_active || S->capturing;
}

/* ---- reading traces --------------------------------------------------------------- */

const traceback *rcgc__trace_of(const void *block, size_t *size, const rcgc_type **type)
{
    rcgc_state *S = state();
    trace_slot *s = S->tracing ? find_trace(S->trace, block) : NULL;
    if (!s) return NULL;
    if (size) *size = s->size;
    if (type) *type = s->type;
    return s->tb;
}

const traceback *rcgc__trace_of_object(const void *obj)
{
    return rcgc__trace_of(link_of(obj), NULL, NULL);
}

void rcgc__trace_foreach(trace_visit_fn fn, void *arg)
{
    rcgc_state *S = state();
    struct trace_tables *T = S->tracing ? S->trace : NULL;
    for (size_t i = 0; T && i < T->cap; i++)
        if (T->slots[i].block && T->slots[i].block != SLOT_GONE)
            fn(T->slots[i].block, T->slots[i].size, T->slots[i].tb, T->slots[i].type, arg);
}

/* "app.c:120 in main" for frame i of tb; pcs go through unwind.c's
   symbolizer. */
void rcgc__format_frame(const traceback *tb, uint32_t i, char *buf, size_t cap)
{
    if (i == 0) {
        snprintf(buf, cap, "%s:%d in %s", tb->site->file, tb->site->line, tb->site->func);
        return;
    }
    char func[256], file[512];
    int line = 0;
    if (rcgc__symbolize(tb->pcs[i - 1], func, sizeof func, file, sizeof file, &line) != 0)
        snprintf(buf, cap, "%p", tb->pcs[i - 1]);
    else if (file[0])
        snprintf(buf, cap, "%s:%d in %s", file, line, func);
    else
        snprintf(buf, cap, "%p in %s", tb->pcs[i - 1], func);
}

/* ---- the public surface -------------------------------------------------------------- */

int rcgc_trace_start(int nframes)
{
    if (nframes < 1 || nframes > MAX_FRAMES) {
        errno = EINVAL;
        return -1;
    }
    rcgc_state *S = state();
    if (!S->trace) {
        S->trace = rcgc__own_calloc(sizeof *S->trace);
        if (!S->trace) {
            errno = ENOMEM;
            return -1;
        }
    }
    if (S->trace_nframes != nframes && S->trace) S->trace->last_tb = NULL;
    S->trace_nframes = nframes;
    S->tracing = true;
    rcgc__update_memory_observed(S);
    return 0;
}

void rcgc_trace_stop(void)
{
    rcgc_state *S = state();
    struct trace_tables *T = S->trace;
    S->tracing = false;
    rcgc__update_memory_observed(S);
    if (T) {
        rcgc__own_free(T->slots);
        intern_free(&T->tracebacks);
        intern_free(&T->sites);
        rcgc__own_free(T);
        S->trace = NULL;
    }
    S->trace_current = S->trace_peak = S->trace_lost = 0;
}

bool rcgc_trace_is_tracing(void)
{
    return state()->tracing;
}

void rcgc_trace_get_memory(size_t *current, size_t *peak)
{
    if (!current || !peak) {
        errno = EINVAL;
        return;
    }
    rcgc_state *S = state();
    *current = S->trace_current;
    *peak = S->trace_peak;
}

void rcgc_trace_reset_peak(void)
{
    rcgc_state *S = state();
    S->trace_peak = S->trace_current;
}

size_t rcgc_trace_lost(void)
{
    return state()->trace_lost;
}

size_t rcgc_trace_tracer_memory(void)
{
    const struct trace_tables *T = state()->trace;
    if (!T) return 0;
    size_t bytes = sizeof *T + T->cap * sizeof(trace_slot) +
                   (T->sites.cap + T->tracebacks.cap) * sizeof(void *) +
                   T->sites.len * sizeof(trace_site);
    for (size_t i = 0; i < T->tracebacks.cap; i++) {
        const traceback *tb = T->tracebacks.items[i];
        if (tb) bytes += sizeof *tb + (tb->nframes - 1) * sizeof(void *);
    }
    return bytes;
}

int rcgc_trace_object_site(const void *obj, rcgc_write_fn out, void *arg)
{
    if (!obj) {
        errno = EINVAL;
        return -1;
    }
    RCGC_CHECK_OBJECT(obj, "rcgc_trace_object_site");
    const traceback *tb = rcgc__trace_of_object(obj);
    if (!tb) {
        errno = ENOENT;
        return -1;
    }
    char frame[1024];
    for (uint32_t i = 0; i < tb->nframes; i++) {
        rcgc__format_frame(tb, i, frame, sizeof frame);
        rcgc__print_to(out, arg, "  %s\n", frame);
    }
    return 0;
}

/* RCGC_TRACEMALLOC=N, read when rcgc starts: trace N frames from the first
   allocation (PYTHONTRACEMALLOC's rule: 1 for a value that is not a number
   in 1..64 but not "0" or empty). */
void rcgc__trace_setup(void)
{
    const char *v = getenv("RCGC_TRACEMALLOC");
    if (!v || !*v || strcmp(v, "0") == 0) return;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 1 || n > MAX_FRAMES) n = 1;
    rcgc_trace_start((int)n);
}
