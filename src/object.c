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

rcgc_state rcgc__state;

void rcgc__state_init(void)
{
    rcgc_state *S = &rcgc__state;
    static const size_t thresholds[RCGC_NUM_GENERATIONS] = {700, 10, 10};
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) {
        list_init(&S->generations[i].head);
        S->generations[i].threshold = thresholds[i];
        S->generations[i].count = 0;
    }
    list_init(&S->permanent);
    S->enabled = true;
    S->initialized = true;
}

size_t rcgc__list_size(const gc_link *list)
{
    size_t n = 0;
    for (const gc_link *g = link_next(list); g != list; g = link_next(g)) n++;
    return n;
}

static inline size_t prefix_size(const rcgc_type *t)
{
    return sizeof(obj_head) + (type_is_gc(t) ? sizeof(gc_link) : 0);
}

static inline void *allocation_of(obj_head *h)
{
    return type_is_gc(head_type(h)) ? (void *)((gc_link *)h - 1) : (void *)h;
}

/* ---- misuse checks (debug builds) ---------------------------------------- */

#ifdef RCGC_DEBUG

/* Freed objects are kept, poisoned, for a while before their memory goes back,
   so that a late incref/decref finds OBJ_MAGIC_FREED rather than a new object. */
#define QUARANTINE_SLOTS 4096
static void *quarantine[QUARANTINE_SLOTS];
static size_t quarantine_next;

static void quarantine_put(void *mem)
{
    void *old = quarantine[quarantine_next];
    quarantine[quarantine_next] = mem;
    quarantine_next = (quarantine_next + 1) % QUARANTINE_SLOTS;
    if (old) rcgc__free_forgotten(old);
}

void rcgc__misuse(const char *what, const void *obj, const char *problem)
{
    const obj_head *h = head_of(obj);
    const rcgc_type *t = head_type(h);
    fprintf(stderr,
            "rcgc: %s: %s: object <%s %p> refcount %zu (allocation #%llu)\n",
            what, problem, t && t->name ? t->name : "?", obj, h->refcnt,
            (unsigned long long)h->serial);
    fflush(stderr);
    abort();
}

void rcgc__check_object(const void *obj, const char *what)
{
    const obj_head *h = head_of(obj);
    if (h->magic == OBJ_MAGIC_LIVE) return;
    if (h->magic == OBJ_MAGIC_FREED) rcgc__misuse(what, obj, "use of a freed object");
    fprintf(stderr, "rcgc: %s: %p is not a managed object\n", what, obj);
    fflush(stderr);
    abort();
}

void rcgc__check_not_inspecting(const void *obj, const char *what)
{
    if (rcgc__state.inspecting)
        rcgc__misuse(what, obj,
                     "called from a rcgc_get_objects / rcgc_get_referrers callback, "
                     "which must not free, track or untrack objects");
}

void rcgc__assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "rcgc: internal invariant failed: %s (%s:%d)\n", cond, file, line);
    fflush(stderr);
    abort();
}

#endif

/* ---- creation ----------------------------------------------------------- */

void *rcgc_new(const rcgc_type *type)
{
    if (!type || ((uintptr_t)type & TYPE_BITS_MASK)) {
        errno = EINVAL;
        return NULL;
    }
    rcgc_state *S = state();
    size_t prefix = prefix_size(type);
    if (type->size > SIZE_MAX - prefix) {
        errno = ENOMEM;
        return NULL;
    }
    char *mem = rcgc__calloc(prefix + type->size);
    if (!mem) return NULL;
    obj_head *h = (obj_head *)(mem + prefix - sizeof(obj_head));
    h->refcnt = 1;
    h->type_bits = (uintptr_t)type;
#ifdef RCGC_DEBUG
    h->magic = OBJ_MAGIC_LIVE;
    h->serial = ++S->serial;
#endif
    void *obj = body_of_head(h);
    if (type_is_gc(type)) {
        /* CPython 3.12's _PyObject_GC_Link: count, maybe collect, and only
           then track, so the new object never takes part in that collection. */
        gc_generation *young = &S->generations[0];
        young->count++;
        if (young->count > young->threshold && young->threshold && S->enabled &&
            !S->collecting && !S->inspecting)
            rcgc__maybe_collect();
        list_append(link_of(obj), &young->head);
    }
    return obj;
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

size_t rcgc_refcount(const void *obj)
{
    if (!obj) return 0;
    RCGC_CHECK_OBJECT(obj, "rcgc_refcount");
    return head_of(obj)->refcnt;
}

const rcgc_type *rcgc_typeof(const void *obj)
{
    if (!obj) {
        errno = EINVAL;
        return NULL;
    }
    RCGC_CHECK_OBJECT(obj, "rcgc_typeof");
    return head_type(head_of(obj));
}

/* ---- tracking ----------------------------------------------------------- */

static void track_young(void *obj)
{
    gc_link *g = link_of(obj);
    if (!g->next) list_append(g, &state()->generations[0].head);
}

void rcgc_track(void *obj)
{
    if (!obj) return;
    RCGC_CHECK_OBJECT(obj, "rcgc_track");
    RCGC_CHECK_NOT_INSPECTING(obj, "rcgc_track");
    if (type_is_gc(head_type(head_of(obj)))) track_young(obj);
}

void rcgc_untrack(void *obj)
{
    if (!obj) return;
    RCGC_CHECK_OBJECT(obj, "rcgc_untrack");
    RCGC_CHECK_NOT_INSPECTING(obj, "rcgc_untrack");
    if (!type_is_gc(head_type(head_of(obj)))) return;
    gc_link *g = link_of(obj);
    if (g->next) list_remove(g);
}

bool rcgc_is_tracked(const void *obj)
{
    if (!obj) return false;
    RCGC_CHECK_OBJECT(obj, "rcgc_is_tracked");
    return type_is_gc(head_type(head_of(obj))) && link_of(obj)->next != 0;
}

bool rcgc_is_finalized(const void *obj)
{
    if (!obj) return false;
    RCGC_CHECK_OBJECT(obj, "rcgc_is_finalized");
    return (head_of(obj)->type_bits & TYPE_BIT_FINALIZED) != 0;
}

/* ---- deallocation --------------------------------------------------------- */

static void free_object(obj_head *h)
{
    void *mem = allocation_of(h);
    const rcgc_type *t = head_type(h);
    size_t size = prefix_size(t) + t->size;
#ifdef RCGC_DEBUG
    h->magic = OBJ_MAGIC_FREED;
    rcgc__forget(mem, size);
    quarantine_put(mem);
#else
    rcgc__free(mem, size);
#endif
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
        if (gc) track_young(obj);
        t->finalize(obj);
        h->type_bits |= TYPE_BIT_FINALIZED;
        RCGC_ASSERT(h->refcnt > 0);
        if (--h->refcnt != 0) return;   /* resurrected: stays tracked */
        if (gc && link_of(obj)->next) list_remove(link_of(obj));
    }
    if (h->type_bits & TYPE_BIT_HAS_WEAKREFS) rcgc__weakrefs_clear_and_call(obj);
    RCGC_ASSERT(h->refcnt == 0);
    if (t->clear) t->clear(obj);
    if (t->destroy) t->destroy(obj);
    if (gc && S->generations[0].count > 0) S->generations[0].count--;
    free_object(h);
}

/* Tear down every object waiting in the deallocation queue. */
static void drain_pending(void)
{
    rcgc_state *S = &rcgc__state;
    S->dealloc_depth++;
    while (S->dealloc_pending) {
        gc_link *g = S->dealloc_pending;
        S->dealloc_pending = (gc_link *)g->next;
        g->next = 0;
        dealloc_one(S, (obj_head *)(g + 1));
    }
    S->dealloc_depth--;
}

/* CPython 3.12's _PyTrash_UNWIND_LEVEL: with the same limit, counted the
   same way (deallocations of tracked types in progress), deep cascades free
   their objects in CPython's order too.  Measured: dropping a long chain
   fits a 16 KiB thread stack (32 KiB under AddressSanitizer). */
#define DEALLOC_MAX_DEPTH 50

void rcgc__dealloc(obj_head *h)
{
    rcgc_state *S = &rcgc__state;
    RCGC_CHECK_NOT_INSPECTING(body_of_head(h), "rcgc_decref");
    if (!type_is_gc(head_type(h))) {
        dealloc_one(S, h);      /* holds no references: cannot cascade */
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
    if (S->dealloc_depth == 0 && S->dealloc_pending) drain_pending();
}
