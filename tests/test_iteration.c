/* Walks that user code can change under them: rcgc_dict_next and
   rcgc_list_next report a change with EAGAIN (the normal end sets errno 0),
   including a change made by a finalizer or gc callback that an allocation
   in the loop ran through an automatic collection; rcgc_get_objects and
   rcgc_get_referrers callbacks may free any object of the walk. */
#include "harness.h"

#include "nodes.h"

static size_t deaths;   /* of counted_node_type */

/* A dict of n items under the keys "k0".."k<n-1>", each held by it only. */
static void *dict_of(int n)
{
    void *d = rcgc_dict_new();
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        rcgc_dict_set_steal(d, key, new_boxed(0));
    }
    return d;
}

/* ---- dicts ------------------------------------------------------------------ */

TEST(dict_next_ends_with_errno_zero)
{
    quiet_start();
    void *d = dict_of(3);
    size_t pos = 0, n = 0;
    const char *key;
    errno = EINVAL;
    while (rcgc_dict_next(d, &pos, &key, NULL)) n++;
    CHECK_EQ(n, 3);
    CHECK_EQ(errno, 0);
    CHECK(!rcgc_dict_next(d, &pos, &key, NULL));   /* stays at the end */
    CHECK_EQ(errno, 0);
    void *empty = rcgc_dict_new();
    pos = 0;
    errno = EINVAL;
    CHECK(!rcgc_dict_next(empty, &pos, &key, NULL));
    CHECK_EQ(errno, 0);
    CHECK_EQ(pos, 0);
    rcgc_decref(empty);
    rcgc_decref(d);
    quiet_end();
}

/* What the loop body does to the dict at its second step. */
typedef enum { DEL_SEEN, DEL_AHEAD, INSERT, CLEAR, REPLACE, DEL_AND_REINSERT } dict_change;

static size_t walk_dict_changing(dict_change change, int *saw_errno, const char **keys_seen)
{
    void *d = dict_of(4);
    size_t pos = 0, steps = 0;
    const char *key;
    static char seen[64];
    seen[0] = '\0';
    while (rcgc_dict_next(d, &pos, &key, NULL)) {
        strcat(seen, key);
        if (++steps != 2) continue;
        switch (change) {
        case DEL_SEEN: rcgc_dict_del(d, "k0"); break;
        case DEL_AHEAD: rcgc_dict_del(d, "k3"); break;
        case INSERT: rcgc_dict_set_steal(d, "new", new_boxed(0)); break;
        case CLEAR: rcgc_dict_clear(d); break;
        case REPLACE: rcgc_dict_set_steal(d, "k0", new_boxed(0)); break;
        case DEL_AND_REINSERT:
            rcgc_dict_del(d, "k1");
            rcgc_dict_set_steal(d, "k1", new_boxed(0));
            break;
        }
    }
    *saw_errno = errno;
    *keys_seen = seen;
    /* the refusal is sticky for that pos, and a new walk sees the dict as it is */
    if (*saw_errno == EAGAIN) {
        CHECK(!rcgc_dict_next(d, &pos, &key, NULL));
        CHECK_EQ(errno, EAGAIN);
    }
    size_t now = 0;
    pos = 0;
    while (rcgc_dict_next(d, &pos, NULL, NULL)) now++;
    CHECK_EQ(errno, 0);
    CHECK_EQ(now, rcgc_dict_len(d));
    rcgc_decref(d);
    return steps;
}

TEST(dict_next_reports_a_key_added_or_removed_meanwhile_with_eagain)
{
    quiet_start();
    const dict_change changes[] = {DEL_SEEN, DEL_AHEAD, INSERT, CLEAR, DEL_AND_REINSERT};
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        int err;
        const char *seen;
        CHECK_EQ(walk_dict_changing(changes[i], &err, &seen), 2);
        CHECK_EQ(err, EAGAIN);
        CHECK_STR(seen, "k0k1");
    }
    quiet_end();
}

TEST(dict_next_lets_the_value_of_a_key_be_replaced)
{
    /* as CPython: d[k] = v inside `for k in d` is no change of size or keys */
    quiet_start();
    int err;
    const char *seen;
    CHECK_EQ(walk_dict_changing(REPLACE, &err, &seen), 4);
    CHECK_EQ(err, 0);
    CHECK_STR(seen, "k0k1k2k3");
    quiet_end();
}

/* ---- the motivating case: an allocation in the loop collects ----------------- */

static void *watched_dict;
/* A finalizer (of garbage found by the automatic collection) that deletes
   a key of the dict being walked. */
static void deletes_from_watched(void *self)
{
    event("del%d ", ((node *)self)->id);
    rcgc_dict_del(watched_dict, "k3");
}
static const rcgc_type meddler_type = {.name = "meddler", .size = sizeof(node),
                                       .traverse = node_traverse, .clear = node_clear,
                                       .finalize = deletes_from_watched};

TEST(dict_next_reports_a_change_made_by_a_finalizer_an_allocation_ran)
{
    SKIP_IF_STRESS("counts the allocations before the automatic collection");
    quiet_start();
    watched_dict = dict_of(4);
    void *made = rcgc_list_new();
    rcgc_collect(2);
    rcgc_decref(make_pair(&meddler_type, 1, &plain_type, 2));   /* garbage, not yet found */
    rcgc_set_threshold(3, 10, 10);   /* gen0 count 2: the second allocation collects */
    rcgc_enable();
    size_t pos = 0, steps = 0;
    const char *key;
    while (rcgc_dict_next(watched_dict, &pos, &key, NULL)) {
        steps++;
        /* allocating tracked objects: the automatic collection comes */
        rcgc_list_append_steal(made, rcgc_list_new());
    }
    int err = errno;
    rcgc_disable();
    rcgc_set_threshold(700, 10, 10);
    CHECK_STR(events, "del1 ");
    CHECK_EQ(err, EAGAIN);
    CHECK_EQ(steps, 2);
    CHECK_EQ(rcgc_dict_len(watched_dict), 3);
    rcgc_decref(made);
    rcgc_decref(watched_dict);
    quiet_end();
}

static void inserts_into_watched(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)info, (void)arg;
    if (phase == RCGC_PHASE_STOP) rcgc_dict_set_steal(watched_dict, "late", new_boxed(0));
}

TEST(dict_next_reports_a_change_made_by_a_gc_callback_an_allocation_ran)
{
    SKIP_IF_STRESS("counts the allocations before the automatic collection");
    quiet_start();
    watched_dict = dict_of(4);
    void *made = rcgc_list_new();
    rcgc_collect(2);
    rcgc_callback_add(inserts_into_watched, NULL);
    rcgc_set_threshold(1, 10, 10);   /* gen0 count 0: the second allocation collects */
    rcgc_enable();
    size_t pos = 0, steps = 0;
    while (rcgc_dict_next(watched_dict, &pos, NULL, NULL)) {
        steps++;
        rcgc_list_append_steal(made, rcgc_dict_new());
    }
    int err = errno;
    rcgc_disable();
    rcgc_set_threshold(700, 10, 10);
    rcgc_callback_remove(inserts_into_watched, NULL);
    CHECK_EQ(err, EAGAIN);
    CHECK_EQ(steps, 2);                /* the added key is not walked silently */
    CHECK(rcgc_dict_get(watched_dict, "late") != NULL);
    rcgc_decref(made);
    rcgc_decref(watched_dict);
    quiet_end();
}

/* ---- lists ------------------------------------------------------------------ */

TEST(list_next_walks_every_item_null_included_and_ends_with_errno_zero)
{
    quiet_start();
    void *list = rcgc_list_new();
    node *a = new_node(&plain_type, 1);
    rcgc_list_append(list, a);
    rcgc_list_append(list, NULL);
    rcgc_list_append(list, a);
    size_t pos = 0, n = 0;
    void *item, *got[3];
    errno = EINVAL;
    while (rcgc_list_next(list, &pos, &item)) got[n++] = item;
    CHECK_EQ(errno, 0);
    CHECK_EQ(n, 3);
    CHECK_PTR(got[0], a);
    CHECK_PTR(got[1], NULL);
    CHECK_PTR(got[2], a);
    CHECK(!rcgc_list_next(list, &pos, &item));
    CHECK_EQ(errno, 0);
    pos = 0;
    CHECK(rcgc_list_next(list, &pos, NULL));     /* item may be NULL */
    errno = 0;
    CHECK(!rcgc_list_next(list, NULL, &item));
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    pos = 0;
    CHECK(!rcgc_list_next(a, &pos, &item));      /* not a list */
    CHECK_EQ(errno, EINVAL);
    rcgc_decref(a);
    rcgc_decref(list);
    quiet_end();
}

typedef enum { APPEND, POP_SEEN, REMOVE_AHEAD, LIST_CLEAR, SET } list_change;

static size_t walk_list_changing(list_change change, int *saw_errno)
{
    void *list = rcgc_list_new();
    for (int i = 0; i < 4; i++) rcgc_list_append_steal(list, new_boxed(0));
    size_t pos = 0, steps = 0;
    void *item;
    while (rcgc_list_next(list, &pos, &item)) {
        if (++steps != 2) continue;
        switch (change) {
        case APPEND: rcgc_list_append_steal(list, new_boxed(0)); break;
        case POP_SEEN: rcgc_decref(rcgc_list_pop(list, 0)); break;
        case REMOVE_AHEAD: rcgc_list_remove(list, 3); break;
        case LIST_CLEAR: rcgc_list_clear(list); break;
        case SET: rcgc_list_set_steal(list, 0, new_boxed(0)); break;
        }
    }
    *saw_errno = errno;
    if (errno == EAGAIN) {
        CHECK(!rcgc_list_next(list, &pos, &item));
        CHECK_EQ(errno, EAGAIN);
    }
    rcgc_decref(list);
    return steps;
}

TEST(list_next_reports_a_change_of_length_with_eagain)
{
    quiet_start();
    const list_change changes[] = {APPEND, POP_SEEN, REMOVE_AHEAD, LIST_CLEAR};
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        int err;
        CHECK_EQ(walk_list_changing(changes[i], &err), 2);
        CHECK_EQ(err, EAGAIN);
    }
    int err;
    CHECK_EQ(walk_list_changing(SET, &err), 4);   /* replacing an item is no change */
    CHECK_EQ(err, 0);
    quiet_end();
}

/* ---- inspection callbacks that free objects ------------------------------------ */

static const rcgc_type counted_node_type;
static void *victims[8];
static size_t nvictims, visits;

/* At the first object: drop the last outside reference of every victim,
   the visited object included when it is one.  The snapshot's references
   keep them until the walk ends; each is then freed. */
static int frees_the_victims(void *obj, void *arg)
{
    (void)arg;
    if (rcgc_typeof(obj) != &counted_node_type) return 0;   /* not one of ours */
    visits++;
    /* the snapshot's reference, plus ours until the first visit dropped it */
    CHECK_EQ(rcgc_refcount(obj), visits == 1 ? 2 : 1);
    if (visits == 1) {
        for (size_t i = 0; i < nvictims; i++) rcgc_decref(victims[i]);
        CHECK_EQ(deaths, 0);
    }
    return 0;
}

static void destroy_counted(void *self)
{
    node_clear(self);
    deaths++;
}
static const rcgc_type counted_node_type = {.name = "counted", .size = sizeof(node),
                                            .traverse = node_traverse, .clear = node_clear,
                                            .destroy = destroy_counted};

TEST(get_objects_and_get_referrers_callbacks_may_free_any_object_of_the_walk)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    /* get_objects: all victims; get_referrers: the referrers of a target */
    for (int round = 0; round < 2; round++) {
        deaths = visits = 0;
        node *target = round ? new_node(&plain_type, 99) : NULL;
        nvictims = 8;
        for (size_t i = 0; i < nvictims; i++) {
            node *n = rcgc_new(&counted_node_type);
            n->id = (int)i;
            if (target) link_slot(n, 0, target);
            victims[i] = n;
        }
        rcgc_collect(2);   /* the victims in generation 2, the only tracked objects there */
        int r = round ? rcgc_get_referrers(target, frees_the_victims, NULL)
                      : rcgc_get_objects(2, frees_the_victims, NULL);
        CHECK_EQ(r, 0);
        CHECK_EQ(visits, 8);         /* every object gathered, freed ones too */
        CHECK_EQ(deaths, 8);         /* freed when the walk let them go */
        rcgc_decref(target);
        CHECK_EQ(rcgc_memory_in_use(), base);
    }
    quiet_end();
}
