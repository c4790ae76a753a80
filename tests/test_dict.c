/* rcgc_dict: keys, values, insertion order, errors, re-entrancy, cycles. */
#include "harness.h"

#include "nodes.h"

/* The keys of a dict in iteration order, joined with spaces. */
static const char *keys_of(void *dict)
{
    static char out[4096];
    size_t pos = 0, len = 0;
    const char *key;
    out[0] = '\0';
    while (rcgc_dict_next(dict, &pos, &key, NULL) && len < sizeof out - 64)
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s",
                                len ? " " : "", key);
    return out;
}

TEST(dict_new_is_empty_tracked_dict)
{
    void *dict = rcgc_dict_new();
    CHECK(dict != NULL);
    CHECK_EQ(rcgc_dict_len(dict), 0);
    CHECK_EQ(rcgc_refcount(dict), 1);
    CHECK_PTR(rcgc_typeof(dict), &rcgc_dict_type);
    CHECK_STR(rcgc_dict_type.name, "dict");
    CHECK(rcgc_is_tracked(dict));
    size_t pos = 0;
    CHECK(!rcgc_dict_next(dict, &pos, NULL, NULL));
    errno = 0;
    CHECK_PTR(rcgc_dict_get(dict, "a"), NULL);
    CHECK_EQ(errno, ENOENT);
    rcgc_decref(dict);
}

TEST(dict_set_get_take_own_reference_and_copy_the_key)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1), *y = new_boxed(2);
    char key[8] = "alpha";
    CHECK_EQ(rcgc_dict_set(dict, key, x), 0);
    strcpy(key, "beta");
    CHECK_EQ(rcgc_dict_set(dict, key, y), 0);
    strcpy(key, "XXXX");
    CHECK_EQ(rcgc_dict_len(dict), 2);
    CHECK_PTR(rcgc_dict_get(dict, "alpha"), x);
    CHECK_PTR(rcgc_dict_get(dict, "beta"), y);
    CHECK_EQ(rcgc_refcount(x), 2);
    CHECK_EQ(rcgc_refcount(y), 2);
    errno = 0;
    CHECK_PTR(rcgc_dict_get(dict, "XXXX"), NULL);
    CHECK_EQ(errno, ENOENT);
    /* The empty string is a key like any other. */
    CHECK_EQ(rcgc_dict_set(dict, "", x), 0);
    CHECK_PTR(rcgc_dict_get(dict, ""), x);
    CHECK_EQ(rcgc_refcount(x), 3);
    CHECK_STR(keys_of(dict), "alpha beta ");
    rcgc_decref(x);
    rcgc_decref(y);
    CHECK_EQ(boxed_freed, 0);
    rcgc_decref(dict);
    CHECK_EQ(boxed_freed, 2);
    quiet_end();
}

TEST(dict_overwrite_moves_references_and_keeps_position)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1), *y = new_boxed(2);
    rcgc_dict_set(dict, "a", x);
    rcgc_dict_set(dict, "b", x);
    rcgc_dict_set(dict, "c", x);
    CHECK_EQ(rcgc_refcount(x), 4);
    CHECK_EQ(rcgc_dict_set(dict, "a", y), 0);
    CHECK_EQ(rcgc_dict_len(dict), 3);
    CHECK_PTR(rcgc_dict_get(dict, "a"), y);
    CHECK_EQ(rcgc_refcount(x), 3);
    CHECK_EQ(rcgc_refcount(y), 2);
    CHECK_STR(keys_of(dict), "a b c");
    /* Storing the value already there must not free it in passing. */
    rcgc_decref(y);
    CHECK_EQ(rcgc_dict_set(dict, "a", y), 0);
    CHECK_EQ(rcgc_refcount(y), 1);
    CHECK_EQ(boxed_freed, 0);
    CHECK_EQ(rcgc_dict_set(dict, "a", x), 0);   /* last reference to y goes */
    CHECK_EQ(boxed_freed, 1);
    rcgc_decref(dict);
    CHECK_EQ(rcgc_refcount(x), 1);
    rcgc_decref(x);
    quiet_end();
}

TEST(dict_del_drops_reference_and_reinsert_goes_last)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1);
    rcgc_dict_set(dict, "a", x);
    rcgc_dict_set(dict, "b", x);
    rcgc_dict_set(dict, "c", x);
    CHECK_EQ(rcgc_dict_del(dict, "a"), 0);
    CHECK_EQ(rcgc_dict_len(dict), 2);
    CHECK_EQ(rcgc_refcount(x), 3);
    errno = 0;
    CHECK_PTR(rcgc_dict_get(dict, "a"), NULL);
    CHECK_EQ(errno, ENOENT);
    errno = 0;
    CHECK_EQ(rcgc_dict_del(dict, "a"), -1);
    CHECK_EQ(errno, ENOENT);
    CHECK_STR(keys_of(dict), "b c");
    CHECK_EQ(rcgc_dict_set(dict, "a", x), 0);
    CHECK_STR(keys_of(dict), "b c a");
    CHECK_EQ(rcgc_dict_del(dict, "c"), 0);
    CHECK_STR(keys_of(dict), "b a");
    rcgc_decref(x);
    CHECK_EQ(rcgc_dict_del(dict, "b"), 0);
    CHECK_EQ(rcgc_dict_del(dict, "a"), 0);
    CHECK_EQ(boxed_freed, 1);
    CHECK_EQ(rcgc_dict_len(dict), 0);
    CHECK_STR(keys_of(dict), "");
    rcgc_decref(dict);
    quiet_end();
}

TEST(dict_rejects_bad_arguments_with_einval)
{
    void *item = new_boxed(7);
    void *list = rcgc_list_new();
    void *not_dicts[] = {NULL, item, list};
    const char *key;
    void *value;
    for (int k = 0; k < 3; k++) {
        void *obj = not_dicts[k];
        size_t pos = 0;
        errno = 0;
        CHECK_EQ(rcgc_dict_len(obj), 0);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK_EQ(rcgc_dict_set(obj, "k", item), -1);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK_PTR(rcgc_dict_get(obj, "k"), NULL);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK_EQ(rcgc_dict_del(obj, "k"), -1);
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        CHECK(!rcgc_dict_next(obj, &pos, &key, &value));
        CHECK_EQ(errno, EINVAL);
        errno = 0;
        rcgc_dict_clear(obj);
        CHECK_EQ(errno, EINVAL);
    }
    CHECK_EQ(rcgc_refcount(item), 1);
    CHECK_EQ(rcgc_list_len(list), 0);

    void *dict = rcgc_dict_new();
    rcgc_dict_set(dict, "k", item);
    errno = 0;
    CHECK_EQ(rcgc_dict_set(dict, NULL, item), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcgc_dict_set(dict, "k", NULL), -1);   /* values are never NULL */
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcgc_dict_set(dict, "new", NULL), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_PTR(rcgc_dict_get(dict, NULL), NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcgc_dict_del(dict, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(!rcgc_dict_next(dict, NULL, &key, &value));
    CHECK_EQ(errno, EINVAL);
    /* The failed calls left the dict as it was. */
    CHECK_EQ(rcgc_dict_len(dict), 1);
    CHECK_PTR(rcgc_dict_get(dict, "k"), item);
    CHECK_EQ(rcgc_refcount(item), 2);
    rcgc_decref(dict);
    rcgc_decref(list);
    CHECK_EQ(rcgc_refcount(item), 1);
    rcgc_decref(item);
}

TEST(dict_next_walks_entries_and_accepts_null_outputs)
{
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1), *y = new_boxed(2);
    rcgc_dict_set(dict, "one", x);
    rcgc_dict_set(dict, "two", y);
    size_t pos = 0;
    const char *key = NULL;
    void *value = NULL;
    CHECK(rcgc_dict_next(dict, &pos, &key, &value));
    CHECK_STR(key, "one");
    CHECK_PTR(value, x);
    CHECK(rcgc_dict_next(dict, &pos, NULL, &value));
    CHECK_PTR(value, y);
    CHECK(!rcgc_dict_next(dict, &pos, &key, &value));
    CHECK(!rcgc_dict_next(dict, &pos, &key, &value));   /* stays at the end */
    pos = 0;
    CHECK(rcgc_dict_next(dict, &pos, &key, NULL));
    CHECK_STR(key, "one");
    rcgc_decref(dict);
    rcgc_decref(x);
    rcgc_decref(y);
}

TEST(dict_10000_keys_keep_insertion_order_through_deletes_and_resizes)
{
    quiet_start();
    enum { N = 10000 };
    void *dict = rcgc_dict_new();
    void *shared = new_boxed(0);
    char key[32];
    int failures = 0;
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key%d", i);
        void *value = new_boxed(i);
        if (rcgc_dict_set(dict, key, value) != 0) failures++;
        rcgc_decref(value);
    }
    CHECK_EQ(failures, 0);
    CHECK_EQ(rcgc_dict_len(dict), N);
    /* Delete every third key, then overwrite every fifth survivor. */
    for (int i = 0; i < N; i += 3) {
        snprintf(key, sizeof key, "key%d", i);
        if (rcgc_dict_del(dict, key) != 0) failures++;
    }
    CHECK_EQ(failures, 0);
    CHECK_EQ(boxed_freed, (N + 2) / 3);
    size_t live = N - (N + 2) / 3;
    CHECK_EQ(rcgc_dict_len(dict), live);
    for (int i = 1; i < N; i += 5) {
        if (i % 3 == 0) continue;
        snprintf(key, sizeof key, "key%d", i);
        if (rcgc_dict_set(dict, key, shared) != 0) failures++;
    }
    /* Re-insert the deleted keys: they go to the end, in this new order,
       and push the table through more resizes. */
    for (int i = 0; i < N; i += 3) {
        snprintf(key, sizeof key, "key%d", i);
        if (rcgc_dict_set(dict, key, shared) != 0) failures++;
    }
    CHECK_EQ(failures, 0);
    CHECK_EQ(rcgc_dict_len(dict), N);

    /* Expected order: survivors ascending, then the re-inserted keys. */
    size_t pos = 0, seen = 0, out_of_order = 0, wrong_value = 0;
    const char *k;
    void *v;
    int expect = 1;
    while (rcgc_dict_next(dict, &pos, &k, &v)) {
        snprintf(key, sizeof key, "key%d", expect);
        if (strcmp(k, key) != 0) out_of_order++;
        bool is_shared = expect % 3 == 0 || (expect - 1) % 5 == 0;
        if (is_shared ? v != shared : *(int *)v != expect) wrong_value++;
        if (v != rcgc_dict_get(dict, k)) wrong_value++;
        seen++;
        if (expect % 3 == 0) {
            expect += 3;
        } else {
            expect += expect % 3 == 1 ? 1 : 2;
            if (expect >= N) expect = 0;
        }
    }
    CHECK_EQ(seen, N);
    CHECK_EQ(out_of_order, 0);
    CHECK_EQ(wrong_value, 0);

    size_t overwritten = 0;
    for (int i = 1; i < N; i += 5) overwritten += i % 3 != 0;
    CHECK_EQ(rcgc_refcount(shared), 1 + overwritten + (N + 2) / 3);
    CHECK_EQ(boxed_freed, (N + 2) / 3 + overwritten);
    rcgc_decref(dict);
    CHECK_EQ(rcgc_refcount(shared), 1);
    CHECK_EQ(boxed_freed, N);
    rcgc_decref(shared);
    quiet_end();
}

TEST(dict_delete_all_then_refill_reuses_it)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1);
    char key[16];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 500; i++) {
            snprintf(key, sizeof key, "%d", i);
            rcgc_dict_set(dict, key, x);
        }
        for (int i = 0; i < 500; i++) {
            snprintf(key, sizeof key, "%d", i);
            rcgc_dict_del(dict, key);
        }
    }
    CHECK_EQ(rcgc_dict_len(dict), 0);
    CHECK_EQ(rcgc_refcount(x), 1);
    CHECK_STR(keys_of(dict), "");
    rcgc_dict_set(dict, "last", x);
    CHECK_STR(keys_of(dict), "last");
    rcgc_decref(dict);
    rcgc_decref(x);
    quiet_end();
}

TEST(dict_clear_drops_keys_and_values)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1);
    char key[16];
    /* Measured with no object freed in between: debug builds hold freed
       objects in a quarantine that rcgc_memory_in_use still counts. */
    size_t before = rcgc_memory_in_use();
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        rcgc_dict_set(dict, key, x);
    }
    for (int i = 0; i < 1000; i += 2) {
        snprintf(key, sizeof key, "k%d", i);
        rcgc_dict_del(dict, key);
    }
    CHECK_EQ(rcgc_refcount(x), 501);
    rcgc_dict_clear(dict);
    CHECK_EQ(rcgc_dict_len(dict), 0);
    CHECK_EQ(rcgc_refcount(x), 1);
    /* Every key copy and table went back. */
    CHECK_EQ(rcgc_memory_in_use(), before);
    rcgc_dict_clear(dict);                  /* twice is harmless */
    CHECK_EQ(rcgc_dict_set(dict, "again", x), 0);
    CHECK_PTR(rcgc_dict_get(dict, "again"), x);
    rcgc_dict_clear(dict);
    CHECK_EQ(rcgc_memory_in_use(), before);
    rcgc_decref(dict);
    rcgc_decref(x);
    quiet_end();
}

static int count_referent(void *obj, void *arg)
{
    (void)obj;
    (*(size_t *)arg)++;
    return 0;
}

TEST(dict_traverse_reports_each_value)
{
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1);
    rcgc_dict_set(dict, "a", x);
    rcgc_dict_set(dict, "b", x);
    rcgc_dict_set(dict, "c", x);
    rcgc_dict_del(dict, "b");
    size_t count = 0;
    CHECK_EQ(rcgc_get_referents(dict, count_referent, &count), 0);
    CHECK_EQ(count, 2);
    rcgc_decref(dict);
    rcgc_decref(x);
}

/* ---- allocation failures ---------------------------------------------- */

/* Allows key copies but not tables, to reach the failed resize. */
static bool refuse_large(size_t size, void *arg)
{
    (void)arg;
    return size < 32;
}

TEST(dict_set_fails_with_enomem_and_leaves_dict_intact)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1), *y = new_boxed(2);
    rcgc_dict_set(dict, "a", x);
    size_t before = rcgc_memory_in_use();

    rcgc_set_alloc_hook(refuse_all, NULL);
    errno = 0;
    int rc_new_key = rcgc_dict_set(dict, "b", y);
    int errno_new_key = errno;
    /* Replacing a value allocates nothing, so it still works. */
    int rc_overwrite = rcgc_dict_set(dict, "a", y);
    rcgc_set_alloc_hook(NULL, NULL);

    CHECK_EQ(rc_new_key, -1);
    CHECK_EQ(errno_new_key, ENOMEM);
    CHECK_EQ(rc_overwrite, 0);
    CHECK_EQ(rcgc_dict_len(dict), 1);
    CHECK_PTR(rcgc_dict_get(dict, "a"), y);
    errno = 0;
    CHECK_PTR(rcgc_dict_get(dict, "b"), NULL);
    CHECK_EQ(errno, ENOENT);
    CHECK_EQ(rcgc_refcount(x), 1);
    CHECK_EQ(rcgc_refcount(y), 2);
    CHECK_EQ(rcgc_memory_in_use(), before);
    rcgc_decref(dict);
    rcgc_decref(x);
    rcgc_decref(y);
    quiet_end();
}

TEST(dict_failed_resize_frees_key_copy_and_leaves_dict_intact)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1);
    char key[32];
    rcgc_set_alloc_hook(refuse_large, NULL);
    /* The first insertion needs a table, so with tables refused the dict
       stays empty; give it one first. */
    int rc_first = rcgc_dict_set(dict, "k0", x);
    int errno_first = errno;
    rcgc_set_alloc_hook(NULL, NULL);
    CHECK_EQ(rc_first, -1);
    CHECK_EQ(errno_first, ENOMEM);
    CHECK_EQ(rcgc_dict_len(dict), 0);
    CHECK_EQ(rcgc_refcount(x), 1);
    CHECK_EQ(rcgc_dict_set(dict, "k0", x), 0);

    size_t stored = 1, memory = 0;
    int rc = 0, err = 0;
    rcgc_set_alloc_hook(refuse_large, NULL);
    while (stored < 1000) {
        snprintf(key, sizeof key, "k%zu", stored);
        memory = rcgc_memory_in_use();
        errno = 0;
        rc = rcgc_dict_set(dict, key, x);
        err = errno;
        if (rc != 0) break;
        stored++;
    }
    size_t memory_after = rcgc_memory_in_use();
    rcgc_set_alloc_hook(NULL, NULL);

    CHECK_EQ(rc, -1);
    CHECK_EQ(err, ENOMEM);
    CHECK(stored < 1000);
    CHECK_EQ(memory_after, memory);
    CHECK_EQ(rcgc_dict_len(dict), stored);
    CHECK_EQ(rcgc_refcount(x), 1 + stored);
    size_t missing = 0;
    for (size_t i = 0; i < stored; i++) {
        snprintf(key, sizeof key, "k%zu", i);
        if (rcgc_dict_get(dict, key) != x) missing++;
    }
    CHECK_EQ(missing, 0);
    /* With memory back, the same insertion succeeds. */
    snprintf(key, sizeof key, "k%zu", stored);
    CHECK_EQ(rcgc_dict_set(dict, key, x), 0);
    CHECK_EQ(rcgc_dict_len(dict), stored + 1);
    rcgc_decref(dict);
    CHECK_EQ(rcgc_refcount(x), 1);
    rcgc_decref(x);
    quiet_end();
}

/* ---- re-entrancy: finalizers that touch the dict being changed --------- */

static void *watched_dict;
static size_t seen_len;
static void *seen_value;
static int seen_errno;
static int finalizer_runs;
static int keys_to_add;
static void *value_to_add;

static void spy_finalize(void *self)
{
    (void)self;
    finalizer_runs++;
    seen_len = rcgc_dict_len(watched_dict);
    errno = 0;
    seen_value = rcgc_dict_get(watched_dict, "spy");
    seen_errno = errno;
    char key[16];
    for (int i = 0; i < keys_to_add; i++) {
        snprintf(key, sizeof key, "added%d", i);
        rcgc_dict_set(watched_dict, key, value_to_add);
    }
}

static const rcgc_type spy_type = {
    .name = "spy", .size = sizeof(int), .finalize = spy_finalize,
    .destroy = boxed_destroy,
};

static void reset_spy(void *dict, int add, void *value)
{
    watched_dict = dict;
    keys_to_add = add;
    value_to_add = value;
    seen_len = 12345;
    seen_value = NULL;
    seen_errno = 0;
    finalizer_runs = 0;
}

TEST(dict_clear_is_reentrant_finalizer_sees_empty_dict_and_inserts)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *spy = rcgc_new(&spy_type);
    void *m = new_boxed(9);
    rcgc_dict_set(dict, "spy", spy);
    rcgc_dict_set(dict, "other", m);
    rcgc_decref(spy);
    reset_spy(dict, 20, m);
    rcgc_dict_clear(dict);
    CHECK_EQ(finalizer_runs, 1);
    CHECK_EQ(seen_len, 0);
    CHECK_PTR(seen_value, NULL);
    CHECK_EQ(seen_errno, ENOENT);
    /* The finalizer's insertions went into fresh storage and stay. */
    CHECK_EQ(rcgc_dict_len(dict), 20);
    CHECK_PTR(rcgc_dict_get(dict, "added19"), m);
    CHECK_EQ(rcgc_refcount(m), 21);
    rcgc_decref(dict);
    CHECK_EQ(rcgc_refcount(m), 1);
    rcgc_decref(m);
    CHECK_EQ(boxed_freed, 2);
    quiet_end();
}

TEST(dict_set_drops_old_value_after_storing_new_one)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *spy = rcgc_new(&spy_type);
    void *replacement = new_boxed(5);
    rcgc_dict_set(dict, "spy", spy);
    rcgc_decref(spy);
    reset_spy(dict, 0, NULL);
    CHECK_EQ(rcgc_dict_set(dict, "spy", replacement), 0);
    CHECK_EQ(finalizer_runs, 1);
    CHECK_EQ(seen_len, 1);
    CHECK_PTR(seen_value, replacement);
    rcgc_decref(replacement);
    rcgc_decref(dict);
    CHECK_EQ(boxed_freed, 2);
    quiet_end();
}

TEST(dict_del_drops_value_after_table_is_consistent)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *spy = rcgc_new(&spy_type);
    void *m = new_boxed(9);
    rcgc_dict_set(dict, "first", m);
    rcgc_dict_set(dict, "spy", spy);
    rcgc_dict_set(dict, "last", m);
    rcgc_decref(spy);
    /* The finalizer inserts enough keys to force resizes mid-delete. */
    reset_spy(dict, 100, m);
    CHECK_EQ(rcgc_dict_del(dict, "spy"), 0);
    CHECK_EQ(finalizer_runs, 1);
    CHECK_EQ(seen_len, 2);
    CHECK_PTR(seen_value, NULL);
    CHECK_EQ(seen_errno, ENOENT);
    CHECK_EQ(rcgc_dict_len(dict), 102);
    const char *order = keys_of(dict);
    CHECK(strncmp(order, "first last added0 added1 ", 25) == 0);
    CHECK_PTR(rcgc_dict_get(dict, "added99"), m);
    CHECK_EQ(rcgc_refcount(m), 103);
    rcgc_decref(dict);
    rcgc_decref(m);
    CHECK_EQ(boxed_freed, 2);
    quiet_end();
}

TEST(dict_dealloc_releases_values_a_finalizer_inserted_during_teardown)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *spy = rcgc_new(&spy_type);
    void *m = new_boxed(9);
    rcgc_dict_set(dict, "spy", spy);
    rcgc_decref(spy);
    reset_spy(dict, 3, m);
    rcgc_decref(dict);
    CHECK_EQ(finalizer_runs, 1);
    CHECK_EQ(seen_len, 0);
    CHECK_EQ(rcgc_refcount(m), 1);
    rcgc_decref(m);
    CHECK_EQ(boxed_freed, 2);
    quiet_end();
}

/* ---- the collector ------------------------------------------------------ */

TEST(dict_containing_itself_is_collected)
{
    quiet_start();
    void *dict = rcgc_dict_new();
    void *x = new_boxed(1);
    rcgc_dict_set(dict, "self", dict);
    rcgc_dict_set(dict, "x", x);
    rcgc_decref(x);
    CHECK_EQ(rcgc_refcount(dict), 2);
    CHECK_EQ(rcgc_collect(2), 0);
    rcgc_decref(dict);
    CHECK_EQ(rcgc_collect(2), 1);
    CHECK_EQ(boxed_freed, 1);
    quiet_end();
}

TEST(two_dicts_referring_to_each_other_are_collected)
{
    quiet_start();
    void *a = rcgc_dict_new(), *b = rcgc_dict_new();
    rcgc_dict_set(a, "peer", b);
    rcgc_dict_set(b, "peer", a);
    rcgc_decref(b);
    CHECK_EQ(rcgc_collect(2), 0);           /* b is alive through a */
    CHECK_EQ(rcgc_refcount(b), 1);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
}

TEST(dict_cycle_with_deleted_entries_is_collected)
{
    quiet_start();
    void *a = rcgc_dict_new(), *b = rcgc_dict_new();
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "b%d", i);
        rcgc_dict_set(a, key, b);
    }
    for (int i = 0; i < 100; i += 2) {
        snprintf(key, sizeof key, "b%d", i);
        rcgc_dict_del(a, key);
    }
    rcgc_dict_set(b, "a", a);
    CHECK_EQ(rcgc_refcount(b), 51);
    rcgc_decref(a);
    rcgc_decref(b);
    CHECK_EQ(rcgc_collect(2), 2);
    quiet_end();
}
