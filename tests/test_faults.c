/*
 * Fault injection, SQLite's way.  Each scenario below is a realistic piece of
 * rcgc use.  The driver runs it once refusing nothing and counts the
 * allocations it asks for (T); then runs it again for every N in 1..T+1 with
 * the N-th allocation refused, in two flavours: "transient" (only the N-th)
 * and "persistent" (the N-th and every later one).  Refusal goes through the
 * public rcgc_set_alloc_hook.  For every run it checks:
 *   - each rcgc call that may fail either succeeded or returned its
 *     documented failure (NULL or -1 with errno == ENOMEM), and only when an
 *     allocation was refused during that call;
 *   - the scenario's own checks (state after a failed call is the state
 *     before it; values that do not depend on timing are exact; values that
 *     do are exact while nothing has been refused yet);
 *   - no crash (a crash names the scenario and N on stderr);
 *   - after the scenario releases what it holds, rcgc_garbage_clear() and
 *     rcgc_collect(2) (still under the hook), rcgc_memory_in_use() is back
 *     at the baseline measured before the scenario;
 *   - the heap works: a fresh two-node cycle is freed by rcgc_collect(2)
 *     returning exactly 2, and memory returns to the baseline.
 * Automatic collection is off in every scenario unless the scenario turns it
 * on.  RCGC_TEST_QUICK=1 (the valgrind stage) shrinks the scenarios;
 * RCGC_FAULTS_ONLY=<scenario> runs just that one.  Each test prints the
 * refusals it made; the whole program ends with the total, "faults: N
 * refusals in R runs over S scenarios".  RELIABILITY.md has the figures.
 */
/* Every failed check names the run (scenario, flavour, N): see fault_fail. */
#define HARNESS_FAIL(...) fault_fail(__LINE__, __VA_ARGS__)
#include "harness.h"

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>

#include "internal.h"   /* state()->own_refusal: rcgc's own allocations */
#include "nodes.h"
#include "rcgc_tools.h"

#if defined(__SANITIZE_ADDRESS__)
#define FAULTS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAULTS_ASAN 1
#endif
#endif
#ifdef FAULTS_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* ---- the run under way ------------------------------------------------------ */

static struct {
    const char *scenario;
    size_t fail_at;            /* 0: refuse nothing */
    bool persistent;
    size_t calls;              /* allocations asked for in this run */
    size_t refused;            /* refusals in this run */
    void (*hook_work)(size_t); /* what the hook also does (D1), or NULL */
    bool quick;
    /* per scenario and flavour */
    size_t messages, suppressed, failing_runs, first_failing_n;
    bool leaked;
    bool run_failed;
} F;

static size_t total_refusals[2], total_runs[2];      /* [persistent] */

/* Marks of F.refused at the start of each pending call (calls nest when a
   finalizer or callback run by one call makes calls of its own). */
static size_t marks[64];
static int nmarks;

static char crash_context[256];

static void describe_run(char *buf, size_t cap)
{
    if (!F.fail_at)
        snprintf(buf, cap, "scenario %s, no refusal", F.scenario);
    else
        snprintf(buf, cap, "scenario %s, %s refusal of allocation N=%zu", F.scenario,
                 F.persistent ? "persistent" : "transient", F.fail_at);
}

static void fault_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fault_fail(int line, const char *fmt, ...)
{
    harness_current_failed = 1;
    if (!F.run_failed) {
        F.run_failed = true;
        if (!F.failing_runs++) F.first_failing_n = F.fail_at;
    }
    if (F.messages >= 6) {
        F.suppressed++;
        return;
    }
    F.messages++;
    char where[160];
    describe_run(where, sizeof where);
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fprintf(stderr, "  %s:%d: %s: %s\n", __FILE__, line, where, what);
}

/* Values that depend on every allocation having succeeded: checked while
   nothing has been refused in this run. */
#define EXACT_EQ(actual, expected)                                            \
    do {                                                                      \
        if (F.refused == 0) CHECK_EQ(actual, expected);                       \
    } while (0)

static void mark(void)
{
    if (nmarks < (int)(sizeof marks / sizeof marks[0])) marks[nmarks] = F.refused;
    nmarks++;
    errno = 0;
}

/* A failure must be the documented one, caused by a refusal in the call. */
static bool judge(bool ok, const char *what, int line)
{
    int e = errno;
    nmarks--;
    size_t before = nmarks < (int)(sizeof marks / sizeof marks[0]) ? marks[nmarks] : 0;
    if (ok) return true;
    if (e != ENOMEM)
        fault_fail(line, "%s failed with errno %d (%s), expected ENOMEM", what, e, strerror(e));
    else if (F.refused == before)
        fault_fail(line, "%s failed with ENOMEM though no allocation was refused", what);
    errno = e;
    return false;
}

static void *got(void *p, const char *what, int line)
{
    return judge(p != NULL, what, line) ? p : NULL;
}

/* GOT(call returning a pointer): the pointer, or NULL after checking the
   failure.  DID(call returning 0 or -1): true on success. */
#define GOT(expr) (mark(), got((expr), #expr, __LINE__))
#define DID(expr) (mark(), judge((expr) == 0, #expr, __LINE__))

/* ---- the hook ------------------------------------------------------------------ */

static bool fault_hook(size_t size, void *arg)
{
    (void)arg;
    size_t n = ++F.calls;
    if (F.hook_work) F.hook_work(size);
    if (F.fail_at && (n == F.fail_at || (F.persistent && n > F.fail_at))) {
        F.refused++;
        return false;
    }
    return true;
}

/* ---- shared pieces of scenarios -------------------------------------------------- */

static size_t sized(size_t full, size_t quick) { return F.quick ? quick : full; }

/* a <-> b, both held by the caller (either may be NULL after a failure);
   returns true if the cycle exists. */
static bool pair(node **a, node **b, const rcgc_type *ta, const rcgc_type *tb, int id)
{
    *a = GOT(new_node(ta, id));
    *b = GOT(new_node(tb, id + 1));
    if (!*a || !*b) return false;
    link_slot(*a, 0, *b);
    link_slot(*b, 0, *a);
    return true;
}

static void drop(void *obj) { rcgc_decref(obj); }

static void drop_all(void **objs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rcgc_decref(objs[i]);
        objs[i] = NULL;
    }
}

/* ---- scenarios ------------------------------------------------------------------------ */

/* Lists and dicts referring to each other and to themselves, then dropped
   and collected; a list shrinking on the way (its refused shrink is fine). */
static void containers_with_cycles(void)
{
    size_t k = sized(12, 5), made = 0;
    void *l = GOT(rcgc_list_new());
    void *d = GOT(rcgc_dict_new());
    if (l) made++;
    if (d) made++;
    size_t len = 0;
    if (l && d) {
        if (DID(rcgc_list_append(l, d))) len++;
        if (DID(rcgc_list_append(l, l))) len++;
        DID(rcgc_dict_set(d, "list", l));
        DID(rcgc_dict_set(d, "self", d));
    }
    char key[32];
    for (size_t i = 0; i < k; i++) {
        void *sub = GOT(i % 2 ? rcgc_dict_new() : rcgc_list_new());
        if (!sub) continue;
        made++;
        if (l) {
            if (i % 2) DID(rcgc_dict_set(sub, "up", l));
            else DID(rcgc_list_append(sub, l));
        }
        snprintf(key, sizeof key, "sub%zu", i);
        size_t before = d ? rcgc_dict_len(d) : 0;
        if (d) {
            if (DID(rcgc_dict_set(d, key, sub))) CHECK_EQ(rcgc_dict_len(d), before + 1);
            else CHECK_EQ(rcgc_dict_len(d), before);
        }
        if (l) {
            size_t refs = rcgc_refcount(sub);
            if (DID(rcgc_list_append(l, sub))) {
                len++;
                CHECK_EQ(rcgc_refcount(sub), refs + 1);
            } else {
                CHECK_EQ(rcgc_refcount(sub), refs);
            }
            CHECK_EQ(rcgc_list_len(l), len);
        }
        drop(sub);
    }
    if (l && len > 4) {     /* pop most of it again: the list shrinks */
        while (rcgc_list_len(l) > 2) CHECK(DID(rcgc_list_remove(l, rcgc_list_len(l) - 1)));
        CHECK_EQ(rcgc_list_len(l), 2);
    }
    drop(l);
    drop(d);
    size_t found = rcgc_collect(2);
    EXACT_EQ(found, made);
    CHECK_EQ(rcgc_collect(2), 0);
}

/* A dict growing through several resizes with deletions and overwrites;
   after every step, its contents are exactly what succeeded. */
static void dict_growth(void)
{
    enum { MAX_KEYS = 300 };
    size_t n = sized(MAX_KEYS, 40);
    bool present[MAX_KEYS] = {false};
    size_t live = 0;
    char key[32];
    void *d = GOT(rcgc_dict_new());
    if (!d) return;
    for (size_t i = 0; i < n; i++) {
        void *v = GOT(i % 3 ? (void *)new_node(&plain_type, (int)i) : rcgc_list_new());
        if (!v) continue;
        snprintf(key, sizeof key, "key-%zu", i);
        if (DID(rcgc_dict_set(d, key, v))) {
            present[i] = true;
            live++;
        }
        drop(v);
        if (i % 4 == 3 && present[i - 2]) {         /* delete an older key */
            snprintf(key, sizeof key, "key-%zu", i - 2);
            CHECK(DID(rcgc_dict_del(d, key)));
            present[i - 2] = false;
            live--;
        }
        if (i % 5 == 4 && present[i / 2]) {         /* overwrite: no new entry */
            snprintf(key, sizeof key, "key-%zu", i / 2);
            CHECK(DID(rcgc_dict_set(d, key, d)));   /* and a cycle through d */
        }
        CHECK_EQ(rcgc_dict_len(d), live);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "key-%zu", i);
        CHECK_EQ(rcgc_dict_get(d, key) != NULL, present[i]);
    }
    size_t pos = 0, seen = 0;
    const char *k;
    void *v;
    while (rcgc_dict_next(d, &pos, &k, &v)) seen++;
    CHECK_EQ(seen, live);
    drop(d);
    rcgc_collect(2);
}

/* Several weakrefs to one object, weakrefs to many objects (the side table
   grows), callbacks that allocate, death by decref and by collection. */
static size_t wr_callbacks;
static void allocating_callback(void *wr, void *arg)
{
    (void)arg;
    wr_callbacks++;
    CHECK(rcgc_weakref_peek(wr) == NULL);
    void *l = GOT(rcgc_list_new());
    if (l) DID(rcgc_list_append(l, wr));
    drop(l);
    void *d = GOT(rcgc_dict_new());
    if (d) DID(rcgc_dict_set(d, "weakref", wr));
    drop(d);
}

static void weakrefs_with_callbacks(void)
{
    enum { MANY = 120 };
    size_t many = sized(MANY, 20);
    void *objs[MANY] = {NULL}, *wrs[MANY] = {NULL}, *on_target[6] = {NULL};
    size_t made_to_target = 0, made_many = 0;
    wr_callbacks = 0;

    node *target = GOT(new_node(&plain_type, 1));
    if (target) {
        for (int i = 0; i < 6; i++) {
            on_target[i] = GOT(rcgc_weakref_new(target, allocating_callback, NULL));
            if (on_target[i]) made_to_target++;
            CHECK_EQ(rcgc_weakref_count(target), made_to_target);
        }
    }
    for (size_t i = 0; i < many; i++) {
        objs[i] = GOT(i % 2 ? (void *)new_node(&del_type, (int)i) : rcgc_list_new());
        if (!objs[i]) continue;
        wrs[i] = GOT(rcgc_weakref_new(objs[i], allocating_callback, NULL));
        CHECK_EQ(rcgc_weakref_count(objs[i]), wrs[i] != NULL);
        if (wrs[i]) made_many++;
    }
    /* death by decref: every live weakref calls back, newest first */
    drop(target);
    CHECK_EQ(wr_callbacks, made_to_target);
    for (int i = 0; i < 6; i++)
        if (on_target[i]) CHECK(rcgc_weakref_get(on_target[i]) == NULL);
    drop_all(on_target, 6);

    /* death by collection: the first half become self-cycles (those whose
       cycle could not be made die by decref: their callbacks run too) */
    wr_callbacks = 0;
    size_t expected = 0;
    for (size_t i = 0; i < many / 2; i++) {
        if (!objs[i]) continue;
        if (i % 2) link_slot(objs[i], 0, objs[i]);
        else DID(rcgc_list_append(objs[i], objs[i]));
        if (wrs[i]) expected++;
    }
    for (size_t i = 0; i < many / 2; i++) drop(objs[i]), objs[i] = NULL;
    rcgc_collect(2);
    CHECK_EQ(wr_callbacks, expected);
    drop_all(objs, many);
    drop_all(wrs, many);
    rcgc_collect(2);
}

/* Finalizers that resurrect their object and finalizers that allocate, in
   cycles (collection) and alone (decref). */
static size_t finalized;
static void allocating_finalize(void *self)
{
    node *n = self;
    finalized++;
    node *child = GOT(new_node(&plain_type, 100 + n->id));
    if (child) {
        link_slot(n, 2, child);      /* new garbage reachable from dying n */
        drop(child);
    }
    void *l = GOT(rcgc_list_new());
    if (l) DID(rcgc_list_append(l, self));   /* a reference taken and given back */
    drop(l);
}
static const rcgc_type alloc_del_type = {.name = "allocdel", .size = sizeof(node),
                                         .traverse = node_traverse, .clear = node_clear,
                                         .finalize = allocating_finalize};

static void counting_resurrect(void *self)
{
    finalized++;
    if (lazarus_len < (int)(sizeof lazarus / sizeof lazarus[0])) resurrect_finalize(self);
}
static const rcgc_type counted_lazarus_type = {.name = "lazarus", .size = sizeof(node),
                                               .traverse = node_traverse, .clear = node_clear,
                                               .finalize = counting_resurrect};

static void finalizers(void)
{
    size_t cycles = sized(8, 3), in_cycles = 0, resurrected = 0;
    for (size_t i = 0; i < cycles; i++) {
        node *a, *b;
        const rcgc_type *tb = i % 2 ? &counted_lazarus_type : &alloc_del_type;
        if (pair(&a, &b, &alloc_del_type, tb, (int)(10 * i))) {
            in_cycles += 2;
            if (tb == &counted_lazarus_type) resurrected += 2;
        }
        drop(a);   /* half a pair dies here, finalized by the decref */
        drop(b);
    }
    /* alone: finalized by the decref itself */
    finalized = 0;
    node *solo = GOT(new_node(&alloc_del_type, 999));
    if (solo) {
        drop(solo);
        CHECK_EQ(finalized, 1);
    }
    finalized = 0;
    size_t freed = rcgc_collect(2);
    CHECK_EQ(finalized, in_cycles);
    CHECK_EQ(freed, in_cycles - resurrected);
    /* the resurrected ones die for good once let go, without finalizing again */
    lazarus_release();
    finalized = 0;
    rcgc_collect(2);
    CHECK_EQ(finalized, 0);
}

/* DEBUG_SAVEALL: every unreachable object goes to the garbage list, which
   grows past its first capacity; then garbage_clear frees them. */
static void saveall_and_garbage_clear(void)
{
    size_t cycles = sized(20, 6), in_cycles = 0;
    rcgc_set_debug(RCGC_DEBUG_SAVEALL);
    for (size_t i = 0; i < cycles; i++) {
        node *a, *b;
        if (i % 3 == 2) {
            void *l = GOT(rcgc_list_new());
            void *d = GOT(rcgc_dict_new());
            if (l && d && DID(rcgc_list_append(l, d)) && DID(rcgc_dict_set(d, "l", l)))
                in_cycles += 2;
            drop(l);
            drop(d);
            continue;
        }
        if (pair(&a, &b, &plain_type, i % 2 ? &del_type : &plain_type, (int)i)) in_cycles += 2;
        drop(a);
        drop(b);
    }
    size_t found = rcgc_collect(2);
    CHECK_EQ(found, in_cycles);
    size_t saved = rcgc_garbage_count();
    CHECK(saved <= in_cycles);
    EXACT_EQ(saved, in_cycles);
    for (size_t i = 0; i < saved; i++) CHECK(rcgc_garbage_get(i) != NULL);
    errno = 0;
    CHECK(rcgc_garbage_get(saved) == NULL && errno == ERANGE);
    rcgc_garbage_clear();
    CHECK_EQ(rcgc_garbage_count(), 0);
    rcgc_set_debug(0);
    rcgc_collect(2);   /* what the list missed, and the cycles it held */
}

/* gc.callbacks: registered, grown past the array's first capacity, called
   around collections (one allocates), removed in a different order. */
static size_t cb_calls;
static void counting_callback(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)phase, (void)info, (void)arg;
    cb_calls++;
}
static void allocating_gc_callback(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)info, (void)arg;
    cb_calls++;
    if (phase != RCGC_PHASE_START) return;
    node *a, *b;
    pair(&a, &b, &plain_type, &plain_type, 0);   /* garbage for the next one */
    drop(a);
    drop(b);
}

static void gc_callbacks(void)
{
    enum { MAX_CB = 12 };
    size_t n = sized(MAX_CB, 6), added = 0;
    bool on[MAX_CB] = {false};
    for (size_t i = 0; i < n; i++) {
        rcgc_callback_fn fn = i == 3 ? allocating_gc_callback : counting_callback;
        on[i] = DID(rcgc_callback_add(fn, (void *)(i + 1)));
        if (on[i]) added++;
    }
    for (int gen = 0; gen < 3; gen++) {
        cb_calls = 0;
        rcgc_collect(gen);
        CHECK_EQ(cb_calls, 2 * added);
    }
    for (size_t i = 0; i < n; i += 2) {      /* every second one, then the rest */
        rcgc_callback_fn fn = i == 3 ? allocating_gc_callback : counting_callback;
        errno = 0;
        int r = rcgc_callback_remove(fn, (void *)(i + 1));
        CHECK_EQ(r, on[i] ? 0 : -1);
        if (!on[i]) CHECK_EQ(errno, ENOENT);
        if (on[i]) added--;
        on[i] = false;
    }
    cb_calls = 0;
    rcgc_collect(2);
    CHECK_EQ(cb_calls, 2 * added);
    for (size_t i = n; i-- > 0;) {
        rcgc_callback_fn fn = i == 3 ? allocating_gc_callback : counting_callback;
        if (on[i]) CHECK_EQ(rcgc_callback_remove(fn, (void *)(i + 1)), 0);
    }
    cb_calls = 0;
    rcgc_collect(2);
    CHECK_EQ(cb_calls, 0);
}

/* get_objects / get_referrers (D2): a snapshot, each object reading one
   extra reference while fn runs; fn frees, collects, creates and freezes. */
static struct {
    size_t visits, extra_ref_bad;
    void *victim;           /* dropped by fn during the walk */
    void *made[8];
    int nmade;
    bool froze;
} walk;

static int meddling_visitor(void *obj, void *arg)
{
    (void)arg;
    walk.visits++;
    if (obj == walk.victim) {
        CHECK_EQ(rcgc_refcount(obj), 2);     /* ours and the snapshot's */
        drop(walk.victim);                    /* ours goes: the snapshot's remains */
        walk.victim = NULL;
        rcgc_collect(0);
    }
    if (walk.nmade < 8) {
        void *made = GOT(rcgc_list_new());
        if (made) walk.made[walk.nmade++] = made;
    }
    if (walk.visits == 2 && !walk.froze) {
        rcgc_freeze();
        walk.froze = true;
    }
    return 0;
}

static void get_objects_and_referrers(void)
{
    enum { MAX_OBJS = 24 };
    size_t n = sized(MAX_OBJS, 8), tracked = 0, referrers = 0;
    void *objs[MAX_OBJS] = {NULL};
    memset(&walk, 0, sizeof walk);
    node *target = GOT(new_node(&plain_type, 0));
    if (target) tracked++;
    for (size_t i = 0; i < n; i++) {
        objs[i] = GOT(i % 3 == 0 ? rcgc_list_new() : i % 3 == 1 ? rcgc_dict_new()
                                                            : (void *)new_node(&plain_type, 1));
        if (!objs[i]) continue;
        tracked++;
        if (!target) continue;
        bool refers = i % 3 == 0   ? DID(rcgc_list_append(objs[i], target))
                      : i % 3 == 1 ? DID(rcgc_dict_set(objs[i], "t", target))
                                   : (link_slot(objs[i], 0, target), true);
        if (refers) referrers++;
    }
    /* objs[2] (a node pointing at the target) is the victim */
    if (n > 2 && objs[2] && target) referrers--;
    walk.victim = n > 2 ? objs[2] : NULL;
    if (n > 2) objs[2] = NULL;
    int r = rcgc_get_objects(-1, meddling_visitor, NULL);
    if (r != 0) {
        CHECK_EQ(r, -1);
        CHECK_EQ(errno, ENOMEM);
    } else {
        CHECK_EQ(walk.visits, tracked);
    }
    if (walk.froze) rcgc_unfreeze();
    drop(walk.victim);   /* if the walk failed before reaching it */
    walk.victim = NULL;
    if (target) {
        walk.visits = 0;
        walk.froze = true;   /* no freezing this time */
        r = rcgc_get_referrers(target, meddling_visitor, NULL);
        if (r != 0) {
            CHECK_EQ(r, -1);
            CHECK_EQ(errno, ENOMEM);
        } else {
            CHECK_EQ(walk.visits, referrers);   /* the victim is gone by now */
        }
    }
    drop_all(walk.made, (size_t)walk.nmade);
    drop_all(objs, n);
    drop(target);
    rcgc_collect(2);
}

/* freeze / unfreeze: frozen garbage stays until unfrozen; what is made
   after the freeze is collected as usual. */
static void freeze_and_unfreeze(void)
{
    enum { MAX_PAIRS = 10 };
    size_t n = sized(MAX_PAIRS, 4), tracked = 0, frozen_garbage = 0, held_alive = 0;
    size_t young_garbage = 0;
    node *a[MAX_PAIRS] = {NULL}, *b[MAX_PAIRS] = {NULL};
    void *held = GOT(rcgc_list_new());
    if (held) tracked++;
    for (size_t i = 0; i < n; i++) {
        if (!pair(&a[i], &b[i], &plain_type, &del_type, (int)i)) {
            drop(a[i]), drop(b[i]);
            a[i] = b[i] = NULL;
            continue;
        }
        tracked += 2;
        if (i % 3 == 0 && held && DID(rcgc_list_append(held, a[i]))) held_alive += 2;
        else frozen_garbage += 2;
    }
    rcgc_freeze();
    CHECK_EQ(rcgc_get_freeze_count(), tracked);
    size_t count[3];
    rcgc_get_count(count);
    CHECK_EQ(count[0], 0);
    for (size_t i = 0; i < n; i++) drop(a[i]), drop(b[i]);
    for (size_t i = 0; i < n / 2; i++) {
        node *x, *y;
        if (pair(&x, &y, &del_type, &plain_type, 50 + (int)i)) young_garbage += 2;
        drop(x);
        drop(y);
    }
    CHECK_EQ(rcgc_collect(2), young_garbage);
    CHECK_EQ(rcgc_get_freeze_count(), tracked);
    rcgc_unfreeze();
    CHECK_EQ(rcgc_get_freeze_count(), 0);
    CHECK_EQ(rcgc_collect(2), frozen_garbage);
    drop(held);
    CHECK_EQ(rcgc_collect(2), held_alive);
}

/* D1: an allocation hook that collects while lists, dicts and the weakref
   table grow, with finalizers that append to the list being grown, add keys
   to the dict being resized and make and drop weakrefs.  The hook collects
   at every allocation in even rounds; in odd ones a fuse makes it collect at
   exactly the allocation that grows the container (the first of an append,
   the second of a dict insertion or a weakref creation), while the round's
   garbage is still there.  Afterwards the containers hold exactly what
   succeeded. */
static struct {
    void *grown, *dict, *live;
    size_t appended, keys, serial, busy;
    bool everywhere;
    int fuse;          /* collect at the fuse-th allocation from now */
} d1;

static void meddler_finalize(void *self)
{
    if (d1.grown && DID(rcgc_list_append(d1.grown, self))) d1.appended++;   /* resurrects */
    for (int i = 0; i < 3; i++) {
        char key[32];
        snprintf(key, sizeof key, "fin-%zu", d1.serial++);
        if (d1.dict && DID(rcgc_dict_set(d1.dict, key, d1.live ? d1.live : d1.dict))) d1.keys++;
    }
    if (d1.live) drop(GOT(rcgc_weakref_new(d1.live, NULL, NULL)));
}
static const rcgc_type meddler_type = {.name = "meddler", .size = sizeof(node),
                                       .traverse = node_traverse, .clear = node_clear,
                                       .finalize = meddler_finalize};

/* A collection asked for while one runs (the hook called for a finalizer's
   allocation) returns 0 with EBUSY (D3). */
static void collect_in_hook(size_t size)
{
    (void)size;
    int generation = -1;
    if (d1.fuse > 0) {
        if (--d1.fuse == 0) generation = 2;
    } else if (d1.everywhere) {
        generation = (int)(F.calls % 3);
    }
    if (generation < 0) return;
    errno = 0;
    if (rcgc_collect(generation) == 0 && errno == EBUSY) d1.busy++;
}

static void meddler_garbage(int id)
{
    node *a, *b;
    pair(&a, &b, &meddler_type, &meddler_type, id);
    drop(a);   /* garbage now (or, half made, finalized at once) */
    drop(b);
}

/* The side table fills to its growth point with entries for garbage only;
   the collection run by the growth frees every entry, and so the table. */
static void table_growth_frees_the_table(void)
{
    enum { FILL = 48 };   /* the 49th entry grows the 64-slot table */
    void *wrs[FILL] = {NULL};
    for (int i = 0; i < FILL; i++) {
        node *g = GOT(new_node(&plain_type, i));
        if (!g) continue;
        wrs[i] = GOT(rcgc_weakref_new(g, NULL, NULL));
        link_slot(g, 0, g);
        drop(g);
    }
    node *target = GOT(new_node(&plain_type, FILL));
    d1.fuse = 2;
    void *wr = target ? GOT(rcgc_weakref_new(target, NULL, NULL)) : NULL;
    d1.fuse = 0;
    if (wr) CHECK(rcgc_weakref_peek(wr) == target);
    rcgc_collect(2);
    for (int i = 0; i < FILL; i++)
        if (wrs[i]) CHECK(rcgc_weakref_peek(wrs[i]) == NULL);
    if (wr) CHECK(rcgc_weakref_peek(wr) == target);
    drop_all(wrs, FILL);
    drop(wr);
    drop(target);
}

/* Fresh dicts, each insertion with fresh garbage whose finalizers add keys
   to the same dict while it resizes (the fuse lands on the allocation of
   the new entries array, then of the new index). */
static void dict_resize_under_finalizers(void)
{
    size_t dicts = sized(3, 1);
    for (size_t j = 0; j < dicts; j++) {
        d1.dict = GOT(rcgc_dict_new());
        d1.keys = 0;
        for (int k = 0; d1.dict && k < 8; k++) {
            meddler_garbage(1000 + 2 * k);
            d1.fuse = 2 + k % 2;
            char key[32];
            snprintf(key, sizeof key, "dict-%zu-%d", j, k);
            if (DID(rcgc_dict_set(d1.dict, key, d1.dict))) d1.keys++;
            d1.fuse = 0;
            CHECK_EQ(rcgc_dict_len(d1.dict), d1.keys);
        }
        rcgc_collect(2);   /* the garbage no insertion collected */
        if (d1.dict) CHECK_EQ(rcgc_dict_len(d1.dict), d1.keys);
        void *dict = d1.dict;
        d1.dict = NULL;
        drop(dict);
    }
}

static void hook_that_collects(void)
{
    enum { ROUNDS = 24 };
    size_t rounds = sized(ROUNDS, 8);
    void *targets[ROUNDS] = {NULL}, *wrs[ROUNDS] = {NULL}, *wrs_live[ROUNDS] = {NULL};
    memset(&d1, 0, sizeof d1);
    F.hook_work = collect_in_hook;
    table_growth_frees_the_table();
    d1.grown = GOT(rcgc_list_new());
    d1.live = GOT(new_node(&plain_type, -1));
    dict_resize_under_finalizers();
    d1.dict = GOT(rcgc_dict_new());
    d1.keys = 0;
    size_t live_wrs = 0;
    for (size_t i = 0; i < rounds; i++) {
        d1.everywhere = i % 2 == 0;
        meddler_garbage((int)(4 * i));
        d1.fuse = d1.everywhere ? 0 : 1;
        if (d1.grown && DID(rcgc_list_append(d1.grown, d1.live))) d1.appended++;
        meddler_garbage((int)(4 * i + 2));
        d1.fuse = d1.everywhere ? 0 : 2;
        char key[32];
        snprintf(key, sizeof key, "round-%zu", i);
        if (d1.dict && DID(rcgc_dict_set(d1.dict, key, d1.live ? d1.live : d1.dict))) d1.keys++;
        d1.fuse = 0;
        targets[i] = GOT(new_node(&plain_type, (int)i));
        if (targets[i]) wrs[i] = GOT(rcgc_weakref_new(targets[i], NULL, NULL));
        if (d1.live && (wrs_live[i] = GOT(rcgc_weakref_new(d1.live, NULL, NULL)))) live_wrs++;
        if (d1.grown) CHECK_EQ(rcgc_list_len(d1.grown), d1.appended);
        if (d1.dict) CHECK_EQ(rcgc_dict_len(d1.dict), d1.keys);
    }
    d1.everywhere = true;
    rcgc_collect(2);
    EXACT_EQ(d1.busy > 0, true);
    if (d1.grown) CHECK_EQ(rcgc_list_len(d1.grown), d1.appended);
    if (d1.dict) CHECK_EQ(rcgc_dict_len(d1.dict), d1.keys);
    if (d1.live) CHECK_EQ(rcgc_weakref_count(d1.live), live_wrs);
    for (size_t i = 0; i < rounds; i++)
        if (wrs[i]) CHECK(rcgc_weakref_peek(wrs[i]) == targets[i]);
    drop_all(targets, rounds);
    for (size_t i = 0; i < rounds; i++)
        if (wrs[i]) CHECK(rcgc_weakref_peek(wrs[i]) == NULL);
    drop_all(wrs, rounds);
    drop_all(wrs_live, rounds);
    void *grown = d1.grown, *dict = d1.dict, *live = d1.live;
    d1.grown = d1.dict = d1.live = NULL;
    drop(grown);
    drop(dict);
    drop(live);
    rcgc_collect(2);
}

/* Automatic collections at tiny thresholds in the middle of everything
   (in stress builds, at every allocation). */
static void automatic_collections(void)
{
    enum { ROUNDS = 30 };
    size_t rounds = sized(ROUNDS, 10), appended = 0;
    rcgc_set_threshold(3, 2, 2);
    rcgc_enable();
    void *root = GOT(rcgc_list_new());
    void *wrs[ROUNDS] = {NULL};
    wr_callbacks = 0;
    for (size_t i = 0; i < rounds; i++) {
        node *a, *b;
        pair(&a, &b, i % 2 ? &del_type : &alloc_del_type, &plain_type, (int)i);
        if (a && root && DID(rcgc_list_append(root, i % 4 ? NULL : a))) appended++;
        if (b) wrs[i] = GOT(rcgc_weakref_new(b, allocating_callback, NULL));
        drop(a);
        drop(b);
        void *d = GOT(rcgc_dict_new());
        if (d) DID(rcgc_dict_set(d, "self", d));
        drop(d);
        if (root) CHECK_EQ(rcgc_list_len(root), appended);
    }
    drop(root);
    rcgc_collect(2);
    for (size_t i = 0; i < rounds; i++)
        if (wrs[i]) CHECK(rcgc_weakref_peek(wrs[i]) == NULL);
    drop_all(wrs, rounds);
    rcgc_disable();
    rcgc_set_threshold(700, 10, 10);
}

/* The leak-hunting tools (rcgc_tools.h) over a heap built under refusals:
   the census counts what was made, why-alive finds the chain that was
   linked, the holder is the list held here, the watched object is reported
   while held and forgotten once freed, and the leak check finds nothing.
   (The tools' own tables bypass the allocation hook by design, so their
   ENOMEM paths are not reached here.) */
static size_t lines_written;
static void count_line(const char *text, void *arg)
{
    (void)text, (void)arg;
    lines_written++;
}

static void leak_tools(void)
{
    size_t pairs = sized(10, 3), nodes = 0, in_cycles = 0;
    rcgc_leakcheck_begin();
    void *holder = GOT(rcgc_list_new());
    void *mid = GOT(rcgc_dict_new());
    node *leaf = GOT(new_node(&plain_type, 1));
    bool chain = holder && mid && leaf && DID(rcgc_list_append(holder, mid)) &&
                 DID(rcgc_dict_set(mid, "leaf", leaf));
    if (leaf) nodes++;
    for (size_t i = 0; i < pairs; i++) {
        node *a, *b;
        if (pair(&a, &b, &plain_type, &plain_type, (int)i)) in_cycles += 2;
        drop(a);
        drop(b);
    }
    CHECK_EQ(census_of(&plain_type, NULL), nodes + in_cycles);
    CHECK_EQ(rcgc_collect(2), in_cycles);
    CHECK_EQ(census_of(&plain_type, NULL), nodes);
    if (leaf) CHECK_EQ(rcgc_watch(leaf, "the leaf"), 0);
    drop(mid);
    drop(leaf);
    if (chain) {
        lines_written = 0;
        CHECK_EQ(rcgc_why_alive(leaf, count_line, NULL), 2);   /* holder -> mid -> leaf */
        CHECK_EQ(lines_written, 3);
        size_t holders = 0;
        CHECK_EQ(rcgc_get_holders(count_visit_fn, &holders), 0);
        CHECK_EQ(holders, 1);
        CHECK_EQ(rcgc_check_watched(count_line, NULL), 1);
    }
    drop(holder);
    lines_written = 0;
    CHECK_EQ(rcgc_check_watched(count_line, NULL), 0);
    CHECK_EQ(rcgc_leakcheck_end(count_line, NULL), 0);
    CHECK_EQ(lines_written, 0);
    CHECK_EQ(census_of(&plain_type, NULL), 0);
}

/* rcgc_write_dot over a heap built under refusals: a list held here, a
   dict in it, a node in the dict and a node in a cycle with it.  Both
   directions draw exactly what got linked, with the list as the one
   holder.  The picture's tables are rcgc's own memory (no hook), so a
   refusal only ever hits the objects around it, never the drawing. */
static size_t occurrences(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) n++;
    return n;
}

static size_t draw(void *obj, unsigned flags, size_t *holders)
{
    char *text = NULL;
    size_t len = 0, boxes = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (!f) return 0;
    CHECK(DID(rcgc_write_dot(f, &obj, 1, 5, flags)));
    fclose(f);
    if (text) {
        boxes = occurrences(text, " [label=\"") - occurrences(text, " -> ");
        *holders = occurrences(text, "held from outside");
    }
    free(text);
    return boxes;
}

static void write_dot(void)
{
    void *holder = GOT(rcgc_list_new());
    void *mid = GOT(rcgc_dict_new());
    node *a, *b;
    bool cycle = pair(&a, &b, &plain_type, &plain_type, 1);
    bool has_mid = holder && mid && DID(rcgc_list_append(holder, mid));
    bool has_a = has_mid && a && DID(rcgc_dict_set(mid, "a", a));
    drop(mid);
    drop(a);
    drop(b);
    size_t holders = 0;
    if (holder) {
        CHECK_EQ(draw(holder, RCGC_DOT_REFERENTS, &holders), 1 + has_mid + has_a + (has_a && cycle));
        CHECK_EQ(holders, 1);
    }
    if (has_a) {
        CHECK_EQ(draw(a, RCGC_DOT_REFERRERS, &holders), 3 + cycle);
        CHECK_EQ(holders, 1);
    }
    drop(holder);
}

/* Leak detection over time (rcgc_monitor_*) while a list of nodes leaks one
   node a sample under refusals: every sample is taken, the report names
   the leak when every node was made (and at most that type otherwise), the
   page is written.  The monitor's ring is its own memory (no hook), so a
   refusal only ever hits the program's objects around it. */
static void monitor_samples(void)
{
    size_t rounds = sized(12, 8), made = 0;
    rcgc_monitor_reset();
    void *registry = GOT(rcgc_list_new());
    for (size_t i = 0; i < rounds; i++) {
        node *n = GOT(new_node(&plain_type, (int)i));
        if (n && registry && DID(rcgc_list_append(registry, n))) made++;
        drop(n);
        rcgc_monitor_sample();
    }
    lines_written = 0;
    size_t suspects = rcgc_monitor_report(count_line, NULL);
    CHECK(suspects <= 1);
    EXACT_EQ(suspects, 1);
    EXACT_EQ(lines_written, 4);   /* summary, suspect, holder, link */
    EXACT_EQ(made, rounds);
    char path[] = "/tmp/rcgc-faults-monitor-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) {
        close(fd);
        CHECK_EQ(rcgc_monitor_write_html(path), 0);
        unlink(path);
    }
    drop(registry);
    rcgc_monitor_reset();
}

/* Memory profiling (issue 8): a region around a workload while a capture
   records it.  Regions and the capture keep their tables in rcgc's own
   memory, so a refusal only ever hits the program's objects: the region
   still balances (one row, everything made inside freed inside: increment
   0), and the capture ends cleanly. */
static void profile_regions_capture(void)
{
    size_t rounds = sized(12, 8);
    char path[] = "/tmp/rcgc-faults-capture-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    CHECK_EQ(rcgc_capture_start(path), 0);
    rcgc_profile_begin("faults");
    void *list = GOT(rcgc_list_new());
    for (size_t i = 0; i < rounds; i++) {
        node *n = GOT(new_node(&plain_type, (int)i));
        if (n && list) DID(rcgc_list_append(list, n));
        drop(n);
    }
    drop(list);
    rcgc_profile_end();
    lines_written = 0;
    rcgc_profile_print(count_line, NULL);
    CHECK_EQ(lines_written, 3);   /* heading, rule, "faults" */
    CHECK_EQ(rcgc_capture_stop(), 0);
    unlink(path);
}

/* Lines of a compare that changed nothing ("(+0 B), count=N (+0)"). */
static size_t unchanged_lines;
static void count_unchanged(const char *text, void *arg)
{
    (void)arg;
    lines_written++;
    unchanged_lines += strstr(text, " (+0 B), count=") && strstr(text, " (+0)");
}

/* Snapshots are rcgc's own memory: taking, printing, dumping and loading
   one never asks the hook, whatever the traced heap lost to refusals. */
static void snapshots(void)
{
    size_t rounds = sized(12, 8);
    char path[] = "/tmp/rcgc-faults-snapshot-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    CHECK_EQ(rcgc_trace_start(1), 0);
    void *list = GOT(rcgc_list_new());
    for (size_t i = 0; i < rounds; i++) {
        node *n = GOT(new_node(&plain_type, (int)i));
        if (n && list) DID(rcgc_list_append(list, n));
        drop(n);
    }
    rcgc_snapshot *s = rcgc_snapshot_take();
    CHECK(s != NULL);
    drop(list);
    rcgc_trace_stop();
    lines_written = 0;
    rcgc_snapshot_print_top(s, RCGC_BY_LINENO, 0, count_line, NULL);
    EXACT_EQ(lines_written, 4);   /* heading; the list, the nodes, the list's storage */
    size_t shown = lines_written;
    CHECK_EQ(rcgc_snapshot_dump(s, path), 0);
    rcgc_snapshot *t = rcgc_snapshot_load(path);
    CHECK(t != NULL);
    lines_written = unchanged_lines = 0;
    rcgc_snapshot_print_compare(t, s, RCGC_BY_LINENO, 0, count_unchanged, NULL);
    CHECK_EQ(lines_written, shown);
    CHECK_EQ(unchanged_lines, shown - 1);
    rcgc_snapshot_free(t);
    rcgc_snapshot_free(s);
    unlink(path);
}

/* Traces of several frames (unwind.c): the walk allocates nothing and the
   names come from rcgc's own memory, so an object made under refusals has
   the same traceback as with nothing refused: its site, then the frame
   that called traced_list (the first two lines are compared; further up,
   how far the walk gets depends on the build's frame pointers). */
static char traceback_unrefused[2][512];
static char traceback_now[2][512];
static void keep_first_lines(const char *text, void *arg)
{
    (void)arg;
    if (lines_written < 2) snprintf(traceback_now[lines_written], 512, "%s", text);
    lines_written++;
}

static void *volatile frame_kept;
__attribute__((noinline)) static void *traced_list(size_t rounds)
{
    frame_kept = __builtin_frame_address(0);   /* a frame pointer of its own */
    void *list = GOT(rcgc_list_new());
    for (size_t i = 0; i < rounds && list; i++) {
        node *n = GOT(new_node(&plain_type, (int)i));
        if (n) DID(rcgc_list_append(list, n));
        drop(n);
    }
    return frame_kept ? list : NULL;
}

static void traces_with_frames(void)
{
    CHECK_EQ(rcgc_trace_start(16), 0);
    void *list = traced_list(sized(12, 8));
    if (list) {
        lines_written = 0;
        memset(traceback_now, 0, sizeof traceback_now);
        CHECK_EQ(rcgc_trace_object_site(list, keep_first_lines, NULL), 0);
        CHECK(lines_written >= 2);
        CHECK(strstr(traceback_now[0], " in traced_list\n") != NULL);
        if (F.fail_at == 0) memcpy(traceback_unrefused, traceback_now, sizeof traceback_now);
        CHECK_STR(traceback_now[0], traceback_unrefused[0]);
        CHECK_STR(traceback_now[1], traceback_unrefused[1]);
    }
    drop(list);
    rcgc_trace_stop();
}

/* ---- heaps ------------------------------------------------------------------------- */

/* Nodes of these types count their births (made_in_heap, by the scenario)
   and their ends (destroy): a teardown must end every one, under refusals
   too.  The finalizer allocates, as teardown runs it. */
static size_t made_in_heap, ended_in_heap;
static void counted_destroy(void *self)
{
    (void)self;
    ended_in_heap++;
}
static void counted_release_destroy(void *self)   /* types without clear */
{
    node_clear(self);
    ended_in_heap++;
}
static const rcgc_type counted_type = {.name = "counted", .size = sizeof(node),
                                       .traverse = node_traverse, .clear = node_clear,
                                       .destroy = counted_destroy};
static const rcgc_type counted_clearless_type = {.name = "counted_clearless",
                                                 .size = sizeof(node),
                                                 .traverse = node_traverse,
                                                 .destroy = counted_release_destroy};
static void heap_finalize(void *self)
{
    node *n = self;
    finalized++;
    node *child = GOT(new_node(&counted_type, 100 + n->id));
    if (child) {
        made_in_heap++;
        link_slot(n, 2, child);
        drop(child);
    }
    void *l = GOT(rcgc_list_new());
    if (l) DID(rcgc_list_append(l, self));
    drop(l);
}
static const rcgc_type counted_del_type = {.name = "counted_del", .size = sizeof(node),
                                           .traverse = node_traverse, .clear = node_clear,
                                           .finalize = heap_finalize,
                                           .destroy = counted_destroy};
/* Without traverse: on the untracked list, its slots let go by destroy. */
static const rcgc_type counted_leaf_type = {.name = "counted_leaf", .size = sizeof(node),
                                            .finalize = heap_finalize,
                                            .destroy = counted_release_destroy};

static node *counted_new(const rcgc_type *t, int id)
{
    node *n = GOT(new_node(t, id));
    if (n) made_in_heap++;
    return n;
}

/* A heap of its own with the run's refusals (the hook is per heap),
   automatic collection off as in every scenario. */
static rcgc_heap *enter_new_heap(rcgc_heap *h)
{
    rcgc_heap *was = rcgc_heap_enter(h);
    CHECK(was != NULL);
    rcgc_set_alloc_hook(fault_hook, NULL);
    rcgc_disable();
    made_in_heap = ended_in_heap = finalized = wr_callbacks = 0;
    return was;
}

/* Everything teardown has to end, built under refusals, then the heap
   destroyed with the refusals still on: finalizers and weakref callbacks
   that allocate run in the teardown and see ENOMEM, and every node ends,
   whatever was refused. */
static void heap_teardown(void)
{
    rcgc_heap *h = rcgc_heap_new();
    CHECK(h != NULL);
    if (!h) return;
    rcgc_heap *was = enter_new_heap(h);
    size_t rounds = sized(6, 3), weakrefs = 0;
    void *list = GOT(rcgc_list_new());   /* held: the objects it holds stay alive */
    for (size_t i = 0; i < rounds; i++) {
        int id = 10 * (int)i;
        /* held: a cycle with a finalizer and a weakref with a callback */
        node *a = counted_new(&counted_del_type, id), *b = counted_new(&counted_type, id + 1);
        if (a && b) {
            link_slot(a, 0, b);
            link_slot(b, 0, a);
        }
        if (a && list) DID(rcgc_list_append(list, a));
        if (a && GOT(rcgc_weakref_new(a, allocating_callback, NULL))) weakrefs++;
        drop(b);
        /* dropped: a cycle no clear breaks, and a weakref to it */
        node *c = counted_new(&counted_clearless_type, id + 2);
        node *d = counted_new(&counted_clearless_type, id + 3);
        if (c && d) {
            link_slot(c, 0, d);
            link_slot(d, 0, c);
        }
        if (c && GOT(rcgc_weakref_new(c, allocating_callback, NULL))) weakrefs++;
        drop(c);
        drop(d);
        /* held: a leaf with a finalizer, an untracked node */
        (void)counted_new(&counted_leaf_type, id + 4);
        node *u = counted_new(&counted_type, id + 5);
        if (u) rcgc_untrack(u);
        if (i == rounds / 2) rcgc_freeze();
    }
    /* garbage the program never clears */
    rcgc_set_debug(RCGC_DEBUG_SAVEALL);
    node *g = counted_new(&counted_del_type, 900), *g2 = counted_new(&counted_type, 901);
    if (g && g2) link_slot(g, 0, g2);
    drop(g2);
    drop(g);
    rcgc_collect(2);
    (void)list;
    CHECK(rcgc_heap_enter(was) == h);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK(rcgc_heap_current() == was);
    CHECK_EQ(ended_in_heap, made_in_heap);
    CHECK_EQ(wr_callbacks, weakrefs);   /* every weakref was held: each called back */
}

/* rcgc_heap_new's struct is rcgc's own memory, which the hook never sees:
   state()->own_refusal refuses it when the run refuses this point, counted
   as one allocation. */
static rcgc_heap *counted_heap_new(void)
{
    mark();
    size_t n = ++F.calls;
    if (F.fail_at && (n == F.fail_at || (F.persistent && n > F.fail_at))) {
        F.refused++;
        state()->own_refusal = 1;
    }
    rcgc_heap *h = got(rcgc_heap_new(), "rcgc_heap_new()", __LINE__);
    CHECK_EQ(state()->own_refusal, 0);
    return h;
}

/* Heaps made (or refused) one after another, each with a cycle, a weakref
   and a finalizer, destroyed from outside or from inside. */
static void heaps_made_and_destroyed(void)
{
    rcgc_heap *home = rcgc_heap_current();
    size_t heaps = sized(4, 2);
    for (size_t i = 0; i < heaps; i++) {
        rcgc_heap *h = counted_heap_new();
        CHECK(rcgc_heap_current() == home);
        if (!h) continue;
        CHECK(enter_new_heap(h) == home);
        node *a = counted_new(&counted_del_type, (int)i);
        node *b = counted_new(&counted_clearless_type, (int)i + 1);
        if (a && b) {
            link_slot(a, 0, b);
            link_slot(b, 0, a);
        }
        void *wr = a ? GOT(rcgc_weakref_new(a, allocating_callback, NULL)) : NULL;
        drop(b);
        if (i % 2) CHECK(rcgc_heap_enter(home) == h);
        CHECK_EQ(rcgc_heap_destroy(h), 0);   /* from inside: the thread goes home */
        CHECK(rcgc_heap_current() == home);
        CHECK_EQ(ended_in_heap, made_in_heap);
        CHECK_EQ(wr_callbacks, wr != NULL);
    }
}

/* ---- the driver ------------------------------------------------------------------- */

/* The *_steal stores and weakrefs that own their arg (issue 9): whatever is
   refused, the reference or arg handed over is kept or released at once,
   never leaked (the driver's memory check) nor released twice. */
static size_t stolen_deaths, args_released;
static void count_stolen_death(void *self)
{
    node_clear(self);
    stolen_deaths++;
}
static const rcgc_type stolen_type = {.name = "stolen", .size = sizeof(node),
                                      .traverse = node_traverse, .clear = node_clear,
                                      .destroy = count_stolen_death};
static void release_counted(void *arg)
{
    CHECK(arg == &args_released);
    args_released++;
}

static void steal_stores_and_owned_args(void)
{
    size_t n = sized(24, 8), deaths = 0, weakrefs = 0;
    stolen_deaths = args_released = 0;
    void *l = GOT(rcgc_list_new());
    void *d = GOT(rcgc_dict_new());
    void *wrs[24] = {NULL};
    for (size_t i = 0; i < n; i++) {
        node *item = GOT(new_node(&stolen_type, (int)i));
        if (!item) continue;
        char key[24];   /* "k" and any size_t: gcc -O0 checks the whole range */
        snprintf(key, sizeof key, "k%zu", i);
        if (i % 3 == 0 && l) {
            if (!DID(rcgc_list_append_steal(l, item))) deaths++;   /* released */
        } else if (i % 3 == 1 && d) {
            if (!DID(rcgc_dict_set_steal(d, key, item))) deaths++;
        } else if (l && rcgc_list_len(l) > 0) {
            CHECK_EQ(rcgc_list_set_steal(l, 0, item), 0);   /* allocates nothing */
            deaths++;                                        /* the item it replaced */
        } else {
            drop(item);
            deaths++;
        }
        CHECK_EQ(stolen_deaths, deaths);
        if (l) {
            size_t before = args_released;
            wrs[i] = GOT(rcgc_weakref_new_with_release(l, NULL, &args_released, release_counted));
            if (wrs[i]) weakrefs++;
            CHECK_EQ(args_released, before + (wrs[i] == NULL));   /* a failure released it */
        }
    }
    /* a walk that allocates as it goes sees no change: nothing changes d */
    size_t pos = 0, seen = 0;
    while (d && rcgc_dict_next(d, &pos, NULL, NULL)) {
        seen++;
        drop(GOT(rcgc_list_new()));
    }
    if (d) {
        CHECK_EQ(errno, 0);
        CHECK_EQ(seen, rcgc_dict_len(d));
    }
    size_t released_before = args_released;
    drop_all(wrs, 24);
    CHECK_EQ(args_released, released_before + weakrefs);
    drop(l);
    drop(d);
    rcgc_collect(2);
}

typedef struct fault_scenario {
    const char *name;
    void (*run)(void);
} fault_scenario;

/* One line per scenario.  New features (the leak-hunting tools, the
   profiler, heaps) add theirs here, and every one of their allocations is
   then refused in both flavours by the two tests below. */
static const fault_scenario scenarios[] = {
    {"containers_with_cycles", containers_with_cycles},
    {"dict_growth", dict_growth},
    {"weakrefs_with_callbacks", weakrefs_with_callbacks},
    {"finalizers", finalizers},
    {"saveall_and_garbage_clear", saveall_and_garbage_clear},
    {"gc_callbacks", gc_callbacks},
    {"get_objects_and_referrers", get_objects_and_referrers},
    {"freeze_and_unfreeze", freeze_and_unfreeze},
    {"hook_that_collects", hook_that_collects},
    {"automatic_collections", automatic_collections},
    {"leak_tools", leak_tools},
    {"write_dot", write_dot},
    {"monitor_samples", monitor_samples},
    {"profile_regions_capture", profile_regions_capture},
    {"snapshots", snapshots},
    {"traces_with_frames", traces_with_frames},
    {"steal_stores_and_owned_args", steal_stores_and_owned_args},
    {"heap_teardown", heap_teardown},
    {"heaps_made_and_destroyed", heaps_made_and_destroyed},
};
enum { NSCENARIOS = sizeof scenarios / sizeof scenarios[0] };

/* A crash names the run; ASan and UBSan reports end in this callback. */
static void print_crash_context(void)
{
    ssize_t w = write(2, crash_context, strlen(crash_context));
    (void)w;
}
static void on_fatal_signal(int sig)
{
    print_crash_context();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_crash_reporting(void)
{
    static bool done;
    if (done) return;
    done = true;
#ifdef FAULTS_ASAN
    __sanitizer_set_death_callback(print_crash_context);
#else
    signal(SIGSEGV, on_fatal_signal);
    signal(SIGBUS, on_fatal_signal);
    signal(SIGFPE, on_fatal_signal);
    signal(SIGILL, on_fatal_signal);
#endif
    signal(SIGABRT, on_fatal_signal);
    F.quick = getenv("RCGC_TEST_QUICK") && strcmp(getenv("RCGC_TEST_QUICK"), "0") != 0;
}

/* Everything back to the state a scenario starts from, refusing nothing. */
static void settle(void)
{
    rcgc_set_alloc_hook(NULL, NULL);
    F.hook_work = NULL;
    lazarus_release();
    rcgc_disable();
    rcgc_set_threshold(700, 10, 10);
    rcgc_set_debug(0);
    rcgc_garbage_clear();
    rcgc_collect(2);
    rcgc_garbage_clear();
}

static void run_once(const fault_scenario *s, size_t fail_at, bool persistent)
{
    settle();
    size_t baseline = rcgc_memory_in_use();
    F.scenario = s->name;
    F.fail_at = fail_at;
    F.persistent = persistent;
    F.calls = F.refused = 0;
    F.run_failed = false;
    nmarks = 0;
    describe_run(crash_context, sizeof crash_context - 40);
    strcat(crash_context, ": crashed\n");
    events_reset();

    rcgc_set_alloc_hook(fault_hook, NULL);
    s->run();
    lazarus_release();
    rcgc_set_debug(0);
    rcgc_garbage_clear();
    rcgc_collect(2);
    rcgc_set_alloc_hook(NULL, NULL);
    F.hook_work = NULL;
    CHECK_EQ(nmarks, 0);
    CHECK_EQ(rcgc_garbage_count(), 0);

    size_t in_use = rcgc_memory_in_use();
    /* Memory a run leaked may be given back by a later run (an empty table
       reused, then freed): below the baseline after a leak is no news. */
    if (in_use > baseline || (in_use < baseline && !F.leaked)) {
        F.leaked = F.leaked || in_use > baseline;
        fault_fail(__LINE__, "memory in use %zu after the scenario, baseline %zu (%+lld bytes)",
                   in_use, baseline, (long long)in_use - (long long)baseline);
    }
    /* the heap works: a fresh two-node cycle is found and freed */
    size_t before = rcgc_memory_in_use();
    node *a = new_node(&plain_type, 1), *b = new_node(&plain_type, 2);
    CHECK(a && b);
    if (a && b) {
        link_slot(a, 0, b);
        link_slot(b, 0, a);
        drop(a);
        drop(b);
        CHECK_EQ(rcgc_collect(2), 2);
    }
    CHECK_EQ(rcgc_memory_in_use(), before);
    total_refusals[persistent] += F.refused;
    total_runs[persistent] += fail_at != 0;
}

static void inject(bool persistent)
{
    install_crash_reporting();
    const char *only = getenv("RCGC_FAULTS_ONLY");
    for (int i = 0; i < NSCENARIOS; i++) {
        const fault_scenario *s = &scenarios[i];
        if (only && *only && strcmp(only, s->name) != 0) continue;
        F.messages = F.suppressed = F.failing_runs = F.first_failing_n = 0;
        F.leaked = false;
        run_once(s, 0, persistent);
        size_t total = F.calls;
        CHECK(total > 0);
        for (size_t n = 1; n <= total + 1; n++) {
            run_once(s, n, persistent);
            /* beyond the last allocation: refuses nothing, the same run */
            if (n == total + 1) {
                CHECK_EQ(F.refused, 0);
                CHECK_EQ(F.calls, total);
            }
        }
        if (F.failing_runs)
            fprintf(stderr, "  %s, %s refusals: %zu of %zu runs failed (first at N=%zu)%s\n",
                    s->name, persistent ? "persistent" : "transient", F.failing_runs,
                    total + 1, F.first_failing_n,
                    F.suppressed ? "; later messages not shown" : "");
    }
    settle();
    rcgc_enable();
}

/* Each test prints its flavour's count; the second to run in one process
   (the whole program) also prints the total. */
static int flavours_done;
static void report_refusals(bool persistent)
{
    printf("faults: %zu %s refusals in %zu runs over %d scenarios\n",
           total_refusals[persistent], persistent ? "persistent" : "transient",
           total_runs[persistent], NSCENARIOS);
    if (++flavours_done == 2)
        printf("faults: %zu refusals in %zu runs over %d scenarios\n",
               total_refusals[0] + total_refusals[1], total_runs[0] + total_runs[1],
               NSCENARIOS);
}

TEST(transient_refusal_of_every_allocation_in_every_scenario)
{
    inject(false);
    report_refusals(false);
}

TEST(persistent_refusal_from_every_allocation_in_every_scenario)
{
    inject(true);
    report_refusals(true);
}
