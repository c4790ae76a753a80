/*
 * Weak references, CPython 3.12 semantics.
 *
 * A weakref is itself a managed, tracked object (traverse reports nothing:
 * it holds no strong reference), so a weakref held only by garbage is garbage
 * and its callback never runs.  The weakrefs to one referent form a doubly
 * linked list, newest first; the list heads live in a side table keyed by the
 * referent's address, so objects never pay for a weak-list slot.  The
 * referent's TYPE_BIT_HAS_WEAKREFS says whether it has an entry (I4), so
 * deallocation of an object without weakrefs never touches the table.
 *
 * Invariants:
 *  W1  wr->referent != NULL iff wr is in the list of that referent.
 *  W2  A referent has a table entry iff its list is non-empty.
 *  W3  When a referent dies, every weakref to it is cleared before the first
 *      callback runs; callbacks then run newest first, each weakref kept alive
 *      by a reference of ours while its callback runs.
 *  W4  arg stays readable until the weakref is freed; release(arg), if set,
 *      runs exactly once, from the weakref's destroy, which every way a
 *      weakref dies goes through (last decref, collection, teardown).  clear
 *      drops the callback only, never arg or release.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

typedef struct weakref {
    void *referent;                     /* NULL once cleared */
    rcgc_weakref_callback_fn callback;
    void *arg;
    rcgc_release_fn release;            /* owns arg when set (W4) */
    struct weakref *newer, *older;      /* list of the referent, newest first */
} weakref;

/* ---- the side table: open addressing, linear probing, tombstones ------------ */

#define TOMBSTONE ((void *)1)

typedef struct slot {
    void *key;          /* referent; NULL empty; TOMBSTONE deleted */
    weakref *newest;
} slot;

struct weakref_table {
    slot *slots;
    size_t cap;         /* power of two */
    size_t used;        /* live keys */
    size_t filled;      /* live keys + tombstones */
};

static size_t hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return (size_t)x;
}

static slot *table_find(weakref_table *t, const void *key)
{
    if (!t || !t->cap) return NULL;
    for (size_t i = hash_ptr(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (t->slots[i].key == key) return &t->slots[i];
        if (!t->slots[i].key) return NULL;
    }
}

static void table_free(rcgc_state *S)
{
    weakref_table *t = S->weakrefs;
    rcgc__free(t->slots, t->cap * sizeof *t->slots);
    rcgc__free(t, sizeof *t);
    S->weakrefs = NULL;
}

/* Rehash into a larger array (or one of the same size when most of the
   fill is tombstones).  The allocation asks the hook, which may run a
   collection that changes the table or frees it: the table is read again
   once the array is in hand, and if it is no longer the one sized for, the
   array goes back and the caller looks again (returns 0 either way). */
static int table_grow(rcgc_state *S)
{
    weakref_table *t = S->weakrefs;
    size_t old_cap = t->cap;
    size_t cap = old_cap ? old_cap * 2 : 64;
    if (t->used * 4 < old_cap) cap = old_cap;
    slot *slots = rcgc__calloc(cap * sizeof *slots);
    if (!slots) return -1;
    t = S->weakrefs;
    if (!t || t->cap != old_cap) {
        rcgc__free(slots, cap * sizeof *slots);
        return 0;
    }
    for (size_t i = 0; i < t->cap; i++) {
        void *key = t->slots[i].key;
        if (!key || key == TOMBSTONE) continue;
        size_t j = hash_ptr(key) & (cap - 1);
        while (slots[j].key) j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    rcgc__free(t->slots, t->cap * sizeof *slots);
    t->slots = slots;
    t->cap = cap;
    t->filled = t->used;
    return 0;
}

/* The slot holding referent's list, made (empty) if it has none.  Every
   allocation may run a collection (see table_grow) that gives referent
   weakrefs or changes the table, so each step starts from the top. */
static slot *slot_for(rcgc_state *S, const void *referent)
{
    for (;;) {
        if (head_of(referent)->type_bits & TYPE_BIT_HAS_WEAKREFS)
            return table_find(S->weakrefs, referent);
        if (!S->weakrefs) {
            weakref_table *t = rcgc__calloc(sizeof *t);
            if (!t) return NULL;
            if (S->weakrefs) {   /* made meanwhile */
                rcgc__free(t, sizeof *t);
                continue;
            }
            S->weakrefs = t;
        }
        weakref_table *t = S->weakrefs;
        if ((t->filled + 1) * 4 > t->cap * 3) {
            if (table_grow(S) != 0) {
                if (S->weakrefs && S->weakrefs->used == 0) table_free(S);
                return NULL;
            }
            continue;
        }
        size_t i = hash_ptr(referent) & (t->cap - 1);
        while (t->slots[i].key && t->slots[i].key != TOMBSTONE) i = (i + 1) & (t->cap - 1);
        if (!t->slots[i].key) t->filled++;
        t->used++;
        t->slots[i] = (slot){(void *)referent, NULL};
        head_of(referent)->type_bits |= TYPE_BIT_HAS_WEAKREFS;
        return &t->slots[i];
    }
}

/* The last entry gone, the table goes too: memory in use returns to what it
   was before the first weakref. */
static void table_delete(weakref_table *t, slot *s)
{
    s->key = TOMBSTONE;
    s->newest = NULL;
    if (--t->used == 0) table_free(state());
}

/* ---- the weakref type --------------------------------------------------------- */

static int weakref_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    (void)self, (void)visit, (void)arg;
    return 0;
}

/* Take wr out of its referent's list (W1, W2). */
static void detach(weakref *wr)
{
    void *referent = wr->referent;
    if (!referent) return;
    if (wr->older) wr->older->newer = wr->newer;
    if (wr->newer) {
        wr->newer->older = wr->older;
    } else {
        slot *s = table_find(state()->weakrefs, referent);
        RCGC_ASSERT_OBJ(s && s->newest == wr, wr);
        if (wr->older) {
            s->newest = wr->older;
        } else {
            table_delete(state()->weakrefs, s);
            head_of(referent)->type_bits &= ~TYPE_BIT_HAS_WEAKREFS;
        }
    }
    wr->referent = NULL;
    wr->newer = wr->older = NULL;
}

static void weakref_clear(void *self)
{
    weakref *wr = self;
    detach(wr);
    wr->callback = NULL;
}

/* W4.  Clear ran before (detaching it from its referent); the release is
   taken off the weakref first so that nothing can run it twice. */
static void weakref_destroy(void *self)
{
    weakref *wr = self;
    rcgc_release_fn release = wr->release;
    wr->release = NULL;
    if (release) release(wr->arg);
}

const rcgc_type rcgc_weakref_type = {
    .name = "weakref",
    .size = sizeof(weakref),
    .traverse = weakref_traverse,
    .clear = weakref_clear,
    .destroy = weakref_destroy,
};

/* ---- public API ------------------------------------------------------------------ */

static void *weakref_new(rcgc_state *S, void *referent, rcgc_weakref_callback_fn callback,
                         void *arg, rcgc_release_fn release);

void *rcgc_weakref_new(void *referent, rcgc_weakref_callback_fn callback, void *arg)
{
    return weakref_new(state(), referent, callback, arg, NULL);
}

void *rcgc_weakref_new_with_release(void *referent, rcgc_weakref_callback_fn callback,
                                    void *arg, rcgc_release_fn release)
{
    return weakref_new(state(), referent, callback, arg, release);
}

void *rcgc_weakref_new_with_release_at(void *referent, rcgc_weakref_callback_fn callback,
                                       void *arg, rcgc_release_fn release, const char *file,
                                       int line, const char *func)
{
    rcgc_state *S = state();
    site_scope sc;
    site_enter(S, &sc, file, line, func, &rcgc_weakref_type, __builtin_frame_address(0));
    void *wr = weakref_new(S, referent, callback, arg, release);
    site_leave(S, &sc);
    return wr;
}

void *rcgc_weakref_new_at(void *referent, rcgc_weakref_callback_fn callback, void *arg,
                          const char *file, int line, const char *func)
{
    return rcgc_weakref_new_with_release_at(referent, callback, arg, NULL, file, line, func);
}

/* Ownership of arg passed at the call (W4): a failure releases it. */
static void *release_on_failure(rcgc_release_fn release, void *arg)
{
    int saved = errno;
    if (release) {
        /* User code inside the call, which goes on in this heap (state.c H4). */
        rcgc_state *S = state();
        S->calling_out++;
        release(arg);
        S->calling_out--;
    }
    errno = saved;
    return NULL;
}

static void *weakref_new(rcgc_state *S, void *referent, rcgc_weakref_callback_fn callback,
                         void *arg, rcgc_release_fn release)
{
    if (!referent) {
        errno = EINVAL;
        return release_on_failure(release, arg);
    }
    RCGC_CHECK_OBJECT(referent, "rcgc_weakref_new");
    if (head_of(referent)->refcnt == 0) {   /* being torn down: nothing to refer to */
        errno = EINVAL;
        return release_on_failure(release, arg);
    }
    weakref *wr = rcgc_new(&rcgc_weakref_type);
    if (!wr) return release_on_failure(release, arg);
    /* From here the weakref owns arg: freeing it releases it. */
    wr->arg = arg;
    wr->release = release;
    slot *s = slot_for(S, referent);
    if (!s) {
        int saved = errno;
        rcgc_decref(wr);
        errno = saved;
        return NULL;
    }
    wr->referent = referent;
    wr->callback = callback;
    wr->older = s->newest;
    if (s->newest) s->newest->newer = wr;
    s->newest = wr;
    return wr;
}

static weakref *as_weakref(const void *obj, const char *what)
{
    if (!obj) return NULL;
    RCGC_CHECK_OBJECT(obj, what);
    (void)what;
    if (head_type(head_of(obj)) != &rcgc_weakref_type) return NULL;
    return (weakref *)obj;
}

static void *peek_in(void *weakref_obj, const char *what)
{
    weakref *wr = as_weakref(weakref_obj, what);
    if (!wr) {
        errno = EINVAL;
        return NULL;
    }
    /* A referent at count zero is being torn down or waits in the
       deallocation queue: it is gone for every purpose. */
    if (!wr->referent || head_of(wr->referent)->refcnt == 0) return NULL;
    return wr->referent;
}

void *rcgc_weakref_arg(const void *weakref_obj)
{
    weakref *wr = as_weakref(weakref_obj, "rcgc_weakref_arg");
    if (!wr) {
        errno = EINVAL;
        return NULL;
    }
    return wr->arg;
}

void *rcgc_weakref_peek(void *weakref_obj)
{
    return peek_in(weakref_obj, "rcgc_weakref_peek");
}

void *rcgc_weakref_get(void *weakref_obj)
{
    void *referent = peek_in(weakref_obj, "rcgc_weakref_get");
    if (referent) rcgc_incref(referent);
    return referent;
}

size_t rcgc_weakref_count(const void *obj)
{
    if (!obj) return 0;
    RCGC_CHECK_OBJECT(obj, "rcgc_weakref_count");
    if (!(head_of(obj)->type_bits & TYPE_BIT_HAS_WEAKREFS)) return 0;
    slot *s = table_find(state()->weakrefs, obj);
    size_t n = 0;
    for (weakref *wr = s ? s->newest : NULL; wr; wr = wr->older)
        n += head_of(wr)->refcnt > 0;   /* a weakref waiting in the dealloc queue is gone */
    return n;
}

bool rcgc_is_weakref(const void *obj)
{
    return as_weakref(obj, "rcgc_is_weakref") != NULL;
}

/* ---- teardown paths ----------------------------------------------------------- */

/* Detach the whole list of obj; return it (newest first, linked by older). */
static weakref *take_list(void *obj)
{
    slot *s = table_find(state()->weakrefs, obj);
    RCGC_ASSERT_OBJ(s, obj);
    weakref *list = s->newest;
    table_delete(state()->weakrefs, s);
    head_of(obj)->type_bits &= ~TYPE_BIT_HAS_WEAKREFS;
    return list;
}

/* Clear one weakref of a taken list (W1); returns the next older one. */
static weakref *unhook(weakref *wr)
{
    weakref *older = wr->older;
    wr->referent = NULL;
    wr->newer = wr->older = NULL;
    return older;
}

void rcgc__weakrefs_clear_and_call(void *obj)
{
    /* W3: clear all first, keeping the ones that will call back alive with a
       reference of ours, chained through `newer` (free once detached). */
    weakref *to_call = NULL, *last = NULL;
    for (weakref *wr = take_list(obj), *older; wr; wr = older) {
        older = unhook(wr);
        if (wr->callback && head_of(wr)->refcnt > 0) {
            rcgc_incref(wr);
            if (last) last->newer = wr; else to_call = wr;
            last = wr;
        }
    }
    while (to_call) {
        weakref *wr = to_call;
        to_call = wr->newer;
        wr->newer = NULL;
        rcgc__weakref_run_callback(wr);
        rcgc_decref(wr);
    }
    /* A callback may have made new weakrefs to the object.  A dying one
       (count 0): clear those without calling back, as CPython does for
       weakrefs made in __del__.  A live one (heap teardown, which holds it)
       keeps them, for the teardown to clear and call back too. */
    while (head_of(obj)->refcnt == 0 && (head_of(obj)->type_bits & TYPE_BIT_HAS_WEAKREFS))
        for (weakref *wr = take_list(obj); wr; wr = unhook(wr)) {}
}

void rcgc__weakrefs_clear_for_gc(void *obj, weakref_chain *to_call, gc_link *old)
{
    for (weakref *wr = take_list(obj), *older; wr; wr = older) {
        older = unhook(wr);
        if (!wr->callback || head_of(wr)->refcnt == 0) continue;
        gc_link *g = link_of(wr);
        if (g->prev & PREV_COLLECTING) continue;   /* garbage itself: no callback */
        rcgc_incref(wr);
        /* Where CPython's handle_weakrefs leaves a live weakref once its
           callback ran.  Chained through `newer` (free once detached), not
           through the gc_link, which a callback may untrack. */
        if (link_tracked(g)) list_move(g, old);
        weakref *last = to_call->last;
        if (last) last->newer = wr; else to_call->first = wr;
        to_call->last = wr;
    }
}

size_t rcgc__weakrefs_call_back(weakref_chain *to_call)
{
    size_t freed = 0;
    while (to_call->first) {
        weakref *wr = to_call->first;
        to_call->first = wr->newer;
        if (!to_call->first) to_call->last = NULL;
        wr->newer = NULL;
        rcgc__weakref_run_callback(wr);
        freed += head_of(wr)->refcnt == 1;
        rcgc_decref(wr);
    }
    return freed;
}

void rcgc__weakref_clear_self(void *self)
{
    detach(self);
}

void rcgc__weakref_run_callback(void *self)
{
    weakref *wr = self;
    rcgc_weakref_callback_fn cb = wr->callback;
    wr->callback = NULL;
    if (cb) cb(wr, wr->arg);
}
