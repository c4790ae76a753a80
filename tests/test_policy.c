/* Collection policies: CPython's schedule exactly, and the throughput policy
   that stretches the young interval while collections find nothing, and
   still bounds the garbage waiting for one. */
#include "harness.h"

#include "internal.h"   /* the trigger, read back */
#include "nodes.h"

/* Automatic collections per generation while `fn` runs. */
static size_t collections[3];
static void count_collections(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)arg;
    if (phase == RCGC_PHASE_START) collections[info->generation]++;
}

static void policy_start(rcgc_policy policy)
{
    quiet_start();
    rcgc_collect(2);
    CHECK_EQ(rcgc_set_policy(policy), 0);
    memset(collections, 0, sizeof collections);
    CHECK_EQ(rcgc_callback_add(count_collections, NULL), 0);
    rcgc_enable();
}

static void policy_end(void)
{
    CHECK_EQ(rcgc_callback_remove(count_collections, NULL), 0);
    CHECK_EQ(rcgc_set_policy(RCGC_POLICY_CPYTHON), 0);
    quiet_end();
}

TEST(the_default_policy_is_cpythons_and_unknown_ones_are_refused)
{
    CHECK_EQ(rcgc_get_policy(), RCGC_POLICY_CPYTHON);
    errno = 0;
    CHECK_EQ(rcgc_set_policy((rcgc_policy)7), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(rcgc_get_policy(), RCGC_POLICY_CPYTHON);
    CHECK_EQ(rcgc_set_policy(RCGC_POLICY_THROUGHPUT), 0);
    CHECK_EQ(rcgc_get_policy(), RCGC_POLICY_THROUGHPUT);
    CHECK_EQ(rcgc_set_policy(RCGC_POLICY_CPYTHON), 0);
}

/* 70,000 objects kept in a list: CPython makes a young collection every 701
   allocations (the list's own growth allocates no tracked objects). */
static void keep_objects(size_t n)
{
    void *list = rcgc_list_new();
    for (size_t i = 0; i < n; i++) {
        node *obj = new_node(&plain_type, (int)i);
        rcgc_list_append(list, obj);
        rcgc_decref(obj);
    }
    rcgc_decref(list);
}

TEST(cpython_policy_collects_every_701_allocations)
{
    SKIP_IF_STRESS("every allocation collects");
    policy_start(RCGC_POLICY_CPYTHON);
    keep_objects(70000);
    /* 70,001 tracked objects made (the list too): 99 collections of the
       young generation in all (70,001 / 701).  Generation 1's count passes
       10 at the 11th: every 12th collection is of generation 1, 8 of them. */
    CHECK_EQ(collections[0] + collections[1] + collections[2], 99);
    CHECK_EQ(collections[1], 8);
    CHECK_EQ(collections[2], 0);
    policy_end();
}

TEST(throughput_policy_stretches_the_interval_while_nothing_is_found)
{
    SKIP_IF_STRESS("every allocation collects");
    policy_start(RCGC_POLICY_THROUGHPUT);
    keep_objects(70000);
    /* Collections at the 701st allocation, then after 1,401, 2,801 and
       5,601 more (at the 10,504th), then every 5,601 (the longest interval,
       8 x 700): 14 collections for 70,001 objects, against CPython's 99.
       The 11th is of generation 1, which then waits twice as long. */
    CHECK_EQ(collections[0] + collections[1] + collections[2], 14);
    CHECK_EQ(collections[1], 1);
    policy_end();
}

/* Generation 1's interval stretches too: survivors are not walked again
   and again for nothing while a structure is built. */
TEST(throughput_policy_stretches_generation_1_while_it_finds_nothing)
{
    SKIP_IF_STRESS("every allocation collects");
    policy_start(RCGC_POLICY_THROUGHPUT);
    keep_objects(300000);
    /* 55 collections (3, then 52 every 5,601 from the 10,504th): the 11th
       is of generation 1 and finds nothing, so the next comes after 20
       young ones (the 32nd), and the one after that would come 40 later. */
    CHECK_EQ(collections[0] + collections[1] + collections[2], 55);
    CHECK_EQ(collections[1], 2);
    CHECK_EQ(collections[2], 0);
    policy_end();
}

/* Garbage cycles made forever: however long it runs, what waits for a
   collection stays under the policy's longest interval. */
TEST(throughput_policy_finds_every_cycle_and_bounds_memory)
{
    policy_start(RCGC_POLICY_THROUGHPUT);
    size_t base = rcgc_memory_in_use(), peak = 0;
    size_t pair = 2 * bytes_of(&plain_type);
    for (int i = 0; i < 200000; i++) {
        rcgc_decref(make_pair(&plain_type, 1, &plain_type, 2));
        size_t now = rcgc_memory_in_use() - base;
        if (now > peak) peak = now;
    }
    /* 8 x 700 young objects at most, the pairs' halves: 2,800 pairs. */
    CHECK(peak <= 2801 * pair);
    CHECK(collections[0] + collections[1] + collections[2] >= 200000 * 2 / 5600);
    rcgc_collect(2);
    CHECK_EQ(rcgc_memory_in_use(), base);
    policy_end();
}

/* Cycles that make up most of what is allocated keep the interval short. */
TEST(throughput_policy_comes_sooner_when_collections_find_much)
{
    SKIP_IF_STRESS("every allocation collects");
    policy_start(RCGC_POLICY_THROUGHPUT);
    keep_objects(70000);   /* stretches the interval to its longest */
    memset(collections, 0, sizeof collections);
    for (int i = 0; i < 100000; i++) rcgc_decref(make_pair(&plain_type, 1, &plain_type, 2));
    size_t all = collections[0] + collections[1] + collections[2];
    /* Every young collection finds nearly all of it garbage: the interval
       halves each time, down to 700, then stays there. */
    CHECK(all > 200000 / 1400);
    CHECK(all <= 200000 / 700 + 1);
    policy_end();
}

/* Structures built and dropped whole (binary trees, documents): young
   collections see them half built, and promote what then dies by its
   counts before generation 1 is collected.  The interval then grows past
   8 x 700 (up to 64 x 700), so that more structures are built and dropped
   between two collections.  A structure kept keeps it at 8 x 700
   (throughput_policy_stretches_the_interval_while_nothing_is_found). */
TEST(throughput_policy_stretches_further_while_survivors_die_young)
{
    SKIP_IF_STRESS("every allocation collects");
    policy_start(RCGC_POLICY_THROUGHPUT);
    for (int round = 0; round < 60; round++) keep_objects(20000);
    CHECK(state()->generations[0].trigger > (size_t)700 << 3);
    CHECK(state()->generations[0].trigger <= (size_t)700 << 6);
    policy_end();
}

TEST(each_heap_has_its_own_policy)
{
    CHECK_EQ(rcgc_set_policy(RCGC_POLICY_THROUGHPUT), 0);
    rcgc_heap *h = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(h);
    CHECK_EQ(rcgc_get_policy(), RCGC_POLICY_CPYTHON);
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_get_policy(), RCGC_POLICY_THROUGHPUT);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_EQ(rcgc_set_policy(RCGC_POLICY_CPYTHON), 0);
}
