/* Weak references: clearing order, callbacks, counts, lifetimes. */
#include "harness.h"

#include "nodes.h"

static void *siblings[3];
static void sees_siblings_dead(void *wr, void *arg)
{
    (void)wr;
    int dead = 0;
    for (int i = 0; i < 3; i++) {
        void *r = rcgc_weakref_get(siblings[i]);
        if (!r) dead++;
        rcgc_decref(r);
    }
    event("cb%d", (int)(size_t)arg);
    event("saw%d ", dead);
}

TEST(all_weakrefs_are_cleared_before_the_first_callback_newest_first)
{
    /* mirrors test_weakref.test_multiple_selfref_callbacks */
    quiet_start();
    node *n = new_node(&plain_type, 1);
    for (int i = 0; i < 3; i++) siblings[i] = rcgc_weakref_new(n, sees_siblings_dead, (void *)(size_t)i);
    CHECK_EQ(rcgc_weakref_count(n), 3);
    rcgc_decref(n);
    CHECK_STR(events, "cb2saw3 cb1saw3 cb0saw3 ");
    for (int i = 0; i < 3; i++) rcgc_decref(siblings[i]);
    quiet_end();
}

TEST(same_in_a_collection)
{
    quiet_start();
    node *n = new_node(&plain_type, 1);
    link_slot(n, 0, n);
    for (int i = 0; i < 3; i++) siblings[i] = rcgc_weakref_new(n, sees_siblings_dead, (void *)(size_t)i);
    rcgc_decref(n);
    CHECK_EQ(rcgc_collect(2), 1);
    CHECK_STR(events, "cb2saw3 cb1saw3 cb0saw3 ");
    for (int i = 0; i < 3; i++) rcgc_decref(siblings[i]);
    quiet_end();
}

TEST(basic_ref_and_callback)
{
    /* mirrors test_weakref.test_basic_ref / test_basic_callback */
    quiet_start();
    node *n = new_node(&plain_type, 1);
    void *w = rcgc_weakref_new(n, weak_event, (void *)4);
    CHECK(rcgc_is_weakref(w));
    CHECK(!rcgc_is_weakref(n));
    CHECK(rcgc_is_tracked(w));
    void *got = rcgc_weakref_get(w);
    CHECK_PTR(got, n);
    CHECK_EQ(rcgc_refcount(n), 2);
    rcgc_decref(got);
    CHECK_PTR(rcgc_weakref_peek(w), n);
    CHECK_EQ(rcgc_refcount(n), 1);
    rcgc_decref(n);
    CHECK_STR(events, "cb4 ");
    CHECK_PTR(rcgc_weakref_get(w), NULL);
    CHECK_PTR(rcgc_weakref_peek(w), NULL);
    rcgc_decref(w);
    quiet_end();
}

TEST(weakref_count_tracks_live_weakrefs)
{
    /* mirrors test_weakref.test_getweakrefcount (no shared refs in rcgc) */
    quiet_start();
    node *n = new_node(&plain_type, 1);
    CHECK_EQ(rcgc_weakref_count(n), 0);
    void *w1 = rcgc_weakref_new(n, NULL, NULL);
    void *w2 = rcgc_weakref_new(n, NULL, NULL);
    CHECK(w1 != w2);                    /* always a new weakref object */
    CHECK_EQ(rcgc_weakref_count(n), 2);
    void *w3 = rcgc_weakref_new(n, weak_event, NULL);
    void *w4 = rcgc_weakref_new(n, weak_event, NULL);
    CHECK_EQ(rcgc_weakref_count(n), 4);
    rcgc_decref(w2);
    CHECK_EQ(rcgc_weakref_count(n), 3);
    rcgc_decref(n);
    CHECK_EQ(rcgc_weakref_count(n = NULL), 0);
    rcgc_decref(w1);
    rcgc_decref(w3);
    rcgc_decref(w4);
    quiet_end();
}

static const rcgc_type blob_type = {.name = "blob", .size = 8};

TEST(weakrefs_to_untracked_objects)
{
    quiet_start();
    void *b = rcgc_new(&blob_type);
    void *w = rcgc_weakref_new(b, weak_event, (void *)3);
    CHECK_EQ(rcgc_weakref_count(b), 1);
    rcgc_decref(b);
    CHECK_STR(events, "cb3 ");
    CHECK_PTR(rcgc_weakref_get(w), NULL);
    rcgc_decref(w);
    quiet_end();
}

TEST(dropping_a_weakref_first_means_no_callback)
{
    quiet_start();
    node *n = new_node(&plain_type, 1);
    void *w = rcgc_weakref_new(n, weak_event, (void *)1);
    rcgc_decref(w);
    CHECK_EQ(rcgc_weakref_count(n), 0);
    rcgc_decref(n);
    CHECK_STR(events, "");
    quiet_end();
}

TEST(bad_arguments)
{
    errno = 0;
    CHECK_PTR(rcgc_weakref_new(NULL, NULL, NULL), NULL);
    CHECK_EQ(errno, EINVAL);
    node *n = new_node(&plain_type, 1);
    errno = 0;
    CHECK_PTR(rcgc_weakref_get(n), NULL);   /* not a weakref */
    CHECK_EQ(errno, EINVAL);
    rcgc_decref(n);
}

TEST(many_referents_exercise_the_table)
{
    quiet_start();
    /* 10,000 referents with weakrefs, dropped in two orders */
    static node *nodes[10000];
    static void *refs[10000];
    for (int i = 0; i < 10000; i++) {
        nodes[i] = new_node(&plain_type, i);
        refs[i] = rcgc_weakref_new(nodes[i], NULL, NULL);
    }
    for (int i = 0; i < 10000; i += 2) rcgc_decref(nodes[i]);
    int alive = 0;
    for (int i = 0; i < 10000; i++) {
        void *r = rcgc_weakref_get(refs[i]);
        if (r) { alive++; CHECK_PTR(r, nodes[i]); rcgc_decref(r); }
    }
    CHECK_EQ(alive, 5000);
    for (int i = 1; i < 10000; i += 2) rcgc_decref(nodes[i]);
    for (int i = 0; i < 10000; i++) {
        CHECK_PTR(rcgc_weakref_peek(refs[i]), NULL);
        rcgc_decref(refs[i]);
    }
    quiet_end();
}

TEST(child_dies_inside_its_parents_clear_so_the_parents_weakref_calls_back)
{
    /* p.a = r; p.b = weakref.ref(r, cb); del r; del p: in CPython r dies while
       p's slots are cleared, before p's weakref goes, so cb runs. */
    quiet_start();
    node *p = new_node(&plain_type, 1), *r = new_node(&plain_type, 2);
    link_slot(p, 0, r);
    p->slot[1] = rcgc_weakref_new(r, weak_event, (void *)2);
    rcgc_decref(r);
    rcgc_decref(p);
    CHECK_STR(events, "cb2 ");
    quiet_end();
}
