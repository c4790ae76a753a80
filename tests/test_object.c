/* Managed objects: counts, the teardown order on a decref to zero, PEP 442
   finalizers and resurrection, deep chains, allocation failure. */
#include "harness.h"

#include <pthread.h>
#include <stdint.h>

#include "nodes.h"

static void order_finalize(void *self) { event("finalize%d ", ((node *)self)->id); }
static void order_clear(void *self) { event("clear%d ", ((node *)self)->id); node_clear(self); }
static void order_destroy(void *self) { event("destroy%d ", ((node *)self)->id); }
static const rcgc_type order_type = {.name = "order", .size = sizeof(node),
                                     .traverse = node_traverse, .clear = order_clear,
                                     .finalize = order_finalize, .destroy = order_destroy};

TEST(new_object_has_refcount_one_and_zeroed_body)
{
    quiet_start();
    node *n = rcgc_new(&plain_type);
    CHECK(n != NULL);
    CHECK_EQ(rcgc_refcount(n), 1);
    CHECK_PTR(rcgc_typeof(n), &plain_type);
    CHECK_PTR(n->slot[0], NULL);
    CHECK_EQ(n->id, 0);
    CHECK(rcgc_is_tracked(n));
    CHECK(!rcgc_is_finalized(n));
    rcgc_incref(n);
    CHECK_EQ(rcgc_refcount(n), 2);
    rcgc_decref(n);
    CHECK_EQ(rcgc_refcount(n), 1);
    rcgc_decref(n);
    quiet_end();
}

TEST(null_arguments_are_harmless)
{
    errno = 0;
    CHECK_PTR(rcgc_new(NULL), NULL);
    CHECK_EQ(errno, EINVAL);
    rcgc_decref(NULL);
    rcgc_incref(NULL);
    CHECK_EQ(rcgc_refcount(NULL), 0);
    CHECK(!rcgc_is_tracked(NULL));
}

static const rcgc_type leaf_type = {.name = "leaf", .size = sizeof(node),
                                    .finalize = order_finalize};

TEST(types_without_traverse_are_never_tracked)
{
    quiet_start();
    size_t before[3], after[3];
    rcgc_get_count(before);
    node *leaf = rcgc_new(&leaf_type);
    rcgc_get_count(after);
    CHECK(!rcgc_is_tracked(leaf));
    CHECK_EQ(after[0], before[0]);      /* only tracked types count */
    rcgc_track(leaf);
    CHECK(!rcgc_is_tracked(leaf));
    rcgc_decref(leaf);
    CHECK_STR(events, "finalize0 ");
    quiet_end();
}

TEST(decref_to_zero_runs_finalize_weakrefs_clear_destroy_in_order)
{
    quiet_start();
    node *n = new_node(&order_type, 1);
    void *w1 = rcgc_weakref_new(n, weak_event, (void *)1);
    void *w2 = rcgc_weakref_new(n, weak_event, (void *)2);
    rcgc_decref(n);
    /* callbacks newest first, after the finalizer, before clear */
    CHECK_STR(events, "finalize1 cb2 cb1 clear1 destroy1 ");
    CHECK_PTR(rcgc_weakref_get(w1), NULL);
    rcgc_decref(w1);
    rcgc_decref(w2);
    quiet_end();
}

TEST(children_are_freed_when_parent_dies)
{
    quiet_start();
    node *parent = new_node(&del_type, 1);
    node *child = new_node(&del_type, 2);
    link_slot(parent, 0, child);
    rcgc_decref(child);
    CHECK_EQ(rcgc_refcount(child), 1);
    rcgc_decref(parent);
    CHECK_STR(events, "del1 del2 ");
    quiet_end();
}

TEST(resurrection_on_decref_keeps_object_and_weakrefs_and_runs_finalizer_once)
{
    quiet_start();
    node *n = new_node(&lazarus_type, 7);
    void *w = rcgc_weakref_new(n, weak_event, (void *)7);
    rcgc_decref(n);
    CHECK_STR(events, "del7 ");                /* no callback: it was resurrected */
    CHECK_EQ(lazarus_len, 1);
    CHECK_EQ(rcgc_refcount(n), 1);
    CHECK(rcgc_is_finalized(n));
    CHECK(rcgc_is_tracked(n));
    void *again = rcgc_weakref_get(w);
    CHECK_PTR(again, n);
    rcgc_decref(again);
    events_reset();
    lazarus_release();                          /* second death: no second finalizer */
    CHECK_STR(events, "cb7 ");
    CHECK_PTR(rcgc_weakref_get(w), NULL);
    rcgc_decref(w);
    quiet_end();
}

static int finalizer_generation = -2;
static void *finalizing;
static int find_finalizing(void *obj, void *arg)
{
    (void)arg;
    return obj == finalizing;
}
static void where_am_i(void *self)
{
    finalizing = self;
    finalizer_generation = -1;
    for (int g = 0; g < 3; g++)
        if (rcgc_get_objects(g, find_finalizing, NULL)) finalizer_generation = g;
}
static const rcgc_type where_type = {.name = "where", .size = sizeof(node),
                                     .traverse = node_traverse, .clear = node_clear,
                                     .finalize = where_am_i};

TEST(finalizer_on_decref_runs_with_object_tracked_in_generation_0)
{
    quiet_start();
    node *n = new_node(&where_type, 1);
    rcgc_collect(1);                     /* now in generation 2 */
    CHECK(rcgc_get_objects(2, find_finalizing, NULL) == 0);
    finalizing = n;
    CHECK(rcgc_get_objects(2, find_finalizing, NULL) == 1);
    rcgc_decref(n);
    CHECK_EQ(finalizer_generation, 0);
    quiet_end();
}

static void *dying_peer;
static void weakref_in_finalizer(void *self)
{
    /* a weakref to the dying object, made while it finalizes */
    dying_peer = rcgc_weakref_new(self, weak_event, (void *)9);
}
static const rcgc_type makes_weakref_type = {.name = "mkwr", .size = sizeof(node),
                                             .traverse = node_traverse, .clear = node_clear,
                                             .finalize = weakref_in_finalizer};

TEST(weakref_created_inside_finalizer_is_cleared_and_called_back)
{
    quiet_start();
    node *n = new_node(&makes_weakref_type, 1);
    rcgc_decref(n);
    CHECK(dying_peer != NULL);
    CHECK_STR(events, "cb9 ");
    CHECK_PTR(rcgc_weakref_get(dying_peer), NULL);
    rcgc_decref(dying_peer);
    quiet_end();
}

/* ---- deep chains: the trashcan ---------------------------------------- */

static size_t chain_freed;
static void count_destroy(void *self) { (void)self; chain_freed++; }
static const rcgc_type chain_type = {.name = "chain", .size = sizeof(node),
                                     .traverse = node_traverse, .clear = node_clear,
                                     .destroy = count_destroy};

static size_t chain_length(void)
{
    return getenv("RCGC_TEST_QUICK") ? 100000 : 10000000;
}

static void *drop_chain(void *head)
{
    rcgc_decref(head);
    return NULL;
}

TEST(dropping_a_ten_million_long_chain_uses_constant_stack)
{
    quiet_start();
    size_t n = chain_length();
    node *head = new_node(&chain_type, 0);
    node *tail = head;
    for (size_t i = 1; i < n; i++) {
        node *next = new_node(&chain_type, 0);
        tail->slot[0] = next;          /* steals the creation reference */
        tail = next;
    }
    chain_freed = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, &attr, drop_chain, head), 0);
    pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
    CHECK_EQ(chain_freed, n);
    size_t count[3];
    rcgc_get_count(count);
    CHECK_EQ(count[0], 0);              /* never below zero */
    quiet_end();
}

/* ---- allocation failure -------------------------------------------------- */

static long allocations_left;
static bool limited(size_t size, void *arg)
{
    (void)size, (void)arg;
    return allocations_left-- > 0;
}

TEST(new_returns_enomem_when_memory_runs_out_and_heap_stays_consistent)
{
    quiet_start();
    node *keep = new_node(&plain_type, 1);
    size_t in_use = rcgc_memory_in_use();
    allocations_left = 3;
    rcgc_set_alloc_hook(limited, NULL);
    node *got[5];
    int ok = 0;
    for (int i = 0; i < 5; i++) {
        errno = 0;
        got[i] = new_node(&plain_type, i);
        if (got[i]) ok++; else CHECK_EQ(errno, ENOMEM);
    }
    CHECK_EQ(ok, 3);
    errno = 0;
    CHECK_PTR(rcgc_weakref_new(keep, NULL, NULL), NULL);
    CHECK_EQ(errno, ENOMEM);
    rcgc_set_alloc_hook(NULL, NULL);
    for (int i = 0; i < 5; i++) rcgc_decref(got[i]);
    CHECK_EQ(rcgc_memory_in_use(), in_use);
    /* the heap still works: a cycle is still found */
    link_slot(keep, 0, keep);
    rcgc_decref(keep);
    CHECK_EQ(rcgc_collect(2), 1);
    quiet_end();
}

/* The header's inline paths (rcgc.h) and the functions are the same calls:
   counts, types, NULL, and a count reaching zero. */
static int inline_destroyed;
static void inline_count_destroy(void *self) { (void)self; inline_destroyed++; }
static const rcgc_type counted_type = {.name = "counted", .size = 8, .destroy = inline_count_destroy};

TEST(inline_paths_agree_with_the_functions)
{
#ifdef RCGC_DEBUG
    CHECK_EQ(rcgc_inline_fast_paths, 0);   /* every call reaches the checks */
#else
    CHECK_EQ(rcgc_inline_fast_paths, 1);
#endif
    inline_destroyed = 0;
    void *obj = rcgc_new(&counted_type);
    rcgc_incref(obj);
    CHECK_EQ((rcgc_refcount)(obj), 2);
    (rcgc_incref)(obj);
    CHECK_EQ((rcgc_refcount)(obj), 3);
    rcgc_decref(obj);
    (rcgc_decref)(obj);
    CHECK_EQ((rcgc_refcount)(obj), 1);
    CHECK(rcgc_typeof(obj) == &counted_type);
    CHECK(rcgc_typeof(obj) == (rcgc_typeof)(obj));
    rcgc_incref(NULL);
    rcgc_decref(NULL);
    errno = 0;
    CHECK(rcgc_typeof(NULL) == NULL);
    CHECK_EQ(errno, EINVAL);
    /* Flags in the type word (here HAS_WEAKREFS): the path masks them. */
    void *flagged = rcgc_new(&plain_type);
    void *wr = rcgc_weakref_new(flagged, NULL, NULL);
    CHECK(rcgc_typeof(flagged) == &plain_type);
    rcgc_decref(obj);                       /* to zero, inline: destroyed */
    CHECK_EQ(inline_destroyed, 1);
    rcgc_decref(flagged);
    CHECK(rcgc_weakref_peek(wr) == NULL);
    rcgc_decref(wr);
}
