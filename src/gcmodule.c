/*
 * The control surface shaped like Python's gc module: switches, thresholds,
 * counts, debug output, the garbage list, statistics, callbacks, inspection
 * and freezing.  The collection itself is in collect.c.
 *
 * Callbacks and the output sink are user code: they may call back into rcgc
 * (a collect requested from a callback returns 0, as in CPython, because
 * state->collecting is set around the whole collection).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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

/* One whole line per call, however long (type names are the user's).  The
   rare long line goes through libc, not rcgc's books: it is gone before the
   call returns.  If even that fails, the line is cut but keeps its newline. */
static void vprint_to(rcgc_write_fn out, void *arg, const char *fmt, va_list ap)
{
    char small[512], *line = small;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= (int)sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, again);
            line = big;
        } else {
            small[sizeof small - 2] = '\n';
        }
    }
    va_end(again);
    if (!out) {
        rcgc_state *S = state();
        out = S->output;
        arg = S->output_arg;
    }
    if (out) {
        out(line, arg);
    } else {
        fputs(line, stderr);
        fflush(stderr);
    }
    if (line != small) free(line);
}

void rcgc__print_to(rcgc_write_fn out, void *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_to(out, arg, fmt, ap);
    va_end(ap);
}

void rcgc__printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_to(NULL, NULL, fmt, ap);
    va_end(ap);
}

/* ---- gc.garbage ------------------------------------------------------------ */

int rcgc__garbage_append(void *obj)
{
    rcgc_state *S = state();
    if (rcgc__reserve(&S->garbage, &S->garbage_cap, &S->garbage_len,
                      sizeof *S->garbage, 16) != 0)
        return -1;
    rcgc_incref(obj);
    S->garbage[S->garbage_len++] = obj;
    return 0;
}

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

void rcgc_garbage_clear(void)
{
    rcgc_state *S = state();
    /* Detach first: decrefs run user code that may append to the list. */
    void **items = S->garbage;
    size_t len = S->garbage_len, cap = S->garbage_cap;
    S->garbage = NULL;
    S->garbage_len = S->garbage_cap = 0;
    for (size_t i = 0; i < len; i++) rcgc_decref(items[i]);
    rcgc__free(items, cap * sizeof *items);
}

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

/* ---- gc.callbacks ------------------------------------------------------------ */

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

void rcgc__invoke_callbacks(rcgc_phase phase, int generation, size_t collected,
                            size_t uncollectable)
{
    rcgc_state *S = state();
    rcgc_gc_info info = {generation, collected, uncollectable};
    /* Index over the live array, as CPython iterates gc.callbacks: a callback
       that removes itself shifts the rest, and one added now also runs. */
    for (size_t i = 0; i < S->callbacks_len; i++) {
        callback_entry c = S->callbacks[i];
        c.fn(phase, &info, c.arg);
    }
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
    for (size_t i = 0; i < snap->len && r == 0; i++) r = fn(snap->items[i], arg);
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
    return t->traverse ? t->traverse((void *)obj, fn, arg) : 0;
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
