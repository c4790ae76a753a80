/*
 * Leaks over a span of the program: watched objects (LeakCanary), leak
 * checks for tests, and the report of what is alive at exit
 * (RCGC_LEAK_REPORT=1, or rcgc_leak_report).
 *
 * Watched objects and the objects made since rcgc_leakcheck_begin live in
 * address sets (ptrmap.h, rcgc's own memory) that census.c keeps current:
 * rcgc__tools_note_new adds each new object while a check is open, and
 * rcgc__tools_forget drops a freed object from both sets.  So watching is a
 * weak reference without a weakref object: nothing the program could see or
 * count (rcgc_get_objects, rcgc_census) changes.
 *
 * Invariants:
 *  L1  Every key of `watched` and `made_since` is the body of a live object.
 *  L2  state.tools_observing is true iff a check is open, something is
 *      watched, or a check's set waits to be printed: census.c calls in here
 *      only then.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ptrmap.h"
#include "rcgc_tools.h"

typedef struct watch_entry {
    char *why;          /* own memory; NULL if none given */
    uint64_t order;     /* reports come in the order rcgc_watch was called */
} watch_entry;

static void update_observing(rcgc_state *S)
{
    S->tools_observing = S->leakcheck_open || S->watched.len > 0 || S->made_since.len > 0;
    if (S->tools_observing) rcgc__census_forget_ways(S);   /* census.c's C2 */
}

static void free_watch_entry(watch_entry *e)
{
    if (!e) return;
    rcgc__own_free(e->why);
    rcgc__own_free(e);
}

void rcgc__tools_note_new(rcgc_state *S, const void *obj)
{
    if (S->leakcheck_open && !ptrmap_put(&S->made_since, obj, NULL))
        S->leakcheck_incomplete = true;
}

void rcgc__tools_forget(rcgc_state *S, const void *obj)
{
    if (S->made_since.len) ptrmap_remove(&S->made_since, obj);
    if (S->watched.len) free_watch_entry(ptrmap_remove(&S->watched, obj));
    update_observing(S);
}

/* ---- printing a group of objects with one chain ---------------------------- */

/* A sink that indents every line it passes on. */
typedef struct indented {
    rcgc_write_fn out;
    void *arg;
    const char *indent;
} indented;

static void write_indented(const char *text, void *arg)
{
    indented *in = arg;
    rcgc__print_to(in->out, in->arg, "%s%s", in->indent, text);
}

int rcgc__print_chain(const void *obj, rcgc_write_fn out, void *arg, const char *indent)
{
    indented in = {out, arg, indent};
    return rcgc_why_alive(obj, write_indented, &in);
}

/* The keys of a set, gathered before any user code runs.  They are not
   held (a reference of ours would itself explain why they are alive): the
   sink may free some, so each is looked up in its set, which frees keep
   current, before it is used. */
typedef struct gathered {
    void **objs;
    size_t len;
} gathered;

static bool gather_keys(const ptrmap *m, gathered *g)
{
    g->len = 0;
    g->objs = rcgc__own_calloc((m->len ? m->len : 1) * sizeof *g->objs);
    if (!g->objs) return false;
    PTRMAP_FOREACH(m, s) g->objs[g->len++] = (void *)s->key;
    return true;
}

typedef struct group {
    const rcgc_type *type;
    size_t count, bytes;
    void *example;   /* the group's lowest address: the same run to run */
} group;

/* Largest groups first, then by type name. */
static int by_size_then_name(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    int c = strcmp(x->type->name ? x->type->name : "", y->type->name ? y->type->name : "");
    if (c) return c;
    return (uintptr_t)x->type < (uintptr_t)y->type ? -1 : 1;
}

static size_t object_bytes(const void *obj)
{
    return object_size(head_type(head_of(obj)));
}

/* Prints `header`, then "  N x type (B bytes), for example:" and one
   chain per type.  The objects are grouped before the first line goes to
   the sink, which may free any of them (the fuzzer's sink did, and the
   grouping read a freed header); an example freed meanwhile gets no chain. */
static void print_groups(const gathered *g, const ptrmap *live, const char *header,
                         rcgc_write_fn out, void *arg)
{
    group *groups = rcgc__own_calloc((g->len ? g->len : 1) * sizeof *groups);
    size_t ngroups = 0;
    if (!groups) {
        rcgc__print_to(out, arg, "%s", header);
        return;
    }
    for (size_t i = 0; i < g->len; i++) {
        const rcgc_type *t = head_type(head_of(g->objs[i]));
        size_t k = 0;
        while (k < ngroups && groups[k].type != t) k++;
        if (k == ngroups) groups[ngroups++] = (group){t, 0, 0, g->objs[i]};
        groups[k].count++;
        groups[k].bytes += object_bytes(g->objs[i]);
        if ((uintptr_t)g->objs[i] < (uintptr_t)groups[k].example) groups[k].example = g->objs[i];
    }
    qsort(groups, ngroups, sizeof *groups, by_size_then_name);
    rcgc__print_to(out, arg, "%s", header);
    for (size_t k = 0; k < ngroups; k++) {
        rcgc__print_to(out, arg, "  %zu x %s (%zu bytes), for example:\n", groups[k].count,
                       groups[k].type->name ? groups[k].type->name : "?", groups[k].bytes);
        if (ptrmap_find(live, groups[k].example))
            rcgc__print_chain(groups[k].example, out, arg, "    ");
    }
    rcgc__own_free(groups);
}

/* ---- watching ------------------------------------------------------------------ */

int rcgc_watch(void *obj, const char *why)
{
    if (!obj) {
        errno = EINVAL;
        return -1;
    }
    RCGC_CHECK_OBJECT(obj, "rcgc_watch");
    rcgc_state *S = state();
    if (head_of(obj)->refcnt == 0) {   /* already on its way out */
        errno = EINVAL;
        return -1;
    }
    watch_entry *e = rcgc__own_calloc(sizeof *e);
    char *copy = why ? rcgc__own_calloc(strlen(why) + 1) : NULL;
    if (!e || (why && !copy)) {
        rcgc__own_free(e);
        rcgc__own_free(copy);
        errno = ENOMEM;
        return -1;
    }
    if (why) memcpy(copy, why, strlen(why) + 1);
    *e = (watch_entry){copy, ++S->watch_order};
    watch_entry *old = NULL;
    ptrmap_slot *s = ptrmap_find(&S->watched, obj);
    if (s) old = s->value;
    if (!ptrmap_put(&S->watched, obj, e)) {
        free_watch_entry(e);
        errno = ENOMEM;
        return -1;
    }
    free_watch_entry(old);
    update_observing(S);
    return 0;
}

typedef struct watched_item {
    uint64_t order;
    void *obj;
} watched_item;

static int by_watch_order(const void *a, const void *b)
{
    const watched_item *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

size_t rcgc_check_watched(rcgc_write_fn out, void *arg)
{
    rcgc_state *S = state();
    rcgc_collect(RCGC_NUM_GENERATIONS - 1);
    if (!S->watched.len) return 0;
    watched_item *items = rcgc__own_calloc(S->watched.len * sizeof *items);
    if (!items) return 0;
    size_t n = 0;
    PTRMAP_FOREACH(&S->watched, s)
        items[n++] = (watched_item){((const watch_entry *)s->value)->order, (void *)s->key};
    qsort(items, n, sizeof *items, by_watch_order);
    size_t alive = 0;
    for (size_t i = 0; i < n; i++) {
        void *obj = items[i].obj;
        ptrmap_slot *s = ptrmap_find(&S->watched, obj);
        if (!s) continue;   /* the sink freed it */
        alive++;
        const watch_entry *e = s->value;
        char label[RCGC_LABEL_SIZE];
        const char *shown = rcgc__label(obj, label, sizeof label);
        if (e->why)
            rcgc__print_to(out, arg, "watched <%s %p> is still alive (%s):\n", shown, obj,
                           e->why);
        else
            rcgc__print_to(out, arg, "watched <%s %p> is still alive:\n", shown, obj);
        if (ptrmap_find(&S->watched, obj))   /* the sink may have let it go */
            rcgc__print_chain(obj, out, arg, "  ");
    }
    rcgc__own_free(items);
    return alive;
}

/* ---- leak checks ------------------------------------------------------------------ */

void rcgc_leakcheck_begin(void)
{
    rcgc_state *S = state();
    ptrmap_free(&S->made_since);
    S->leakcheck_open = true;
    S->leakcheck_incomplete = false;
    update_observing(S);
}

size_t rcgc_leakcheck_end(rcgc_write_fn out, void *arg)
{
    rcgc_state *S = state();
    if (!S->leakcheck_open) return 0;
    S->leakcheck_open = false;   /* made_since stays current until printed */
    rcgc_collect(RCGC_NUM_GENERATIONS - 1);
    gathered g;
    size_t n = 0;
    if (gather_keys(&S->made_since, &g)) {
        n = g.len;
        if (n) {
            char header[128];
            snprintf(header, sizeof header, "leakcheck: %zu object%s made since "
                     "rcgc_leakcheck_begin %s still alive\n", n, n == 1 ? "" : "s",
                     n == 1 ? "is" : "are");
            print_groups(&g, &S->made_since, header, out, arg);
        }
        rcgc__own_free(g.objs);
    }
    if (S->leakcheck_incomplete)
        rcgc__print_to(out, arg, "leakcheck: out of memory while recording new objects: "
                       "some may be missing\n");
    ptrmap_free(&S->made_since);
    update_observing(S);
    return n;
}

/* ---- what is alive at exit ---------------------------------------------------------- */

size_t rcgc_leak_report(rcgc_write_fn out, void *arg)
{
    rcgc_state *S = state();
    rcgc_collect(RCGC_NUM_GENERATIONS - 1);
    size_t types = rcgc_census(NULL, 0), total = 0, bytes = 0;
    rcgc_type_count *counts = rcgc__own_calloc((types ? types : 1) * sizeof *counts);
    if (!counts) return 0;
    types = rcgc_census(counts, types);
    for (size_t i = 0; i < types; i++) {
        total += counts[i].count;
        bytes += counts[i].bytes;
    }
    /* One example per type among the tracked objects: the first in the
       generation lists, oldest generation first (the longest-lived). */
    ptrmap examples = {NULL, 0, 0, 0};
    for (int g = RCGC_NUM_GENERATIONS; g >= 0; g--) {
        gc_link *list = g == RCGC_NUM_GENERATIONS ? &S->permanent : &S->generations[g].head;
        for (gc_link *l = link_next(list); l != list; l = link_next(l)) {
            const rcgc_type *t = head_type(link_head(l));
            if (!ptrmap_find(&examples, t)) ptrmap_put(&examples, t, body_of_link(l));
        }
    }
    /* The sink is user code and may drop any of them while earlier lines
       print: each example is held until just before its own chain, which is
       printed only if something besides us still holds it. */
    PTRMAP_FOREACH(&examples, held) rcgc_incref(held->value);
    if (total)
        rcgc__print_to(out, arg, "rcgc leak report: %zu object%s still alive at exit (%zu bytes)\n",
                       total, total == 1 ? "" : "s", bytes);
    for (size_t i = 0; i < types; i++) {
        const char *name = counts[i].type->name ? counts[i].type->name : "?";
        ptrmap_slot *e = ptrmap_find(&examples, counts[i].type);
        if (!e || !e->value) {
            rcgc__print_to(out, arg, "  %zu x %s (%zu bytes), not tracked: no chain to show\n",
                           counts[i].count, name, counts[i].bytes);
            continue;
        }
        void *example = e->value;
        e->value = NULL;
        rcgc__print_to(out, arg, "  %zu x %s (%zu bytes), for example:\n", counts[i].count,
                       name, counts[i].bytes);
        bool alive = head_of(example)->refcnt > 1;
        rcgc_decref(example);
        if (alive) rcgc__print_chain(example, out, arg, "    ");
    }
    PTRMAP_FOREACH(&examples, left) if (left->value) rcgc_decref(left->value);
    ptrmap_free(&examples);
    rcgc__own_free(counts);
    if (S->garbage_len) {
        rcgc__print_to(out, arg, "uncollectable garbage: %zu object%s\n", S->garbage_len,
                       S->garbage_len == 1 ? "" : "s");
        for (size_t i = 0; i < S->garbage_len; i++) {
            void *obj = S->garbage[i];
            char label[RCGC_LABEL_SIZE];
            rcgc__print_to(out, arg, "  <%s %p> refcount %zu\n",
                           rcgc__label(obj, label, sizeof label), obj, head_of(obj)->refcnt);
        }
    }
    return total;
}

/* At exit, stderr: a sink set with rcgc_set_output may write into memory
   that is gone by then. */
static void write_stderr(const char *text, void *arg)
{
    (void)arg;
    fputs(text, stderr);
}

/* The default heap's objects, once: at exit, or when rcgc_shutdown is about
   to end them (a program that shuts down cleanly still hears of its leaks). */
static void leak_report_now(void)
{
    rcgc_state *S = state();
    if (!S->leak_report_due) return;
    S->leak_report_due = false;
    rcgc_leak_report(write_stderr, NULL);
    fflush(stderr);
}

static void leak_report_at_exit(void)
{
    rcgc__as_current(rcgc_heap_default(), leak_report_now);
}

void rcgc__leak_report_before_teardown(rcgc_state *S)
{
    if (S->leak_report_due) leak_report_now();
}

void rcgc__leak_report_setup(void)
{
    if (rcgc__env_flag("RCGC_LEAK_REPORT") && atexit(leak_report_at_exit) == 0)
        state()->leak_report_due = true;
}
