/*
 * CPython 3.12's Lib/test/test_weakref.py, scenario by scenario: each TEST is
 * named after the CPython test it mirrors and expects CPython 3.12.1's value
 * for the same object graph (run in CPython with __slots__ instances, with
 * module-level callbacks so that no function object joins the garbage).
 * docs/cpython-scenarios.md maps every scenario, including the Python-only
 * ones (proxies, __callback__, equality, hashing).
 *
 * Mapping: an instance is an `inst` with four reference slots.  A Python
 * callback is a C function plus an unmanaged `arg`; where CPython's callback
 * is a bound method that keeps its instance alive, the instance holds itself
 * instead, so that the same objects are garbage.  Automatic collection is off
 * unless a test needs it, so that every count is exact.
 */
#include <stdbool.h>

#include "harness.h"

#include "nodes.h"

static int destroyed;
static void count_destroy(void *self) { (void)self; destroyed++; }

static const rcgc_type inst_type = {
    .name = "C", .size = sizeof(inst), .traverse = inst_traverse, .clear = inst_clear};
static const rcgc_type other_type = {
    .name = "D", .size = sizeof(inst), .traverse = inst_traverse, .clear = inst_clear};
static const rcgc_type counted_type = {.name = "C", .size = sizeof(inst),
                                       .traverse = inst_traverse, .clear = inst_clear,
                                       .destroy = count_destroy};

static void quiet_setup(void)
{
    rcgc_disable();
    rcgc_collect(2);
    destroyed = 0;
}

static void quiet_teardown(void)
{
    rcgc_collect(2);
    rcgc_enable();
}

/* Callbacks append a word to this log (alist, res). */
static char cblog[512];
static int cbcalled;

static void log_word(void *wr, void *arg)
{
    (void)wr;
    cbcalled++;
    size_t len = strlen(cblog);
    snprintf(cblog + len, sizeof cblog - len, "%s%s", len ? " " : "", (const char *)arg);
}

static void count_callback(void *wr, void *arg) { (void)wr, (void)arg; cbcalled++; }

static void log_reset(void)
{
    cblog[0] = '\0';
    cbcalled = 0;
}

/* ---- ReferencesTestCase: basics ----------------------------------------------- */

/* check_basic_ref for instances; functions and bound methods are instances
   too in C. */
TEST(test_basic_ref) /* mirrors test_weakref.ReferencesTestCase.test_basic_ref */
{
    quiet_setup();
    inst *o = make(&inst_type);
    void *ref = rcgc_weakref_new(o, NULL, NULL);
    void *o2 = rcgc_weakref_get(ref);
    CHECK_PTR(o2, o);
    CHECK_EQ(rcgc_refcount(o), 2);   /* ref() returns a new reference */
    rcgc_decref(o2);
    rcgc_decref(o);
    CHECK_PTR(rcgc_weakref_get(ref), NULL);
    rcgc_decref(ref);
    quiet_teardown();
}

TEST(test_basic_callback) /* mirrors test_weakref.ReferencesTestCase.test_basic_callback */
{
    quiet_setup();
    log_reset();
    inst *o = make(&inst_type);
    void *ref = rcgc_weakref_new(o, count_callback, NULL);
    rcgc_decref(o);
    CHECK_EQ(cbcalled, 1);
    CHECK_PTR(rcgc_weakref_get(ref), NULL);
    rcgc_decref(ref);
    quiet_teardown();
}

TEST(test_multiple_callbacks) /* mirrors test_weakref.ReferencesTestCase.test_multiple_callbacks */
{
    quiet_setup();
    log_reset();
    inst *o = make(&inst_type);
    void *ref1 = rcgc_weakref_new(o, count_callback, NULL);
    void *ref2 = rcgc_weakref_new(o, count_callback, NULL);
    rcgc_decref(o);
    CHECK_PTR(rcgc_weakref_get(ref1), NULL);
    CHECK_PTR(rcgc_weakref_get(ref2), NULL);
    CHECK_EQ(cbcalled, 2);
    rcgc_decref(ref1);
    rcgc_decref(ref2);
    quiet_teardown();
}

/* Each callback reads self.ref: all refs are cleared before the first
   callback runs, and the newest ref calls back first. */
static void *self_ref;
static void *selfref_order[2];
static void *selfref_seen[2];

static void read_self_ref(void *wr, void *arg)
{
    (void)arg;
    if (cbcalled < 2) {
        selfref_order[cbcalled] = wr;
        selfref_seen[cbcalled] = rcgc_weakref_get(self_ref);
    }
    cbcalled++;
}

TEST(test_multiple_selfref_callbacks) /* mirrors test_weakref.ReferencesTestCase.test_multiple_selfref_callbacks */
{
    quiet_setup();
    log_reset();
    inst *c = make(&inst_type);
    self_ref = rcgc_weakref_new(c, read_self_ref, NULL);
    void *ref1 = rcgc_weakref_new(c, read_self_ref, NULL);
    rcgc_decref(c);
    CHECK_EQ(cbcalled, 2);
    CHECK_PTR(selfref_order[0], ref1);
    CHECK_PTR(selfref_order[1], self_ref);
    CHECK_PTR(selfref_seen[0], NULL);
    CHECK_PTR(selfref_seen[1], NULL);
    rcgc_decref(ref1);
    rcgc_decref(self_ref);
    quiet_teardown();
}

/* The two proxies are two more weak references: rcgc has no proxies. */
TEST(test_getweakrefcount) /* mirrors test_weakref.ReferencesTestCase.test_getweakrefcount */
{
    quiet_setup();
    inst *o = make(&inst_type);
    void *ref1 = rcgc_weakref_new(o, NULL, NULL);
    void *ref2 = rcgc_weakref_new(o, count_callback, NULL);
    CHECK_EQ(rcgc_weakref_count(o), 2);
    void *proxy1 = rcgc_weakref_new(o, NULL, NULL);
    void *proxy2 = rcgc_weakref_new(o, count_callback, NULL);
    CHECK_EQ(rcgc_weakref_count(o), 4);
    rcgc_decref(ref1);
    rcgc_decref(ref2);
    rcgc_decref(proxy1);
    rcgc_decref(proxy2);
    CHECK_EQ(rcgc_weakref_count(o), 0);
    rcgc_decref(o);
    quiet_teardown();
}

/* rcgc has no getweakrefs(); what it checks is that the ref left is the one
   still attached: the count and what that ref returns. */
TEST(test_getweakrefs) /* mirrors test_weakref.ReferencesTestCase.test_getweakrefs */
{
    quiet_setup();
    for (int drop_first = 1; drop_first >= 0; drop_first--) {
        inst *o = make(&inst_type);
        void *refs[2] = {rcgc_weakref_new(o, count_callback, NULL),
                         rcgc_weakref_new(o, count_callback, NULL)};
        void *kept = refs[drop_first ? 1 : 0];
        rcgc_decref(refs[drop_first ? 0 : 1]);
        CHECK_EQ(rcgc_weakref_count(o), 1);
        CHECK_PTR(rcgc_weakref_peek(kept), o);
        rcgc_decref(kept);
        CHECK_EQ(rcgc_weakref_count(o), 0);
        rcgc_decref(o);
    }
    quiet_teardown();
}

/* ---- callbacks during deallocation and collection --------------------------------- */

static void collect_callback(void *wr, void *arg)
{
    (void)wr, (void)arg;
    cbcalled++;
    rcgc_collect(2);
}

/* A callback that collects while its referent is being freed must not let
   the collector see that object (a double free in CPython's bug). */
TEST(test_sf_bug_840829) /* mirrors test_weakref.ReferencesTestCase.test_sf_bug_840829 */
{
    quiet_setup();
    log_reset();
    inst *c = make(&counted_type);
    void *wr = rcgc_weakref_new(c, collect_callback, NULL);
    rcgc_decref(c);
    CHECK_EQ(cbcalled, 1);
    CHECK_EQ(destroyed, 1);
    rcgc_decref(wr);

    inst *c1 = make(&counted_type);
    give_slot(c1, 0, make(&counted_type));
    wr = rcgc_weakref_new(c1->slot[0], collect_callback, NULL);
    inst *c2 = make(&counted_type);
    set_slot(c2, 0, c1);
    rcgc_decref(c1);
    rcgc_decref(c2);
    CHECK_EQ(cbcalled, 2);
    CHECK_EQ(destroyed, 4);
    CHECK_PTR(rcgc_weakref_get(wr), NULL);
    rcgc_decref(wr);
    quiet_teardown();
}

/* I holds J strongly and weakly (callback I.acallback, a bound method that
   keeps I alive: I holds itself).  All of it is trash: the weakref is
   cleared without its callback. */
TEST(test_callback_in_cycle) /* mirrors test_weakref.ReferencesTestCase.test_callback_in_cycle */
{
    quiet_setup();
    log_reset();
    inst *j = make(&inst_type);
    set_slot(j, 0, j);
    inst *i = make(&inst_type);
    set_slot(i, 0, j);
    give_slot(i, 1, rcgc_weakref_new(j, log_word, "acallback"));
    set_slot(i, 2, i);
    rcgc_decref(i);
    rcgc_decref(j);
    CHECK_EQ(rcgc_collect(2), 3);
    CHECK_STR(cblog, "");
    quiet_teardown();
}

/* c2 is a self-loop holding c1 and a weakref to c1 with callback c2.cb:
   c1 is reachable from c2 but not the other way.  Nothing calls back. */
static void run_one_way(const rcgc_type *c1_type, const rcgc_type *c2_type)
{
    quiet_setup();
    log_reset();
    inst *c1 = make(c1_type), *c2 = make(c2_type);
    set_slot(c2, 0, c2);
    set_slot(c2, 1, c1);
    give_slot(c2, 2, rcgc_weakref_new(c1, log_word, "cb"));
    rcgc_decref(c1);
    rcgc_decref(c2);
    CHECK_EQ(rcgc_collect(2), 3);
    CHECK_STR(cblog, "");
    quiet_teardown();
}

TEST(test_callback_reachable_one_way) /* mirrors test_weakref.ReferencesTestCase.test_callback_reachable_one_way */
{
    run_one_way(&inst_type, &inst_type);
}

TEST(test_callback_different_classes) /* mirrors test_weakref.ReferencesTestCase.test_callback_different_classes */
{
    run_one_way(&other_type, &inst_type);
}

/* c1 <-> c2, each with a weakref+callback to the other, and both holding
   their class C (a self-loop through its mro); an outside weakref to C says
   "C went away".  Only the outside callback runs. */
TEST(test_callback_in_cycle_resurrection) /* mirrors test_weakref.ReferencesTestCase.test_callback_in_cycle_resurrection */
{
    quiet_setup();
    log_reset();
    inst *cls = make(&inst_type);
    set_slot(cls, 0, cls);
    inst *c1 = make(&inst_type), *c2 = make(&inst_type);
    set_slot(c1, 0, cls);
    set_slot(c2, 0, cls);
    set_slot(c1, 1, c2);
    set_slot(c2, 1, c1);
    give_slot(c1, 2, rcgc_weakref_new(c2, log_word, "c1.acallback"));
    give_slot(c2, 2, rcgc_weakref_new(c1, log_word, "c2.acallback"));
    void *wr = rcgc_weakref_new(cls, log_word, "C went away");
    rcgc_decref(c1);
    rcgc_decref(c2);
    rcgc_decref(cls);
    CHECK_STR(cblog, "");
    CHECK_EQ(rcgc_collect(2), 5);   /* C, c1, c2 and their two weakrefs */
    CHECK_STR(cblog, "C went away");
    CHECK_PTR(rcgc_weakref_get(wr), NULL);
    log_reset();
    CHECK_EQ(rcgc_collect(2), 0);
    CHECK_STR(cblog, "");
    rcgc_decref(wr);
    quiet_teardown();
}

/* c <-> d; `callback` is the bound method c.cb (an object holding c, held by
   c as the weakref c.wr would hold it).  c.wr = ref(d, callback),
   d.wr = ref(callback, d.cb), external_wr = ref(callback, safe_callback). */
TEST(test_callbacks_on_callback) /* mirrors test_weakref.ReferencesTestCase.test_callbacks_on_callback */
{
    quiet_setup();
    log_reset();
    inst *c = make(&inst_type), *d = make(&inst_type);
    set_slot(c, 0, d);
    set_slot(d, 0, c);
    inst *callback = make(&inst_type);
    set_slot(callback, 0, c);
    set_slot(c, 1, callback);
    give_slot(c, 2, rcgc_weakref_new(d, log_word, "cb called"));
    give_slot(d, 2, rcgc_weakref_new(callback, log_word, "cb called"));
    void *external_wr = rcgc_weakref_new(callback, log_word, "safe_callback called");
    CHECK_PTR(rcgc_weakref_peek(external_wr), callback);
    rcgc_decref(callback);
    rcgc_decref(c);
    rcgc_decref(d);
    CHECK_STR(cblog, "");
    CHECK_EQ(rcgc_collect(2), 5);   /* c, d, callback, c.wr, d.wr */
    CHECK_STR(cblog, "safe_callback called");
    CHECK_PTR(rcgc_weakref_get(external_wr), NULL);
    log_reset();
    CHECK_EQ(rcgc_collect(2), 0);
    CHECK_STR(cblog, "");
    rcgc_decref(external_wr);
    quiet_teardown();
}

/* Thresholds (1, 1, 1): every creation collects, while a self-loop holding
   a weakref becomes trash and a weakref with a callback is made and
   dropped.  Also stands for test_gc_during_proxy_creation. */
TEST(test_gc_during_ref_creation) /* mirrors test_weakref.ReferencesTestCase.test_gc_during_ref_creation */
{
    rcgc_disable();
    log_reset();
    size_t thresholds[3];
    rcgc_get_threshold(thresholds);
    rcgc_set_threshold(1, 1, 1);
    rcgc_enable();
    rcgc_collect(2);
    inst *referenced = make(&inst_type);
    inst *a = make(&inst_type);
    set_slot(a, 0, a);
    give_slot(a, 1, rcgc_weakref_new(referenced, NULL, NULL));
    inst *a2 = make(&inst_type);
    rcgc_decref(a);
    rcgc_decref(rcgc_weakref_new(referenced, count_callback, NULL));
    rcgc_set_threshold(thresholds[0], thresholds[1], thresholds[2]);
    rcgc_collect(2);
    CHECK_EQ(cbcalled, 0);
    CHECK_EQ(rcgc_weakref_count(referenced), 0);
    CHECK_EQ(rcgc_refcount(referenced), 1);
    rcgc_decref(a2);
    rcgc_decref(referenced);
}

static void *ref_from_del;

static void make_ref_to_self(void *self)
{
    ref_from_del = rcgc_weakref_new(self, NULL, NULL);
}

static const rcgc_type target_type = {.name = "Target", .size = sizeof(inst),
                                      .traverse = inst_traverse, .clear = inst_clear,
                                      .finalize = make_ref_to_self};

TEST(test_ref_created_during_del) /* mirrors test_weakref.ReferencesTestCase.test_ref_created_during_del */
{
    quiet_setup();
    rcgc_decref(make(&target_type));
    CHECK(ref_from_del != NULL);
    CHECK_PTR(rcgc_weakref_get(ref_from_del), NULL);
    rcgc_decref(ref_from_del);
    ref_from_del = NULL;
    quiet_teardown();
}

/* The callback gets the weakref itself (l.append(ref)). */
static void *appended[4];
static int nappended;

static void append_weakref(void *wr, void *arg)
{
    (void)arg;
    if (nappended < 4) appended[nappended] = wr;
    nappended++;
}

/* A class is a self-loop through its mro. */
TEST(test_classes) /* mirrors test_weakref.ReferencesTestCase.test_classes */
{
    quiet_setup();
    nappended = 0;
    inst *cls = make(&inst_type);
    set_slot(cls, 0, cls);
    void *a = rcgc_weakref_new(cls, append_weakref, NULL);
    rcgc_decref(cls);
    rcgc_collect(2);
    CHECK_PTR(rcgc_weakref_get(a), NULL);
    CHECK_EQ(nappended, 1);
    CHECK_PTR(appended[0], a);
    rcgc_decref(a);
    quiet_teardown();
}

/* ---- the trashcan and weakrefs (issue 16602) --------------------------------------- */

/* A chain root <- c1 <- ... <- c100 through a WeakKeyDictionary d[c] = C(c):
   entry k holds node k+1 strongly and dies, through a weakref callback, with
   node k.  Node k+1 has wparent, a weakref to node k whose callback reads
   wself (a weakref to node k+1).  Dropping root frees the chain one callback
   at a time; every callback runs (CPython keeps a weakref alive until its
   callback ran, even when its holder died meanwhile), and each sees its own
   node already gone except the last, which `c` still holds. */
enum { CHAIN = 100 };

typedef struct {
    void *keyref;   /* the dict's weakref to key node k */
    void *value;    /* node k+1 */
} weak_entry;

static weak_entry weak_dict[CHAIN];
static void *wselves[CHAIN + 1];   /* kept alive by the closures of cb */
static int parent_callbacks, parent_saw_dead;

static void remove_entry(void *wr, void *arg)
{
    (void)wr;
    weak_entry *e = arg;
    void *value = e->value, *keyref = e->keyref;
    e->value = e->keyref = NULL;
    rcgc_decref(value);
    rcgc_decref(keyref);
}

static void parent_died(void *wr, void *arg)
{
    (void)wr;
    void *o = rcgc_weakref_get(arg);
    parent_callbacks++;
    if (!o) parent_saw_dead++;
    rcgc_decref(o);
}

TEST(test_trashcan_16602) /* mirrors test_weakref.ReferencesTestCase.test_trashcan_16602 */
{
    quiet_setup();
    parent_callbacks = parent_saw_dead = 0;
    inst *root = make(&inst_type);
    inst *c = root;
    rcgc_incref(c);
    for (int n = 0; n < CHAIN; n++) {
        inst *child = make(&inst_type);
        wselves[n + 1] = rcgc_weakref_new(child, NULL, NULL);
        give_slot(child, 0, rcgc_weakref_new(c, parent_died, wselves[n + 1]));
        weak_dict[n].value = child;   /* d[c] = child: the dict takes child */
        weak_dict[n].keyref = rcgc_weakref_new(c, remove_entry, &weak_dict[n]);
        rcgc_incref(child);
        rcgc_decref(c);
        c = child;
    }
    rcgc_decref(root);
    rcgc_collect(2);
    CHECK_EQ(parent_callbacks, CHAIN);
    CHECK_EQ(parent_saw_dead, CHAIN - 1);
    for (int n = 0; n < CHAIN; n++) CHECK_PTR(weak_dict[n].value, NULL);
    rcgc_decref(c);
    for (int n = 1; n <= CHAIN; n++) rcgc_decref(wselves[n]);
    quiet_teardown();
}

static int dels;
static void count_del(void *self) { (void)self; dels++; }

static const rcgc_type object_with_del_type = {
    .name = "ObjectWithDel", .size = sizeof(inst), .traverse = inst_traverse,
    .clear = inst_clear, .finalize = count_del};

TEST(test_callback_gcs) /* mirrors test_weakref.ReferencesTestCase.test_callback_gcs */
{
    quiet_setup();
    log_reset();
    dels = 0;
    inst *x = make(&object_with_del_type);
    void *ref1 = rcgc_weakref_new(x, collect_callback, NULL);
    rcgc_decref(x);
    rcgc_collect(2);
    CHECK_EQ(dels, 1);
    CHECK_EQ(cbcalled, 1);
    rcgc_decref(ref1);
    quiet_teardown();
}

/* A weakref subclass with attributes is, in C, an object that owns a weakref
   and other fields; weakref_dealloc clears the weakref before the instance
   dict goes, so the holder drops its weakref first.  When the holder has the
   only strong reference to the referent, no callback may run. */
static void myref_clear(void *self)
{
    inst *r = self;
    RCGC_CLEAR(r->slot[0]);   /* the weakref itself */
    RCGC_CLEAR(r->slot[1]);   /* its attributes */
}

static const rcgc_type myref_type = {
    .name = "MyRef", .size = sizeof(inst), .traverse = inst_traverse, .clear = myref_clear};

static inst *make_myref(void *o)
{
    inst *r = make(&myref_type);
    give_slot(r, 0, rcgc_weakref_new(o, count_callback, NULL));
    return r;
}

TEST(test_subclass_refs_with_cycle) /* mirrors test_weakref.SubclassableWeakrefTestCase.test_subclass_refs_with_cycle */
{
    quiet_setup();
    log_reset();
    inst *o = make(&inst_type);
    inst *r1 = make_myref(o);
    set_slot(r1, 1, o);
    rcgc_decref(o);
    rcgc_decref(r1);
    CHECK_EQ(cbcalled, 0);

    o = make(&inst_type);
    r1 = make_myref(o);
    inst *r2 = make_myref(o);
    set_slot(r1, 1, r2);
    set_slot(r2, 1, o);
    rcgc_decref(o);
    rcgc_decref(r2);
    rcgc_decref(r1);
    CHECK_EQ(cbcalled, 0);
    quiet_teardown();
}

/* ---- MappingTestCase: weak dicts of self-loops ---------------------------------- */

/* A weak-valued (or weak-keyed) dict of N self-loops: each entry goes when a
   weakref callback removes it; len() is what is left.  A live iterator keeps
   one item alive.  Keyed and valued dicts are the same thing in C. */
enum { LEN_N = 20 };
static int weak_len;
static void drop_entry(void *wr, void *arg) { (void)wr, (void)arg; weak_len--; }

static void fill_weak_dict(void *wrs[LEN_N], void **iterator_item)
{
    weak_len = LEN_N;
    for (int i = 0; i < LEN_N; i++) {
        inst *item = make(&inst_type);
        set_slot(item, 0, item);
        wrs[i] = rcgc_weakref_new(item, drop_entry, NULL);
        if (i == 0) *iterator_item = item;   /* next(it) */
        else rcgc_decref(item);
    }
}

/* Also mirrors test_weak_valued_len_cycles. */
TEST(test_weak_keyed_len_cycles) /* mirrors test_weakref.MappingTestCase.test_weak_keyed_len_cycles */
{
    quiet_setup();
    void *wrs[LEN_N], *it;
    fill_weak_dict(wrs, &it);
    rcgc_collect(2);
    int n1 = weak_len;
    rcgc_decref(it);
    rcgc_collect(2);
    int n2 = weak_len;
    CHECK_EQ(n1, 1);   /* CPython: 0 or 1; here the iterator surely holds one */
    CHECK_EQ(n2, 0);
    for (int i = 0; i < LEN_N; i++) rcgc_decref(wrs[i]);
    quiet_teardown();
}

/* Automatic collection at every threshold from 1 to 99 while the dict is
   filled and emptied: len never goes below 0 nor up.  Also mirrors
   test_weak_valued_len_race. */
TEST(test_weak_keyed_len_race) /* mirrors test_weakref.MappingTestCase.test_weak_keyed_len_race */
{
    size_t thresholds[3];
    rcgc_get_threshold(thresholds);
    rcgc_enable();
    for (size_t th = 1; th < 100; th++) {
        rcgc_collect(0);
        rcgc_set_threshold(th, th, th);
        void *wrs[LEN_N], *it;
        fill_weak_dict(wrs, &it);
        int n1 = weak_len;
        rcgc_decref(it);
        int n2 = weak_len;
        CHECK(n1 >= 0 && n1 <= LEN_N);
        CHECK(n2 >= 0 && n2 <= n1);
        for (int i = 0; i < LEN_N; i++) rcgc_decref(wrs[i]);
    }
    rcgc_set_threshold(thresholds[0], thresholds[1], thresholds[2]);
    rcgc_collect(2);
}

/* ---- FinalizeTestCase: weakref.finalize is a weakref with a callback ----------- */

typedef struct {
    int x, y, z;
    int result;
} add_args;

static void add(void *wr, void *arg)
{
    (void)wr;
    add_args *a = arg;
    a->result = a->x + a->y + a->z;
    cbcalled++;
}

/* The part that applies: the finalizer runs once, with its arguments, when
   the object dies, and is dead afterwards (peek() is None, alive False). */
TEST(test_finalize) /* mirrors test_weakref.FinalizeTestCase.test_finalize */
{
    quiet_setup();
    log_reset();
    add_args args = {67, 43, 89, 0};
    inst *a = make(&inst_type);
    void *f = rcgc_weakref_new(a, add, &args);
    CHECK_PTR(rcgc_weakref_peek(f), a);
    rcgc_decref(a);
    CHECK_EQ(args.result, 199);
    CHECK_EQ(cbcalled, 1);
    CHECK_PTR(rcgc_weakref_peek(f), NULL);
    rcgc_decref(f);
    quiet_teardown();
}

/* f1..f5 on one object; f5 detached (released unrun), f3 called by hand
   (released after running); on death the rest run newest first. */
TEST(test_order) /* mirrors test_weakref.FinalizeTestCase.test_order */
{
    quiet_setup();
    log_reset();
    static const char *names[5] = {"f1", "f2", "f3", "f4", "f5"};
    inst *a = make(&inst_type);
    void *f[5];
    for (int i = 0; i < 5; i++) f[i] = rcgc_weakref_new(a, log_word, (void *)names[i]);
    rcgc_decref(f[4]);                 /* f5.detach() */
    log_word(NULL, "A");
    log_word(f[2], "f3");              /* f3() */
    rcgc_decref(f[2]);
    log_word(NULL, "B");
    log_word(NULL, "C");
    rcgc_decref(a);
    log_word(NULL, "D");
    CHECK_STR(cblog, "A f3 B C f4 f2 f1 D");
    rcgc_decref(f[0]);
    rcgc_decref(f[1]);
    rcgc_decref(f[3]);
    quiet_teardown();
}

/* weakref.finalize keeps itself and its callback in a registry until it
   runs; then both are freed.  The registry here is two variables. */
static void *registry_f, *registry_callback;
static int res;

static void run_and_unregister(void *wr, void *arg)
{
    (void)wr, (void)arg;
    res = 123;
    void *f = registry_f, *callback = registry_callback;
    registry_f = registry_callback = NULL;
    rcgc_decref(callback);
    rcgc_decref(f);
}

TEST(test_all_freed) /* mirrors test_weakref.FinalizeTestCase.test_all_freed */
{
    quiet_setup();
    res = 0;
    inst *a = make(&inst_type);
    registry_callback = make(&inst_type);
    registry_f = rcgc_weakref_new(a, run_and_unregister, NULL);
    void *wr_callback = rcgc_weakref_new(registry_callback, NULL, NULL);
    void *wr_f = rcgc_weakref_new(registry_f, NULL, NULL);
    CHECK(rcgc_weakref_peek(wr_callback) != NULL);
    CHECK(rcgc_weakref_peek(wr_f) != NULL);
    rcgc_decref(a);
    CHECK_PTR(rcgc_weakref_peek(wr_callback), NULL);
    CHECK_PTR(rcgc_weakref_peek(wr_f), NULL);
    CHECK_EQ(res, 123);
    rcgc_decref(wr_callback);
    rcgc_decref(wr_f);
    quiet_teardown();
}
