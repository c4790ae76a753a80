/* Seeded random use of the whole surface at once, with automatic collection
   at tiny thresholds: objects, containers, weakrefs whose callbacks act,
   finalizers that resurrect or allocate, clear-less cycles, freeze, debug
   output, SAVEALL.  What must hold: a weakref reads NULL exactly when its
   referent was destroyed, every object ever made is destroyed once everything
   is dropped, and memory returns to where it started.  Debug builds also
   validate the generation lists around every collection. */
#include "harness.h"

#include <stdint.h>

#include "nodes.h"

enum { NVARS = 12, NWEAK = 8, MAX_IDS = 200000 };

static unsigned long long rng_state;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33) % n;
}

static void *vars[NVARS];
static void *weak[NWEAK];
static int weak_target[NWEAK];
static unsigned char destroyed[MAX_IDS];
static unsigned char made[MAX_IDS];
static int next_id = 1;
static size_t callbacks_run, lines_written;

typedef struct snode {
    void *slot[3];
    int id;
    int kind;
} snode;

static int s_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    snode *n = self;
    for (int i = 0; i < 3; i++) RCGC_VISIT(n->slot[i]);
    return 0;
}
static void s_clear(void *self)
{
    snode *n = self;
    for (int i = 0; i < 3; i++) RCGC_CLEAR(n->slot[i]);
}
static void s_destroy(void *self)
{
    snode *n = self;
    s_clear(self);
    destroyed[n->id]++;
}
static void *resurrected[64];
static int nresurrected;
static void s_finalize(void *self)
{
    snode *n = self;
    if (n->kind == 1 && nresurrected < 64) {       /* resurrect once */
        rcgc_incref(self);
        resurrected[nresurrected++] = self;
    } else if (n->kind == 2) {                     /* allocate: may collect */
        rcgc_decref(rcgc_list_new());
    }
}
static const rcgc_type s_type = {.name = "snode", .size = sizeof(snode),
                                 .traverse = s_traverse, .clear = s_clear,
                                 .finalize = s_finalize, .destroy = s_destroy};
/* No clear: cycles of these are uncollectable until the test breaks them. */
static const rcgc_type stuck_type = {.name = "stuck", .size = sizeof(snode),
                                     .traverse = s_traverse, .destroy = s_destroy};

static void set_var(int i, void *obj)   /* takes obj's reference */
{
    void *old = vars[i];
    vars[i] = obj;
    rcgc_decref(old);
}

static void on_weak(void *wr, void *arg)
{
    (void)wr;
    callbacks_run++;
    switch ((int)(intptr_t)arg % 3) {
    case 0: set_var(rnd(NVARS), NULL); break;          /* frees things mid-collection */
    case 1: rcgc_decref(rcgc_dict_new()); break;       /* allocates */
    default: rcgc_collect(rnd(3)); break;              /* returns 0 inside a collection */
    }
}

static void sink(const char *text, void *arg)
{
    (void)text, (void)arg;
    lines_written++;
}

static void *new_snode(void)
{
    if (next_id >= MAX_IDS) return NULL;
    bool stuck = rnd(20) == 0;
    snode *n = rcgc_new(stuck ? &stuck_type : &s_type);
    if (!n) return NULL;
    n->id = next_id++;
    n->kind = stuck ? 0 : (int)rnd(4);
    made[n->id] = 1;
    return n;
}

static int id_of(void *obj) { return rcgc_typeof(obj) == &s_type || rcgc_typeof(obj) == &stuck_type ? ((snode *)obj)->id : 0; }

/* A destroyed referent reads as NULL.  (NULL does not mean destroyed: a
   collection clears the weakrefs of objects it then keeps, resurrected ones
   and those in the garbage list.) */
static int weak_errors;
static void check_weak(int w)
{
    void *r = rcgc_weakref_get(weak[w]);
    if (r && destroyed[weak_target[w]]) weak_errors++;
    if (r && ((snode *)r)->id != weak_target[w]) weak_errors++;
    rcgc_decref(r);
}

static void random_step(void)
{
    int a = rnd(NVARS), b = rnd(NVARS);
    switch (rnd(16)) {
    case 0: case 1: case 2: set_var(a, new_snode()); break;
    case 3: {                                       /* link a node's slot */
        if (vars[a] && id_of(vars[a])) {
            snode *n = vars[a];
            int s = rnd(3);
            void *old = n->slot[s];
            rcgc_incref(vars[b]);
            n->slot[s] = vars[b];
            rcgc_decref(old);
        }
        break;
    }
    case 4: rcgc_incref(vars[a]); set_var(b, vars[a]); break;
    case 5: set_var(a, NULL); break;
    case 6: {                                       /* containers */
        void *l = rnd(2) ? rcgc_list_new() : rcgc_dict_new();
        if (!l) break;
        if (rcgc_typeof(l) == &rcgc_list_type) {
            rcgc_list_append(l, vars[a]);
            rcgc_list_append(l, l);
        } else if (vars[a]) {
            rcgc_dict_set(l, "a", vars[a]);
            rcgc_dict_set(l, "self", l);
        }
        set_var(b, l);
        break;
    }
    case 7: {                                       /* a weakref with an acting callback */
        int w = rnd(NWEAK);
        if (!vars[a] || !id_of(vars[a])) break;
        void *wr = rcgc_weakref_new(vars[a], rnd(2) ? on_weak : NULL, (void *)(intptr_t)rnd(99));
        if (!wr) break;
        rcgc_decref(weak[w]);
        weak[w] = wr;
        weak_target[w] = id_of(vars[a]);
        break;
    }
    case 8: {
        int w = rnd(NWEAK);
        if (weak[w]) check_weak(w);
        break;
    }
    case 9: rcgc_collect(rnd(3)); break;
    case 10:
        if (rnd(8) == 0) { rcgc_freeze(); } else { rcgc_unfreeze(); }
        break;
    case 11: rcgc_set_debug(rnd(4) == 0 ? RCGC_DEBUG_LEAK | RCGC_DEBUG_STATS : 0); break;
    case 12: rcgc_garbage_clear(); break;
    case 13:                                        /* give a resurrected node back */
        if (nresurrected) set_var(a, resurrected[--nresurrected]);
        break;
    case 14: {                                      /* a chain, sometimes deep */
        void *head = NULL;
        for (int i = rnd(3) ? 5 : 200; i > 0; i--) {
            snode *n = new_snode();
            if (!n) break;
            n->slot[0] = head;
            head = n;
        }
        set_var(a, head);
        break;
    }
    default: rcgc_untrack(vars[a]); rcgc_track(vars[a]); break;
    }
}

/* Break what no clear can: the garbage list holds stuck cycles; emptying
   their slots lets them go.  rcgc_get_objects' callback must not free
   anything, so it only collects them (with a reference) for later. */
static void *stuck_found[4096];
static int nstuck_found;
static int find_stuck(void *obj, void *arg)
{
    (void)arg;
    if (rcgc_typeof(obj) == &stuck_type && nstuck_found < 4096) {
        rcgc_incref(obj);
        stuck_found[nstuck_found++] = obj;
    }
    return 0;
}

static void break_stuck(void)
{
    nstuck_found = 0;
    rcgc_get_objects(-1, find_stuck, NULL);
    for (int i = 0; i < nstuck_found; i++) s_clear(stuck_found[i]);
    for (int i = 0; i < nstuck_found; i++) rcgc_decref(stuck_found[i]);
}

static int count_one(void *obj, void *arg)
{
    (void)obj;
    (*(size_t *)arg)++;
    return 0;
}

static size_t count_tracked(void)
{
    size_t n = 0;
    rcgc_get_objects(-1, count_one, &n);
    return n;
}

TEST(random_use_of_everything_leaves_nothing_behind)
{
    quiet_start();
    size_t memory_before = rcgc_memory_in_use();
    size_t objects_before = count_tracked();
    rng_state = 20261122;
    rcgc_set_output(sink, NULL);
    rcgc_set_threshold(7, 3, 3);
    rcgc_enable();
    int steps = getenv("RCGC_TEST_QUICK") ? 20000 : 300000;
    for (int i = 0; i < steps; i++) random_step();

    /* Drop everything, break the unbreakable, and collect until quiet. */
    rcgc_disable();
    rcgc_set_debug(0);
    rcgc_unfreeze();
    for (int i = 0; i < NVARS; i++) set_var(i, NULL);
    for (int w = 0; w < NWEAK; w++) {
        check_weak(w);
        rcgc_decref(weak[w]);
        weak[w] = NULL;
    }
    for (int round = 0; round < 4; round++) {
        /* finalizers run by these collections may resurrect (once each) */
        while (nresurrected) rcgc_decref(resurrected[--nresurrected]);
        rcgc_collect(2);
        break_stuck();
        rcgc_garbage_clear();
    }
    rcgc_collect(2);
    rcgc_set_output(NULL, NULL);
    rcgc_set_threshold(700, 10, 10);

    int never_freed = 0, freed_twice = 0;
    for (int id = 1; id < next_id; id++) {
        if (made[id] && destroyed[id] == 0) never_freed++;
        if (destroyed[id] > 1) freed_twice++;
    }
    CHECK_EQ(weak_errors, 0);
    CHECK_EQ(never_freed, 0);
    CHECK_EQ(freed_twice, 0);
    CHECK_EQ(rcgc_garbage_count(), 0);
    CHECK_EQ(rcgc_get_freeze_count(), 0);
    CHECK_EQ(count_tracked(), objects_before);
    CHECK_EQ(rcgc_memory_in_use(), memory_before);
    CHECK(next_id > 1000);
    CHECK(callbacks_run > 0);
    CHECK(lines_written > 0);
    quiet_end();
}
