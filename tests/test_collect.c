/* The cycle collector: what it frees, what it keeps, what it returns, and the
   generation bookkeeping, with CPython 3.12's values. */
#include "harness.h"

#include <stdint.h>

#include "internal.h"   /* state(): the prefetch arrays' test switches */

#include "nodes.h"

TEST(two_cycle_is_collected_with_finalizers_once)
{
    quiet_start();
    node *a = make_pair(&del_type, 1, &del_type, 2);
    CHECK_EQ(rcgc_collect(2), 0);       /* still referenced */
    rcgc_decref(a);
    CHECK_STR(events, "");
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK(strstr(events, "del1 ") && strstr(events, "del2 "));
    CHECK_EQ(strlen(events), strlen("del1 del2 "));
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
}

TEST(garbage_reachable_from_a_cycle_is_freed_with_it)
{
    quiet_start();
    node *a = make_pair(&plain_type, 1, &plain_type, 2);
    node *leaf = new_node(&del_type, 3);
    link_slot(a, 1, leaf);
    rcgc_decref(leaf);
    rcgc_decref(a);
    /* the leaf is tracked in the same generation: unreachable and counted */
    CHECK_EQ(rcgc_collect(2), 3);
    CHECK_STR(events, "del3 ");
    quiet_end();
}

TEST(resurrection_in_a_collection_keeps_the_whole_cycle_and_is_not_counted)
{
    quiet_start();
    node *a = make_pair(&lazarus_type, 1, &del_type, 2);
    void *w = rcgc_weakref_new(a, NULL, NULL);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 0);       /* both finalized, both resurrected */
    CHECK_EQ(lazarus_len, 1);
    CHECK(rcgc_is_finalized(a));
    CHECK(rcgc_is_finalized(a->slot[0]));
    CHECK_PTR(rcgc_weakref_get(w), NULL);   /* 3.12: cleared before finalizers */
    CHECK_EQ(rcgc_refcount(a), 2);
    events_reset();
    lazarus_release();
    CHECK_EQ(rcgc_collect(2), 2);       /* no second finalizer call */
    CHECK_STR(events, "");
    rcgc_decref(w);
    quiet_end();
}

static void suicide_finalize(void *self)
{
    event("del%d ", ((node *)self)->id);
    node_clear(self);       /* breaks its own cycle */
}
static const rcgc_type suicide_type = {.name = "suicide", .size = sizeof(node),
                                       .traverse = node_traverse, .clear = node_clear,
                                       .finalize = suicide_finalize};

TEST(finalizer_that_breaks_its_own_cycle_frees_it)
{
    quiet_start();
    node *a = new_node(&suicide_type, 1);
    link_slot(a, 0, a);
    void *w = rcgc_weakref_new(a, NULL, NULL);
    rcgc_decref(a);
    /* CPython 3.12 returns 0: the object died of its own finalizer, before
       the resurrection check, so it is not in the final unreachable set. */
    CHECK_EQ(rcgc_collect(2), 0);
    CHECK_STR(events, "del1 ");
    CHECK_PTR(rcgc_weakref_get(w), NULL);
    rcgc_decref(w);
    quiet_end();
}

TEST(weakref_callbacks_run_before_finalizers_in_a_collection)
{
    quiet_start();
    node *a = new_node(&del_type, 1);
    link_slot(a, 0, a);
    void *w = rcgc_weakref_new(a, weak_event, (void *)1);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 1);
    CHECK_STR(events, "cb1 del1 ");
    rcgc_decref(w);
    quiet_end();
}

TEST(weakref_held_only_by_garbage_is_garbage_and_never_calls_back)
{
    quiet_start();
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    a->slot[1] = rcgc_weakref_new(a, weak_event, (void *)1);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_STR(events, "");
    quiet_end();
}

static void drop_self(void *wr, void *arg)
{
    (void)arg;
    event("cb%d ", 5);
    rcgc_decref(wr);        /* the callback holds the only reference */
}

TEST(weakref_freed_right_after_its_callback_is_counted)
{
    quiet_start();
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    void *w = rcgc_weakref_new(a, drop_self, NULL);
    (void)w;
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_STR(events, "cb5 ");
    quiet_end();
}

static int find_obj(void *obj, void *target) { return obj == target; }

static int in_generation(void *obj)
{
    for (int g = 0; g < 3; g++)
        if (rcgc_get_objects(g, find_obj, obj)) return g;
    return -1;
}

TEST(live_weakref_whose_callback_ran_moves_to_the_next_generation)
{
    quiet_start();
    node *r = new_node(&plain_type, 1);
    link_slot(r, 0, r);
    void *w = rcgc_weakref_new(r, weak_event, (void *)1);
    rcgc_collect(1);
    CHECK_EQ(in_generation(w), 2);
    CHECK_EQ(in_generation(r), 2);
    rcgc_untrack(r);
    rcgc_track(r);                      /* back to the young end of gen 0 */
    CHECK_EQ(in_generation(r), 0);
    rcgc_decref(r);
    CHECK_EQ(rcgc_collect(0), 1);
    CHECK_STR(events, "cb1 ");
    CHECK_EQ(in_generation(w), 1);      /* CPython moves it to the "old" list */
    rcgc_decref(w);
    quiet_end();
}

TEST(collect_of_a_bad_generation_returns_0_with_einval)
{
    errno = 0;
    CHECK_EQ(rcgc_collect(3), 0);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcgc_collect(-1), 0);
    CHECK_EQ(errno, EINVAL);
}

static size_t nested_result = 99;
static void collect_inside(void *self)
{
    (void)self;
    nested_result = rcgc_collect(2);
}
static const rcgc_type collects_type = {.name = "collects", .size = sizeof(node),
                                        .traverse = node_traverse, .clear = node_clear,
                                        .finalize = collect_inside};

TEST(collect_requested_while_one_runs_returns_0)
{
    quiet_start();
    node *a = new_node(&collects_type, 1);
    link_slot(a, 0, a);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 1);
    CHECK_EQ(nested_result, 0);
    quiet_end();
}

TEST(counts_follow_allocations_and_collections)
{
    quiet_start();
    size_t c[3];
    rcgc_get_count(c);
    CHECK_EQ(c[0], 0);
    node *keep = new_node(&plain_type, 1);
    node *tmp = new_node(&plain_type, 2);
    rcgc_get_count(c);
    CHECK_EQ(c[0], 2);
    rcgc_decref(tmp);
    rcgc_get_count(c);
    CHECK_EQ(c[0], 1);
    size_t base1 = c[1], base2 = c[2];
    rcgc_collect(0);
    rcgc_get_count(c);
    CHECK_EQ(c[0], 0);
    CHECK_EQ(c[1], base1 + 1);
    CHECK_EQ(c[2], base2);
    rcgc_decref(keep);                  /* never below zero */
    rcgc_get_count(c);
    CHECK_EQ(c[0], 0);
    rcgc_collect(1);
    rcgc_get_count(c);
    CHECK_EQ(c[0], 0);
    CHECK_EQ(c[1], 0);
    CHECK_EQ(c[2], base2 + 1);
    rcgc_collect(2);
    rcgc_get_count(c);
    CHECK_EQ(c[0], 0);
    CHECK_EQ(c[1], 0);
    CHECK_EQ(c[2], 0);
    quiet_end();
}

TEST(survivors_trickle_from_generation_0_to_2)
{
    /* mirrors test_gc.test_collect_generations / test_get_objects */
    quiet_start();
    node *x = new_node(&plain_type, 1);
    CHECK_EQ(in_generation(x), 0);
    rcgc_collect(0);
    CHECK_EQ(in_generation(x), 1);
    rcgc_collect(1);
    CHECK_EQ(in_generation(x), 2);
    rcgc_collect(2);
    CHECK_EQ(in_generation(x), 2);
    rcgc_decref(x);
    quiet_end();
}

TEST(young_collection_ignores_older_garbage)
{
    quiet_start();
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    rcgc_collect(0);                    /* a moves to gen 1 */
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(0), 0);
    CHECK_EQ(rcgc_collect(1), 1);
    quiet_end();
}

static int gens_seen[64];
static int gens_len;
static void record_generation(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)arg;
    if (phase == RCGC_PHASE_START && gens_len < 64) gens_seen[gens_len++] = info->generation;
}

TEST(automatic_collection_runs_in_new_before_tracking_the_new_object)
{
    SKIP_IF_STRESS("checks when the threshold makes rcgc_new collect");
    quiet_start();
    rcgc_set_threshold(5, 10, 10);
    rcgc_callback_add(record_generation, NULL);
    gens_len = 0;
    rcgc_enable();
    node *n[6];
    for (int i = 0; i < 5; i++) n[i] = new_node(&plain_type, i);
    CHECK_EQ(gens_len, 0);
    n[5] = new_node(&plain_type, 5);    /* count 6 > 5 */
    rcgc_disable();
    CHECK_EQ(gens_len, 1);
    CHECK_EQ(gens_seen[0], 0);
    size_t c[3];
    rcgc_get_count(c);
    CHECK_EQ(c[0], 0);
    CHECK_EQ(c[1], 1);
    CHECK_EQ(in_generation(n[4]), 1);
    CHECK_EQ(in_generation(n[5]), 0);
    rcgc_callback_remove(record_generation, NULL);
    rcgc_set_threshold(700, 10, 10);
    for (int i = 0; i < 6; i++) rcgc_decref(n[i]);
    quiet_end();
}

TEST(automatic_full_collection_waits_for_25_percent_new_long_lived_objects)
{
    SKIP_IF_STRESS("checks the exact sequence of generations the thresholds pick");
    quiet_start();
    /* 100 long-lived objects after a full collection */
    node *old[100];
    for (int i = 0; i < 100; i++) old[i] = new_node(&plain_type, i);
    rcgc_collect(2);
    rcgc_set_threshold(1, 1, 1);
    rcgc_callback_add(record_generation, NULL);
    gens_len = 0;
    rcgc_enable();
    /* each new object passes threshold 0; survivors of gen-1 collections
       become pending long-lived objects */
    node *young[40];
    for (int i = 0; i < 40; i++) young[i] = new_node(&plain_type, i);
    rcgc_disable();
    rcgc_callback_remove(record_generation, NULL);
    rcgc_set_threshold(700, 10, 10);
    /* Worked by hand from CPython 3.12's rules: every second allocation
       passes threshold 0; every third collection is of gen 1, which adds its
       survivors (5, then 6 each) to the pending long-lived count; gen 2's
       count passes 1 after two gen-1 collections, but the full collection
       waits until pending (29) reaches a quarter of the 100 long-lived. */
    static const int expected[20] = {0, 0, 1, 0, 0, 1, 0, 0, 1, 0,
                                     0, 1, 0, 0, 1, 2, 0, 0, 1, 0};
    CHECK_EQ(gens_len, 20);
    for (int i = 0; i < 20 && i < gens_len; i++) CHECK_EQ(gens_seen[i], expected[i]);
    for (int i = 0; i < 40; i++) rcgc_decref(young[i]);
    for (int i = 0; i < 100; i++) rcgc_decref(old[i]);
    quiet_end();
}

static size_t collect_from_finalizer_result;
static void collect_when_dying(void *self)
{
    (void)self;
    collect_from_finalizer_result = rcgc_collect(2);
}
static const rcgc_type collector_on_death_type = {.name = "reaper", .size = sizeof(node),
                                                  .traverse = node_traverse,
                                                  .clear = node_clear,
                                                  .finalize = collect_when_dying};

TEST(collection_inside_a_deallocation_frees_everything_it_finds)
{
    /* Inside a deallocation, objects freed by the collector's clears wait in
       the deallocation queue still holding their references; they must not
       make the rest of the garbage look uncollectable. */
    quiet_start();
    node *a = make_pair(&plain_type, 1, &plain_type, 2);
    node *b = a->slot[0];
    node *d = new_node(&plain_type, 3), *e = new_node(&plain_type, 4);
    link_slot(b, 1, d);
    link_slot(d, 0, e);
    rcgc_decref(d);
    rcgc_decref(e);
    rcgc_decref(a);
    rcgc_gen_stats before, after;
    rcgc_get_stats(2, &before);
    rcgc_decref(new_node(&collector_on_death_type, 9));
    rcgc_get_stats(2, &after);
    CHECK_EQ(collect_from_finalizer_result, 4);
    CHECK_EQ(after.uncollectable, before.uncollectable);
    CHECK_EQ(rcgc_garbage_count(), 0);
    quiet_end();
}

TEST(collection_fifty_deallocations_deep_sees_what_its_finalizers_free)
{
    /* Past 50 nested deallocations objects wait in a queue, still holding
       their references.  A collection run from a finalizer that deep must
       not take such references for outside ones.  The garbage: A <-> B with
       B -> C <-> D, where A's finalizer breaks A -> B.  At top level, as in
       CPython (test_adversarial), the collection returns 2 and leaves
       nothing for the next one. */
    quiet_start();
    node *a = new_node(&suicide_type, 1), *b = new_node(&plain_type, 2);
    node *c = new_node(&plain_type, 3), *d = new_node(&plain_type, 4);
    link_slot(a, 0, b);
    link_slot(b, 0, a);
    link_slot(b, 1, c);
    link_slot(c, 0, d);
    link_slot(d, 0, c);
    rcgc_decref(b);
    rcgc_decref(c);
    rcgc_decref(d);
    rcgc_decref(a);
    node *head = new_node(&plain_type, 100), *tail = head;
    for (int i = 0; i < 60; i++) {      /* the 50th node collects as it dies */
        node *next = new_node(i == 48 ? &collector_on_death_type : &plain_type, 101 + i);
        tail->slot[0] = next;           /* steals the creation reference */
        tail = next;
    }
    collect_from_finalizer_result = 99;
    rcgc_decref(head);
    CHECK_STR(events, "del1 ");
    CHECK_EQ(collect_from_finalizer_result, 2);
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
}

/* ---- full collections through the prefetch arrays (collect.c's scan_order) ----
   A full collection may copy its list into an array and prefetch along it
   and along the previous one's survivors; that must change nothing a
   program sees.  The scenario: 20,000 nodes (some 20 size-class pages) linked in a shuffled chain with
   back links (cycles), finalizers, resurrection and weakref callbacks that
   log, collected so that the oldest generation's order parts from memory
   order, then cut in the middle and collected again.  Its log (finalizer,
   resurrection and callback order, every collection's result) must be the
   same with the arrays always, never, when the collector judges, and when
   their memory is refused (state.own_refusal). */
enum { SCATTER_N = 20000, SCATTER_LOG = 4 * SCATTER_N + 16 };
static int scatter_log[SCATTER_LOG];
static size_t scatter_len;
static void *scatter_revived[SCATTER_N];
static size_t scatter_revived_len;

static void scatter_note(int v)
{
    if (scatter_len < SCATTER_LOG) scatter_log[scatter_len++] = v;
}
static void scatter_finalize(void *self) { scatter_note(((node *)self)->id); }
static void scatter_revive(void *self)
{
    scatter_note(-1 - ((node *)self)->id);
    rcgc_incref(self);
    scatter_revived[scatter_revived_len++] = self;
}
static void scatter_callback(void *weakref, void *arg)
{
    (void)weakref;
    scatter_note(100000 + (int)(intptr_t)arg);
}
static const rcgc_type scatter_del_type = {.name = "scatter_del", .size = sizeof(node),
                                           .traverse = node_traverse, .clear = node_clear,
                                           .finalize = scatter_finalize};
static const rcgc_type scatter_lazarus_type = {.name = "scatter_lazarus", .size = sizeof(node),
                                               .traverse = node_traverse, .clear = node_clear,
                                               .finalize = scatter_revive};

static size_t scatter_random(uint64_t *x, size_t bound)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (size_t)(*x % bound);
}

/* Collection number refuse_at of a run has its refuse-th own allocation
   refused; scatter_refused says whether that happened. */
static int scatter_collections, scatter_refuse_at;
static unsigned scatter_refuse;
static bool scatter_refused;
static unsigned scatter_hinted;   /* bit k-1: collection k left hints */

/* A full collection, then the release of what finalizers revived (whose
   deaths may revive more, appended as the loop goes). */
static void scatter_collect(void)
{
    if (++scatter_collections == scatter_refuse_at) state()->own_refusal = scatter_refuse;
    scatter_note(200000 + (int)rcgc_collect(2));
    if (state()->scan_hints) scatter_hinted |= 1u << (scatter_collections - 1);
    if (scatter_collections == scatter_refuse_at) {
        scatter_refused = state()->own_refusal == 0;
        state()->own_refusal = 0;
    }
    while (scatter_revived_len > 0) rcgc_decref(scatter_revived[--scatter_revived_len]);
}

/* Runs the scenario with state.scan_order_forced = mode, refusing as
   above; leaves the log in scatter_log and which collections left hints
   (used the arrays) in scatter_hinted. */
static void scatter_run(signed char mode, int refuse_at, unsigned refuse)
{
    quiet_start();
    state()->scan_order_forced = -1;
    rcgc_collect(2);   /* drops any hints an earlier collection left */
    state()->scan_order_forced = mode;
    scatter_len = scatter_revived_len = 0;
    scatter_collections = 0;
    scatter_refuse_at = refuse_at;
    scatter_refuse = refuse;
    scatter_refused = false;
    scatter_hinted = 0;
    static node *nodes[SCATTER_N];
    static size_t perm[SCATTER_N];
    static void *weakrefs[SCATTER_N];
    size_t nweak = 0;
    for (int i = 0; i < SCATTER_N; i++) {
        const rcgc_type *t = i % 7 == 3 ? &scatter_lazarus_type
                             : i % 3 == 0 ? &scatter_del_type : &plain_type;
        nodes[i] = new_node(t, i);
        perm[i] = (size_t)i;
    }
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = SCATTER_N - 1; i > 0; i--) {
        size_t j = scatter_random(&x, i + 1), swap = perm[i];
        perm[i] = perm[j];
        perm[j] = swap;
    }
    for (size_t k = 0; k + 1 < SCATTER_N; k++) {
        link_slot(nodes[perm[k]], 0, nodes[perm[k + 1]]);
        if (k % 5 == 4) link_slot(nodes[perm[k]], 1, nodes[perm[scatter_random(&x, k)]]);
    }
    for (int i = 0; i < SCATTER_N; i += 11)
        weakrefs[nweak++] = rcgc_weakref_new(nodes[i], scatter_callback, (void *)(intptr_t)i);
    node *root = nodes[perm[0]], *cut = nodes[perm[SCATTER_N / 2]];
    for (int i = 0; i < SCATTER_N; i++)
        if (nodes[i] != root) rcgc_decref(nodes[i]);
    scatter_collect();   /* everything lives; generation 2 now in discovery order */
    scatter_collect();
    link_slot(cut, 0, NULL);   /* the chain's second half: garbage, some of it cyclic */
    scatter_collect();
    scatter_collect();
    rcgc_decref(root);
    scatter_collect();
    for (size_t i = 0; i < nweak; i++) rcgc_decref(weakrefs[i]);
    scatter_collect();
    scatter_collect();   /* what the last one's releases left in cycles */
    state()->scan_order_forced = 0;
    quiet_end();
}

TEST(full_collection_prefetch_arrays_change_nothing_a_program_sees)
{
    static int reference[SCATTER_LOG];
    scatter_run(-1, 0, 0);
    CHECK_EQ(scatter_hinted, 0);
    size_t reference_len = scatter_len;
    memcpy(reference, scatter_log, sizeof reference);
    /* every node died, each finalizer ran once, every result was logged */
    size_t finalized = 0, revived = 0, dels = 0, lazari = 0;
    for (size_t i = 0; i < reference_len; i++) {
        finalized += reference[i] >= 0 && reference[i] < SCATTER_N;
        revived += reference[i] < 0;
    }
    for (int i = 0; i < SCATTER_N; i++) {
        lazari += i % 7 == 3;
        dels += i % 7 != 3 && i % 3 == 0;
    }
    CHECK_EQ(finalized, dels);
    CHECK_EQ(revived, lazari);
    CHECK_EQ(reference[0], 200000);
    CHECK(reference[reference_len - 1] >= 200000);
    /* Refused: the first collection's array (it has no hints yet) and its
       unreachable list's; the array of the collection after the cut (it
       has hints), and of the one before it (which then leaves none).  The
       collector's own judgement takes the arrays once the chain's order
       has taken over the list (not at first: the list is then in
       allocation order). */
    struct { signed char mode; int refuse_at; unsigned refuse; unsigned hinted; } runs[] = {
        {1, 0, 0, 0x7f}, {0, 0, 0, 0}, {1, 1, 1, 0x7e}, {1, 1, 2, 0x7f},
        {1, 3, 1, 0x7b}, {1, 2, 1, 0x7d},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        scatter_run(runs[r].mode, runs[r].refuse_at, runs[r].refuse);
        if (runs[r].mode == 0) {
#ifdef RCGC_DEBUG
            CHECK_EQ(scatter_hinted, 0x7f);   /* debug builds: always */
#else
            CHECK_EQ(scatter_hinted & 1, 0);
            CHECK(scatter_hinted != 0);
#endif
        } else {
            CHECK_EQ(scatter_hinted, runs[r].hinted);
        }
        CHECK_EQ(scatter_refused, runs[r].refuse_at > 0);
        CHECK_EQ(scatter_len, reference_len);
        size_t first_difference = reference_len;
        for (size_t i = 0; i < reference_len && first_difference == reference_len; i++)
            if (scatter_log[i] != reference[i]) first_difference = i;
        CHECK_EQ(first_difference, reference_len);
    }
}

/* The array is sized from the generations' counts, which do not say how
   many objects generation 1 holds: a ring built with automatic collection
   on leaves much of itself there, and the array grows while gathered, from
   both ends (no hints yet), then in the walk that counts as it gathers
   (along the first one's hints). */
TEST(full_collection_array_grows_past_its_estimate)
{
    /* Sizes of both parities: the walk from both ends fills two entries a
       step, and must grow before the second, whatever room is left.  A
       garbage ring shows a miscounted array: part of it would seem held. */
    for (size_t size = 10000; size < 10008; size++) {
        quiet_start();
        state()->scan_order_forced = -1;
        rcgc_collect(2);   /* drops any hints an earlier collection left */
        rcgc_enable();
        state()->scan_order_forced = 1;
        node *last, *garbage = new_chain(&plain_type, size, &last);
        link_slot(last, 0, garbage);
        rcgc_decref(garbage);
        CHECK_EQ(rcgc_collect(2), size);   /* gathered from both ends */
        node *kept = new_chain(&plain_type, size, &last);
        link_slot(last, 0, kept);
        CHECK_EQ(rcgc_collect(2), 0);
        CHECK(state()->scan_hints_len >= size);   /* every survivor, and whatever else lives */
        garbage = new_chain(&plain_type, size, &last);
        link_slot(last, 0, garbage);
        rcgc_decref(garbage);
        CHECK_EQ(rcgc_collect(2), size);   /* gathered as counted, along the hints */
        rcgc_decref(kept);
        CHECK_EQ(rcgc_collect(2), size);
        state()->scan_order_forced = 0;
        quiet_end();
    }
}
