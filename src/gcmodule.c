/*
 * The control surface shaped like Python's gc module: switches, thresholds,
 * counts, the output sink, the garbage list, statistics, callbacks,
 * inspection and freezing.  A thin layer over the collector, as CPython's
 * gcmodule.c is over gc.c: the collection is in collect.c, and what it
 * reports (output lines, the garbage list, callback calls) in
 * collect_report.c.  Calls go from here to the collector, never back.
 *
 * Callbacks and the output sink are user code: they may call back into rcgc
 * (a collect requested from a callback returns 0, as in CPython, because
 * state->collecting is set around the whole collection).
 */
#include <errno.h>

#include "internal.h"

static bool generation_ok(int generation)
{
    if (generation < 0 || generation >= RCGC_NUM_GENERATIONS) {
        errno = EINVAL;
        return false;
    }
    return true;
}

void rcgc_enable(void) { state()->enabled = true; }
void rcgc_disable(void) { state()->enabled = false; }
bool rcgc_isenabled(void) { return state()->enabled; }

void rcgc_set_threshold(size_t t0, size_t t1, size_t t2)
{
    rcgc_state *S = state();
    S->generations[0].threshold = t0;
    S->generations[1].threshold = t1;
    S->generations[2].threshold = t2;
    rcgc__schedule_triggers(S);
}

int rcgc_set_policy(rcgc_policy policy)
{
    if (policy != RCGC_POLICY_CPYTHON && policy != RCGC_POLICY_THROUGHPUT) {
        errno = EINVAL;
        return -1;
    }
    rcgc_state *S = state();
    S->policy = policy;
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++)
        S->generations[i].scale = 0;   /* the throughput policy learns afresh */
    rcgc__schedule_triggers(S);
    return 0;
}

rcgc_policy rcgc_get_policy(void)
{
    return state()->policy;
}

/* Out-parameters, everywhere: NULL does nothing and sets EINVAL. */
static bool out_ok(const void *out)
{
    if (out) return true;
    errno = EINVAL;
    return false;
}

void rcgc_get_threshold(size_t out[3])
{
    if (!out_ok(out)) return;
    rcgc_state *S = state();
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) out[i] = S->generations[i].threshold;
}

void rcgc_get_count(size_t out[3])
{
    if (!out_ok(out)) return;
    rcgc_state *S = state();
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) out[i] = S->generations[i].count;
}

void rcgc_set_debug(unsigned flags) { state()->debug = flags; }
unsigned rcgc_get_debug(void) { return state()->debug; }

void rcgc_set_output(rcgc_write_fn fn, void *arg)
{
    rcgc_state *S = state();
    S->output = fn;
    S->output_arg = arg;
}

/* ---- gc.garbage: the collector fills it (collect_report.c) ------------------ */

size_t rcgc_garbage_count(void) { return state()->garbage_len; }

void *rcgc_garbage_get(size_t i)
{
    rcgc_state *S = state();
    if (i >= S->garbage_len) {
        errno = ERANGE;
        return NULL;
    }
    return S->garbage[i];
}

void rcgc_garbage_clear(void) { rcgc__garbage_clear(); }

/* ---- statistics ------------------------------------------------------------ */

void rcgc_get_stats(int generation, rcgc_gen_stats *out)
{
    if (!out_ok(out)) return;
    if (!generation_ok(generation)) {
        *out = (rcgc_gen_stats){0, 0, 0};
        return;
    }
    *out = state()->stats[generation];
}

/* ---- gc.callbacks: registered here, called by the collector ----------------- */

int rcgc_callback_add(rcgc_callback_fn fn, void *arg)
{
    rcgc_state *S = state();
    if (!fn) {
        errno = EINVAL;
        return -1;
    }
    if (rcgc__reserve(&S->callbacks, &S->callbacks_cap, &S->callbacks_len,
                      sizeof *S->callbacks, 4) != 0)
        return -1;
    S->callbacks[S->callbacks_len++] = (callback_entry){fn, arg};
    return 0;
}

int rcgc_callback_remove(rcgc_callback_fn fn, void *arg)
{
    rcgc_state *S = state();
    for (size_t i = 0; i < S->callbacks_len; i++) {
        if (S->callbacks[i].fn == fn && S->callbacks[i].arg == arg) {
            for (size_t j = i + 1; j < S->callbacks_len; j++) S->callbacks[j - 1] = S->callbacks[j];
            if (--S->callbacks_len == 0) {   /* memory in use back to its baseline */
                rcgc__free(S->callbacks, S->callbacks_cap * sizeof *S->callbacks);
                S->callbacks = NULL;
                S->callbacks_cap = 0;
            }
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}

/* ---- inspection -------------------------------------------------------------- */

/* The objects to hand to an inspection callback, taken before the first
   call as CPython's gc.get_objects() builds its list first: the callback may
   then do anything (create, free, collect, freeze) without the walk running
   into new objects or off a list.  Each item is a strong reference. */
typedef struct snapshot {
    void **items;
    size_t len, cap;
} snapshot;

/* keep(obj, keep_arg) chooses the objects; NULL keeps all. */
typedef bool (*keep_fn)(void *obj, const void *keep_arg);

static size_t tracked_in(const rcgc_state *S, int generation)
{
    size_t n = 0;
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++)
        if (generation == -1 || generation == i) n += rcgc__list_size(&S->generations[i].head);
    return n;
}

/* 0, or -1 + ENOMEM.  The array asks the hook, which may run user code that
   makes objects: if they no longer fit, it is taken again, larger. */
static int snapshot_take(snapshot *snap, int generation, keep_fn keep, const void *keep_arg)
{
    rcgc_state *S = state();
    *snap = (snapshot){NULL, 0, 0};
    for (;;) {
        size_t cap = tracked_in(S, generation);
        if (cap == 0) return 0;
        void **items = rcgc__alloc(cap * sizeof *items);
        if (!items) return -1;
        size_t len = 0;
        bool fits = true;
        for (int i = 0; i < RCGC_NUM_GENERATIONS && fits; i++) {
            if (generation != -1 && generation != i) continue;
            const gc_link *list = &S->generations[i].head;
            for (gc_link *g = link_next(list); g != list; g = link_next(g)) {
                void *obj = body_of_link(g);
                if (keep && !keep(obj, keep_arg)) continue;
                if (len == cap) {
                    fits = false;
                    break;
                }
                items[len++] = obj;
            }
        }
        if (fits) {
            for (size_t i = 0; i < len; i++) rcgc_incref(items[i]);
            *snap = (snapshot){items, len, cap};
            return 0;
        }
        rcgc__free(items, cap * sizeof *items);
    }
}

/* Call fn on each item until one returns non-zero; then drop the snapshot's
   references (which may free objects the callback let go of). */
static int snapshot_visit(snapshot *snap, rcgc_visit_fn fn, void *arg)
{
    int r = 0;
    rcgc_state *S = state();
    S->calling_out++;
    for (size_t i = 0; i < snap->len && r == 0; i++) r = fn(snap->items[i], arg);
    S->calling_out--;
    for (size_t i = 0; i < snap->len; i++) rcgc_decref(snap->items[i]);
    rcgc__free(snap->items, snap->cap * sizeof *snap->items);
    return r;
}

int rcgc_get_objects(int generation, rcgc_visit_fn fn, void *arg)
{
    if (!fn || (generation != -1 && !generation_ok(generation))) {
        errno = EINVAL;
        return -1;
    }
    snapshot snap;
    if (snapshot_take(&snap, generation, NULL, NULL) != 0) return -1;
    return snapshot_visit(&snap, fn, arg);
}

static int is_target(void *obj, void *target)
{
    return obj == target;
}

/* gc.get_referrers: the tracked objects whose traverse reports the target. */
static bool refers_to(void *candidate, const void *target)
{
    const rcgc_type *t = head_type(head_of(candidate));
    return t->traverse(candidate, is_target, (void *)target) != 0;
}

int rcgc_get_referrers(const void *obj, rcgc_visit_fn fn, void *arg)
{
    if (!obj || !fn) {
        errno = EINVAL;
        return -1;
    }
    snapshot snap;
    if (snapshot_take(&snap, -1, refers_to, obj) != 0) return -1;
    return snapshot_visit(&snap, fn, arg);
}

int rcgc_get_referents(const void *obj, rcgc_visit_fn fn, void *arg)
{
    if (!obj || !fn) {
        errno = EINVAL;
        return -1;
    }
    RCGC_CHECK_OBJECT(obj, "rcgc_get_referents");
    const rcgc_type *t = head_type(head_of(obj));
    if (!t->traverse) return 0;
    rcgc_state *S = state();
    S->calling_out++;
    int r = t->traverse((void *)obj, fn, arg);
    S->calling_out--;
    return r;
}

/* ---- freezing ---------------------------------------------------------------- */

void rcgc_freeze(void)
{
    rcgc_state *S = state();
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) {
        list_merge(&S->generations[i].head, &S->permanent);
        S->generations[i].count = 0;
    }
}

void rcgc_unfreeze(void)
{
    rcgc_state *S = state();
    list_merge(&S->permanent, &S->generations[RCGC_NUM_GENERATIONS - 1].head);
}

size_t rcgc_get_freeze_count(void)
{
    return rcgc__list_size(&state()->permanent);
}
