/* Seeded random use of the whole surface at once, with automatic collection
   at tiny thresholds: objects, containers, weakrefs whose callbacks act,
   finalizers that resurrect or allocate, clear-less cycles, freeze, debug
   output, SAVEALL.  What must hold: a weakref reads NULL exactly when its
   referent was destroyed, every object ever made is destroyed once everything
   is dropped, and memory returns to where it started.  Debug builds also
   validate the generation lists around every collection. */
#include "harness.h"

#include <pthread.h>
#include <stdint.h>

#include "nodes.h"

enum { NVARS = 12, NWEAK = 8, MAX_IDS = 200000 };

static _Thread_local unsigned long long rng_state;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33) % n;
}

static _Thread_local void *vars[NVARS];
static _Thread_local void *weak[NWEAK];
static _Thread_local int weak_target[NWEAK];
static _Thread_local unsigned char destroyed[MAX_IDS];
static _Thread_local unsigned char made[MAX_IDS];
static _Thread_local int next_id = 1;
static _Thread_local size_t callbacks_run, lines_written;

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
static _Thread_local void *resurrected[64];
static _Thread_local int nresurrected;
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
static _Thread_local int weak_errors;
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
static _Thread_local void *stuck_found[4096];
static _Thread_local int nstuck_found;
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

/* What one run found; checked by the thread that started it (the harness's
   CHECK is not for other threads). */
typedef struct stress_result {
    int weak_errors, never_freed, freed_twice, made;
    size_t callbacks_run, lines_written, garbage, frozen, tracked_after, memory_after;
    size_t tracked_before, memory_before;
} stress_result;

/* The seeded run in the calling thread's current heap: random steps, then
   everything dropped and collected until quiet. */
static void run_stress(unsigned long long seed, int steps, stress_result *r)
{
    memset(r, 0, sizeof *r);
    r->memory_before = rcgc_memory_in_use();
    r->tracked_before = count_tracked();
    rng_state = seed;
    rcgc_set_output(sink, NULL);
    rcgc_set_threshold(7, 3, 3);
    rcgc_enable();
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

    for (int id = 1; id < next_id; id++) {
        if (made[id] && destroyed[id] == 0) r->never_freed++;
        if (destroyed[id] > 1) r->freed_twice++;
    }
    r->made = next_id - 1;
    r->weak_errors = weak_errors;
    r->callbacks_run = callbacks_run;
    r->lines_written = lines_written;
    r->garbage = rcgc_garbage_count();
    r->frozen = rcgc_get_freeze_count();
    r->tracked_after = count_tracked();
    r->memory_after = rcgc_memory_in_use();
}

static void check_result(const stress_result *r)
{
    CHECK_EQ(r->weak_errors, 0);
    CHECK_EQ(r->never_freed, 0);
    CHECK_EQ(r->freed_twice, 0);
    CHECK_EQ(r->garbage, 0);
    CHECK_EQ(r->frozen, 0);
    CHECK_EQ(r->tracked_after, r->tracked_before);
    CHECK_EQ(r->memory_after, r->memory_before);
    CHECK(r->made > 1000);
    CHECK(r->callbacks_run > 0);
    CHECK(r->lines_written > 0);
}

static int stress_steps(void) { return getenv("RCGC_TEST_QUICK") ? 20000 : 300000; }

TEST(random_use_of_everything_leaves_nothing_behind)
{
    quiet_start();
    stress_result r;
    run_stress(20261122, stress_steps(), &r);
    check_result(&r);
    quiet_end();
}

/* Eight threads at once, each in a heap of its own, each through the seeded
   run with its own seed: heaps share nothing, so no run may see another's
   objects, counts or collections (ThreadSanitizer and helgrind watch this
   test in CI). */
enum { NTHREADS = 8 };
typedef struct stress_thread {
    pthread_t id;
    unsigned long long seed;
    stress_result result;
    rcgc_heap *heap;
    size_t memory_after_destroy;
    int destroyed;
} stress_thread;

static void *stress_in_own_heap(void *arg)
{
    stress_thread *t = arg;
    t->heap = rcgc_heap_new();
    if (!t->heap || rcgc_heap_enter(t->heap) == NULL) return NULL;
    run_stress(t->seed, stress_steps() / 4, &t->result);
    t->destroyed = rcgc_heap_destroy(t->heap);
    t->memory_after_destroy = rcgc_memory_in_use();   /* the default heap's, now */
    return t;
}

TEST(eight_threads_each_in_own_heap_at_once)
{
    quiet_start();
    size_t memory = rcgc_memory_in_use();
    stress_thread threads[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        threads[i] = (stress_thread){.seed = 20261130 + (unsigned long long)i};
        CHECK_EQ(pthread_create(&threads[i].id, NULL, stress_in_own_heap, &threads[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        void *ret = NULL;
        CHECK_EQ(pthread_join(threads[i].id, &ret), 0);
        CHECK(ret == &threads[i]);
        check_result(&threads[i].result);
        CHECK_EQ(threads[i].result.memory_before, 0);
        CHECK_EQ(threads[i].destroyed, 0);
        CHECK_EQ(threads[i].memory_after_destroy, memory);
    }
    /* Different seeds, different runs: the heaps did not share one run. */
    CHECK(threads[0].result.made != threads[1].result.made ||
          threads[0].result.callbacks_run != threads[1].result.callbacks_run);
    CHECK_EQ(rcgc_memory_in_use(), memory);
    quiet_end();
}

/* Teardown in the middle of a run, with everything still alive: cycles,
   clear-less cycles, frozen objects, resurrected ones, the garbage list,
   weakrefs with callbacks.  Every object made is destroyed exactly once. */
static void *stress_then_destroy(void *arg)
{
    stress_thread *t = arg;
    t->heap = rcgc_heap_new();
    if (!t->heap || rcgc_heap_enter(t->heap) == NULL) return NULL;
    rng_state = t->seed;
    rcgc_set_output(sink, NULL);
    rcgc_set_threshold(7, 3, 3);
    for (int i = 0; i < stress_steps() / 4; i++) random_step();
    t->result.made = next_id - 1;
    t->result.memory_before = rcgc_memory_in_use();
    t->result.frozen = rcgc_get_freeze_count();
    t->result.garbage = rcgc_garbage_count();
    t->destroyed = rcgc_heap_destroy(t->heap);
    t->memory_after_destroy = rcgc_memory_in_use();
    for (int id = 1; id < next_id; id++) {
        if (made[id] && destroyed[id] == 0) t->result.never_freed++;
        if (destroyed[id] > 1) t->result.freed_twice++;
    }
    return t;
}

TEST(destroying_a_heap_mid_run_destroys_every_object_once)
{
    quiet_start();
    size_t memory = rcgc_memory_in_use();
    stress_thread t = {.seed = 42};
    pthread_t id;
    CHECK_EQ(pthread_create(&id, NULL, stress_then_destroy, &t), 0);
    void *ret = NULL;
    CHECK_EQ(pthread_join(id, &ret), 0);
    CHECK(ret == &t);
    CHECK(t.result.made > 1000);
    CHECK(t.result.memory_before > 0);
    CHECK_EQ(t.destroyed, 0);
    CHECK_EQ(t.result.never_freed, 0);
    CHECK_EQ(t.result.freed_twice, 0);
    CHECK_EQ(t.memory_after_destroy, memory);   /* the thread is back in the default heap */
    CHECK_EQ(rcgc_memory_in_use(), memory);
    quiet_end();
}
