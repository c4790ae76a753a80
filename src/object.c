/*
 * Managed objects: creation, reference counts and deallocation.
 *
 * A decref to zero runs, in order: finalize (once per object, ever; the object
 * is re-tracked at the young end of generation 0 meanwhile, and stays there if
 * the finalizer resurrects it), weakref clearing and callbacks, clear, destroy,
 * free.  This is CPython 3.12's subtype_dealloc order.
 *
 * Deallocation recurses, like CPython's, but only so deep: a tracked-type
 * object whose count reaches zero while DEALLOC_MAX_DEPTH deallocations of
 * tracked-type objects are already nested is pushed on state->dealloc_pending instead, linked through
 * its own gc_link (it is untracked by then, so the link is free), and the
 * outermost deallocation drains that stack when it returns.  This is CPython's
 * "trashcan", with its limit and its LIFO stack: a chain of any length is
 * freed in bounded stack, and cascades free their objects in CPython's order
 * (a child dies inside its parent's clear, so a weakref the parent still
 * holds to it calls back).  Objects of types without traverse hold no references,
 * so freeing them cannot cascade; they are freed at once.
 *
 * Queued objects have refcnt 0 (invariant I1); rcgc_weakref_get treats such a
 * referent as gone, so nothing can revive an object that is waiting its turn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "profile.h"
#include "container.h"


/* A switch in the environment: on unless unset, empty or "0". */
bool rcgc__env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

size_t rcgc__list_size(const gc_link *list)
{
    size_t n = 0;
    for (const gc_link *g = link_next(list); g != list; g = link_next(g)) n++;
    return n;
}

#define PREFIX_SIZE (sizeof(gc_link) + sizeof(obj_head))

/* ---- creation ----------------------------------------------------------- */

/* The header of a new object whose memory is mem, and then its list:
   common to both paths below. */
static inline __attribute__((always_inline)) void *init_head(char *mem, const rcgc_type *type)
{
    obj_head *h = (obj_head *)(mem + PREFIX_SIZE - sizeof(obj_head));
    h->refcnt = 1;
    h->type_bits = (uintptr_t)type;
    return body_of_head(h);
}
static inline __attribute__((always_inline)) void link_new(rcgc_state *S, void *obj,
                                                           const rcgc_type *type)
{
    list_append(link_of(obj), type_is_gc(type) ? &S->generations[0].head : &S->untracked);
}

/* A body of at most 64 bytes zeroed without a call: for a 16-byte body,
   memset's call cost more than the stores.  Only for blocks of the size
   classes, which round up to 16 bytes (the body starts 16-aligned), so the
   rounding up stays in the block. */
#if !defined(RCGC_DEBUG) && !defined(RCGC_STRESS)
static inline void zero_small_body(void *body, size_t size)
{
#ifdef RCGC_POISONS
    memset(body, 0, size);   /* exactly: the rest of the block is a redzone */
#else
    switch ((size + 15) / 16) {   /* each a few vector stores, inline */
    case 4: memset(body, 0, 64); break;
    case 3: memset(body, 0, 48); break;
    case 2: memset(body, 0, 32); break;
    case 1: memset(body, 0, 16); break;
    default: break;
    }
#endif
}
#endif

/* Whether generation 0 at `count` calls for an automatic collection now
   (CPython 3.12's _PyObject_GC_Link; a trigger of 0 means never). */
static inline bool young_collection_due(const rcgc_state *S, size_t count)
{
    const gc_generation *young = &S->generations[0];
    return count > young->trigger && young->trigger && S->enabled && !S->collecting;
}

/* The common case without a call, or NULL: a small body, a block at hand,
   a type the census's ways hold, no hook, tracer or debug checks to tell,
   and no collection due.  Everything else takes new_object. */
static inline __attribute__((always_inline)) void *new_object_fast(rcgc_state *S,
                                                                   const rcgc_type *type)
{
#if defined(RCGC_DEBUG) || defined(RCGC_STRESS)
    (void)S, (void)type;
    return NULL;
#else
    census_entry *counted;
    if (!type || (counted = *census_way(S, type))->type != type || type->size > 64 ||
        S->alloc_hook || S->memory_observed)
        return NULL;   /* census_none's type is NULL: an unmade type misses */
    if (type_is_gc(type) && young_collection_due(S, S->generations[0].count + 1))
        return NULL;
    char *mem = block_take(S, PREFIX_SIZE + type->size);
    if (!mem) return NULL;
    counted->count++;
    if (type_is_gc(type)) S->generations[0].count++;
    zero_small_body(mem + PREFIX_SIZE, type->size);
    void *obj = init_head(mem, type);
    link_new(S, obj, type);
    return obj;
#endif
}

static __attribute__((noinline)) void *new_object(rcgc_state *S, const rcgc_type *type)
{
    if (!type || ((uintptr_t)type & TYPE_BITS_MASK)) {
        errno = EINVAL;
        return NULL;
    }
    size_t prefix = PREFIX_SIZE;
    if (type->size > SIZE_MAX - prefix) {
        errno = ENOMEM;
        return NULL;
    }
    char *mem = object_alloc(S, prefix + type->size);
    if (!mem) return NULL;
    if (!census_add(S, type, mem + prefix)) {
        object_free(S, mem, prefix + type->size);
        errno = ENOMEM;
        return NULL;
    }
    memset(mem + prefix, 0, type->size);
    /* The header before the collection below: user code it runs (a gc
       callback ending a leak check) may read the object the census has
       already noted. */
    void *obj = init_head(mem, type);
    *(gc_link *)mem = (gc_link){0, 0};   /* on no list yet (the block is reused memory) */
#ifdef RCGC_DEBUG
    obj_head *h = head_of(obj);
    h->magic = OBJ_MAGIC_LIVE;
    h->serial = ++S->serial;
    rcgc__debug_register(obj);
#endif
    if (type_is_gc(type)) {
        /* CPython 3.12's _PyObject_GC_Link: count, maybe collect, and only
           then track, so the new object never takes part in that collection. */
        if (young_collection_due(S, ++S->generations[0].count)) rcgc__maybe_collect();
    }
    link_new(S, obj, type);
    return obj;
}

/* While memory is observed: the same, under the caller's site.  Apart, so
   that the path without tracing is new_object alone. */
static __attribute__((noinline)) void *new_object_at(rcgc_state *S, const rcgc_type *type,
                                                     const char *file, int line,
                                                     const char *func, void *entry_frame)
{
    site_scope sc;
    site_push(S, &sc, file, line, func, type, entry_frame);
    void *obj = new_object(S, type);
    site_leave(S, &sc);
    return obj;
}

void *rcgc_new_at(const rcgc_type *type, const char *file, int line, const char *func)
{
    rcgc_state *S = state();
    void *obj = new_object_fast(S, type);   /* NULL while memory is observed */
    if (__builtin_expect(obj != NULL, 1)) return obj;
    if (__builtin_expect(S->memory_observed && file, 0)) {
        /* The walk of unwind.c starts at this frame: no tail call may take
           it away while new_object_at runs. */
        obj = new_object_at(S, type, file, line, func, __builtin_frame_address(0));
        __asm__ volatile("" : "+r"(obj));
        return obj;
    }
    return new_object(S, type);
}

void *rcgc_new(const rcgc_type *type)
{
    rcgc_state *S = state();
    void *obj = new_object_fast(S, type);
    return obj ? obj : new_object(S, type);
}

/* ---- counts ------------------------------------------------------------- */

void rcgc_incref(void *obj)
{
    if (!obj) return;
    RCGC_CHECK_OBJECT(obj, "rcgc_incref");
#ifdef RCGC_DEBUG
    if (head_of(obj)->refcnt == 0)
        rcgc__misuse("rcgc_incref", obj, "object is being deallocated (count is zero)");
#endif
    head_of(obj)->refcnt++;
}

void rcgc_decref(void *obj)
{
    if (!obj) return;
    RCGC_CHECK_OBJECT(obj, "rcgc_decref");
    obj_head *h = head_of(obj);
#ifdef RCGC_DEBUG
    if (h->refcnt == 0) rcgc__misuse("rcgc_decref", obj, "refcount would go below zero");
#endif
    if (--h->refcnt == 0) rcgc__dealloc(h);
}

void rcgc_dealloc_at_zero_(void *obj)
{
    rcgc__dealloc(head_of(obj));
}

size_t rcgc_refcount(const void *obj)
{
    if (!obj) return 0;
    RCGC_CHECK_OBJECT(obj, "rcgc_refcount");
    return head_of(obj)->refcnt;
}

const rcgc_type *rcgc__typeof_in(const void *obj, const char *what)
{
    if (!obj) {
        errno = EINVAL;
        return NULL;
    }
    RCGC_CHECK_OBJECT(obj, what);
    (void)what;
    return head_type(head_of(obj));
}

const rcgc_type *rcgc_typeof(const void *obj)
{
    return rcgc__typeof_in(obj, "rcgc_typeof");
}

/* ---- tracking ----------------------------------------------------------- */

static void track_young(rcgc_state *S, void *obj)
{
    gc_link *g = link_of(obj);
    if (link_tracked(g)) return;
    if (g->next) list_remove(g);   /* from the untracked list */
    head_of(obj)->type_bits &= ~TYPE_BIT_UNTRACKED;
    list_append(g, &S->generations[0].head);
}

/* An object at count zero is being torn down, or waits in the deallocation
   queue with its gc_link in use as the queue's link: tracking it would leave
   freed memory in a generation, untracking it would cut the queue. */
static bool trackable(void *obj, const char *what)
{
    if (head_of(obj)->refcnt > 0) return true;
#ifdef RCGC_DEBUG
    rcgc__misuse(what, obj, "object is being deallocated (count is zero)");
#else
    (void)what;
#endif
    errno = EINVAL;
    return false;
}

void rcgc_track(void *obj)
{
    if (!obj) return;
    RCGC_CHECK_OBJECT(obj, "rcgc_track");
    if (trackable(obj, "rcgc_track") && type_is_gc(head_type(head_of(obj))))
        track_young(state(), obj);
}

void rcgc_untrack(void *obj)
{
    if (!obj) return;
    RCGC_CHECK_OBJECT(obj, "rcgc_untrack");
    if (!trackable(obj, "rcgc_untrack") || !type_is_gc(head_type(head_of(obj)))) return;
    gc_link *g = link_of(obj);
    if (!link_tracked(g)) return;
    list_remove(g);   /* clears the flags a running collection keeps in prev */
    head_of(obj)->type_bits |= TYPE_BIT_UNTRACKED;
    list_append(g, &state()->untracked);
}

bool rcgc_is_tracked(const void *obj)
{
    if (!obj) return false;
    RCGC_CHECK_OBJECT(obj, "rcgc_is_tracked");
    const obj_head *h = head_of(obj);
    return type_is_gc(head_type(h)) && h->refcnt > 0 && link_tracked(link_of(obj));
}

bool rcgc_is_finalized(const void *obj)
{
    if (!obj) return false;
    RCGC_CHECK_OBJECT(obj, "rcgc_is_finalized");
    return (head_of(obj)->type_bits & TYPE_BIT_FINALIZED) != 0;
}

/* ---- deallocation --------------------------------------------------------- */

/* The memory of an object off every list. */
static inline __attribute__((always_inline)) void free_memory(rcgc_state *S, obj_head *h,
                                                              const rcgc_type *t)
{
    void *mem = (gc_link *)h - 1;
    size_t size = object_size(t);
    census_remove(S, t, body_of_head(h));
#ifdef RCGC_DEBUG
    h->magic = OBJ_MAGIC_FREED;
    /* First: it keeps the site of its trace.  The memory goes back only
       after rcgc__forget_in, which reads the block's page. */
    bool held = rcgc__debug_quarantine(mem, size, body_of_head(h));
    rcgc__forget_in(S, mem, size);
    if (!held) rcgc__free_forgotten(S, mem, size);
#else
    object_free(S, mem, size);
#endif
}

void rcgc__free_object(rcgc_state *S, obj_head *h)
{
    gc_link *g = (gc_link *)h - 1;
    if (g->next) list_remove(g);   /* the untracked list, or teardown's survivors */
    free_memory(S, h, head_type(h));
}

/* The end of every deallocation, once finalize and the weakrefs are done:
   clear, destroy, generation 0's count, off the untracked list, the
   memory.  A tracked-type object is off its generation already. */
static inline __attribute__((always_inline)) void clear_and_free(rcgc_state *S, obj_head *h,
                                                                 const rcgc_type *t, bool gc)
{
    void *obj = body_of_head(h);
    RCGC_ASSERT_OBJ(h->refcnt == 0, obj);
    if (t->clear) t->clear(obj);
    if (t->destroy) t->destroy(obj);
    gc_link *g = (gc_link *)h - 1;
    RCGC_ASSERT_OBJ(!gc || !g->next, obj);
    if (g->next) list_remove(g);   /* the untracked list */
    if (gc && S->generations[0].count > 0) S->generations[0].count--;
    free_memory(S, h, t);
}

/* The dealloc_one frames whose finalizer is running, innermost first: a
   decref to zero of one of those objects is the finalizer dropping the
   reference its deallocation lent it (see dealloc_one). */
typedef struct finalizing {
    obj_head *h;
    struct finalizing *outer;
} finalizing;

static bool being_finalized(const rcgc_state *S, const obj_head *h)
{
    for (const finalizing *f = S->finalizing; f; f = f->outer)
        if (f->h == h) return true;
    return false;
}

/* Tear down one object whose count is zero.  Returns without freeing if the
   finalizer resurrected it. */
static void dealloc_one(rcgc_state *S, obj_head *h)
{
    void *obj = body_of_head(h);
    const rcgc_type *t = head_type(h);
    bool gc = type_is_gc(t);

    if (t->finalize && !(h->type_bits & TYPE_BIT_FINALIZED)) {
        h->refcnt = 1;
        if (gc) track_young(S, obj);
        finalizing frame = {h, S->finalizing};
        S->finalizing = &frame;
        t->finalize(obj);
        S->finalizing = frame.outer;
        h->type_bits |= TYPE_BIT_FINALIZED;
        /* A count of zero here means finalize dropped the lent reference
           (rcgc__dealloc refused to start a second teardown): carry on with
           this one, so the object dies once and finalize ran once. */
        if (h->refcnt != 0 && --h->refcnt != 0) return;   /* resurrected: stays tracked */
        if (gc && link_of(obj)->next) list_remove(link_of(obj));
    }
    if (h->type_bits & TYPE_BIT_HAS_WEAKREFS) rcgc__weakrefs_clear_and_call(obj);
    clear_and_free(S, h, t, gc);
}

/* ---- the deallocation queues -------------------------------------------------- */

/* CPython 3.12's _PyTrash_UNWIND_LEVEL: with the same limit, counted the
   same way (deallocations of tracked types in progress), deep cascades free
   their objects in CPython's order too.  Measured: dropping a long chain
   fits a 16 KiB thread stack (32 KiB under AddressSanitizer).  Objects of
   types without traverse are counted apart with the same limit, so that
   their order among tracked ones stays CPython's. */
#define DEALLOC_MAX_DEPTH 50

/* Objects without traverse hold no references, but their finalizers,
   weakref callbacks and destroy are user code that may release the next
   object, and so on: they too wait their turn past the limit.  They have no
   gc_link to be queued by, so they wait in chunks of this stack. */
#define PLAIN_CHUNK 254
struct plain_chunk {
    struct plain_chunk *below;
    size_t len;
    obj_head *items[PLAIN_CHUNK];
};

/* False if no chunk could be had: the caller then tears h down at once,
   which costs stack but loses nothing.  The chunk does not ask the hook: a
   deallocation is not the user's to refuse, and must not run more user code. */
static bool plain_push(rcgc_state *S, obj_head *h)
{
    plain_chunk *c = S->plain_pending;
    if (!c || c->len == PLAIN_CHUNK) {
        plain_chunk *fresh = rcgc__alloc_unasked(sizeof *fresh);
        if (!fresh) return false;
        fresh->below = c;
        fresh->len = 0;
        S->plain_pending = c = fresh;
    }
    c->items[c->len++] = h;
    return true;
}

static obj_head *plain_pop(rcgc_state *S)
{
    plain_chunk *c = S->plain_pending;
    obj_head *h = c->items[--c->len];
    if (c->len == 0) {
        S->plain_pending = c->below;
        rcgc__free(c, sizeof *c);
    }
    return h;
}

/* Tear down every tracked-type object waiting in the queue. */
static void drain_pending(rcgc_state *S)
{
    S->dealloc_depth++;
    while (S->dealloc_pending) {
        gc_link *g = S->dealloc_pending;
        S->dealloc_pending = (gc_link *)g->next;
        g->next = 0;
        dealloc_one(S, (obj_head *)(g + 1));
    }
    S->dealloc_depth--;
}

static void drain_plain(rcgc_state *S)
{
    S->plain_depth++;
    while (S->plain_pending) dealloc_one(S, plain_pop(S));
    S->plain_depth--;
}

/* The common case, whole: no finalizer to run, no weakrefs, no deallocation
   in progress that this one must queue behind.  One frame per object where
   the general path below takes three (measured: -10 % instructions on
   binary trees). */
static inline __attribute__((always_inline)) bool dealloc_fast(rcgc_state *S, obj_head *h)
{
#ifdef RCGC_DEBUG
    (void)S, (void)h;
    return false;
#else
    const rcgc_type *t = head_type(h);
    bool gc = type_is_gc(t);
    unsigned *depth = gc ? &S->dealloc_depth : &S->plain_depth;
    if (t->finalize || (h->type_bits & TYPE_BIT_HAS_WEAKREFS) || S->finalizing ||
        *depth >= DEALLOC_MAX_DEPTH)
        return false;
    gc_link *g = (gc_link *)h - 1;
    if (gc && g->next) list_remove(g);   /* its generation: as rcgc__dealloc does */
    ++*depth;
    clear_and_free(S, h, t, gc);
    --*depth;
    if (*depth == 0) {
        if (gc && S->dealloc_pending) drain_pending(S);
        if (!gc && S->plain_pending) drain_plain(S);
    }
    return true;
#endif
}

void rcgc__dealloc(obj_head *h)
{
    rcgc_state *S = state();
    if (dealloc_fast(S, h)) return;
    if (S->finalizing && being_finalized(S, h)) {
#ifdef RCGC_DEBUG
        rcgc__misuse("rcgc_decref", body_of_head(h),
                     "finalize dropped a reference it does not own");
#endif
        return;   /* dealloc_one, still in finalize, carries on */
    }
    if (!type_is_gc(head_type(h))) {
        if (S->plain_depth >= DEALLOC_MAX_DEPTH && plain_push(S, h)) return;
        S->plain_depth++;
        dealloc_one(S, h);
        S->plain_depth--;
        if (S->plain_depth == 0 && S->plain_pending) drain_plain(S);
        return;
    }
    gc_link *g = (gc_link *)h - 1;
    if (g->next) list_remove(g);
    if (S->dealloc_depth >= DEALLOC_MAX_DEPTH) {
        g->next = (uintptr_t)S->dealloc_pending;
        S->dealloc_pending = g;
        return;
    }
    S->dealloc_depth++;
    dealloc_one(S, h);
    S->dealloc_depth--;
    if (S->dealloc_depth == 0 && S->dealloc_pending) drain_pending(S);
}
