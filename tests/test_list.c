/* rcgc_list: storage, reference counts, errors, re-entrancy, cycles. */
#include "harness.h"

#include "nodes.h"

TEST(list_new_is_empty_tracked_list)
{
    void *list = rcgc_list_new();
    CHECK(list != NULL);
    CHECK_EQ(rcgc_list_len(list), 0);
    CHECK_EQ(rcgc_refcount(list), 1);
    CHECK_PTR(rcgc_typeof(list), &rcgc_list_type);
    CHECK_STR(rcgc_list_type.name, "list");
    CHECK(rcgc_is_tracked(list));
    rcgc_decref(list);
}

TEST(list_append_get_keeps_order_and_takes_own_reference)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *a = new_boxed(1), *b = new_boxed(2);
    CHECK_EQ(rcgc_list_append(list, a), 0);
    CHECK_EQ(rcgc_list_append(list, NULL), 0);
    CHECK_EQ(rcgc_list_append(list, b), 0);
    CHECK_EQ(rcgc_list_append(list, a), 0);
    CHECK_EQ(rcgc_list_len(list), 4);
    CHECK_PTR(rcgc_list_get(list, 0), a);
    CHECK_PTR(rcgc_list_get(list, 1), NULL);
    CHECK_PTR(rcgc_list_get(list, 2), b);
    CHECK_PTR(rcgc_list_get(list, 3), a);
    CHECK_EQ(rcgc_refcount(a), 3);
    CHECK_EQ(rcgc_refcount(b), 2);
    rcgc_decref(a);
    rcgc_decref(b);
    CHECK_EQ(boxed_freed, 0);
    CHECK_EQ(rcgc_refcount(a), 2);
    rcgc_decref(list);
    CHECK_EQ(boxed_freed, 2);
    quiet_end();
}

TEST(list_set_replaces_and_moves_references)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *a = new_boxed(1), *b = new_boxed(2);
    rcgc_list_append(list, a);
    rcgc_list_append(list, NULL);
    CHECK_EQ(rcgc_list_set(list, 0, b), 0);
    CHECK_PTR(rcgc_list_get(list, 0), b);
    CHECK_EQ(rcgc_refcount(a), 1);
    CHECK_EQ(rcgc_refcount(b), 2);
    CHECK_EQ(rcgc_list_set(list, 1, a), 0);
    CHECK_PTR(rcgc_list_get(list, 1), a);
    CHECK_EQ(rcgc_refcount(a), 2);
    CHECK_EQ(rcgc_list_set(list, 0, NULL), 0);
    CHECK_PTR(rcgc_list_get(list, 0), NULL);
    CHECK_EQ(rcgc_refcount(b), 1);
    /* Setting the item already there must not free it in passing. */
    CHECK_EQ(rcgc_list_set(list, 1, a), 0);
    CHECK_EQ(rcgc_refcount(a), 2);
    CHECK_EQ(rcgc_list_len(list), 2);
    rcgc_decref(a);
    CHECK_EQ(rcgc_list_set(list, 1, b), 0);   /* last reference to a goes */
    CHECK_EQ(boxed_freed, 1);
    rcgc_decref(b);
    rcgc_decref(list);
    CHECK_EQ(boxed_freed, 2);
    quiet_end();
}

TEST(list_pop_hands_over_reference_and_remove_drops_it)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *items[5];
    for (int i = 0; i < 5; i++) {
        items[i] = new_boxed(i);
        rcgc_list_append(list, items[i]);
        rcgc_decref(items[i]);
    }
    void *popped = rcgc_list_pop(list, 1);
    CHECK_PTR(popped, items[1]);
    CHECK_EQ(rcgc_refcount(popped), 1);
    CHECK_EQ(rcgc_list_len(list), 4);
    CHECK_PTR(rcgc_list_get(list, 1), items[2]);
    CHECK_PTR(rcgc_list_get(list, 3), items[4]);

    popped = rcgc_list_pop(list, 3);          /* the last one */
    CHECK_PTR(popped, items[4]);
    CHECK_EQ(rcgc_list_len(list), 3);
    CHECK_EQ(boxed_freed, 0);

    CHECK_EQ(rcgc_list_remove(list, 0), 0);  /* the first one */
    CHECK_EQ(boxed_freed, 1);
    CHECK_EQ(rcgc_list_len(list), 2);
    CHECK_PTR(rcgc_list_get(list, 0), items[2]);
    CHECK_PTR(rcgc_list_get(list, 1), items[3]);

    rcgc_decref(items[1]);
    rcgc_decref(items[4]);
    CHECK_EQ(boxed_freed, 3);
    rcgc_decref(list);
    CHECK_EQ(boxed_freed, 5);
    quiet_end();
}

TEST(list_pop_of_null_item_returns_null_and_shrinks)
{
    void *list = rcgc_list_new();
    rcgc_list_append(list, NULL);
    errno = 0;
    CHECK_PTR(rcgc_list_pop(list, 0), NULL);
    CHECK_EQ(errno, 0);
    CHECK_EQ(rcgc_list_len(list), 0);
    rcgc_decref(list);
}

TEST(list_rejects_null_and_foreign_objects_with_einval)
{
    void *item = new_boxed(7);
    void *dict = rcgc_dict_new();
    void *not_lists[] = {NULL, item, dict};
    for (int k = 0; k < 3; k++) {
        void *obj = not_lists[k];
        errno = 0;
        CHECK_EQ(rcgc_list_len(obj), 0);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK_EQ(rcgc_list_append(obj, item), -1);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK_PTR(rcgc_list_get(obj, 0), NULL);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK_EQ(rcgc_list_set(obj, 0, item), -1);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK_PTR(rcgc_list_pop(obj, 0), NULL);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK_EQ(rcgc_list_remove(obj, 0), -1);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        rcgc_list_clear(obj);
        CHECK_EQ(errno, EINVAL);
    }
    /* None of that touched the objects. */
    CHECK_EQ(rcgc_refcount(item), 1);
    CHECK_EQ(*(int *)item, 7);
    CHECK_EQ(rcgc_dict_len(dict), 0);
    rcgc_decref(dict);
    rcgc_decref(item);
}

TEST(list_index_out_of_range_is_erange_and_changes_nothing)
{
    void *list = rcgc_list_new();
    void *item = new_boxed(1);
    size_t bad[] = {0, 1, 2, (size_t)-1};
    /* Empty list: every index is out of range; then a list of two. */
    for (int round = 0; round < 2; round++) {
        size_t len = rcgc_list_len(list);
        for (int k = 0; k < 4; k++) {
            size_t i = bad[k] + len;
            if (i < len) continue;   /* (size_t)-1 + len wrapped: in range */
            errno = 0;
            CHECK_PTR(rcgc_list_get(list, i), NULL);
            CHECK_EQ(errno, ERANGE);
            errno = 0;
            CHECK_EQ(rcgc_list_set(list, i, item), -1);
            CHECK_EQ(errno, ERANGE);
            errno = 0;
            CHECK_PTR(rcgc_list_pop(list, i), NULL);
            CHECK_EQ(errno, ERANGE);
            errno = 0;
            CHECK_EQ(rcgc_list_remove(list, i), -1);
            CHECK_EQ(errno, ERANGE);
        }
        CHECK_EQ(rcgc_list_len(list), len);
        CHECK_EQ(rcgc_refcount(item), 1 + len);
        rcgc_list_append(list, item);
        rcgc_list_append(list, item);
    }
    CHECK_PTR(rcgc_list_get(list, 1), item);
    errno = 0;
    CHECK_PTR(rcgc_list_get(list, (size_t)-1), NULL);
    CHECK_EQ(errno, ERANGE);
    rcgc_decref(list);
    CHECK_EQ(rcgc_refcount(item), 1);
    rcgc_decref(item);
}

TEST(list_grows_to_100000_and_shrinks_back)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *shared = new_boxed(0);
    enum { N = 100000 };
    for (size_t i = 0; i < N; i++) {
        if (rcgc_list_append(list, shared) != 0) {
            HARNESS_FAIL("append %zu failed", i);
            break;
        }
    }
    CHECK_EQ(rcgc_list_len(list), N);
    CHECK_EQ(rcgc_refcount(shared), N + 1);
    CHECK_PTR(rcgc_list_get(list, N - 1), shared);
    size_t popped = 0;
    while (rcgc_list_len(list) > 1) {
        void *item = rcgc_list_pop(list, rcgc_list_len(list) - 1);
        if (item != shared) break;
        rcgc_decref(item);
        popped++;
    }
    CHECK_EQ(popped, N - 1);
    CHECK_EQ(rcgc_refcount(shared), 2);
    CHECK_PTR(rcgc_list_get(list, 0), shared);
    rcgc_decref(list);
    CHECK_EQ(rcgc_refcount(shared), 1);
    rcgc_decref(shared);
    quiet_end();
}

TEST(list_remove_from_middle_keeps_order)
{
    quiet_start();
    enum { N = 1000 };
    void *list = rcgc_list_new();
    for (int i = 0; i < N; i++) {
        void *item = new_boxed(i);
        rcgc_list_append(list, item);
        rcgc_decref(item);
    }
    /* Remove every odd value, walking down so indexes stay valid. */
    for (int i = N - 1; i > 0; i -= 2)
        rcgc_list_remove(list, (size_t)i);
    CHECK_EQ(boxed_freed, N / 2);
    CHECK_EQ(rcgc_list_len(list), N / 2);
    int wrong = 0;
    for (size_t i = 0; i < N / 2; i++)
        if (*(int *)rcgc_list_get(list, i) != (int)(2 * i)) wrong++;
    CHECK_EQ(wrong, 0);
    rcgc_decref(list);
    CHECK_EQ(boxed_freed, N);
    quiet_end();
}

TEST(list_clear_drops_every_reference_and_list_stays_usable)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *a = new_boxed(1);
    for (int i = 0; i < 10; i++) rcgc_list_append(list, a);
    rcgc_list_append(list, NULL);
    CHECK_EQ(rcgc_refcount(a), 11);
    rcgc_list_clear(list);
    CHECK_EQ(rcgc_list_len(list), 0);
    CHECK_EQ(rcgc_refcount(a), 1);
    rcgc_list_clear(list);                 /* twice is harmless */
    CHECK_EQ(rcgc_list_len(list), 0);
    CHECK_EQ(rcgc_list_append(list, a), 0);
    CHECK_EQ(rcgc_list_len(list), 1);
    CHECK_EQ(rcgc_refcount(a), 2);
    rcgc_decref(list);
    CHECK_EQ(rcgc_refcount(a), 1);
    rcgc_decref(a);
    quiet_end();
}

static int record_referent(void *obj, void *arg)
{
    void **seen = arg;
    size_t n = (size_t)seen[0];
    if (n < 4) seen[1 + n] = obj;
    seen[0] = (void *)(n + 1);
    return 0;
}

TEST(list_traverse_reports_non_null_items_in_order)
{
    void *list = rcgc_list_new();
    void *a = new_boxed(1), *b = new_boxed(2);
    rcgc_list_append(list, a);
    rcgc_list_append(list, NULL);
    rcgc_list_append(list, b);
    void *seen[5] = {0};
    CHECK_EQ(rcgc_get_referents(list, record_referent, seen), 0);
    CHECK_EQ((size_t)seen[0], 2);
    CHECK_PTR(seen[1], a);
    CHECK_PTR(seen[2], b);
    rcgc_decref(list);
    rcgc_decref(a);
    rcgc_decref(b);
}

/* ---- allocation failures ---------------------------------------------- */

TEST(list_append_fails_with_enomem_and_leaves_list_intact)
{
    quiet_start();
    void *empty = rcgc_list_new();
    void *list = rcgc_list_new();
    void *item = new_boxed(1);
    rcgc_list_append(list, item);
    rcgc_list_append(list, NULL);

    refused_allocations = 0;
    rcgc_set_alloc_hook(refuse_all, NULL);
    /* An empty list has no storage yet: the first append must allocate. */
    errno = 0;
    CHECK_EQ(rcgc_list_append(empty, item), -1);
    CHECK_EQ(errno, ENOMEM);
    CHECK_EQ(rcgc_list_len(empty), 0);
    CHECK_EQ(rcgc_refcount(item), 2);
    /* A list with spare room takes items until it would have to grow. */
    size_t len = 2;
    int rc;
    while ((rc = rcgc_list_append(list, item)) == 0 && len < 1000) len++;
    int append_errno = errno;
    /* set and pop never allocate, so they work even now. */
    CHECK_EQ(rcgc_list_set(list, 1, item), 0);
    void *popped = rcgc_list_pop(list, 0);
    rcgc_set_alloc_hook(NULL, NULL);

    CHECK_EQ(rc, -1);
    CHECK_EQ(append_errno, ENOMEM);
    CHECK(refused_allocations >= 2);
    CHECK(len < 1000);
    CHECK_PTR(popped, item);
    CHECK_EQ(rcgc_list_len(list), len - 1);
    for (size_t i = 0; i < len - 1; i++)
        CHECK_PTR(rcgc_list_get(list, i), item);
    /* One reference of ours, one per slot, the popped one; none from the
       failed appends. */
    CHECK_EQ(rcgc_refcount(item), 1 + (len - 1) + 1);
    rcgc_decref(popped);

    CHECK_EQ(rcgc_list_append(list, item), 0);
    CHECK_EQ(rcgc_list_len(list), len);
    CHECK_EQ(rcgc_list_append(empty, item), 0);
    rcgc_decref(list);
    rcgc_decref(empty);
    CHECK_EQ(rcgc_refcount(item), 1);
    rcgc_decref(item);
    quiet_end();
}

TEST(list_new_fails_with_enomem_under_refusing_hook)
{
    rcgc_set_alloc_hook(refuse_all, NULL);
    errno = 0;
    void *list = rcgc_list_new();
    int err = errno;
    rcgc_set_alloc_hook(NULL, NULL);
    CHECK_PTR(list, NULL);
    CHECK_EQ(err, ENOMEM);
}

TEST(list_pops_succeed_when_shrinking_is_refused)
{
    quiet_start();
    void *list = rcgc_list_new();
    for (int i = 0; i < 100; i++) {
        void *item = new_boxed(i);
        rcgc_list_append(list, item);
        rcgc_decref(item);
    }
    rcgc_set_alloc_hook(refuse_all, NULL);
    int wrong = 0;
    for (int i = 99; i >= 5; i--) {
        void *item = rcgc_list_pop(list, (size_t)i);
        if (!item || *(int *)item != i) wrong++;
        rcgc_decref(item);
    }
    rcgc_set_alloc_hook(NULL, NULL);
    CHECK_EQ(wrong, 0);
    CHECK_EQ(boxed_freed, 95);
    CHECK_EQ(rcgc_list_len(list), 5);
    CHECK_EQ(*(int *)rcgc_list_get(list, 4), 4);
    rcgc_decref(list);
    quiet_end();
}

TEST(list_storage_shrinks_and_is_returned_to_the_allocator)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *item = new_boxed(1);
    /* Measured with no object freed in between: debug builds hold freed
       objects in a quarantine that rcgc_memory_in_use still counts. */
    size_t before = rcgc_memory_in_use();
    for (int i = 0; i < 5000; i++) rcgc_list_append(list, item);
    CHECK(rcgc_memory_in_use() > before + 5000 * sizeof(void *));
    for (int i = 0; i < 4000; i++) rcgc_list_remove(list, 0);
    size_t after_removals = rcgc_memory_in_use();
    CHECK(after_removals < before + 5000 * sizeof(void *));
    rcgc_list_clear(list);
    CHECK_EQ(rcgc_memory_in_use(), before);
    rcgc_decref(list);
    CHECK_EQ(rcgc_refcount(item), 1);
    rcgc_decref(item);
    quiet_end();
}

/* ---- re-entrancy: finalizers that touch the list being changed --------- */

static void *watched_list;
static void *marker;
static size_t seen_len;
static void *seen_item0;
static int seen_get_errno;
static int finalizer_runs;

static void spy_finalize(void *self)
{
    (void)self;
    finalizer_runs++;
    seen_len = rcgc_list_len(watched_list);
    errno = 0;
    seen_item0 = rcgc_list_get(watched_list, 0);
    seen_get_errno = errno;
    if (marker) rcgc_list_append(watched_list, marker);
}

static const rcgc_type spy_type = {
    .name = "spy", .size = sizeof(int), .finalize = spy_finalize,
    .destroy = boxed_destroy,
};

static void reset_spy(void *list, void *append_on_finalize)
{
    watched_list = list;
    marker = append_on_finalize;
    seen_len = 12345;
    seen_item0 = NULL;
    seen_get_errno = 0;
    finalizer_runs = 0;
}

TEST(list_clear_is_reentrant_finalizer_sees_empty_list_and_appends)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *m = new_boxed(99);
    void *spy = rcgc_new(&spy_type);
    rcgc_list_append(list, spy);
    rcgc_list_append(list, spy);
    rcgc_decref(spy);
    reset_spy(list, m);
    rcgc_list_clear(list);
    CHECK_EQ(finalizer_runs, 1);
    CHECK_EQ(seen_len, 0);
    CHECK_PTR(seen_item0, NULL);
    CHECK_EQ(seen_get_errno, ERANGE);
    CHECK_EQ(boxed_freed, 1);
    /* What the finalizer appended went into fresh storage and stays. */
    CHECK_EQ(rcgc_list_len(list), 1);
    CHECK_PTR(rcgc_list_get(list, 0), m);
    CHECK_EQ(rcgc_refcount(m), 2);
    rcgc_decref(list);
    CHECK_EQ(rcgc_refcount(m), 1);
    rcgc_decref(m);
    quiet_end();
}

TEST(list_set_drops_old_item_after_storing_new_one)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *spy = rcgc_new(&spy_type);
    void *replacement = new_boxed(5);
    rcgc_list_append(list, spy);
    rcgc_decref(spy);
    reset_spy(list, NULL);
    CHECK_EQ(rcgc_list_set(list, 0, replacement), 0);
    CHECK_EQ(finalizer_runs, 1);
    CHECK_EQ(seen_len, 1);
    CHECK_PTR(seen_item0, replacement);
    CHECK_EQ(rcgc_refcount(replacement), 2);
    rcgc_decref(replacement);
    rcgc_decref(list);
    CHECK_EQ(boxed_freed, 2);
    quiet_end();
}

TEST(list_remove_drops_item_after_closing_the_gap)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *spy = rcgc_new(&spy_type);
    void *next = new_boxed(5);
    void *m = new_boxed(6);
    rcgc_list_append(list, spy);
    rcgc_list_append(list, next);
    rcgc_decref(spy);
    reset_spy(list, m);
    CHECK_EQ(rcgc_list_remove(list, 0), 0);
    CHECK_EQ(finalizer_runs, 1);
    CHECK_EQ(seen_len, 1);
    CHECK_PTR(seen_item0, next);
    CHECK_EQ(rcgc_list_len(list), 2);
    CHECK_PTR(rcgc_list_get(list, 0), next);
    CHECK_PTR(rcgc_list_get(list, 1), m);
    rcgc_decref(list);
    rcgc_decref(next);
    rcgc_decref(m);
    CHECK_EQ(boxed_freed, 3);
    quiet_end();
}

TEST(list_dealloc_releases_items_a_finalizer_appended_during_teardown)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *spy = rcgc_new(&spy_type);
    void *m = new_boxed(6);
    rcgc_list_append(list, spy);
    rcgc_decref(spy);
    reset_spy(list, m);
    rcgc_decref(list);
    CHECK_EQ(finalizer_runs, 1);
    CHECK_EQ(seen_len, 0);
    CHECK_EQ(rcgc_refcount(m), 1);
    rcgc_decref(m);
    CHECK_EQ(boxed_freed, 2);
    quiet_end();
}

/* ---- the collector ------------------------------------------------------ */

TEST(list_containing_itself_is_collected)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *item = new_boxed(1);
    rcgc_list_append(list, list);
    rcgc_list_append(list, item);
    rcgc_decref(item);
    CHECK_EQ(rcgc_refcount(list), 2);
    CHECK_EQ(rcgc_collect(2), 0);           /* still ours */
    CHECK_EQ(rcgc_list_len(list), 2);
    rcgc_decref(list);
    CHECK_EQ(boxed_freed, 0);
    CHECK_EQ(rcgc_collect(2), 1);           /* the untracked item is not counted */
    CHECK_EQ(boxed_freed, 1);
    quiet_end();
}

TEST(list_dict_list_cycle_is_collected)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *dict = rcgc_dict_new();
    void *item = new_boxed(1);
    rcgc_list_append(list, dict);
    rcgc_list_append(list, item);
    rcgc_dict_set(dict, "back", list);
    rcgc_decref(dict);
    rcgc_decref(item);
    CHECK_EQ(rcgc_collect(2), 0);
    rcgc_decref(list);
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_EQ(boxed_freed, 1);
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
}

TEST(list_chain_of_lists_in_a_ring_is_collected)
{
    quiet_start();
    enum { N = 50 };
    void *first = rcgc_list_new(), *prev = first;
    for (int i = 1; i < N; i++) {
        void *next = rcgc_list_new();
        rcgc_list_append(prev, next);
        rcgc_decref(next);
        prev = next;
    }
    rcgc_list_append(prev, first);
    rcgc_decref(first);
    CHECK_EQ(rcgc_collect(2), N);
    quiet_end();
}
