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

void rcgc_get_threshold(size_t out[3])
{
    rcgc_state *S = state();
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) out[i] = S->generations[i].threshold;
}

void rcgc_get_count(size_t out[3])
{
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

void rcgc__printf(const char *fmt, ...)
{
    rcgc_state *S = state();
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (S->output) {
        S->output(line, S->output_arg);
    } else {
        fputs(line, stderr);
        fflush(stderr);
    }
}

/* ---- gc.garbage ------------------------------------------------------------ */

int rcgc__garbage_append(void *obj)
{
    rcgc_state *S = state();
    if (S->garbage_len == S->garbage_cap) {
        size_t cap = S->garbage_cap ? S->garbage_cap * 2 : 16;
        void **items = rcgc__realloc(S->garbage, S->garbage_cap * sizeof *items,
                                     cap * sizeof *items);
        if (!items) return -1;
        S->garbage = items;
        S->garbage_cap = cap;
    }
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
    if (!out) return;
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
    if (S->callbacks_len == S->callbacks_cap) {
        size_t cap = S->callbacks_cap ? S->callbacks_cap * 2 : 4;
        callback_entry *c = rcgc__realloc(S->callbacks, S->callbacks_cap * sizeof *c,
                                          cap * sizeof *c);
        if (!c) return -1;
        S->callbacks = c;
        S->callbacks_cap = cap;
    }
    S->callbacks[S->callbacks_len++] = (callback_entry){fn, arg};
    return 0;
}

int rcgc_callback_remove(rcgc_callback_fn fn, void *arg)
{
    rcgc_state *S = state();
    for (size_t i = 0; i < S->callbacks_len; i++) {
        if (S->callbacks[i].fn == fn && S->callbacks[i].arg == arg) {
            for (size_t j = i + 1; j < S->callbacks_len; j++) S->callbacks[j - 1] = S->callbacks[j];
            S->callbacks_len--;
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

/* Calls user code while walking a generation list: the callback must not
   free, track or untrack objects (debug builds check, see inspecting). */
static int call_inspector(rcgc_visit_fn fn, void *obj, void *arg)
{
    rcgc_state *S = &rcgc__state;
    S->inspecting++;
    int r = fn(obj, arg);
    S->inspecting--;
    return r;
}

static int visit_list(const gc_link *list, rcgc_visit_fn fn, void *arg)
{
    for (gc_link *g = link_next(list); g != list; g = link_next(g)) {
        int r = call_inspector(fn, body_of_link(g), arg);
        if (r) return r;
    }
    return 0;
}

int rcgc_get_objects(int generation, rcgc_visit_fn fn, void *arg)
{
    rcgc_state *S = state();
    if (!fn || (generation != -1 && !generation_ok(generation))) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) {
        if (generation != -1 && generation != i) continue;
        int r = visit_list(&S->generations[i].head, fn, arg);
        if (r) return r;
    }
    return 0;
}

static int is_target(void *obj, void *target)
{
    return obj == target;
}

/* gc.get_referrers is get_objects(-1) filtered by a traverse that looks
   for the target. */
typedef struct referrer_search {
    const void *target;
    rcgc_visit_fn fn;
    void *arg;
} referrer_search;

static int visit_if_referrer(void *candidate, void *search_arg)
{
    referrer_search *q = search_arg;
    const rcgc_type *t = head_type(head_of(candidate));
    return t->traverse(candidate, is_target, (void *)q->target) ? q->fn(candidate, q->arg) : 0;
}

int rcgc_get_referrers(const void *obj, rcgc_visit_fn fn, void *arg)
{
    if (!obj || !fn) {
        errno = EINVAL;
        return -1;
    }
    referrer_search q = {obj, fn, arg};
    return rcgc_get_objects(-1, visit_if_referrer, &q);
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
