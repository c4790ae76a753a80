/* Heaps: one per thread, independent of each other, handed between threads,
   and torn down object by object in the documented order. */
#include "harness.h"

#include <pthread.h>

#include "capture.h"
#include "rcgc_tools.h"
#include "internal.h"   /* state()->own_refusal: the ENOMEM path */
#include "nodes.h"
#include "rcgc_tools.h"

/* A node that logs its finalizer, clear and destroy. */
static void log_finalize(void *self) { event("fin%d ", ((node *)self)->id); }
static void log_clear(void *self)
{
    event("clr%d ", ((node *)self)->id);
    node_clear(self);
}
static void log_destroy(void *self) { event("des%d ", ((node *)self)->id); }
static const rcgc_type log_type = {.name = "lognode", .size = sizeof(node),
                                   .traverse = node_traverse, .clear = log_clear,
                                   .finalize = log_finalize, .destroy = log_destroy};
/* Without traverse: never tracked, on the heap's untracked list. */
static const rcgc_type leaf_type = {.name = "leaf", .size = sizeof(node),
                                    .finalize = log_finalize, .destroy = log_destroy};

TEST(a_program_that_never_enters_a_heap_uses_the_default_heap)
{
    rcgc_heap *d = rcgc_heap_default();
    CHECK(d != NULL);
    CHECK(rcgc_heap_current() == d);
    CHECK(rcgc_heap_enter(NULL) == d);   /* already there: no change */
    CHECK(rcgc_heap_current() == d);
}

TEST(enter_returns_the_previous_heap_and_null_means_the_default)
{
    rcgc_heap *d = rcgc_heap_default();
    rcgc_heap *h = rcgc_heap_new();
    CHECK(h != NULL && h != d);
    CHECK(rcgc_heap_enter(h) == d);
    CHECK(rcgc_heap_current() == h);
    CHECK(rcgc_heap_enter(h) == h);
    CHECK(rcgc_heap_enter(NULL) == h);
    CHECK(rcgc_heap_current() == d);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
}

static void count_phase(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)info;
    if (phase == RCGC_PHASE_STOP) ++*(int *)arg;
}

TEST(heaps_keep_separate_objects_counts_settings_and_callbacks)
{
    quiet_start();
    size_t memory = rcgc_memory_in_use();
    size_t count[3], threshold[3];
    rcgc_get_count(count);
    size_t tracked = 0;
    rcgc_get_objects(-1, count_visit_fn, &tracked);

    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    /* A new heap starts with CPython's defaults, whatever the other has. */
    CHECK(rcgc_isenabled());
    rcgc_get_threshold(threshold);
    CHECK_EQ(threshold[0], 700);
    CHECK_EQ(rcgc_memory_in_use(), 0);
    int stops = 0;
    CHECK_EQ(rcgc_callback_add(count_phase, &stops), 0);
    rcgc_set_threshold(1, 1, 1);
    size_t before = rcgc_memory_in_use();   /* the callback list */
    node *a = make_pair(&plain_type, 1, &plain_type, 2);
    CHECK_EQ(rcgc_memory_in_use() - before, 2 * bytes_of(&plain_type));
    size_t here = 0;
    rcgc_get_objects(-1, count_visit_fn, &here);
    CHECK_EQ(here, 2);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK(stops >= 1);
    int stops_in_h = stops;

    CHECK(rcgc_heap_enter(was) == h);
    /* The default heap saw none of it. */
    CHECK(!rcgc_isenabled());   /* quiet_start disabled it */
    rcgc_get_threshold(threshold);
    CHECK_EQ(threshold[0], 700);
    CHECK_EQ(rcgc_memory_in_use(), memory);
    size_t now[3];
    rcgc_get_count(now);
    CHECK_EQ(now[0], count[0]);
    size_t tracked_now = 0;
    rcgc_get_objects(-1, count_visit_fn, &tracked_now);
    CHECK_EQ(tracked_now, tracked);
    rcgc_collect(2);
    CHECK_EQ(stops, stops_in_h);   /* h's callback is h's */
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    quiet_end();
}

/* The order rcgc_heap_destroy documents, on one of everything: a node held
   by the program (1) holding another (2), a leaf without traverse (3), a
   weakref with a callback to node 1. */
TEST(destroy_ends_every_object_in_the_documented_order)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    events_reset();
    node *a = new_node(&log_type, 1);
    node *b = new_node(&log_type, 2);
    link_slot(a, 0, b);
    rcgc_decref(b);
    node *leaf = new_node(&leaf_type, 3);
    void *wr = rcgc_weakref_new(a, weak_event, (void *)9);
    CHECK(a && leaf && wr);
    CHECK(rcgc_memory_in_use() > 0);
    CHECK(rcgc_heap_enter(was) == h);   /* destroyed from outside it */
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    /* finalizers (untracked objects first, then the generations, oldest
       first), weakref callbacks, clears (2 only held by 1 dies in 1's
       clear), then what the program still held: destroy and free. */
    CHECK_STR(events, "fin3 fin1 fin2 cb9 clr1 clr2 des2 des3 des1 ");
    CHECK(rcgc_heap_current() == was);
}

/* Finalizers that make objects during teardown: those are finalized and
   freed too. */
static int spawned;
static void spawning_finalize(void *self)
{
    event("fin%d ", ((node *)self)->id);
    if (spawned < 3) {
        node *child = new_node(rcgc_typeof(self), 10 + spawned++);
        rcgc_incref(child);   /* leaked on purpose: the teardown must find it */
        rcgc_decref(child);
    }
}
static const rcgc_type spawning_type = {.name = "spawner", .size = sizeof(node),
                                        .traverse = node_traverse, .clear = node_clear,
                                        .finalize = spawning_finalize};

TEST(objects_made_during_teardown_are_finalized_and_freed_too)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    events_reset();
    spawned = 0;
    (void)new_node(&spawning_type, 1);   /* held by nothing but the program */
    /* Kept alive in the heap we are about to destroy, from inside it. */
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_STR(events, "fin1 fin10 fin11 fin12 ");
    CHECK(rcgc_heap_current() == was);
}

TEST(untracked_frozen_garbage_and_clearless_objects_are_ended_too)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    rcgc_disable();
    node *untracked = new_node(&log_type, 1);
    rcgc_untrack(untracked);
    CHECK(!rcgc_is_tracked(untracked));
    node *frozen = new_node(&log_type, 2);
    rcgc_freeze();
    CHECK_EQ(rcgc_get_freeze_count(), 1);
    rcgc_decref(make_pair(&clearless_type, 3, &clearless_type, 4));   /* uncollectable */
    CHECK_EQ(rcgc_collect(2), 2);
    rcgc_set_debug(RCGC_DEBUG_SAVEALL);
    rcgc_decref(make_pair(&plain_type, 5, &plain_type, 6));
    CHECK_EQ(rcgc_collect(2), 2);
    rcgc_set_debug(0);
    CHECK_EQ(rcgc_garbage_count(), 4);
    node *held = make_pair(&clearless_type, 7, &clearless_type, 8);   /* held by the program */
    CHECK(rcgc_memory_in_use() > 0);
    events_reset();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    /* untracked objects first, then frozen ones */
    CHECK_STR(events, "fin1 fin2 clr1 clr2 des1 des2 ");
    (void)frozen, (void)held;
}

/* A clear that teardown runs (step 4) makes a weakref with a callback to an
   object the program holds: that callback runs too, as step 3's did, before
   the weakref's own clear could drop it (found by the fuzzer). */
static node *weak_target;
static bool weakref_made;
static void weakref_making_clear(void *self)
{
    log_clear(self);
    if (weakref_made) return;
    weakref_made = true;
    (void)rcgc_weakref_new(weak_target, weak_event, (void *)7);   /* held by the program */
}
static const rcgc_type weakref_making_type = {.name = "weakmaker", .size = sizeof(node),
                                              .traverse = node_traverse,
                                              .clear = weakref_making_clear,
                                              .destroy = log_destroy};

TEST(a_weakref_made_during_teardown_calls_back_too)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    weak_target = new_node(&leaf_type, 1);
    (void)new_node(&weakref_making_type, 2);
    weakref_made = false;
    events_reset();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_STR(events, "fin1 clr2 cb7 clr2 des1 des2 ");
}

/* A weakref callback run by the teardown makes a new weakref with a callback
   to the same referent, which the program holds: it calls back too (found
   by the fuzzer; a dying referent's new weakrefs are cleared silently). */
static void rearming_callback(void *wr, void *arg)
{
    weak_event(wr, arg);
    if ((size_t)arg < 3)
        (void)rcgc_weakref_new(weak_target, rearming_callback, (void *)((size_t)arg + 1));
}

TEST(a_weakref_made_by_a_teardown_callback_calls_back_too)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    weak_target = new_node(&leaf_type, 1);
    (void)rcgc_weakref_new(weak_target, rearming_callback, (void *)1);
    events_reset();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_STR(events, "fin1 cb1 cb2 cb3 des1 ");
}

/* A destroy that teardown runs on what the program held (step 5) makes a
   weakref with a callback to the node it holds, whose weakrefs were
   cleared already: that one is cleared and calls back before the node is
   freed (found by the fuzzer, through a weakref's release function). */
static void weakref_making_destroy(void *self)
{
    event("des%d ", ((node *)self)->id);
    (void)rcgc_weakref_new(((node *)self)->slot[0], weak_event, (void *)8);   /* kept */
}
static const rcgc_type weakref_making_destroy_type = {.name = "lateweak", .size = sizeof(node),
                                                      .traverse = node_traverse,
                                                      .destroy = weakref_making_destroy};

TEST(a_weakref_made_by_a_destroy_in_teardown_is_cleared_before_the_free)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    node *a = new_node(&weakref_making_destroy_type, 1);
    link_slot(a, 0, new_node(&leaf_type, 2));
    rcgc_decref(a->slot[0]);
    events_reset();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_STR(events, "fin2 des2 des1 cb8 ");
}

/* A weakref callback that teardown runs (step 3) collects everything, then
   untracks and tracks the referent again.  For that moment the referent is
   on the walk's private list, so the full collection holds fewer than all
   tracked objects and must count only its own members (found by the
   fuzzer: a one-pass count took the referent for a member and wrote its
   count over the referent's list pointer, which the untrack followed). */
static size_t collected_in_callback;
static void collecting_callback(void *wr, void *arg)
{
    weak_event(wr, arg);
    node *cycle = new_node(&log_type, 9);   /* garbage for this collection */
    link_slot(cycle, 0, cycle);
    rcgc_decref(cycle);
    collected_in_callback = rcgc_collect(2);
    collected_in_callback += rcgc_collect(2);
    rcgc_untrack(weak_target);
    rcgc_track(weak_target);
}

TEST(a_full_collection_from_a_teardown_callback_counts_only_its_members)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    (void)new_node(&log_type, 1);   /* walked before the referent */
    weak_target = new_node(&log_type, 2);
    node *holder = new_node(&log_type, 3);   /* a member that refers to the referent */
    link_slot(holder, 0, weak_target);
    (void)rcgc_weakref_new(weak_target, collecting_callback, (void *)5);
    collected_in_callback = 99;
    events_reset();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_EQ(collected_in_callback, 1);
    /* Tracked again, the referent is in generation 0, walked last. */
    CHECK_STR(events, "fin1 fin2 fin3 cb5 fin9 clr9 clr9 des9 clr1 clr3 clr2 des1 des3 des2 ");
}

/* A destroy in step 5 that untracks another object of the round whose
   destroy has not run yet (rcgc.h allows untracking from a destroy): that
   object leaves the round's list for the untracked one.  Its destroy
   still runs, once, in the same round, before anything of the round is
   freed (found in review: it was freed without its destroy, or, once the
   first destroy had dropped its reference, destroyed a round later, after
   the object its destroy then decrefs was freed).  Which of the two the
   round reaches first depends on the generations (RCGC_STRESS promotes
   differently): the first untracks the other. */
static node *untrack_pair[3];
static int destroys_of[8];
static void untracking_destroy(void *self)
{
    node *n = self;
    event("des%d ", n->id);
    destroys_of[n->id]++;
    node *other = n->id == 1 || n->id == 2 ? untrack_pair[3 - n->id] : NULL;
    if (other && !destroys_of[other->id]) rcgc_untrack(other);
    node_clear(self);   /* drops what the node holds: types without clear */
}
static const rcgc_type untracking_type = {.name = "untracker", .size = sizeof(node),
                                          .traverse = node_traverse,
                                          .destroy = untracking_destroy};

/* events with every digit as '#': the order of kinds, whatever the ids. */
static const char *event_kinds(void)
{
    static char kinds[sizeof events];
    strcpy(kinds, events);
    for (char *c = kinds; *c; c++)
        if (*c >= '0' && *c <= '9') *c = '#';
    return kinds;
}

static void untrack_in_destroy_run(bool linked)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    node *a = new_node(&untracking_type, 1), *b = new_node(&untracking_type, 2);
    if (linked) {   /* a cycle: each destroy decrefs the other */
        link_slot(a, 0, b);
        link_slot(b, 0, a);
    }
    untrack_pair[1] = a;
    untrack_pair[2] = b;
    memset(destroys_of, 0, sizeof destroys_of);
    events_reset();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_STR(event_kinds(), "des# des# ");
    CHECK_EQ(destroys_of[1], 1);
    CHECK_EQ(destroys_of[2], 1);
    untrack_pair[1] = untrack_pair[2] = NULL;
}

TEST(an_object_a_destroy_untracks_is_destroyed_once_in_the_same_round)
{
    untrack_in_destroy_run(false);
}

TEST(an_object_a_destroy_untracks_and_lets_go_is_destroyed_before_any_free)
{
    untrack_in_destroy_run(true);
}

/* A destroy in step 5 makes an object that holds another object of step
   5 (kept by the program, so it is not freed at once): the new object's
   destroy decrefs that one, which must still be there (it was freed a
   round earlier: found in review). */
static node *made_in_destroy;
static void making_destroy(void *self)
{
    node *n = self;
    event("des%d ", n->id);
    destroys_of[n->id]++;
    if (!made_in_destroy) {
        made_in_destroy = new_node(&untracking_type, 7);
        link_slot(made_in_destroy, 0, n->slot[0]);
    }
    node_clear(self);
}
static const rcgc_type making_type = {.name = "maker", .size = sizeof(node),
                                      .traverse = node_traverse, .destroy = making_destroy};

TEST(an_object_a_destroy_makes_is_destroyed_before_what_it_holds_is_freed)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    node *maker = new_node(&making_type, 1);
    link_slot(maker, 0, new_node(&untracking_type, 2));
    rcgc_decref(maker->slot[0]);   /* held by maker alone */
    made_in_destroy = NULL;
    memset(destroys_of, 0, sizeof destroys_of);
    events_reset();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_STR(event_kinds(), "des# des# des# ");
    CHECK_EQ(destroys_of[1], 1);
    CHECK_EQ(destroys_of[2], 1);
    CHECK_EQ(destroys_of[7], 1);
}

/* The first finalizer the teardown runs (step 2) freezes every tracked
   object, moving the one the walk has not reached to the frozen list,
   which it has walked already: its finalizer still runs before any clear
   (found in review: its clear ran first). */
static bool frozen_by_finalizer;
static void freezing_finalize(void *self)
{
    log_finalize(self);
    if (!frozen_by_finalizer) rcgc_freeze();
    frozen_by_finalizer = true;
}
static const rcgc_type freezing_type = {.name = "freezer", .size = sizeof(node),
                                        .traverse = node_traverse, .clear = log_clear,
                                        .finalize = freezing_finalize,
                                        .destroy = log_destroy};

TEST(every_finalizer_runs_before_the_first_clear_though_a_finalizer_freezes)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    (void)new_node(&freezing_type, 1);
    (void)new_node(&freezing_type, 2);
    frozen_by_finalizer = false;
    events_reset();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_STR(event_kinds(), "fin# fin# clr# clr# des# des# ");
    CHECK(strstr(events, "fin1") && strstr(events, "fin2"));
}

/* ---- refusals ---------------------------------------------------------------------- */

static int destroy_result, destroy_errno, enter_errno;
static rcgc_heap *other_heap;
static void destroying_finalize(void *self)
{
    (void)self;
    errno = 0;
    destroy_result = rcgc_heap_destroy(rcgc_heap_current());
    destroy_errno = errno;
    errno = 0;
    if (rcgc_heap_enter(other_heap) == NULL) enter_errno = errno;
    else enter_errno = 0;
}
static const rcgc_type destroying_type = {.name = "destroyer", .size = sizeof(node),
                                          .traverse = node_traverse, .clear = node_clear,
                                          .finalize = destroying_finalize};

TEST(destroy_from_user_code_running_in_that_heap_is_refused)
{
    rcgc_heap *h = rcgc_heap_new();
    other_heap = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    rcgc_decref(make_pair(&destroying_type, 1, &plain_type, 2));
    destroy_result = 0;
    CHECK_EQ(rcgc_collect(2), 2);   /* the finalizer runs in the collection */
    CHECK_EQ(destroy_result, -1);
    CHECK_EQ(destroy_errno, EBUSY);
    CHECK_EQ(enter_errno, EBUSY);   /* nor may it leave the heap */
    CHECK(rcgc_heap_current() == h);
    rcgc_decref(new_node(&destroying_type, 3));   /* in a deallocation */
    CHECK_EQ(destroy_result, -1);
    CHECK_EQ(destroy_errno, EBUSY);
    CHECK_EQ(enter_errno, EBUSY);
    (void)new_node(&destroying_type, 4);          /* in the teardown itself */
    destroy_result = 0;
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_EQ(destroy_result, -1);
    CHECK_EQ(destroy_errno, EBUSY);
    CHECK_EQ(enter_errno, EBUSY);
    CHECK_EQ(rcgc_heap_destroy(other_heap), 0);
}

/* User code that rcgc runs outside a collection or a deallocation is in
   the heap too: the allocation hook, the output sink, the visitors of
   get_objects, get_referents and get_holders, the release function of a
   failed rcgc_weakref_new_with_release.  Leaving or destroying the
   heap there would pull it from under the running call (the fuzzer found
   a destroy from the hook that freed the heap inside rcgc_list_new). */
static const char *from;
static void try_leave_and_destroy(void)
{
    errno = 0;
    bool refused = rcgc_heap_enter(NULL) == NULL && errno == EBUSY;
    errno = 0;
    int r = rcgc_heap_destroy(rcgc_heap_current());
    event(from, refused && r == -1 && errno == EBUSY);
}
static bool destroying_hook(size_t size, void *arg)
{
    (void)size, (void)arg;
    try_leave_and_destroy();
    return true;
}
static void destroying_sink(const char *line, void *arg)
{
    (void)line, (void)arg;
    try_leave_and_destroy();
}
static int destroying_visit(void *obj, void *arg)
{
    (void)obj, (void)arg;
    try_leave_and_destroy();
    return 1;   /* one is enough */
}
static void destroying_release(void *arg)
{
    (void)arg;
    try_leave_and_destroy();
}

TEST(heaps_cannot_be_left_or_destroyed_from_hooks_sinks_and_visitors)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    events_reset();
    from = "hook%d ";
    rcgc_set_alloc_hook(destroying_hook, NULL);
    void *list = rcgc_list_new();
    rcgc_set_alloc_hook(NULL, NULL);
    from = "release%d ";   /* a failed rcgc_weakref_new_with_release releases arg */
    CHECK(rcgc_weakref_new_with_release(NULL, NULL, NULL, destroying_release) == NULL);
    from = "objects%d ";
    CHECK_EQ(rcgc_get_objects(-1, destroying_visit, NULL), 1);
    from = "referrers%d ";
    CHECK_EQ(rcgc_get_referrers(a, destroying_visit, NULL), 1);
    from = "referents%d ";
    CHECK_EQ(rcgc_get_referents(a, destroying_visit, NULL), 1);
    from = "holders%d ";
    CHECK_EQ(rcgc_get_holders(destroying_visit, NULL), 1);
    from = "tool%d ";
    CHECK_EQ(rcgc_census(NULL, 0), 2);
    rcgc_show_most_common_types(1, destroying_sink, NULL);
    from = "output%d ";
    rcgc_set_output(destroying_sink, NULL);
    rcgc_set_debug(RCGC_DEBUG_STATS);
    CHECK_EQ(rcgc_collect(0), 0);   /* four lines */
    rcgc_set_debug(0);
    rcgc_set_output(NULL, NULL);
    /* (1: both refused with EBUSY) */
    CHECK_STR(events, "hook1 release1 objects1 referrers1 referents1 holders1 tool1 output1 output1 "
                      "output1 output1 ");
    CHECK(rcgc_heap_current() == h);
    CHECK_EQ(rcgc_list_len(list), 0);   /* the heap and its objects are all there */
    CHECK_EQ(rcgc_refcount(a), 2);
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
}

/* ---- threads ------------------------------------------------------------------------- */

typedef struct handoff {
    rcgc_heap *heap;
    node *kept;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stage;
    bool leave;   /* leave the heap before ending, or just end */
} handoff;

static void wait_stage(handoff *x, int stage)
{
    pthread_mutex_lock(&x->lock);
    while (x->stage < stage) pthread_cond_wait(&x->cond, &x->lock);
    pthread_mutex_unlock(&x->lock);
}
static void set_stage(handoff *x, int stage)
{
    pthread_mutex_lock(&x->lock);
    x->stage = stage;
    pthread_cond_broadcast(&x->cond);
    pthread_mutex_unlock(&x->lock);
}

/* Makes a heap, a kept cycle and some garbage in it, then waits to be told
   to go. */
static void *first_owner(void *arg)
{
    handoff *x = arg;
    x->heap = rcgc_heap_new();
    rcgc_heap_enter(x->heap);
    x->kept = make_pair(&plain_type, 1, &plain_type, 2);
    rcgc_decref(make_pair(&plain_type, 3, &plain_type, 4));
    set_stage(x, 1);
    wait_stage(x, 2);
    if (x->leave) rcgc_heap_enter(NULL);
    return NULL;
}

static void handoff_run(bool leave)
{
    handoff x = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
                 .leave = leave};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, first_owner, &x), 0);
    wait_stage(&x, 1);
    /* In use by the other thread: refused. */
    errno = 0;
    CHECK(rcgc_heap_enter(x.heap) == NULL);
    CHECK_EQ(errno, EBUSY);
    errno = 0;
    CHECK_EQ(rcgc_heap_destroy(x.heap), -1);
    CHECK_EQ(errno, EBUSY);
    set_stage(&x, 2);
    CHECK_EQ(pthread_join(t, NULL), 0);
    /* Handed over: this thread carries on with the same objects. */
    rcgc_heap *was = rcgc_heap_enter(x.heap);
    CHECK(was != NULL);
    CHECK_EQ(rcgc_refcount(x.kept), 2);
    CHECK_EQ(rcgc_collect(2), 2);   /* the garbage pair the first thread left */
    CHECK_EQ(rcgc_memory_in_use(), 2 * bytes_of(&plain_type));
    rcgc_decref(x.kept);
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_EQ(rcgc_memory_in_use(), 0);
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(x.heap), 0);
}

TEST(a_heap_is_handed_from_one_thread_to_another)
{
    handoff_run(true);
}

TEST(a_thread_that_ends_inside_a_heap_gives_it_up)
{
    handoff_run(false);
}

/* The tools keep their tables in the heap too: four threads trace, take
   snapshots, sort them, count and explain at once (ThreadSanitizer watches
   this in CI). */
typedef struct tool_thread {
    pthread_t id;
    int n;
    capture top;
    size_t census_nodes, watched_alive;
    int why;
    size_t traced_before_stop;
} tool_thread;

static void *tools_in_own_heap(void *arg)
{
    tool_thread *t = arg;
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap_enter(h);
    rcgc_trace_start(4);
    void *list = rcgc_list_new();
    for (int i = 0; i < t->n; i++) {
        node *n = new_node(&plain_type, i);
        rcgc_list_append(list, n);
        rcgc_decref(n);
    }
    rcgc_watch(rcgc_list_get(list, 0), "first");
    rcgc_snapshot *snap = rcgc_snapshot_take();
    capture_reset(&t->top);
    rcgc_snapshot_print_top(snap, RCGC_BY_TYPE, 1, capture_write, &t->top);
    rcgc_snapshot_free(snap);
    rcgc_type_count counts[8];
    size_t ntypes = rcgc_census(counts, 8);
    for (size_t i = 0; i < ntypes && i < 8; i++)
        if (counts[i].type == &plain_type) t->census_nodes = counts[i].count;
    capture why;
    capture_reset(&why);
    t->why = rcgc_why_alive(rcgc_list_get(list, 1), capture_write, &why);
    capture_reset(&why);
    t->watched_alive = rcgc_check_watched(capture_write, &why);
    size_t peak;
    rcgc_trace_get_memory(&t->traced_before_stop, &peak);
    rcgc_heap_enter(NULL);
    rcgc_heap_destroy(h);   /* with tracing on and a watch set: both go */
    return NULL;
}

TEST(the_tools_run_in_several_heaps_at_once)
{
    tool_thread threads[4];
    for (int i = 0; i < 4; i++) {
        threads[i] = (tool_thread){.n = 100 * (i + 1)};
        CHECK_EQ(pthread_create(&threads[i].id, NULL, tools_in_own_heap, &threads[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(pthread_join(threads[i].id, NULL), 0);
        char want[128];
        snprintf(want, sizeof want, "count=%d, average=%zu B\n", threads[i].n,
                 bytes_of(&plain_type));
        CHECK_CONTAINS(threads[i].top.text, want);
        CHECK_EQ(threads[i].census_nodes, (size_t)threads[i].n);
        CHECK_EQ(threads[i].why, 1);   /* list -> node */
        CHECK_EQ(threads[i].watched_alive, 1);
        CHECK(threads[i].traced_before_stop >= (size_t)threads[i].n * bytes_of(&plain_type));
    }
}

/* ---- the default heap -------------------------------------------------------------- */

static void shutdown_in_child(void)
{
    quiet_start();
    events_reset();
    (void)new_node(&log_type, 1);           /* leaked */
    (void)new_node(&leaf_type, 2);          /* leaked */
    int r = rcgc_shutdown();
    fprintf(stderr, "%d %zu %s|", r, rcgc_memory_in_use(), events);
    /* Still usable, with the defaults back. */
    size_t t[3];
    rcgc_get_threshold(t);
    rcgc_decref(make_pair(&plain_type, 3, &plain_type, 4));
    size_t found = rcgc_collect(2);   /* before reading the memory: its own statement */
    fprintf(stderr, "%zu %d %zu %zu", t[0], rcgc_isenabled(), found, rcgc_memory_in_use());
}

TEST(shutdown_empties_the_default_heap_which_stays_usable)
{
    char out[512];
    int status = harness_run_child(shutdown_in_child, out, sizeof out);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_STR(out, "0 0 fin2 fin1 clr1 des2 des1 |700 1 2 0");
}

/* ---- misuse across heaps (debug builds) -------------------------------------------- */

#ifdef RCGC_DEBUG
static void release_through_another_heap(void)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap_enter(h);
    node *n = new_node(&plain_type, 1);
    rcgc_heap_enter(NULL);
    rcgc_decref(n);
}

static void store_into_another_heap(void)
{
    void *list = rcgc_list_new();
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap_enter(h);
    node *n = new_node(&plain_type, 1);
    rcgc_list_append(list, n);
}

TEST(releasing_through_another_heap_aborts_naming_both_heaps)
{
    CHECK_ABORTS(release_through_another_heap, "rcgc_decref: object of heap 0x",
                 "(objects may not cross heaps): object <node 0x");
}

TEST(storing_into_another_heap_aborts)
{
    CHECK_ABORTS(store_into_another_heap, "rcgc_list_append: object of heap 0x",
                 "objects may not cross heaps");
}
#endif

/* ---- without memory ------------------------------------------------------------------ */

static void allocating_finalize(void *self)
{
    event("fin%d ", ((node *)self)->id);
    if (!rcgc_list_new()) event("enomem%d ", errno == ENOMEM);
}
static const rcgc_type allocating_type = {.name = "allocator", .size = sizeof(node),
                                          .traverse = node_traverse, .clear = log_clear,
                                          .finalize = allocating_finalize,
                                          .destroy = log_destroy};

/* Teardown allocates nothing of its own: a heap whose every allocation is
   refused still ends all its objects, and the user code it runs sees the
   refusals as ENOMEM. */
TEST(destroy_works_when_every_allocation_is_refused)
{
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    node *a = make_pair(&allocating_type, 1, &allocating_type, 2);
    void *wr = rcgc_weakref_new(a, weak_event, (void *)5);
    void *list = rcgc_list_new();
    CHECK_EQ(rcgc_list_append(list, a), 0);
    refused_allocations = 0;
    rcgc_set_alloc_hook(refuse_all, NULL);
    events_reset();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_STR(events, "fin1 enomem1 fin2 enomem1 cb5 clr1 clr2 des2 des1 ");
    CHECK_EQ(refused_allocations, 2);
    (void)wr;
}

TEST(a_heap_that_cannot_be_made_says_enomem)
{
    state()->own_refusal = 1;
    errno = 0;
    CHECK(rcgc_heap_new() == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK_EQ(state()->own_refusal, 0);
}
