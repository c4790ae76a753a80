/*
 * CPython 3.12's Lib/test/test_finalization.py (PEP 442), test by test.
 * Test names are ClassName_test_name because the same test name appears in
 * several CPython classes.  Each expects CPython 3.12.1's value.
 *
 * Mapping: SimpleBase's __del__ is `finalize`: it records the object (its
 * "id"), checks that the object is sane, then runs a side effect (nothing,
 * resurrect into `survivors`, or break its own cycle).  A NonGC class is a
 * type without traverse.  A legacy tp_del class is a type without clear whose
 * `destroy` records the tp_del call.  Every test runs with automatic
 * collection off (support.disable_gc) and must leave the garbage list empty,
 * as TestBase.tearDown checks, except where CPython puts objects there.
 */
#include <assert.h>
#include <stdbool.h>

#include "harness.h"
#include "rcgc.h"

typedef struct fobj {
    void *ref;             /* SelfCycleBase: self */
    void *left, *right;    /* ChainedBase */
    const void *id_;       /* SimpleBase: id(self) at creation */
    bool self_cycle, chained, suicided;
    enum { PLAIN, RESURRECT, SUICIDE } side_effect;
} fobj;

enum { MAX_IDS = 16 };
typedef struct {
    const void *ids[MAX_IDS];
    int n;
} id_list;

static id_list del_calls, tp_del_calls;
static void *survivors[MAX_IDS];
static int nsurvivors, errors;
static bool cleaning;

static void record(id_list *l, const void *id)
{
    if (l->n < MAX_IDS) l->ids[l->n] = id;
    l->n++;
}

static bool fobj_is_sane(const fobj *s)
{
    if (s->id_ != s) return false;
    if (s->self_cycle && s->ref != s) return false;
    if (!s->chained) return true;
    if (s->suicided) return !s->left && !s->right;
    const fobj *left = s->left, *right = s->right;
    if (!left || !right) return false;
    if (left->suicided ? left->right != NULL : left->right != s) return false;
    if (right->suicided ? right->left != NULL : right->left != s) return false;
    return true;
}

static void set_field(void **field, void *value)
{
    void *old = *field;
    rcgc_incref(value);
    *field = value;
    rcgc_decref(old);
}

static void run_side_effect(fobj *s)
{
    if (s->side_effect == RESURRECT && nsurvivors < MAX_IDS) {
        rcgc_incref(s);
        survivors[nsurvivors++] = s;
    } else if (s->side_effect == SUICIDE) {
        if (s->chained) {
            s->suicided = true;
            set_field(&s->left, NULL);
            set_field(&s->right, NULL);
        } else {
            set_field(&s->ref, NULL);
        }
    }
}

static void base_finalize(void *self)
{
    fobj *s = self;
    if (cleaning) return;
    record(&del_calls, s);
    if (!fobj_is_sane(s)) errors++;
    run_side_effect(s);
}

static int fobj_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    fobj *s = self;
    RCGC_VISIT(s->ref);
    RCGC_VISIT(s->left);
    RCGC_VISIT(s->right);
    return 0;
}

static void fobj_clear(void *self)
{
    fobj *s = self;
    RCGC_CLEAR(s->ref);
    RCGC_CLEAR(s->left);
    RCGC_CLEAR(s->right);
}

/* LegacyBase: __del__ records without side effect; tp_del (here destroy,
   which runs as the object goes) records.  It also drops the references, as
   a clear-less type must. */
static void legacy_finalize(void *self)
{
    if (cleaning) return;
    record(&del_calls, self);
    if (!fobj_is_sane(self)) errors++;
}

static void legacy_destroy(void *self)
{
    if (!cleaning) record(&tp_del_calls, self);
    fobj_clear(self);
}

static const rcgc_type gc_type = {.name = "Simple", .size = sizeof(fobj),
                                  .traverse = fobj_traverse, .clear = fobj_clear,
                                  .finalize = base_finalize};
static const rcgc_type nongc_type = {.name = "NonGC", .size = sizeof(fobj),
                                     .finalize = base_finalize};
static const rcgc_type legacy_type = {.name = "Legacy", .size = sizeof(fobj),
                                      .traverse = fobj_traverse, .finalize = legacy_finalize,
                                      .destroy = legacy_destroy};

static fobj *make(const rcgc_type *type, int side_effect)
{
    fobj *s = rcgc_new(type);
    assert(s);
    s->id_ = s;
    s->side_effect = side_effect;
    return s;
}

static fobj *make_self_cycle(const rcgc_type *type, int side_effect)
{
    fobj *s = make(type, side_effect);
    s->self_cycle = true;
    set_field(&s->ref, s);
    return s;
}

/* SimpleBase.test(): the context manager around every test. */
static void test_begin(void)
{
    rcgc_disable();
    rcgc_collect(2);
    rcgc_garbage_clear();
    del_calls.n = tp_del_calls.n = 0;
    nsurvivors = errors = 0;
    cleaning = false;
}

static void clear_survivors(void)
{
    while (nsurvivors > 0) rcgc_decref(survivors[--nsurvivors]);
}

static void test_end(void)
{
    CHECK_EQ(errors, 0);
    CHECK_EQ(rcgc_garbage_count(), 0);   /* TestBase.tearDown */
    cleaning = true;
    clear_survivors();
    rcgc_garbage_clear();
    rcgc_collect(2);
    rcgc_enable();
}

static int compare_ids(const void *a, const void *b)
{
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    return x < y ? -1 : x > y;
}

/* Sorted comparison, as assert_del_calls does. */
static bool same_ids(const id_list *got, const void *const *ids, int n)
{
    if (got->n != n || n > MAX_IDS) return false;
    const void *a[MAX_IDS], *b[MAX_IDS];
    memcpy(a, got->ids, (size_t)n * sizeof *a);
    memcpy(b, ids, (size_t)n * sizeof *b);
    qsort(a, (size_t)n, sizeof *a, compare_ids);
    qsort(b, (size_t)n, sizeof *b, compare_ids);
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static bool survivors_are(const void *const *ids, int n)
{
    id_list got = {{0}, 0};
    for (int i = 0; i < nsurvivors; i++) record(&got, survivors[i]);
    return same_ids(&got, ids, n);
}

#define IDS(...) ((const void *const[]){__VA_ARGS__})
#define NO_IDS IDS(NULL), 0

/* ---- SimpleFinalizationTest: no cycles --------------------------------------- */

TEST(SimpleFinalizationTest_test_simple) /* mirrors test_finalization.SimpleFinalizationTest.test_simple */
{
    test_begin();
    fobj *s = make(&gc_type, PLAIN);
    const void *id = s;
    void *wr = rcgc_weakref_new(s, NULL, NULL);
    rcgc_decref(s);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    test_end();
    rcgc_decref(wr);
}

TEST(SimpleFinalizationTest_test_simple_resurrect) /* mirrors test_finalization.SimpleFinalizationTest.test_simple_resurrect */
{
    test_begin();
    fobj *s = make(&gc_type, RESURRECT);
    const void *id = s;
    void *wr = rcgc_weakref_new(s, NULL, NULL);
    rcgc_decref(s);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(IDS(id), 1));
    CHECK_PTR(rcgc_weakref_peek(wr), id);   /* a decref to zero keeps weakrefs */
    clear_survivors();
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    test_end();
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);
    rcgc_decref(wr);
}

TEST(SimpleFinalizationTest_test_non_gc) /* mirrors test_finalization.SimpleFinalizationTest.test_non_gc */
{
    test_begin();
    fobj *s = make(&nongc_type, PLAIN);
    CHECK(!rcgc_is_tracked(s));
    const void *id = s;
    rcgc_decref(s);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    test_end();
}

/* Deliberate difference: CPython calls __del__ of a non-GC object again on
   its second death (the flag that remembers the first call lives in the GC
   header, which non-GC objects lack).  rcgc keeps the flag in every header
   and rcgc.h promises "at most once per object, ever", so the second death
   runs no finalizer and the object stays dead. */
TEST(SimpleFinalizationTest_test_non_gc_resurrect) /* mirrors test_finalization.SimpleFinalizationTest.test_non_gc_resurrect */
{
    test_begin();
    fobj *s = make(&nongc_type, RESURRECT);
    CHECK(!rcgc_is_tracked(s));
    const void *id = s;
    rcgc_decref(s);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(IDS(id), 1));
    clear_survivors();
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));   /* CPython: ids * 2 */
    CHECK(survivors_are(NO_IDS));              /* CPython: ids */
    test_end();
}

/* ---- SelfCycleFinalizationTest --------------------------------------------------- */

TEST(SelfCycleFinalizationTest_test_simple) /* mirrors test_finalization.SelfCycleFinalizationTest.test_simple */
{
    test_begin();
    fobj *s = make_self_cycle(&gc_type, PLAIN);
    const void *id = s;
    void *wr = rcgc_weakref_new(s, NULL, NULL);
    rcgc_decref(s);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    test_end();
    rcgc_decref(wr);
}

TEST(SelfCycleFinalizationTest_test_simple_resurrect) /* mirrors test_finalization.SelfCycleFinalizationTest.test_simple_resurrect */
{
    test_begin();
    fobj *s = make_self_cycle(&gc_type, RESURRECT);
    const void *id = s;
    void *wr = rcgc_weakref_new(s, NULL, NULL);
    rcgc_decref(s);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(IDS(id), 1));
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);   /* cleared before finalizers ran */
    clear_survivors();
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);
    test_end();
    rcgc_decref(wr);
}

TEST(SelfCycleFinalizationTest_test_simple_suicide) /* mirrors test_finalization.SelfCycleFinalizationTest.test_simple_suicide */
{
    test_begin();
    fobj *s = make_self_cycle(&gc_type, SUICIDE);
    const void *id = s;
    void *wr = rcgc_weakref_new(s, NULL, NULL);
    rcgc_decref(s);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);
    test_end();
    rcgc_decref(wr);
}

/* ---- CycleChainFinalizationTest: rings of 3 to 6 nodes -------------------------- */

/* nodes[i].left = nodes[i-1], nodes[i-1].right = nodes[i], as a ring. */
static void build_chain(const int *kinds, int n, fobj **nodes)
{
    for (int i = 0; i < n; i++) {
        nodes[i] = make(&gc_type, kinds[i]);
        nodes[i]->chained = true;
    }
    for (int i = 0; i < n; i++) {
        fobj *left = nodes[(i + n - 1) % n];
        set_field(&nodes[i]->left, left);
        set_field(&left->right, nodes[i]);
    }
}

static void check_chain(const int *kinds, int n)
{
    test_begin();
    fobj *nodes[MAX_IDS];
    const void *ids[MAX_IDS], *survivor_ids[MAX_IDS];
    void *wrs[MAX_IDS];
    int nsurvivor_ids = 0;
    build_chain(kinds, n, nodes);
    for (int i = 0; i < n; i++) {
        ids[i] = nodes[i];
        if (kinds[i] == RESURRECT) survivor_ids[nsurvivor_ids++] = nodes[i];
        wrs[i] = rcgc_weakref_new(nodes[i], NULL, NULL);
    }
    for (int i = 0; i < n; i++) rcgc_decref(nodes[i]);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, ids, n));
    CHECK(survivors_are(survivor_ids, nsurvivor_ids));
    for (int i = 0; i < n; i++) CHECK_PTR(rcgc_weakref_peek(wrs[i]), NULL);
    clear_survivors();
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, ids, n));
    CHECK(survivors_are(NO_IDS));
    test_end();
    for (int i = 0; i < n; i++) rcgc_decref(wrs[i]);
}

/* check_non_resurrecting_chain and check_resurrecting_chain check the same
   things once nobody resurrects. */
TEST(CycleChainFinalizationTest_test_homogenous) /* mirrors test_finalization.CycleChainFinalizationTest.test_homogenous */
{
    check_chain((const int[]){PLAIN, PLAIN, PLAIN}, 3);
}

TEST(CycleChainFinalizationTest_test_homogenous_resurrect) /* mirrors test_finalization.CycleChainFinalizationTest.test_homogenous_resurrect */
{
    check_chain((const int[]){RESURRECT, RESURRECT, RESURRECT}, 3);
}

TEST(CycleChainFinalizationTest_test_homogenous_suicidal) /* mirrors test_finalization.CycleChainFinalizationTest.test_homogenous_suicidal */
{
    check_chain((const int[]){SUICIDE, SUICIDE, SUICIDE}, 3);
}

TEST(CycleChainFinalizationTest_test_heterogenous_suicidal_one) /* mirrors test_finalization.CycleChainFinalizationTest.test_heterogenous_suicidal_one */
{
    check_chain((const int[]){SUICIDE, PLAIN, SUICIDE, PLAIN}, 4);
}

TEST(CycleChainFinalizationTest_test_heterogenous_suicidal_two) /* mirrors test_finalization.CycleChainFinalizationTest.test_heterogenous_suicidal_two */
{
    check_chain((const int[]){SUICIDE, SUICIDE, PLAIN, PLAIN}, 4);
}

TEST(CycleChainFinalizationTest_test_heterogenous_resurrect_one) /* mirrors test_finalization.CycleChainFinalizationTest.test_heterogenous_resurrect_one */
{
    check_chain((const int[]){RESURRECT, PLAIN, RESURRECT, PLAIN}, 4);
}

TEST(CycleChainFinalizationTest_test_heterogenous_resurrect_two) /* mirrors test_finalization.CycleChainFinalizationTest.test_heterogenous_resurrect_two */
{
    check_chain((const int[]){RESURRECT, PLAIN, SUICIDE, RESURRECT, PLAIN, SUICIDE}, 6);
}

TEST(CycleChainFinalizationTest_test_heterogenous_resurrect_three) /* mirrors test_finalization.CycleChainFinalizationTest.test_heterogenous_resurrect_three */
{
    check_chain((const int[]){RESURRECT, RESURRECT, PLAIN, PLAIN, SUICIDE, SUICIDE}, 6);
}

/* ---- LegacyFinalizationTest -------------------------------------------------------- */

TEST(LegacyFinalizationTest_test_legacy) /* mirrors test_finalization.LegacyFinalizationTest.test_legacy */
{
    test_begin();
    fobj *s = make(&legacy_type, PLAIN);
    const void *id = s;
    void *wr = rcgc_weakref_new(s, NULL, NULL);
    rcgc_decref(s);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(same_ids(&tp_del_calls, IDS(id), 1));
    CHECK(survivors_are(NO_IDS));
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);
    rcgc_collect(2);
    CHECK(same_ids(&del_calls, IDS(id), 1));
    CHECK(same_ids(&tp_del_calls, IDS(id), 1));
    test_end();
    rcgc_decref(wr);
}

/* A self-cycle with a legacy finalizer is uncollectable and lands in
   gc.garbage.  CPython sets it aside before anything runs, so __del__ does not
   run and its weakref stays alive.  rcgc decides uncollectability after the
   clears (uncollectable: still alive once every unreachable object with a
   clear has been cleared), so the object was unreachable garbage like any other until then:
   its weakrefs are cleared and its finalizer runs, once.  tp_del's stand-in,
   destroy, does not run while the object is in the garbage list. */
TEST(LegacyFinalizationTest_test_legacy_self_cycle) /* mirrors test_finalization.LegacyFinalizationTest.test_legacy_self_cycle */
{
    test_begin();
    fobj *s = make_self_cycle(&legacy_type, PLAIN);
    const void *id = s;
    void *wr = rcgc_weakref_new(s, NULL, NULL);
    rcgc_decref(s);
    CHECK_EQ(rcgc_collect(2), 1);
    CHECK(same_ids(&del_calls, IDS(id), 1));     /* CPython: none (see above) */
    CHECK(same_ids(&tp_del_calls, NO_IDS));
    CHECK(survivors_are(NO_IDS));
    CHECK_EQ(rcgc_garbage_count(), 1);
    CHECK_PTR(rcgc_garbage_get(0), id);
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);     /* CPython: still alive */
    if (rcgc_garbage_get(0) == id) {
        fobj *g = rcgc_garbage_get(0);
        set_field(&g->ref, NULL);   /* gc.garbage[0].ref = None */
    }
    cleaning = true;
    rcgc_garbage_clear();
    rcgc_collect(2);
    CHECK_EQ(rcgc_garbage_count(), 0);
    CHECK_PTR(rcgc_weakref_peek(wr), NULL);
    test_end();
    rcgc_decref(wr);
}
