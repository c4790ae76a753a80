/*
 * The re-entrancy matrix of issue 6 (docs/reentrancy.md): each operation
 * (collect, decref of another object that then dies, allocation with a list
 * append that grows its storage, untrack + track of another object, a
 * weakref with a callback to another object, gc callback add + remove) called
 * from inside each context where rcgc runs user code (finalizer on decref,
 * finalizer in a collection, clear in a collection, destroy, weakref
 * callback on decref and in a collection, gc callback at start and at stop,
 * the allocation hook outside and inside a collection (called as a full list
 * grows, the list the operation appends to), the output sink, a
 * rcgc_get_objects / rcgc_get_referrers callback).  A TEST a cell, named
 * <operation>_from_<context>.
 *
 * Every cell runs the same program and checks the exact event log it writes:
 *   setup:    a garbage two-cycle of plain nodes nobody collected yet; a live
 *             `victim` (finalizer logs "del7"), a live `other`, a list of 8
 *             NULLs (full: the next append grows it); for callback cells,
 *             gc callback `pre` (after the context's own gc callback, if any)
 *   context:  runs the operation once, from its first chance; contexts that
 *             collect log "gc=N", the collection's result
 *   epilogue: drop victim if still held, log "|", drop other (a weakref made
 *             by the operation calls back: "cb8"), log "after=N" of a full
 *             collection
 * then checks errno where the operation is refused, that rcgc_memory_in_use()
 * is back at its baseline and that the heap still collects a cycle.
 *
 * Where Python can express the cell, the expected log is CPython 3.12.1's,
 * printed by this program (PYENV_VERSION=3.12.1 python3.12; the untrack /
 * track column, clear, destroy and the allocation hook have no Python form):
 *
 * import gc, sys, weakref
 * gc.disable()
 * class N:
 *     __slots__ = ('a', 'b', 'c', 'id', '__weakref__')
 * class D(N):
 *     __slots__ = ()
 *     def __del__(self): log.append('del7')
 * log, keep, fired = [], {}, [False]
 * def x_cb(phase, info): log.append('x-' + phase)
 * def pre_cb(phase, info): log.append('pre-' + phase)
 * def op_collect(): log.append('collect=%d' % gc.collect())
 * def op_decref():
 *     log.append('decref'); del keep['victim']; log.append('ret')
 * def op_alloc():
 *     keep['list'].append(N()); log.append('len=%d' % len(keep['list']))
 * def op_weakref():
 *     keep['w'] = weakref.ref(keep['other'], lambda w: log.append('cb8')); log.append('wr')
 * def op_callbacks():
 *     gc.callbacks.append(x_cb); gc.callbacks.remove(pre_cb); log.append('add remove')
 * def once():
 *     if not fired[0]:
 *         fired[0] = True
 *         OP()
 * def cycle(cls=N):
 *     a, b = cls(), N(); a.a = b; b.a = a
 *     return a
 * class F(N):
 *     __slots__ = ()
 *     def __del__(self): once()
 * def fin_decref(): x = F(); del x
 * def fin_collect():
 *     cycle(F); log.append('gc=%d' % gc.collect())
 * def wr_decref():
 *     r = N(); w = weakref.ref(r, lambda w: once()); del r
 * def wr_collect():
 *     r = cycle(); w = weakref.ref(r, lambda w: once()); del r
 *     log.append('gc=%d' % gc.collect())
 * def gc_cb(phase):
 *     def cb(p, info):
 *         if p == phase: once()
 *     def ctx():
 *         gc.callbacks.insert(0, cb); log.append('gc=%d' % gc.collect()); gc.callbacks.remove(cb)
 *     return ctx
 * class Sink:
 *     def write(self, text): once()
 *     def flush(self): pass
 * def sink():
 *     old, sys.stderr = sys.stderr, Sink(); gc.set_debug(gc.DEBUG_STATS)
 *     try: n = gc.collect()
 *     finally: gc.set_debug(0); sys.stderr = old
 *     log.append('gc=%d' % n)
 * def get_objects():
 *     for o in gc.get_objects(): once()
 * def get_referrers():
 *     t = N(); h = N(); h.a = t
 *     for o in gc.get_referrers(t): once()
 * contexts = [('finalizer_on_decref', fin_decref), ('finalizer_in_collection', fin_collect),
 *             ('weakref_callback_on_decref', wr_decref),
 *             ('weakref_callback_in_collection', wr_collect),
 *             ('gc_callback_start', gc_cb('start')), ('gc_callback_stop', gc_cb('stop')),
 *             ('output_sink', sink), ('get_objects', get_objects), ('get_referrers', get_referrers)]
 * ops = [('collect', op_collect), ('decref', op_decref), ('alloc', op_alloc),
 *        ('weakref_new', op_weakref), ('callback_add_remove', op_callbacks)]
 * for oname, op in ops:
 *     for cname, ctx in contexts:
 *         gc.collect(); log.clear(); fired[0] = False; OP = op
 *         keep.update(victim=D(), other=N(), list=[None] * 8)
 *         if op is op_callbacks: gc.callbacks.append(pre_cb)
 *         cycle(); ctx()
 *         keep.pop('victim', None); log.append('|'); del keep['other']
 *         log.append('after=%d' % gc.collect())
 *         if x_cb in gc.callbacks: gc.callbacks.remove(x_cb)
 *         if pre_cb in gc.callbacks: gc.callbacks.remove(pre_cb)
 *         keep.clear()
 *         print('%s_from_%s: "%s "' % (oname, cname, ' '.join(log)))
 *
 * A collection asked for while one runs is refused with 0 + EBUSY (as
 * CPython's gc.collect() returns 0 then).  The last tests check the refusals
 * of operations on the object being torn down itself (count zero): track and
 * untrack set EINVAL in release builds and abort with a misuse line in debug
 * builds; weakref_new gives NULL + EINVAL.
 */
#include "harness.h"

#include <signal.h>

#include "nodes.h"

enum context {
    CTX_finalizer_on_decref,
    CTX_finalizer_in_collection,
    CTX_clear_in_collection,
    CTX_destroy,
    CTX_weakref_callback_on_decref,
    CTX_weakref_callback_in_collection,
    CTX_gc_callback_start,
    CTX_gc_callback_stop,
    CTX_alloc_hook,
    CTX_alloc_hook_in_collection,
    CTX_output_sink,
    CTX_get_objects,
    CTX_get_referrers,
};

enum operation {
    OP_collect, OP_decref, OP_alloc, OP_track, OP_weakref_new, OP_callback_add_remove
};

static enum operation cell_op;
static bool fired;
static int op_errno;
static node *victim, *other;
static void *grow_list, *made_weakref;

/* ---- the operations ---------------------------------------------------------- */

static void x_cb(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)info, (void)arg;
    phase_event("x", phase);
}
static void pre_cb(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)info, (void)arg;
    phase_event("pre", phase);
}

static void run_op(void)
{
    errno = 0;
    switch (cell_op) {
    case OP_collect: {
        size_t n = rcgc_collect(2);
        op_errno = errno;
        event("collect=%d ", (int)n);
        break;
    }
    case OP_decref: {
        node *v = victim;
        victim = NULL;
        event("decref ", 0);
        rcgc_decref(v);
        event("ret ", 0);
        break;
    }
    case OP_alloc: {
        node *n = new_node(&plain_type, 9);
        int appended = rcgc_list_append(grow_list, n);   /* grows 8 -> 16 */
        rcgc_decref(n);
        if (n && appended == 0) event("len=%d ", (int)rcgc_list_len(grow_list));
        else event("alloc failed ", 0);
        break;
    }
    case OP_track:
        rcgc_untrack(other);
        event("tracked=%d ", rcgc_is_tracked(other));
        rcgc_track(other);
        event("tracked=%d ", rcgc_is_tracked(other));
        op_errno = errno;
        break;
    case OP_weakref_new:
        made_weakref = rcgc_weakref_new(other, weak_event, (void *)8);
        event(made_weakref ? "wr " : "wr=NULL ", 0);
        break;
    case OP_callback_add_remove: {
        int added = rcgc_callback_add(x_cb, NULL);
        int removed = rcgc_callback_remove(pre_cb, NULL);
        event(added == 0 && removed == 0 ? "add remove " : "add/remove failed ", 0);
        break;
    }
    }
}

static void once(void)
{
    if (fired) return;
    fired = true;
    run_op();
}

/* ---- the contexts ------------------------------------------------------------ */

static void fire_finalize(void *self)
{
    (void)self;
    once();
}
static void fire_clear(void *self)
{
    once();
    node_clear(self);
}
static void fire_destroy(void *self)
{
    (void)self;
    once();
}
static void fire_weakref(void *wr, void *arg)
{
    (void)wr, (void)arg;
    once();
}
static rcgc_phase fire_phase;
static void fire_gc_callback(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)info, (void)arg;
    if (phase == fire_phase) once();
}
static bool fire_hook(size_t size, void *arg)
{
    (void)size, (void)arg;
    once();
    return true;
}
static void fire_sink(const char *text, void *arg)
{
    (void)text, (void)arg;
    once();
}
static int fire_visit(void *obj, void *arg)
{
    (void)obj, (void)arg;
    once();
    return 0;
}
/* The hook's first call: the full list grows, so an operation that appends
   to it (or collects) runs while its storage is being grown (D1). */
static void grow_with_hook(void)
{
    rcgc_set_alloc_hook(fire_hook, NULL);
    rcgc_list_append(grow_list, NULL);
    rcgc_set_alloc_hook(NULL, NULL);
}
static void hook_finalize(void *self)
{
    (void)self;
    grow_with_hook();
}

static const rcgc_type fire_finalize_type = {.name = "firefinalize", .size = sizeof(node),
                                             .traverse = node_traverse, .clear = node_clear,
                                             .finalize = fire_finalize};
static const rcgc_type fire_clear_type = {.name = "fireclear", .size = sizeof(node),
                                          .traverse = node_traverse, .clear = fire_clear};
static const rcgc_type fire_destroy_type = {.name = "firedestroy", .size = sizeof(node),
                                            .traverse = node_traverse, .clear = node_clear,
                                            .destroy = fire_destroy};
static const rcgc_type hook_finalize_type = {.name = "hookfinalize", .size = sizeof(node),
                                             .traverse = node_traverse, .clear = node_clear,
                                             .finalize = hook_finalize};

static void collect_and_log(void)
{
    event("gc=%d ", (int)rcgc_collect(2));
}

static void run_context(enum context ctx)
{
    switch (ctx) {
    case CTX_finalizer_on_decref:
        rcgc_decref(new_node(&fire_finalize_type, 1));
        break;
    case CTX_finalizer_in_collection:
        rcgc_decref(make_pair(&fire_finalize_type, 1, &plain_type, 2));
        collect_and_log();
        break;
    case CTX_clear_in_collection:
        /* Both fire: whichever the collector clears first runs the operation. */
        rcgc_decref(make_pair(&fire_clear_type, 1, &fire_clear_type, 2));
        collect_and_log();
        break;
    case CTX_destroy:
        rcgc_decref(new_node(&fire_destroy_type, 1));
        break;
    case CTX_weakref_callback_on_decref: {
        node *r = new_node(&plain_type, 1);
        void *w = rcgc_weakref_new(r, fire_weakref, NULL);
        rcgc_decref(r);
        rcgc_decref(w);
        break;
    }
    case CTX_weakref_callback_in_collection: {
        node *r = make_pair(&plain_type, 1, &plain_type, 2);
        void *w = rcgc_weakref_new(r, fire_weakref, NULL);
        rcgc_decref(r);
        collect_and_log();
        rcgc_decref(w);
        break;
    }
    case CTX_gc_callback_start:
    case CTX_gc_callback_stop:
        collect_and_log();   /* fire_gc_callback was registered by the setup */
        break;
    case CTX_alloc_hook:
        grow_with_hook();
        break;
    case CTX_alloc_hook_in_collection:
        rcgc_decref(make_pair(&hook_finalize_type, 1, &plain_type, 2));
        collect_and_log();
        break;
    case CTX_output_sink: {
        rcgc_set_output(fire_sink, NULL);
        rcgc_set_debug(RCGC_DEBUG_STATS);
        size_t n = rcgc_collect(2);
        rcgc_set_debug(0);
        rcgc_set_output(NULL, NULL);
        event("gc=%d ", (int)n);
        break;
    }
    case CTX_get_objects:
        rcgc_get_objects(-1, fire_visit, NULL);
        break;
    case CTX_get_referrers: {
        node *t = new_node(&plain_type, 1), *h = new_node(&plain_type, 2);
        link_slot(h, 0, t);
        rcgc_get_referrers(t, fire_visit, NULL);
        rcgc_decref(h);
        rcgc_decref(t);
        break;
    }
    }
}

/* ---- one cell ---------------------------------------------------------------- */

static void cell(enum context ctx, enum operation op, const char *expected, int expected_errno)
{
    quiet_start();
    size_t baseline = rcgc_memory_in_use();
    cell_op = op;
    fired = false;
    op_errno = 0;
    made_weakref = NULL;
    victim = new_node(&del_type, 7);
    other = new_node(&plain_type, 8);
    grow_list = rcgc_list_new();
    for (int i = 0; i < 8; i++) rcgc_list_append(grow_list, NULL);
    if (ctx == CTX_gc_callback_start || ctx == CTX_gc_callback_stop) {
        fire_phase = ctx == CTX_gc_callback_start ? RCGC_PHASE_START : RCGC_PHASE_STOP;
        rcgc_callback_add(fire_gc_callback, NULL);
    }
    if (op == OP_callback_add_remove) rcgc_callback_add(pre_cb, NULL);
    rcgc_decref(make_pair(&plain_type, 3, &plain_type, 4));   /* garbage */

    run_context(ctx);

    rcgc_decref(victim);
    victim = NULL;
    event("| ", 0);
    rcgc_decref(other);
    event("after=%d ", (int)rcgc_collect(2));
    CHECK_STR(events, expected);
    CHECK(fired);
    CHECK_EQ(op_errno, expected_errno);

    if (made_weakref) CHECK_PTR(rcgc_weakref_peek(made_weakref), NULL);
    rcgc_decref(made_weakref);
    rcgc_callback_remove(fire_gc_callback, NULL);
    rcgc_callback_remove(pre_cb, NULL);
    rcgc_callback_remove(x_cb, NULL);
    rcgc_decref(grow_list);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), baseline);
    /* The heap still works. */
    rcgc_decref(make_pair(&plain_type, 1, &plain_type, 2));
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_EQ(rcgc_memory_in_use(), baseline);
}

/* ---- the matrix ---------------------------------------------------------------
   PY_CELL(operation, context, expected log, errno of a refused operation)
   defines TEST(<operation>_from_<context>) with the log the CPython program
   above prints; C_CELL the same for a cell that has no Python form. */

#define PY_CELL(op, ctx, expected, err)                                   \
    TEST(op##_from_##ctx)                                                 \
    {                                                                     \
        cell(CTX_##ctx, OP_##op, expected, err);                          \
    }
#define C_CELL PY_CELL

PY_CELL(collect, finalizer_on_decref, "collect=2 del7 | after=0 ", 0)
PY_CELL(collect, finalizer_in_collection, "collect=0 gc=4 del7 | after=0 ", EBUSY)
C_CELL(collect, clear_in_collection, "collect=0 gc=4 del7 | after=0 ", EBUSY)
C_CELL(collect, destroy, "collect=2 del7 | after=0 ", 0)
PY_CELL(collect, weakref_callback_on_decref, "collect=2 del7 | after=0 ", 0)
PY_CELL(collect, weakref_callback_in_collection, "collect=0 gc=4 del7 | after=0 ", EBUSY)
PY_CELL(collect, gc_callback_start, "collect=0 gc=2 del7 | after=0 ", EBUSY)
PY_CELL(collect, gc_callback_stop, "collect=0 gc=2 del7 | after=0 ", EBUSY)
C_CELL(collect, alloc_hook, "collect=2 del7 | after=0 ", 0)
C_CELL(collect, alloc_hook_in_collection, "collect=0 gc=4 del7 | after=0 ", EBUSY)
PY_CELL(collect, output_sink, "collect=0 gc=2 del7 | after=0 ", EBUSY)
PY_CELL(collect, get_objects, "collect=0 del7 | after=2 ", 0)
PY_CELL(collect, get_referrers, "collect=2 del7 | after=0 ", 0)

PY_CELL(decref, finalizer_on_decref, "decref del7 ret | after=2 ", 0)
PY_CELL(decref, finalizer_in_collection, "decref del7 ret gc=4 | after=0 ", 0)
C_CELL(decref, clear_in_collection, "decref del7 ret gc=4 | after=0 ", 0)
C_CELL(decref, destroy, "decref del7 ret | after=2 ", 0)
PY_CELL(decref, weakref_callback_on_decref, "decref del7 ret | after=2 ", 0)
PY_CELL(decref, weakref_callback_in_collection, "decref del7 ret gc=4 | after=0 ", 0)
PY_CELL(decref, gc_callback_start, "decref del7 ret gc=2 | after=0 ", 0)
PY_CELL(decref, gc_callback_stop, "decref del7 ret gc=2 | after=0 ", 0)
C_CELL(decref, alloc_hook, "decref del7 ret | after=2 ", 0)
C_CELL(decref, alloc_hook_in_collection, "decref del7 ret gc=4 | after=0 ", 0)
PY_CELL(decref, output_sink, "decref del7 ret gc=2 | after=0 ", 0)
PY_CELL(decref, get_objects, "decref ret del7 | after=2 ", 0)
PY_CELL(decref, get_referrers, "decref del7 ret | after=2 ", 0)

PY_CELL(alloc, finalizer_on_decref, "len=9 del7 | after=2 ", 0)
PY_CELL(alloc, finalizer_in_collection, "len=9 gc=4 del7 | after=0 ", 0)
C_CELL(alloc, clear_in_collection, "len=9 gc=4 del7 | after=0 ", 0)
C_CELL(alloc, destroy, "len=9 del7 | after=2 ", 0)
PY_CELL(alloc, weakref_callback_on_decref, "len=9 del7 | after=2 ", 0)
PY_CELL(alloc, weakref_callback_in_collection, "len=9 gc=4 del7 | after=0 ", 0)
PY_CELL(alloc, gc_callback_start, "len=9 gc=2 del7 | after=0 ", 0)
PY_CELL(alloc, gc_callback_stop, "len=9 gc=2 del7 | after=0 ", 0)
C_CELL(alloc, alloc_hook, "len=9 del7 | after=2 ", 0)
C_CELL(alloc, alloc_hook_in_collection, "len=9 gc=4 del7 | after=0 ", 0)
PY_CELL(alloc, output_sink, "len=9 gc=2 del7 | after=0 ", 0)
PY_CELL(alloc, get_objects, "len=9 del7 | after=2 ", 0)
PY_CELL(alloc, get_referrers, "len=9 del7 | after=2 ", 0)

C_CELL(track, finalizer_on_decref, "tracked=0 tracked=1 del7 | after=2 ", 0)
C_CELL(track, finalizer_in_collection, "tracked=0 tracked=1 gc=4 del7 | after=0 ", 0)
C_CELL(track, clear_in_collection, "tracked=0 tracked=1 gc=4 del7 | after=0 ", 0)
C_CELL(track, destroy, "tracked=0 tracked=1 del7 | after=2 ", 0)
C_CELL(track, weakref_callback_on_decref, "tracked=0 tracked=1 del7 | after=2 ", 0)
C_CELL(track, weakref_callback_in_collection, "tracked=0 tracked=1 gc=4 del7 | after=0 ", 0)
C_CELL(track, gc_callback_start, "tracked=0 tracked=1 gc=2 del7 | after=0 ", 0)
C_CELL(track, gc_callback_stop, "tracked=0 tracked=1 gc=2 del7 | after=0 ", 0)
C_CELL(track, alloc_hook, "tracked=0 tracked=1 del7 | after=2 ", 0)
C_CELL(track, alloc_hook_in_collection, "tracked=0 tracked=1 gc=4 del7 | after=0 ", 0)
C_CELL(track, output_sink, "tracked=0 tracked=1 gc=2 del7 | after=0 ", 0)
C_CELL(track, get_objects, "tracked=0 tracked=1 del7 | after=2 ", 0)
C_CELL(track, get_referrers, "tracked=0 tracked=1 del7 | after=2 ", 0)

PY_CELL(weakref_new, finalizer_on_decref, "wr del7 | cb8 after=2 ", 0)
PY_CELL(weakref_new, finalizer_in_collection, "wr gc=4 del7 | cb8 after=0 ", 0)
C_CELL(weakref_new, clear_in_collection, "wr gc=4 del7 | cb8 after=0 ", 0)
C_CELL(weakref_new, destroy, "wr del7 | cb8 after=2 ", 0)
PY_CELL(weakref_new, weakref_callback_on_decref, "wr del7 | cb8 after=2 ", 0)
PY_CELL(weakref_new, weakref_callback_in_collection, "wr gc=4 del7 | cb8 after=0 ", 0)
PY_CELL(weakref_new, gc_callback_start, "wr gc=2 del7 | cb8 after=0 ", 0)
PY_CELL(weakref_new, gc_callback_stop, "wr gc=2 del7 | cb8 after=0 ", 0)
C_CELL(weakref_new, alloc_hook, "wr del7 | cb8 after=2 ", 0)
C_CELL(weakref_new, alloc_hook_in_collection, "wr gc=4 del7 | cb8 after=0 ", 0)
PY_CELL(weakref_new, output_sink, "wr gc=2 del7 | cb8 after=0 ", 0)
PY_CELL(weakref_new, get_objects, "wr del7 | cb8 after=2 ", 0)
PY_CELL(weakref_new, get_referrers, "wr del7 | cb8 after=2 ", 0)

PY_CELL(callback_add_remove, finalizer_on_decref,
        "add remove del7 | x-start x-stop after=2 ", 0)
PY_CELL(callback_add_remove, finalizer_in_collection,
        "pre-start add remove x-stop gc=4 del7 | x-start x-stop after=0 ", 0)
C_CELL(callback_add_remove, clear_in_collection,
        "pre-start add remove x-stop gc=4 del7 | x-start x-stop after=0 ", 0)
C_CELL(callback_add_remove, destroy, "add remove del7 | x-start x-stop after=2 ", 0)
PY_CELL(callback_add_remove, weakref_callback_on_decref,
        "add remove del7 | x-start x-stop after=2 ", 0)
PY_CELL(callback_add_remove, weakref_callback_in_collection,
        "pre-start add remove x-stop gc=4 del7 | x-start x-stop after=0 ", 0)
PY_CELL(callback_add_remove, gc_callback_start,
        "add remove x-start x-stop gc=2 del7 | x-start x-stop after=0 ", 0)
PY_CELL(callback_add_remove, gc_callback_stop,
        "pre-start add remove x-stop gc=2 del7 | x-start x-stop after=0 ", 0)
C_CELL(callback_add_remove, alloc_hook, "add remove del7 | x-start x-stop after=2 ", 0)
C_CELL(callback_add_remove, alloc_hook_in_collection,
        "pre-start add remove x-stop gc=4 del7 | x-start x-stop after=0 ", 0)
PY_CELL(callback_add_remove, output_sink,
        "pre-start add remove x-stop gc=2 del7 | x-start x-stop after=0 ", 0)
PY_CELL(callback_add_remove, get_objects, "add remove del7 | x-start x-stop after=2 ", 0)
PY_CELL(callback_add_remove, get_referrers, "add remove del7 | x-start x-stop after=2 ", 0)


/* ---- operations on the object being torn down itself ---------------------------
   From its destroy, or from its clear on decref, an object's count is zero:
   track and untrack are refused (D5), and so is a weakref to it.  (A weakref
   made in destroy: test_adversarial.c; track from clear on decref:
   test_reliability.c.) */

enum self_operation { SELF_TRACK, SELF_UNTRACK, SELF_WEAKREF_NEW };
static enum self_operation self_op;
static int self_errno;
static bool self_tracked;
static void *self_weakref;

static void operate_on_self(void *self)
{
    errno = 0;
    switch (self_op) {
    case SELF_TRACK: rcgc_track(self); break;
    case SELF_UNTRACK: rcgc_untrack(self); break;
    case SELF_WEAKREF_NEW: self_weakref = rcgc_weakref_new(self, weak_event, (void *)1); break;
    }
    self_errno = errno;
    self_tracked = rcgc_is_tracked(self);
}
static void clear_then_operate_on_self(void *self)
{
    node_clear(self);
    operate_on_self(self);
}
static const rcgc_type self_destroy_type = {.name = "selfdestroy", .size = sizeof(node),
                                            .traverse = node_traverse, .clear = node_clear,
                                            .destroy = operate_on_self};
static const rcgc_type self_clear_type = {.name = "selfclear", .size = sizeof(node),
                                          .traverse = node_traverse,
                                          .clear = clear_then_operate_on_self};

static const rcgc_type *self_type;
static void drop_self_operator(void)
{
    node *n = new_node(self_type, 1);
    link_slot(n, 0, new_node(&plain_type, 2));   /* something to clear */
    rcgc_decref(n->slot[0]);
    rcgc_decref(n);
}

static size_t tracked_count(void)
{
    size_t n = 0;
    rcgc_get_objects(-1, count_visit_fn, &n);
    return n;
}

/* The call is refused with EINVAL and changes nothing. */
static void check_refused(void)
{
    quiet_start();
    size_t baseline = rcgc_memory_in_use(), tracked = tracked_count();
    self_weakref = NULL;
    self_errno = 0;
    drop_self_operator();
    CHECK_EQ(self_errno, EINVAL);
    CHECK(!self_tracked);
    CHECK_PTR(self_weakref, NULL);
    CHECK_STR(events, "");
    CHECK_EQ(tracked_count(), tracked);
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), baseline);
}

/* Track and untrack: EINVAL in release builds, a misuse line in debug. */
static void self_cell(const rcgc_type *type, enum self_operation op, const char *misuse)
{
    self_type = type;
    self_op = op;
#ifdef RCGC_DEBUG
    if (op != SELF_WEAKREF_NEW) {
        char out[1024];
        int status = harness_run_child(drop_self_operator, out, sizeof out);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
        CHECK_CONTAINS(out, misuse);
        return;
    }
#else
    (void)misuse;
#endif
    check_refused();
}

TEST(track_self_from_destroy)
{
    self_cell(&self_destroy_type, SELF_TRACK,
              "rcgc: rcgc_track: object is being deallocated (count is zero): "
              "object <selfdestroy ");
}

TEST(untrack_self_from_destroy)
{
    self_cell(&self_destroy_type, SELF_UNTRACK,
              "rcgc: rcgc_untrack: object is being deallocated (count is zero): "
              "object <selfdestroy ");
}

TEST(untrack_self_from_clear_on_decref)
{
    self_cell(&self_clear_type, SELF_UNTRACK,
              "rcgc: rcgc_untrack: object is being deallocated (count is zero): "
              "object <selfclear ");
}

TEST(weakref_new_self_from_clear_on_decref)
{
    self_cell(&self_clear_type, SELF_WEAKREF_NEW, NULL);
}
