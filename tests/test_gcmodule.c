/* The gc-module surface: debug output, the garbage list, uncollectable
   cycles, statistics, callbacks, inspection, freezing. */
#include "harness.h"

#include "nodes.h"

static char out[8192];
static void capture(const char *text, void *arg)
{
    (void)arg;
    size_t len = strlen(out);
    snprintf(out + len, sizeof out - len, "%s", text);
}

static void capture_start(void)
{
    out[0] = '\0';
    rcgc_set_output(capture, NULL);
}

TEST(debug_stats_prints_cpython_lines)
{
    quiet_start();
    node *keep = new_node(&plain_type, 0);
    rcgc_collect(0);                            /* keep in gen 1 */
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    rcgc_decref(a);
    capture_start();
    rcgc_set_debug(RCGC_DEBUG_STATS);
    CHECK_EQ(rcgc_collect(2), 1);
    rcgc_set_debug(0);
    rcgc_set_output(NULL, NULL);
    CHECK_CONTAINS(out, "gc: collecting generation 2...\n"
                        "gc: objects in each generation: 1 1 0\n"
                        "gc: objects in permanent generation: 0\n"
                        "gc: done, 1 unreachable, 0 uncollectable, 0.0");
    CHECK_CONTAINS(out, "s elapsed\n");
    rcgc_decref(keep);
    quiet_end();
}

TEST(debug_collectable_names_each_object)
{
    quiet_start();
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    char expected[64];
    snprintf(expected, sizeof expected, "gc: collectable <node %p>\n", (void *)a);
    rcgc_decref(a);
    capture_start();
    rcgc_set_debug(RCGC_DEBUG_COLLECTABLE);
    rcgc_collect(2);
    rcgc_set_debug(0);
    rcgc_set_output(NULL, NULL);
    CHECK_STR(out, expected);
    quiet_end();
}

TEST(saveall_keeps_garbage_in_the_garbage_list)
{
    /* mirrors test_gc.test_saveall */
    quiet_start();
    node *a = new_node(&del_type, 1);
    link_slot(a, 0, a);
    rcgc_decref(a);
    rcgc_set_debug(RCGC_DEBUG_SAVEALL);
    CHECK_EQ(rcgc_collect(2), 1);
    rcgc_set_debug(0);
    CHECK_EQ(rcgc_garbage_count(), 1);
    CHECK_PTR(rcgc_garbage_get(0), a);
    CHECK_EQ(rcgc_refcount(a), 2);              /* self + garbage list */
    CHECK_STR(events, "del1 ");                 /* finalized, not cleared */
    CHECK_PTR(a->slot[0], a);
    errno = 0;
    CHECK_PTR(rcgc_garbage_get(1), NULL);
    CHECK_EQ(errno, ERANGE);
    rcgc_garbage_clear();
    CHECK_EQ(rcgc_garbage_count(), 0);
    CHECK_EQ(rcgc_collect(2), 1);
    quiet_end();
}

static size_t destroyed;
static void count_destroy(void *self) { node_clear(self); destroyed++; }
static const rcgc_type stuck_type = {.name = "stuck", .size = sizeof(node),
                                     .traverse = node_traverse, .destroy = count_destroy};

TEST(cycle_without_clear_is_uncollectable_reported_and_kept)
{
    quiet_start();
    node *a = new_node(&stuck_type, 1), *b = new_node(&stuck_type, 2);
    node *cargo = new_node(&plain_type, 3);     /* has clear, kept alive by a */
    link_slot(a, 0, b);
    link_slot(b, 0, a);
    link_slot(a, 1, cargo);
    rcgc_decref(b);
    rcgc_decref(cargo);
    rcgc_decref(a);
    rcgc_gen_stats before, after;
    rcgc_get_stats(2, &before);
    destroyed = 0;
    capture_start();
    rcgc_set_debug(RCGC_DEBUG_UNCOLLECTABLE);
    CHECK_EQ(rcgc_collect(2), 3);
    rcgc_set_debug(0);
    rcgc_set_output(NULL, NULL);
    rcgc_get_stats(2, &after);
    CHECK_EQ(after.collections, before.collections + 1);
    CHECK_EQ(after.collected, before.collected);
    CHECK_EQ(after.uncollectable, before.uncollectable + 3);
    CHECK_EQ(destroyed, 0);
    CHECK_EQ(rcgc_garbage_count(), 3);
    CHECK_CONTAINS(out, "gc: uncollectable <stuck ");
    CHECK_CONTAINS(out, "gc: uncollectable <node ");
    /* found again, not freed, by the next collection */
    CHECK_EQ(rcgc_collect(2), 0);
    /* the user breaks the cycle and empties the list: all three go */
    RCGC_CLEAR(a->slot[0]);
    rcgc_garbage_clear();
    CHECK_EQ(destroyed, 2);
    quiet_end();
}

TEST(cycle_with_one_clear_is_collectable)
{
    quiet_start();
    node *a = new_node(&stuck_type, 1), *b = new_node(&plain_type, 2);
    link_slot(a, 0, b);
    link_slot(b, 0, a);
    rcgc_decref(b);
    rcgc_decref(a);
    destroyed = 0;
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_EQ(destroyed, 1);
    CHECK_EQ(rcgc_garbage_count(), 0);
    quiet_end();
}

TEST(stats_count_per_generation)
{
    /* mirrors test_gc.test_get_stats */
    quiet_start();
    rcgc_gen_stats s0, s1, s2, t0, t1, t2;
    rcgc_get_stats(0, &s0);
    rcgc_get_stats(1, &s1);
    rcgc_get_stats(2, &s2);
    rcgc_collect(0);
    rcgc_get_stats(0, &t0);
    rcgc_get_stats(1, &t1);
    rcgc_get_stats(2, &t2);
    CHECK_EQ(t0.collections, s0.collections + 1);
    CHECK_EQ(t1.collections, s1.collections);
    CHECK_EQ(t2.collections, s2.collections);
    rcgc_collect(2);
    rcgc_get_stats(1, &s1);
    rcgc_get_stats(2, &s2);
    CHECK_EQ(s1.collections, t1.collections);
    CHECK_EQ(s2.collections, t2.collections + 1);
    errno = 0;
    rcgc_get_stats(3, &s0);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(s0.collections, 0);
    quiet_end();
}

static char calls[256];
static void cb_record(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    size_t len = strlen(calls);
    snprintf(calls + len, sizeof calls - len, "%s:%s:%d:%zu:%zu ", (const char *)arg,
             phase == RCGC_PHASE_START ? "start" : "stop", info->generation,
             info->collected, info->uncollectable);
}

TEST(callbacks_see_start_and_stop_with_results)
{
    /* mirrors test_gc.GCCallbackTests.test_collect / test_collect_garbage */
    quiet_start();
    CHECK_EQ(rcgc_callback_add(cb_record, "A"), 0);
    CHECK_EQ(rcgc_callback_add(cb_record, "B"), 0);
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    rcgc_decref(a);
    node *s = new_node(&stuck_type, 2);
    link_slot(s, 0, s);
    rcgc_decref(s);
    calls[0] = '\0';
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_STR(calls, "A:start:2:0:0 B:start:2:0:0 A:stop:2:1:1 B:stop:2:1:1 ");
    CHECK_EQ(rcgc_callback_remove(cb_record, "A"), 0);
    CHECK_EQ(rcgc_callback_remove(cb_record, "B"), 0);
    errno = 0;
    CHECK_EQ(rcgc_callback_remove(cb_record, "B"), -1);
    CHECK_EQ(errno, ENOENT);
    RCGC_CLEAR(s->slot[0]);
    quiet_end();
}

static int collect_ptrs(void *obj, void *arg)
{
    void **found = arg;
    for (int i = 0; i < 8; i++)
        if (!found[i]) { found[i] = obj; break; }
    return 0;
}

TEST(referrers_and_referents)
{
    /* mirrors test_gc.test_get_referents */
    quiet_start();
    node *a = new_node(&plain_type, 1), *b = new_node(&plain_type, 2);
    node *c = new_node(&plain_type, 3);
    link_slot(a, 0, c);
    link_slot(b, 2, c);
    link_slot(a, 1, b);
    void *found[8] = {0};
    CHECK_EQ(rcgc_get_referents(a, collect_ptrs, found), 0);
    CHECK_PTR(found[0], c);
    CHECK_PTR(found[1], b);
    CHECK_PTR(found[2], NULL);
    memset(found, 0, sizeof found);
    CHECK_EQ(rcgc_get_referrers(c, collect_ptrs, found), 0);
    CHECK((found[0] == a && found[1] == b) || (found[0] == b && found[1] == a));
    CHECK_PTR(found[2], NULL);
    memset(found, 0, sizeof found);
    CHECK_EQ(rcgc_get_referents(c, collect_ptrs, found), 0);
    CHECK_PTR(found[0], NULL);
    rcgc_decref(a);
    rcgc_decref(b);
    rcgc_decref(c);
    quiet_end();
}

TEST(freeze_moves_everything_to_a_permanent_generation)
{
    /* mirrors test_gc.test_freeze */
    quiet_start();
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    rcgc_freeze();
    size_t c[3];
    rcgc_get_count(c);
    CHECK_EQ(c[0] + c[1] + c[2], 0);
    CHECK(rcgc_get_freeze_count() >= 1);
    size_t all = 0;
    rcgc_get_objects(-1, count_visit_fn, &all);
    CHECK_EQ(all, 0);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 0);               /* frozen: ignored */
    rcgc_unfreeze();
    CHECK_EQ(rcgc_get_freeze_count(), 0);
    size_t in2 = 0;
    rcgc_get_objects(2, count_visit_fn, &in2);
    CHECK(in2 >= 1);
    CHECK_EQ(rcgc_collect(2), 1);
    errno = 0;
    CHECK_EQ(rcgc_get_objects(5, count_visit_fn, &in2), -1);
    CHECK_EQ(errno, EINVAL);
    quiet_end();
}

TEST(untracked_objects_are_invisible_to_the_collector)
{
    /* mirrors test_gc.test_is_tracked */
    quiet_start();
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    rcgc_untrack(a);
    CHECK(!rcgc_is_tracked(a));
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 0);
    rcgc_track(a);
    CHECK(rcgc_is_tracked(a));
    CHECK_EQ(rcgc_collect(2), 1);
    quiet_end();
}

TEST(thresholds_and_switches_round_trip)
{
    size_t t[3];
    rcgc_get_threshold(t);
    CHECK_EQ(t[0], 700);
    CHECK_EQ(t[1], 10);
    CHECK_EQ(t[2], 10);
    rcgc_set_threshold(5, 6, 7);
    rcgc_get_threshold(t);
    CHECK_EQ(t[0] * 100 + t[1] * 10 + t[2], 567);
    rcgc_set_threshold(700, 10, 10);
    rcgc_disable();
    CHECK(!rcgc_isenabled());
    rcgc_enable();
    CHECK(rcgc_isenabled());
    rcgc_set_debug(RCGC_DEBUG_LEAK);
    CHECK_EQ(rcgc_get_debug(), 2u | 4u | 32u);
    rcgc_set_debug(0);
}

static size_t collect_result_inside = 99;
static int collect_inside_walk(void *obj, void *arg)
{
    (void)obj, (void)arg;
    collect_result_inside = rcgc_collect(2);
    return 1;
}

/* The walk's snapshot holds what it hands out, as the list of Python's
   gc.get_objects() does; a collection run from the callback frees the rest. */
TEST(collect_from_a_get_objects_callback_runs)
{
    quiet_start();
    node *kept = new_node(&plain_type, 1);
    rcgc_collect(2);                    /* kept now sits in generation 2 */
    node *a = new_node(&plain_type, 2);
    link_slot(a, 0, a);
    rcgc_decref(a);                     /* garbage in generation 0 */
    CHECK_EQ(rcgc_get_objects(2, collect_inside_walk, NULL), 1);
    CHECK_EQ(collect_result_inside, 1);
    CHECK_EQ(rcgc_collect(2), 0);
    rcgc_decref(kept);
    quiet_end();
}
