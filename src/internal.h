/*
 * rcgc internals shared by the subsystems: the object header, the collector
 * state, generation lists.  docs/internals.md explains every choice.
 *
 * Memory layout of a managed object (addresses grow to the right):
 *
 *       [ gc_link: next | prev ][ obj_head: (debug words) refcnt | type ][ body ]
 *
 * The body pointer is what users hold.  refcnt and type sit at fixed negative
 * offsets from it for every object.  Objects of types with traverse use the
 * gc_link for the generation lists, as CPython's PyGC_Head; the others use it
 * for the heap's untracked list, so that teardown can find every object
 * (16 bytes CPython does not spend on its non-GC objects; Lua's allgc list
 * spends 8 for the same reason).
 *
 * Invariants (checked by RCGC_ASSERT in debug builds):
 *  I1  A live object has refcnt >= 1.  refcnt == 0 means "being deallocated":
 *      the object is finalizing, queued for deallocation or tearing down.
 *  I2  Every object has a gc_link.  An object of a type with traverse is
 *      tracked iff its next != 0 and its type word lacks UNTRACKED.  Outside
 *      a collection every tracked object is in exactly one of the lists
 *      generations[0..2] or permanent, and its prev word holds a plain
 *      pointer (no COLLECTING bit); every other live object is on the
 *      untracked list (state.h, H1 in state.c).  The exception: during a
 *      teardown, the objects its walks have visited wait on a private list
 *      (state.c), so no collection then holds every tracked object.
 *  I3  The type word's low bits are FINALIZED, HAS_WEAKREFS and UNTRACKED;
 *      the pointer is recovered by masking them.  FINALIZED is set once and
 *      never cleared.
 *  I4  HAS_WEAKREFS is set iff the weakref table holds a list for the object.
 *  I5  During phases 2-4 of a collection, the prev word of an object in the
 *      set being collected holds internal << PREV_SHIFT | COLLECTING (the
 *      references found inside the set), and the young list is singly linked
 *      through next (see collect.c).
 */
#ifndef RCGC_INTERNAL_H
#define RCGC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rcgc.h"
#include "alloc.h"
#include "ptrmap.h"
#include "trace.h"
#include "pages.h"

#define RCGC_NUM_GENERATIONS 3

/* ---- the header ------------------------------------------------------- */

typedef struct gc_link {
    uintptr_t next;   /* next in its list; 0 = on none */
    uintptr_t prev;   /* prev pointer, or internal refs << PREV_SHIFT | flags during a collection */
} gc_link;

typedef struct obj_head {
#ifdef RCGC_DEBUG
    uint64_t magic;       /* OBJ_MAGIC_LIVE or OBJ_MAGIC_FREED */
    uint64_t serial;      /* allocation number, for messages */
#endif
    size_t refcnt;
    uintptr_t type_bits;  /* const rcgc_type * | TYPE_BIT_* */
} obj_head;

#define OBJ_MAGIC_LIVE  UINT64_C(0x7263676331766c21)   /* "rcgc1vl!" */
#define OBJ_MAGIC_FREED UINT64_C(0x72636763dead0bad)

#define TYPE_BIT_FINALIZED    ((uintptr_t)1)
#define TYPE_BIT_HAS_WEAKREFS ((uintptr_t)2)
#define TYPE_BIT_UNTRACKED    ((uintptr_t)4)   /* a tracked-type object on state.untracked */
#define TYPE_BITS_MASK        ((uintptr_t)7)
_Static_assert(_Alignof(rcgc_type) >= 8, "three flag bits fit below a type pointer");

/* Low bits of gc_link.prev while collecting; the internal count lives above
   them.  Bit 1 (PREV_COUNTED) belongs to collect.c's one-pass count. */
#define PREV_COLLECTING ((uintptr_t)1)
#define PREV_SHIFT      2
#define PREV_MASK_FLAGS ((uintptr_t)3)

_Static_assert(sizeof(gc_link) % 16 == 0 || sizeof(void *) != 8, "gc_link keeps 16-byte alignment");
_Static_assert(sizeof(obj_head) % 16 == 0 || sizeof(void *) != 8, "obj_head keeps 16-byte alignment");

static inline obj_head *head_of(const void *obj)
{
    return (obj_head *)((char *)obj - sizeof(obj_head));
}
static inline void *body_of_head(obj_head *h)
{
    return (char *)h + sizeof(obj_head);
}
static inline const rcgc_type *head_type(const obj_head *h)
{
    return (const rcgc_type *)(h->type_bits & ~TYPE_BITS_MASK);
}
static inline bool type_is_gc(const rcgc_type *t)
{
    return t->traverse != NULL;
}
/* What an object of type t costs in rcgc_memory_in_use: header and body. */
static inline size_t object_size(const rcgc_type *t)
{
    return sizeof(gc_link) + sizeof(obj_head) + t->size;
}
static inline gc_link *link_of(const void *obj)
{
    return (gc_link *)((char *)obj - sizeof(obj_head) - sizeof(gc_link));
}
static inline void *body_of_link(gc_link *g)
{
    return (char *)g + sizeof(gc_link) + sizeof(obj_head);
}
static inline obj_head *link_head(gc_link *g)
{
    return (obj_head *)(g + 1);
}
/* Tracked by the collector (I2); only for objects of types with traverse. */
static inline bool link_tracked(const gc_link *g)
{
    return g->next && !(link_head((gc_link *)g)->type_bits & TYPE_BIT_UNTRACKED);
}
static inline gc_link *link_next(const gc_link *g)
{
    return (gc_link *)g->next;
}
static inline gc_link *link_prev(const gc_link *g)
{
    return (gc_link *)(g->prev & ~PREV_MASK_FLAGS);
}

/* ---- generation lists (circular, doubly linked, sentinel head) ---------- */

static inline void list_init(gc_link *list)
{
    list->next = list->prev = (uintptr_t)list;
}
static inline bool list_is_empty(const gc_link *list)
{
    return list->next == (uintptr_t)list;
}
static inline void list_append(gc_link *node, gc_link *list)
{
    gc_link *last = (gc_link *)list->prev;
    node->prev = (uintptr_t)last;
    node->next = (uintptr_t)list;
    last->next = (uintptr_t)node;
    list->prev = (uintptr_t)node;
}
static inline void list_remove(gc_link *node)
{
    gc_link *prev = link_prev(node), *next = link_next(node);
    prev->next = (uintptr_t)next;
    next->prev = (next->prev & PREV_MASK_FLAGS) | (uintptr_t)prev;
    node->next = node->prev = 0;
}
static inline void list_move(gc_link *node, gc_link *list)
{
    gc_link *prev = link_prev(node), *next = link_next(node);
    prev->next = (uintptr_t)next;
    next->prev = (next->prev & PREV_MASK_FLAGS) | (uintptr_t)prev;
    gc_link *last = (gc_link *)list->prev;
    node->prev = (node->prev & PREV_MASK_FLAGS) | (uintptr_t)last;
    last->next = (uintptr_t)node;
    node->next = (uintptr_t)list;
    list->prev = (uintptr_t)node;
}
static inline void list_merge(gc_link *from, gc_link *to)
{
    if (!list_is_empty(from)) {
        gc_link *tail = (gc_link *)to->prev;
        gc_link *first = (gc_link *)from->next, *last = (gc_link *)from->prev;
        tail->next = (uintptr_t)first;
        first->prev = (first->prev & PREV_MASK_FLAGS) | (uintptr_t)tail;
        last->next = (uintptr_t)to;
        to->prev = (uintptr_t)last;
    }
    list_init(from);
}
size_t rcgc__list_size(const gc_link *list);

#include "state.h"

/* ---- cross-subsystem entry points ---------------------------------------- */

/* object.c */
void rcgc__dealloc(obj_head *h);
/* The object's memory goes (it leaves the untracked list, if on it); no user
   code runs.  state.c's teardown calls it for what nothing else frees. */
void rcgc__free_object(rcgc_state *S, obj_head *h);
bool rcgc__env_flag(const char *name);   /* RCGC_* switches: on unless unset, empty or "0" */

/* collect.c */
size_t rcgc__collect_with_callbacks(int generation);
void rcgc__maybe_collect(void);
/* Each generation's trigger from its threshold and the policy's scale
   (state.h). */
void rcgc__schedule_triggers(rcgc_state *S);
#ifdef RCGC_STRESS
void rcgc__stress_collect(void);
#endif

/* collect_report.c: what the collector reports, and how */
void rcgc__printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One whole line to `out` (NULL: the sink of rcgc_set_output). */
void rcgc__print_to(rcgc_write_fn out, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int rcgc__garbage_append(void *obj);     /* takes a new reference */
void rcgc__garbage_clear(void);
void rcgc__invoke_callbacks(rcgc_phase phase, int generation,
                            size_t collected, size_t uncollectable);

/* census.c.  census_add is false if the table could not grow (the object
   must not be made).  The entry of the type's way is checked inline: a
   program making a few types pays a shift, a load, a compare and an add.
   While the tools observe births and deaths (leakcheck.c), nothing is
   cached, so the slow path, which tells them, runs every time. */
static inline census_entry **census_way(rcgc_state *S, const rcgc_type *t)
{
    /* Bits 7-9 of the address: a type is 128 bytes (abi.c), so types laid
       out next to each other (one array, one section) take different ways.
       (A multiplicative hash cost 3 instructions more a birth and a death:
       +4.5 % on binary trees.) */
    return &S->census_ways[((uintptr_t)t >> 7) & (CENSUS_WAYS - 1)];
}
void rcgc__census_forget_ways(rcgc_state *S);
bool rcgc__census_add_slow(rcgc_state *S, const rcgc_type *t, const void *obj);
void rcgc__census_remove_slow(rcgc_state *S, const rcgc_type *t, const void *obj);
size_t rcgc__census_count(const rcgc_state *S, const rcgc_type *t);
static inline bool census_add(rcgc_state *S, const rcgc_type *t, const void *obj)
{
    census_entry *e = *census_way(S, t);
    if (__builtin_expect(e->type == t, 1)) {
        e->count++;
        return true;
    }
    return rcgc__census_add_slow(S, t, obj);
}
static inline void census_remove(rcgc_state *S, const rcgc_type *t, const void *obj)
{
    census_entry *e = *census_way(S, t);
    if (__builtin_expect(e->type == t, 1))
        e->count--;
    else
        rcgc__census_remove_slow(S, t, obj);
}

/* A block for an object of `size` bytes (in_block) off the head page of its
   size class, counted; NULL when that page has none at hand. */
static inline void *block_take(rcgc_state *S, size_t size)
{
    block_page *pg = S->classes[block_class(size)].available;
    void *b = pg ? block_pop(pg) : NULL;
    if (__builtin_expect(b != NULL, 1)) {
        block_fit(b, size);
        S->bytes_in_use += size;
    }
    return b;
}

/* Objects' memory, its common case inline: block_take while no hook,
   tracer or stress build has to see it (alloc.c has the whole path).
   Uninitialised, like malloc's. */
static inline void *object_alloc(rcgc_state *S, size_t size)
{
#ifndef RCGC_STRESS
    if (__builtin_expect(in_block(size) && !S->alloc_hook && !S->memory_observed, 1)) {
        void *b = block_take(S, size);
        if (__builtin_expect(b != NULL, 1)) return b;
    }
#endif
    return rcgc__object_alloc(S, size);
}
static inline void object_free(rcgc_state *S, void *p, size_t size)
{
    if (__builtin_expect(in_block(size) && !S->memory_observed, 1)) {
        S->bytes_in_use -= size;
        block_page *pg = page_of_block(p);
        if (block_push(pg, p)) rcgc__block_freed_slow(S, pg);
        return;
    }
    rcgc__object_free(S, p, size);
}

/* trace.c */
void rcgc__memory_event(rcgc_state *S, const void *block, size_t size, const void *old,
                        size_t old_size);   /* alloc: old NULL; free: block NULL */
void rcgc__update_memory_observed(rcgc_state *S);
void rcgc__trace_setup(void);   /* RCGC_TRACEMALLOC, at state init */

/* The site of a public call, for the length of the call: the *_at entry
   points wrap their work in these.  A call without a site (file NULL: the
   plain function, or rcgc itself) keeps the site of the call around it. */
typedef struct site_scope {
    trace_site site;
    const rcgc_type *owner;
    void *frame;
    bool set;
} site_scope;
/* Unconditionally: the call's site replaces the one around it. */
static inline void site_push(rcgc_state *S, site_scope *sc, const char *file, int line,
                             const char *func, const rcgc_type *owner, void *frame)
{
    sc->set = true;
    sc->site = S->site;
    sc->owner = S->site_owner;
    sc->frame = S->entry_frame;
    S->site = (trace_site){file, func, line};
    S->site_owner = owner;
    S->entry_frame = frame;
}
static inline void site_enter(rcgc_state *S, site_scope *sc, const char *file, int line,
                              const char *func, const rcgc_type *owner, void *frame)
{
    sc->set = false;
    if (__builtin_expect(S->memory_observed && file, 0))
        site_push(S, sc, file, line, func, owner, frame);
}
static inline void site_leave(rcgc_state *S, const site_scope *sc)
{
    if (__builtin_expect(!sc->set, 1)) return;
    S->site = sc->site;
    S->site_owner = sc->owner;
    S->entry_frame = sc->frame;
}

/* leakcheck.c, called by census.c while state.tools_observing */
void rcgc__tools_note_new(rcgc_state *S, const void *obj);
void rcgc__tools_forget(rcgc_state *S, const void *obj);
/* RCGC_LEAK_REPORT=1: report what is alive at exit (called at state init). */
void rcgc__leak_report_setup(void);
void rcgc__leak_report_before_teardown(rcgc_state *S);   /* S is current */
/* obj's why-alive chain, each line after `indent`; rcgc_why_alive's result. */
int rcgc__print_chain(const void *obj, rcgc_write_fn out, void *arg, const char *indent);

/* monitor.c: one sample (collect.c calls it after full collections while
   monitor_on_full) */
typedef struct monitor monitor;
void rcgc__monitor_sample(rcgc_state *S);

/* weakref.c */
void rcgc__weakrefs_clear_and_call(void *obj);   /* dealloc path, teardown */
/* Collection path: clear every weakref to obj; chain those that must call
   back (alive, not themselves garbage) on `to_call`, each with a new ref,
   and move them to generation `old`.  call_back runs the chain's callbacks
   in order and returns how many weakrefs died right after theirs. */
typedef struct weakref_chain { struct weakref *first, *last; } weakref_chain;
void rcgc__weakrefs_clear_for_gc(void *obj, weakref_chain *to_call, gc_link *old);
size_t rcgc__weakrefs_call_back(weakref_chain *to_call);
void rcgc__weakref_clear_self(void *wr);         /* a weakref that is garbage */
void rcgc__weakref_run_callback(void *wr);

/* abi.c: the text of the optional type hooks (describe, name_ref), made one
   safe line.  Sizes of the buffers the hooks get, as the header says. */
#define RCGC_DESCRIBE_SIZE 80
#define RCGC_REF_NAME_SIZE 64
#define RCGC_LABEL_SIZE 256
/* The describe hook's text; false (buf "") without one or for a count of zero. */
bool rcgc__describe(const void *obj, char *buf, size_t size);
/* What messages show of obj between "<" and its address: the type's name,
   then its description if it has one.  buf is used only for the latter. */
const char *rcgc__label(const void *obj, char *buf, size_t size);
/* How `from` refers to `to`, its traverse's visit number `index`: the
   name_ref hook's text, else "#index".  Returns buf. */
const char *rcgc__ref_name(const void *from, const void *to, size_t index, char *buf,
                           size_t size);

/* ---- misuse checks --------------------------------------------------------- */

/* debug.c (debug builds only) */
#ifdef RCGC_DEBUG
/* Abort unless obj is a live managed object; never reads memory near a
   pointer rcgc did not allocate. */
void rcgc__check_object(const void *obj, const char *what);
void rcgc__debug_register(const void *obj);             /* a new object */
/* A freed one, held back; false if it could not be (the caller frees it). */
bool rcgc__debug_quarantine(void *mem, size_t size, const void *obj);
void rcgc__debug_release(rcgc_state *S);                 /* teardown */
/* Abort with one line: what was called, the problem, type, address, count. */
void rcgc__misuse(const char *what, const void *obj, const char *problem)
    __attribute__((noreturn));
#define RCGC_CHECK_OBJECT(obj, what) rcgc__check_object((obj), (what))
#define RCGC_ASSERT(cond) \
    ((cond) ? (void)0 : rcgc__assert_fail(#cond, __FILE__, __LINE__, NULL))
/* The same, naming the object the invariant is about. */
#define RCGC_ASSERT_OBJ(cond, obj) \
    ((cond) ? (void)0 : rcgc__assert_fail(#cond, __FILE__, __LINE__, (obj)))
void rcgc__assert_fail(const char *cond, const char *file, int line, const void *obj)
    __attribute__((noreturn));
#else
#define RCGC_CHECK_OBJECT(obj, what) ((void)0)
#define RCGC_ASSERT(cond) ((void)0)
#define RCGC_ASSERT_OBJ(cond, obj) ((void)0)
#endif

#endif
