/*
 * The cycle collector: CPython 3.12's gc_collect_main, phase by phase.
 *
 *  1. merge the younger generations into the one collected ("young");
 *  2. update_refs:   mark every object of young as collected, with an
 *                    internal count of 0;
 *  3. count_refs:    for every reference between two objects of young, one
 *                    more internal reference for the target.  gc_refs =
 *                    refcnt - internal counts references from outside young
 *                    (a full collection with nothing frozen does 2 and 3 in
 *                    one pass: count_refs);
 *  4. move_unreachable: objects with gc_refs > 0 and everything reachable from
 *                    them stay; the rest move to "unreachable";
 *  5. survivors move to the next generation (long-lived bookkeeping);
 *  6. weakrefs to unreachable objects are cleared; callbacks run for the
 *     weakrefs that are not garbage themselves;
 *  7. finalizers run (once per object, ever);
 *  8. the unreachable set is examined again: objects a finalizer resurrected
 *     (and what they reach) survive, without a second finalizer call;
 *  9. the rest are cleared: type->clear on each, which drops their references
 *     so that counts reach zero and ordinary deallocation frees them.  What is
 *     still alive and still unreachable afterwards is held by a cycle no clear
 *     can break: uncollectable, it goes to the garbage list.
 *
 * Memory: the headers, and the optional prefetch arrays (scan_order).  The
 * internal count lives in the upper
 * bits of gc_link.prev during phases 2-4 (the young list is singly linked
 * meanwhile, through next), PREV_COLLECTING marks members of the collected set,
 * PREV_COUNTED those whose prev holds a count; a member moved to the
 * unreachable list holds a pointer there with PREV_COLLECTING alone.  next
 * carries no mark: nothing to strip before user code runs.
 * No user code runs during phases 2-4; from phase 6 on, user code (callbacks,
 * finalizers, clear) may free any object, so every loop re-reads the list
 * head instead of holding a cursor.
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "profile.h"

static inline const rcgc_type *link_type(gc_link *g) { return head_type(link_head(g)); }

/* prev holds a count (phases 2-4), not a pointer; see count_refs and
   in_unreachable. */
#define PREV_COUNTED ((uintptr_t)2)

#ifdef RCGC_DEBUG
/* CPython's validate_list, with a cost proportional to the collection: a
   debug build of a program that keeps many objects must not turn quadratic
   by checking the whole heap at every young collection.  So the lists a
   collection walks anyway (the generations it collects, its unreachable
   set) are checked whole; of the others only the ends, and of the next
   generation the tail its survivors were appended to. */

/* One member of a list: its header and its marks (I2, I5).  `collecting`
   says whether it must carry PREV_COLLECTING. */
static void validate_member(gc_link *g, bool collecting)
{
    void *obj = body_of_link(g);
    RCGC_ASSERT_OBJ(link_head(g)->magic == OBJ_MAGIC_LIVE, obj);
    RCGC_ASSERT_OBJ(link_head(g)->refcnt > 0, obj);
    RCGC_ASSERT_OBJ(type_is_gc(link_type(g)), obj);
    RCGC_ASSERT_OBJ(((g->prev & PREV_COLLECTING) != 0) == collecting, obj);
    RCGC_ASSERT_OBJ((g->prev & (uintptr_t)2) == 0, obj);   /* no PREV_COUNTED */
}

/* Every member, and every link both ways. */
static void validate_list(gc_link *list, bool collecting)
{
    gc_link *prev = list;
    for (gc_link *g = link_next(list); g != list; prev = g, g = link_next(g)) {
        validate_member(g, collecting);
        RCGC_ASSERT_OBJ(link_prev(g) == prev, body_of_link(g));
    }
    RCGC_ASSERT(link_prev(list) == prev);
}

/* The last `count` members of a list not being collected (all of them if
   it has fewer), walked from the young end, and its first member. */
static void validate_tail(gc_link *list, size_t count)
{
    gc_link *next = list;
    for (gc_link *g = link_prev(list); g != list && count > 0;
         next = g, g = link_prev(g), count--) {
        validate_member(g, false);
        RCGC_ASSERT_OBJ(link_next(g) == next, body_of_link(g));
    }
    gc_link *first = link_next(list);
    RCGC_ASSERT(link_prev(first) == list);
    if (first != list) validate_member(first, false);
}

/* Before and after collecting generations 0..generation: those whole (after
   the collection they hold what user code made meanwhile), the next one's
   last `kept` members (where everything the collection kept went), the ends
   of the rest. */
static void validate_generations(rcgc_state *S, int generation, size_t kept)
{
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) {
        gc_link *list = &S->generations[i].head;
        if (i <= generation)
            validate_list(list, false);
        else
            validate_tail(list, i == generation + 1 ? kept : 1);
    }
    validate_tail(&S->permanent, 1);
}
#define VALIDATE_LIST(list, collecting) validate_list((list), (collecting))
#define VALIDATE_GENERATIONS(S, generation, kept) validate_generations((S), (generation), (kept))
#else
#define VALIDATE_LIST(list, collecting) ((void)0)
#define VALIDATE_GENERATIONS(S, generation, kept) ((void)0)
#endif

/* While phases 2-4 run, prev counts the references found inside the
   collected set ("internal"); gc_refs, the references from outside, is read
   as refcnt - internal.  Counting up rather than down lets a full collection
   start counting an object before its own turn comes (see count_refs). */
static inline size_t gc_internal(const gc_link *g) { return g->prev >> PREV_SHIFT; }
static inline size_t gc_get_refs(gc_link *g)
{
    size_t refcnt = link_head(g)->refcnt, internal = gc_internal(g);
#ifdef RCGC_DEBUG
    if (internal > refcnt)
        rcgc__misuse("rcgc_collect", body_of_link(g),
                     "refcount is too small (traverse reports more references "
                     "than the count holds)");
#endif
    return refcnt - internal;
}
static inline void gc_set_refs(gc_link *g, size_t refs)
{
    size_t internal = link_head(g)->refcnt - refs;
    g->prev = (g->prev & PREV_MASK_FLAGS) | ((uintptr_t)internal << PREV_SHIFT);
}
static inline bool gc_is_collecting(const gc_link *g) { return (g->prev & PREV_COLLECTING) != 0; }

/* The gc_link of obj if its type has one and it is in the collected set. */
static inline gc_link *collecting_link(void *obj)
{
    RCGC_CHECK_OBJECT(obj, "traverse (reported by rcgc_collect)");
    if (!type_is_gc(head_type(head_of(obj)))) return NULL;
    gc_link *g = link_of(obj);
    return gc_is_collecting(g) ? g : NULL;
}

/* A full collection first copies its list into an array, in list order
   ("the scan order"), so that every later pass knows the objects to come
   and prefetches them: walking a list whose order has parted from memory
   order (after a collection reorders it, or on a libc heap whose free
   lists are shuffled) waits for one cache miss per object per pass.  The
   copy walks the list from both ends at once, two chains of misses instead
   of one, and prefetches along the previous full collection's survivors
   (state.scan_hints), which is what the oldest generation mostly still
   is, so that it waits for almost none.  None of these arrays changes what
   a collection does: they only say where to prefetch.  Every entry is
   compared, never followed, so one naming an object freed since is
   harmless; a collection that cannot get the memory (own allocation,
   state.own_refusal in tests) runs without. */
typedef struct scan_order {
    gc_link **items;
    size_t len, cap;
    size_t cursor;     /* hint_next: where the walk should be */
} scan_order;

/* How many objects ahead the passes prefetch. */
#define SCAN_AHEAD 16

/* The lines of an object of up to 48 bytes a pass reads: its link, header
   and body (two lines when it straddles them, as most do); the copy needs
   the link alone.  Every line fetched and not needed costs memory
   bandwidth, which bounds these passes once the misses overlap. */
enum fetch { FETCH_LINK, FETCH_OBJECT };

static inline void prefetch_object(const gc_link *g, enum fetch what)
{
    const char *p = (const char *)g;
    __builtin_prefetch(p, 1);
    if (what != FETCH_LINK) __builtin_prefetch(p + 47, 1);
}

/* Whether the list's first SCATTER_SAMPLE steps mostly jump further than a
   size-class page (pages.h): then its order has parted from memory order
   and the arrays pay for themselves.  A list in allocation order is walked
   well by the hardware's own prefetcher; one whose neighbours share pages
   (new objects take a page's freed blocks, in the order they were freed)
   stays in few TLB entries and in the cache's reach; a shorter list fits
   in the cache anyway.  With the distance a 4 KiB system page instead, the
   garbage 2-cycles built where the shuffled chain was freed took the
   arrays and 46.4 ns per object against 39.8 without (best of 3,
   mimalloc, load average 4-5). */
#define SCATTER_SAMPLE 256
#define SCATTER_DISTANCE PAGE_BYTES

/* Debug builds use the arrays in every full collection, so that every test
   and the conformance tester check that they change nothing. */
#ifdef RCGC_DEBUG
#define SCAN_ORDER_ALWAYS true
#else
#define SCAN_ORDER_ALWAYS false
#endif

static bool list_is_scattered(gc_link *list)
{
    unsigned far = 0, steps = 0;
    for (gc_link *g = link_next(list); steps < SCATTER_SAMPLE; steps++) {
        gc_link *next = link_next(g);
        if (next == list) return false;
        uintptr_t a = (uintptr_t)g, b = (uintptr_t)next;
        far += (a > b ? a - b : b - a) > SCATTER_DISTANCE;
        g = next;
    }
    return far > SCATTER_SAMPLE / 4;
}

/* How far past the cursor a hint search looks for the object reached:
   objects freed since the hints were taken leave gaps. */
#define HINT_WINDOW 4

/* g is the object a walk along `hints` reached; if the hints hold it at the
   cursor or a little further, move the cursor past it and prefetch the
   object SCAN_AHEAD further on.  Walking backwards, the cursor counts from
   the end. */
static inline void hint_step(scan_order *hints, const gc_link *g, enum fetch what,
                             bool backwards)
{
    size_t len = hints->len;
    size_t end = hints->cursor + HINT_WINDOW < len ? hints->cursor + HINT_WINDOW : len;
    for (size_t k = hints->cursor; k < end; k++)
        if (hints->items[backwards ? len - 1 - k : k] == g) {
            hints->cursor = k + 1;
            size_t ahead = k + SCAN_AHEAD;
            if (ahead < len) prefetch_object(hints->items[backwards ? len - 1 - ahead : ahead], what);
            return;
        }
}
static inline void hint_next(scan_order *hints, const gc_link *g, enum fetch what)
{
    hint_step(hints, g, what, false);
}

/* Phase 2: mark every member, internal count 0. */
static void update_refs(gc_link *young)
{
    for (gc_link *g = link_next(young); g != young; g = link_next(g)) {
        RCGC_ASSERT_OBJ(link_head(g)->refcnt > 0, body_of_link(g));
        g->prev = PREV_COUNTED | PREV_COLLECTING;
    }
}

/* Phase 3 counts through a small ring of pending targets: each target's
   header is prefetched when traverse reports it and counted COUNT_AHEAD
   reports later, so that many cache misses are in flight instead of one.
   Counting commutes, so the delay changes no result. */
#define COUNT_AHEAD 16

/* In a full collection with nothing frozen, every tracked object is a
   member, so phases 2 and 3 share one pass: a target can be counted before
   its own turn comes, and PREV_COUNTED tells an object whose count has
   started from one whose prev still holds its list pointer. */

typedef struct count_ring {
    void *pending[COUNT_AHEAD];
    unsigned pos;
    bool everything;    /* the one-pass count of a full collection */
} count_ring;

static inline void *ring_push(count_ring *ring, void *obj)
{
    __builtin_prefetch((char *)obj - sizeof(obj_head) - sizeof(gc_link), 1);
    void *due = ring->pending[ring->pos];
    ring->pending[ring->pos] = obj;
    ring->pos = (ring->pos + 1) % COUNT_AHEAD;
    return due;
}

/* One more internal reference for obj, if it is a member. */
static inline void count_now(void *obj, bool everything)
{
    if (!everything) {
        gc_link *g = collecting_link(obj);
        if (g) g->prev += (uintptr_t)1 << PREV_SHIFT;
        return;
    }
    RCGC_CHECK_OBJECT(obj, "traverse (reported by rcgc_collect)");
    if (!type_is_gc(head_type(head_of(obj)))) return;
    gc_link *g = link_of(obj);
    if (!link_tracked(g)) return;
    if (g->prev & PREV_COUNTED)
        g->prev += (uintptr_t)1 << PREV_SHIFT;
    else
        g->prev = PREV_COUNTED | PREV_COLLECTING | ((uintptr_t)1 << PREV_SHIFT);
}

static int visit_count(void *obj, void *ring_arg)
{
    count_ring *ring = ring_arg;
    void *due = ring_push(ring, obj);
    if (due) count_now(due, ring->everything);
    return 0;
}

static inline void count_one(gc_link *g, count_ring *ring)
{
    if (ring->everything && !(g->prev & PREV_COUNTED)) {
        RCGC_ASSERT_OBJ(link_head(g)->refcnt > 0, body_of_link(g));
        g->prev = PREV_COUNTED | PREV_COLLECTING;
    }
    link_type(g)->traverse(body_of_link(g), visit_count, ring);
}

/* Phase 3 (and phase 2 too, with `everything`).  The list is singly linked
   from here, but its members are those of the scan order, if any, in the
   same order. */
static void count_refs(gc_link *young, const scan_order *order, count_ring *ring)
{
    if (order->items) {
        gc_link **items = order->items;
        size_t len = order->len;
        for (size_t i = 0; i < len; i++) {
            if (i + SCAN_AHEAD < len) prefetch_object(items[i + SCAN_AHEAD], FETCH_OBJECT);
            count_one(items[i], ring);
        }
    } else {
        for (gc_link *g = link_next(young); g != young; g = link_next(g))
            count_one(g, ring);
    }
}

/* The counts still pending in the ring. */
static void count_pending(count_ring *ring)
{
    for (unsigned i = 0; i < COUNT_AHEAD; i++)
        if (ring->pending[i]) count_now(ring->pending[i], ring->everything);
}

static bool scan_order_wanted(rcgc_state *S, gc_link *list)
{
    return S->scan_order_forced ? S->scan_order_forced > 0
                                : SCAN_ORDER_ALWAYS || list_is_scattered(list);
}

/* The array's first size: `expected`, about how many objects the list
   holds (it grows if that was short). */
static size_t scan_order_cap(size_t expected)
{
    size_t most = SIZE_MAX / 4 / sizeof(gc_link *);
    return expected < 4096 ? 4096 : expected > most ? most : expected;
}

static gc_link **grow_items(gc_link **items, size_t *cap)
{
    gc_link **grown = *cap > SIZE_MAX / 4 / sizeof *items
                          ? NULL : rcgc__own_realloc(items, 2 * *cap * sizeof *items);
    if (grown) *cap *= 2;
    return grown;
}

/* Without hints: fills order with the list's members in list order,
   walking from both ends at once, or returns false and leaves it empty. */
static bool gather_from_both_ends(gc_link *list, size_t cap, const scan_order *hints,
                                  scan_order *order)
{
    *order = (scan_order){NULL, 0, 0, 0};
    size_t front = 0, back = cap;   /* items[back..cap) is the tail */
    gc_link **items = rcgc__own_realloc(NULL, cap * sizeof *items);
    if (!items) return false;
    scan_order ahead = *hints, behind = *hints;
    ahead.cursor = behind.cursor = 0;
    gc_link *f = link_next(list), *b = link_prev(list);
    while (f != list) {
        if (back - front < 2) {   /* room for this step's two */
            size_t tail = cap - back, old_cap = cap;
            gc_link **grown = grow_items(items, &cap);
            if (!grown) {
                rcgc__own_free(items);
                return false;
            }
            items = grown;
            memmove(items + cap - tail, items + old_cap - tail, tail * sizeof *items);
            back = cap - tail;
        }
        hint_next(&ahead, f, FETCH_LINK);
        items[front++] = f;
        if (f == b) break;
        hint_step(&behind, b, FETCH_LINK, true);
        items[--back] = b;
        f = link_next(f);
        if (f == b) break;
        b = link_prev(b);
    }
    memmove(items + front, items + back, (cap - back) * sizeof *items);
    *order = (scan_order){items, front + (cap - back), cap, 0};
    return true;
}

/* With hints and the one-pass count: one walk forward along the hints that
   counts each object as it copies it, one pass over the heap instead of
   two (a walk from the tail would need the prev words the count takes
   over).  The count always completes, the copy only if its memory comes:
   returns whether order holds the list. */
static bool gather_and_count(gc_link *list, size_t cap, const scan_order *hints,
                             count_ring *ring, scan_order *order)
{
    *order = (scan_order){NULL, 0, 0, 0};
    size_t len = 0;
    gc_link **items = rcgc__own_realloc(NULL, cap * sizeof *items);
    scan_order ahead = *hints;
    ahead.cursor = 0;
    for (gc_link *g = link_next(list); g != list; g = link_next(g)) {
        hint_next(&ahead, g, FETCH_OBJECT);
        if (items && len == cap) {
            gc_link **grown = grow_items(items, &cap);
            if (!grown) rcgc__own_free(items);
            items = grown;
        }
        if (items) items[len++] = g;
        count_one(g, ring);
    }
    if (items) *order = (scan_order){items, len, cap, 0};
    return items != NULL;
}

/* What the unreachable set needs from the later phases, gathered as
   move_unreachable moves objects there, so that phases with nothing to do
   cost no pass of their own.  The flags may stay set for an object brought
   back later: a phase then walks the list and finds nothing to do. */
typedef struct unreachable_summary {
    size_t count;
    bool has_weakrefs;      /* weakrefs to members, or members that are weakrefs */
    bool has_finalizers;    /* members with a finalizer not yet run */
} unreachable_summary;

typedef struct reach_walk {
    gc_link *young;
    unreachable_summary *sum;
} reach_walk;

/* An object whose prev holds a count carries PREV_COUNTED as well as
   PREV_COLLECTING; one moved to the unreachable list holds a pointer there
   (16-aligned, so bit 1 is clear) with PREV_COLLECTING.  That tells the
   two apart without marking next, so no pass has to strip marks before
   user code runs (CPython marks next and strips them in a pass of its
   own). */
static inline bool in_unreachable(const gc_link *g) { return !(g->prev & PREV_COUNTED); }

/* Tell move_unreachable that obj is reachable: if it was already moved to
   the unreachable list, bring it back to the end of young to be scanned. */
static int visit_reachable(void *obj, void *walk_arg)
{
    gc_link *g = collecting_link(obj);
    if (!g) return 0;   /* another generation, or already scanned */
    if (in_unreachable(g)) {
        reach_walk *walk = walk_arg;
        gc_link *young = walk->young;
        gc_link *prev = link_prev(g), *next = link_next(g);
        prev->next = g->next;
        next->prev = (next->prev & PREV_MASK_FLAGS) | (uintptr_t)prev;
        gc_link *last = (gc_link *)young->prev;
        last->next = (uintptr_t)g;
        g->next = (uintptr_t)young;
        young->prev = (uintptr_t)g;
        g->prev = PREV_COUNTED | PREV_COLLECTING;
        gc_set_refs(g, 1);
        walk->sum->count--;
    } else if (gc_get_refs(g) == 0) {
        gc_set_refs(g, 1);
    }
    return 0;
}

/* Invariant while scanning: everything left of g in young is reachable and
   scanned, with a plain prev pointer; everything in unreachable had gc_refs 0
   when reached.  Returns the reachable count; *sum describes the
   unreachable list. */
static size_t move_unreachable(gc_link *young, gc_link *unreachable, scan_order *order,
                               scan_order *moved, unreachable_summary *sum)
{
    gc_link *prev = young;
    gc_link *g = link_next(young);
    size_t reachable = 0;
    *sum = (unreachable_summary){0, false, false};
    reach_walk walk = {young, sum};
    /* The objects of the scan order come first, in its order: until the
       scan passes them g is items[i].  The ones that stay are written over
       its front (kept <= i), so that it ends as young's new order, the next
       full collection's hints; the ones moved to unreachable go to `moved`,
       the later phases' hints (with the few brought back, which the hints
       skip). */
    size_t i = 0, kept = 0;
    while (g != young) {
        if (i < order->len) {
            RCGC_ASSERT(order->items[i] == g);
            if (i + SCAN_AHEAD < order->len)
                prefetch_object(order->items[i + SCAN_AHEAD], FETCH_OBJECT);
            i++;
        }
        if (gc_get_refs(g)) {
            if (kept < order->len) order->items[kept++] = g;
            link_type(g)->traverse(body_of_link(g), visit_reachable, &walk);
            g->prev = (uintptr_t)prev;   /* also drops COLLECTING */
            prev = g;
            reachable++;
        } else {
            if (moved->len < moved->cap) moved->items[moved->len++] = g;
            obj_head *h = link_head(g);
            const rcgc_type *t = head_type(h);
            sum->count++;
            if ((h->type_bits & TYPE_BIT_HAS_WEAKREFS) || t == &rcgc_weakref_type)
                sum->has_weakrefs = true;
            if (t->finalize && !(h->type_bits & TYPE_BIT_FINALIZED)) sum->has_finalizers = true;
            prev->next = g->next;
            gc_link *last = (gc_link *)unreachable->prev;
            last->next = (uintptr_t)g;
            g->prev = PREV_COLLECTING | (uintptr_t)last;
            g->next = (uintptr_t)unreachable;
            unreachable->prev = (uintptr_t)g;
        }
        g = (gc_link *)prev->next;
    }
    young->prev = (uintptr_t)prev;
    order->len = kept;
    return reachable;
}

/* `everything` says young holds every tracked object (a full collection
   with nothing frozen, outside teardown), which allows the one-pass count.  `order` is
   young's scan order or empty; it comes back as young's new order, and
   `moved` as the unreachable list's (as much as its room holds).  A ring
   that comes in has counted young already (gather_and_count). */
static size_t deduce_unreachable(gc_link *young, gc_link *unreachable, bool everything,
                                 scan_order *order, scan_order *moved, count_ring *counted,
                                 unreachable_summary *sum)
{
    count_ring ring = {{0}, 0, everything};
    if (!counted) {
        if (!everything) update_refs(young);
        count_refs(young, order, &ring);
        counted = &ring;
    }
    count_pending(counted);
    list_init(unreachable);
    return move_unreachable(young, unreachable, order, moved, sum);
}

/* DEBUG_COLLECTABLE's lines. */
static void print_collectable(gc_link *unreachable)
{
    for (gc_link *g = link_next(unreachable); g != unreachable; g = link_next(g)) {
        char label[RCGC_LABEL_SIZE];
        rcgc__printf("gc: collectable <%s %p>\n",
                     rcgc__label(body_of_link(g), label, sizeof label), body_of_link(g));
    }
}

/* Phase 6.  Returns the number of weakrefs freed right after their callback:
   they were reachable, so nothing else counts them (CPython does the same). */
static size_t handle_weakrefs(gc_link *unreachable, gc_link *old, scan_order *hints)
{
    weakref_chain to_call = {NULL, NULL};
    hints->cursor = 0;
    for (gc_link *g = link_next(unreachable); g != unreachable; g = link_next(g)) {
        hint_next(hints, g, FETCH_OBJECT);
        obj_head *h = link_head(g);
        if (head_type(h) == &rcgc_weakref_type) rcgc__weakref_clear_self(body_of_link(g));
        if (h->type_bits & TYPE_BIT_HAS_WEAKREFS)
            rcgc__weakrefs_clear_for_gc(body_of_link(g), &to_call, old);
    }
    return rcgc__weakrefs_call_back(&to_call);
}

/* Phase 7.  Returns whether any finalizer ran (if none did, no user code
   that could resurrect anything ran, and phase 8 is skipped). */
static bool finalize_garbage(gc_link *unreachable, scan_order *hints)
{
    gc_link seen;
    list_init(&seen);
    bool ran = false;
    hints->cursor = 0;
    while (!list_is_empty(unreachable)) {
        gc_link *g = link_next(unreachable);
        hint_next(hints, g, FETCH_OBJECT);
        list_move(g, &seen);
        obj_head *h = link_head(g);
        const rcgc_type *t = head_type(h);
        if (t->finalize && !(h->type_bits & TYPE_BIT_FINALIZED)) {
            h->type_bits |= TYPE_BIT_FINALIZED;
            void *obj = body_of_link(g);
            rcgc_incref(obj);
            t->finalize(obj);
            rcgc_decref(obj);
            ran = true;
        }
    }
    list_merge(&seen, unreachable);
    return ran;
}

/* Phase 8: run the reachability analysis again on the unreachable set alone;
   whatever now has outside references was resurrected.  Returns the size of
   what is still unreachable. */
static size_t handle_resurrected(gc_link *unreachable, gc_link *still_unreachable,
                                 gc_link *old)
{
    for (gc_link *g = link_next(unreachable); g != unreachable; g = link_next(g))
        g->prev &= ~PREV_COLLECTING;
    scan_order none = {NULL, 0, 0, 0};
    unreachable_summary sum;
    deduce_unreachable(unreachable, still_unreachable, false, &none, &none, NULL, &sum);
    list_merge(unreachable, old);
    return sum.count;
}

/* Phase 9.  Returns the number of uncollectable objects (appended to the
   garbage list and moved to old). */
static size_t delete_garbage(rcgc_state *S, gc_link *collectable, gc_link *old,
                             scan_order *hints)
{
    gc_link survivors, stuck;
    list_init(&survivors);
    bool saveall = S->debug & RCGC_DEBUG_SAVEALL;
    hints->cursor = 0;
    while (!list_is_empty(collectable)) {
        gc_link *g = link_next(collectable);
        hint_next(hints, g, FETCH_OBJECT);
        void *obj = body_of_link(g);
        const rcgc_type *t = link_type(g);
        if (saveall) {
            rcgc__garbage_append(obj);
        } else if (t->clear) {
            rcgc_incref(obj);
            t->clear(obj);
            rcgc_decref(obj);
        }
        if (link_next(collectable) == g) {
            if (saveall) {
                g->prev &= ~PREV_COLLECTING;
                list_move(g, old);
            } else {
                list_move(g, &survivors);   /* a later clear may still free it */
            }
        }
    }
    if (list_is_empty(&survivors)) return 0;
    /* Survivors that something outside references again (a finalizer run by
       a clear revived one through a weakref made late) simply live on in old,
       as in CPython.  Those still unreachable after every clear ran are held
       by cycles no clear can break: uncollectable. */
    size_t n = handle_resurrected(&survivors, &stuck, old);
    /* Print every line before the garbage list changes, as CPython does: the
       output sink is user code and may look at the list. */
    if (S->debug & RCGC_DEBUG_UNCOLLECTABLE)
        for (gc_link *g = link_next(&stuck); g != &stuck; g = link_next(g)) {
            char label[RCGC_LABEL_SIZE];
            rcgc__printf("gc: uncollectable <%s %p>\n",
                         rcgc__label(body_of_link(g), label, sizeof label), body_of_link(g));
        }
    while (!list_is_empty(&stuck)) {
        gc_link *g = link_next(&stuck);
        g->prev &= ~PREV_COLLECTING;
        list_move(g, old);
        rcgc__garbage_append(body_of_link(g));
    }
    return n;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t collect_main(rcgc_state *S, int generation, size_t *collected,
                           size_t *uncollectable)
{
    double t0 = 0;
    if (S->debug & RCGC_DEBUG_STATS) {
        rcgc__printf("gc: collecting generation %d...\n", generation);
        rcgc__printf("gc: objects in each generation: %zu %zu %zu\n",
                     rcgc__list_size(&S->generations[0].head),
                     rcgc__list_size(&S->generations[1].head),
                     rcgc__list_size(&S->generations[2].head));
        rcgc__printf("gc: objects in permanent generation: %zu\n",
                     rcgc__list_size(&S->permanent));
        t0 = now_seconds();
    }
    VALIDATE_GENERATIONS(S, generation, 1);
    size_t young_count = S->generations[0].count;   /* about the size of generation 0 */
    if (generation + 1 < RCGC_NUM_GENERATIONS) S->generations[generation + 1].count += 1;
    for (int i = 0; i <= generation; i++) S->generations[i].count = 0;
    for (int i = 0; i < generation; i++)
        list_merge(&S->generations[i].head, &S->generations[generation].head);

    gc_link *young = &S->generations[generation].head;
    gc_link *old = generation + 1 < RCGC_NUM_GENERATIONS
                       ? &S->generations[generation + 1].head : young;
    gc_link unreachable, final_unreachable;
    /* Teardown's walks hold the object they visit on a private list, and
       user code they run may collect: then not every tracked object is in
       young. */
    bool everything = young == old && list_is_empty(&S->permanent) && !S->tearing_down;
    /* The prefetch arrays (see scan_order): a full collection gathers
       young's order along the previous one's hints, and leaves its own; the
       previous hints' memory takes the unreachable list's order. */
    scan_order order = {NULL, 0, 0, 0}, moved = {NULL, 0, 0, 0};
    count_ring ring = {{0}, 0, everything}, *counted = NULL;
    if (young == old) {
        scan_order hints = {S->scan_hints, S->scan_hints_len, S->scan_hints_cap, 0};
        S->scan_hints = NULL;
        S->scan_hints_len = S->scan_hints_cap = 0;
        bool gathered = false;
        if (scan_order_wanted(S, young)) {
            size_t cap = scan_order_cap(S->long_lived_total + S->long_lived_pending +
                                        young_count * 9 / 8 + 1024);
            if (everything && hints.len) {
                gathered = gather_and_count(young, cap, &hints, &ring, &order);
                counted = &ring;
            } else {
                gathered = gather_from_both_ends(young, cap, &hints, &order);
            }
        }
        if (gathered) {
            moved = hints;
            moved.len = 0;
            if (!moved.items && (moved.items = rcgc__own_realloc(NULL, order.len * sizeof *moved.items)))
                moved.cap = order.len;
        } else {
            rcgc__own_free(hints.items);
        }
    }
    unreachable_summary sum;
    size_t reachable = deduce_unreachable(young, &unreachable, everything, &order, &moved,
                                          counted, &sum);
    if (order.items) {   /* young's order now: the next full collection's hints */
        S->scan_hints = order.items;
        S->scan_hints_len = order.len;
        S->scan_hints_cap = order.cap;
    }
    VALIDATE_LIST(young, false);
    VALIDATE_LIST(&unreachable, true);
    if (young != old) {
        if (generation == RCGC_NUM_GENERATIONS - 2) S->long_lived_pending += reachable;
        list_merge(young, old);
    } else {
        S->long_lived_pending = 0;
        S->long_lived_total = reachable;
    }
    S->last_examined = reachable + sum.count;   /* for the throughput policy */
    if (S->debug & RCGC_DEBUG_COLLECTABLE) print_collectable(&unreachable);

    size_t m = sum.has_weakrefs ? handle_weakrefs(&unreachable, old, &moved) : 0;
    size_t found = sum.count;
    list_init(&final_unreachable);
    if (sum.has_finalizers && finalize_garbage(&unreachable, &moved))
        found = handle_resurrected(&unreachable, &final_unreachable, old);
    else
        list_merge(&unreachable, &final_unreachable);
    size_t n = delete_garbage(S, &final_unreachable, old, &moved);
    rcgc__own_free(moved.items);
    m += found - n;

    if (S->debug & RCGC_DEBUG_STATS)
        rcgc__printf("gc: done, %zu unreachable, %zu uncollectable, %.4fs elapsed\n",
                     n + m, n, now_seconds() - t0);
    VALIDATE_GENERATIONS(S, generation, reachable + sum.count);
    rcgc_gen_stats *st = &S->stats[generation];
    st->collections++;
    st->collected += m;
    st->uncollectable += n;
    *collected = m;
    *uncollectable = n;
    return n + m;
}

size_t rcgc__collect_with_callbacks(int generation)
{
    rcgc_state *S = state();
    size_t collected = 0, uncollectable = 0;
    /* A collection counts deallocation depth from zero, even when it runs
       inside a deep deallocation (a finalizer allocated or called
       rcgc_collect): what its callbacks, finalizers and clears free is freed
       before they return, so no object waiting in the deallocation queue
       holds references that would pass for outside ones.  Collections do not
       nest, so the stack stays bounded. */
    unsigned outer_depth = S->dealloc_depth, outer_plain = S->plain_depth;
    S->dealloc_depth = S->plain_depth = 0;
    rcgc__invoke_callbacks(RCGC_PHASE_START, generation, 0, 0);
    double t0 = S->capturing ? now_seconds() : 0;
    size_t n = collect_main(S, generation, &collected, &uncollectable);
    if (S->capturing)   /* the capture file's collection record, with its pause */
        rcgc__capture_on_collection(S, generation, now_seconds() - t0, collected, uncollectable);
    rcgc__invoke_callbacks(RCGC_PHASE_STOP, generation, collected, uncollectable);
    if (S->monitor_on_full && generation == RCGC_NUM_GENERATIONS - 1) rcgc__monitor_sample(S);
    S->dealloc_depth = outer_depth;
    S->plain_depth = outer_plain;
    return n;
}

size_t rcgc_collect(int generation)
{
    rcgc_state *S = state();
    if (generation < 0 || generation >= RCGC_NUM_GENERATIONS) {
        errno = EINVAL;
        return 0;
    }
    /* As in CPython, a collection asked for while one runs does nothing. */
    if (S->collecting) {
        errno = EBUSY;
        return 0;
    }
    S->collecting = true;
    size_t n = rcgc__collect_with_callbacks(generation);
    S->collecting = false;
    return n;
}

/* The throughput policy stretches a generation's interval while its
   collections find (almost) nothing, and shrinks it when they find much: a
   collection's cost is its survivors, so an interval that holds no garbage
   only repeats the work, and one that holds much keeps memory waiting.
   Generation 0's interval stays between its threshold and 2^6 times it
   (44,800 objects at CPython's 700), but grows past 2^3 times it only
   while what its collections look at stays within that, or while what
   they promote dies young (see adapt): a young generation of more than
   about 5,600 survivors no longer fits the caches, and each of them cost
   twice as much to look at (45 against 20 ns on bench/retain.c;
   BENCHMARKS "Collection share"), while a long interval lets the parts of
   structures being built die by their counts before a collection sees
   them (binary trees).  Generations 1 and 2, counted in collections of
   the generation below, range from 2^-3 to 2^6 and 2^3 times theirs:
   stretched, survivors are not walked again and again while a structure
   is built; shrunk, cyclic garbage promoted while it was being built
   (trees, documents) waits less.  The bounds keep every garbage cycle
   found eventually; the 25 % rule still guards full collections. */
static const int scale_least[RCGC_NUM_GENERATIONS] = {0, -3, -3};
static const int scale_most[RCGC_NUM_GENERATIONS] = {6, 6, 3};
#define YOUNG_CACHED_SCALE 3   /* what a young collection looks at: 2^3 x threshold */

static size_t scaled(size_t threshold, int scale)
{
    if (scale < 0) return threshold >> -scale ? threshold >> -scale : threshold ? 1 : 0;
    return threshold > (SIZE_MAX >> scale) ? SIZE_MAX : threshold << scale;
}

void rcgc__schedule_triggers(rcgc_state *S)
{
    bool throughput = S->policy == RCGC_POLICY_THROUGHPUT;
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) {
        gc_generation *g = &S->generations[i];
        g->trigger = scaled(g->threshold, throughput ? g->scale : 0);
    }
}

/* After an automatic collection of `generation` that looked at `examined`
   objects and found `found` unreachable, generation 0's count having been
   `counted`. */
static void adapt(rcgc_state *S, int generation, size_t examined, size_t counted,
                  size_t found)
{
    if (S->policy != RCGC_POLICY_THROUGHPUT) return;
    /* Whether what young collections promote lives on: a collection of
       generation 1 that looks at fewer than half the objects promoted since
       the last one (and the young ones now) says they died by their counts
       meanwhile, so that they were parts of structures being built, which a
       longer young interval would let die before any collection sees them
       (binary trees); if most live on (a structure kept), a longer interval
       only makes a young generation too big for the caches. */
    if (generation == 0) {
        S->promoted += examined - found;
    } else {
        if (generation == 1) S->survivors_die_young = examined * 2 < S->promoted + counted;
        S->promoted = 0;
    }
    int *scale = &S->generations[generation].scale;
    bool fits = generation != 0 || S->survivors_die_young ||
                examined <= scaled(S->generations[0].threshold, YOUNG_CACHED_SCALE);
    if (found * 8 <= examined && fits && *scale < scale_most[generation])
        ++*scale;                          /* 1/8 or less was garbage: wait longer */
    else if (found * 2 >= examined && examined && *scale > scale_least[generation])
        --*scale;                          /* half or more was: come sooner */
    rcgc__schedule_triggers(S);
}

/* Automatic collection: the oldest generation whose count passed its
   trigger, except that a full collection waits until the objects that
   survived into generation 2 since the last full one exceed 25 % of those
   that were there then (CPython's guard against quadratic behaviour). */
void rcgc__maybe_collect(void)
{
    rcgc_state *S = state();
    S->collecting = true;
    for (int i = RCGC_NUM_GENERATIONS - 1; i >= 0; i--) {
        if (S->generations[i].count > S->generations[i].trigger) {
            if (i == RCGC_NUM_GENERATIONS - 1 &&
                S->long_lived_pending < S->long_lived_total / 4)
                continue;
            size_t counted = S->generations[0].count;
            size_t found = rcgc__collect_with_callbacks(i);
            adapt(S, i, S->last_examined, counted, found);
            break;
        }
    }
    S->collecting = false;
}

#ifdef RCGC_STRESS
/* The collection automatic collection would run if generation 0 were always
   past its threshold; what an allocation hook that collects under memory
   pressure would do at every allocation. */
void rcgc__stress_collect(void)
{
    rcgc_state *S = state();
    if (!S->enabled || S->collecting ||
        !S->generations[0].threshold)
        return;
    gc_generation *young = &S->generations[0];
    size_t count0 = young->count, forced = young->trigger + 1;
    if (count0 < forced) young->count = forced;
    rcgc__maybe_collect();
    /* Counts as CPython would have them, so gc.get_count() stays truthful. */
    if (young->count == forced)
        young->count = count0;
}
#endif
