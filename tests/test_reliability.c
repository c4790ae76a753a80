/*
 * Regression tests for the defects of issue 6, one test per defect, named
 * after it.  Each failed (crashed, leaked or gave a wrong count) before its
 * fix; the comment above each says how.
 */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS */
#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>

#include "nodes.h"

/* ---- an allocation hook that collects ----------------------------------- */

/* Collects (a full collection) at the armed allocation: the n-th one asked
   for after arming.  One shot, so what the collection allocates runs plain. */
static int collect_at;

static bool collect_at_nth(size_t size, void *arg)
{
    (void)size, (void)arg;
    if (collect_at > 0 && --collect_at == 0) rcgc_collect(2);
    return true;
}

static void arm_collecting_hook(int nth)
{
    collect_at = nth;
    rcgc_set_alloc_hook(collect_at_nth, NULL);
}

static void disarm_hook(void)
{
    collect_at = 0;
    rcgc_set_alloc_hook(NULL, NULL);
}

/* A garbage two-cycle whose first node has the given finalizer. */
static void make_garbage_pair(const rcgc_type *t, int id)
{
    node *a = new_node(t, id), *b = new_node(&plain_type, id + 1000);
    link_slot(a, 0, b);
    link_slot(b, 0, a);
    rcgc_decref(b);
    rcgc_decref(a);
}

/* Before: the weakref table was grown from a pointer read before the hook
   ran; the collection freed the whole table (its last entries died), and the
   growth wrote into freed memory (heap-use-after-free under ASan). */
TEST(alloc_hook_collect_during_weakref_table_growth)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    void *weak[48];
    for (int i = 0; i < 48; i++) {
        node *a = new_node(&plain_type, i);
        link_slot(a, 0, a);               /* garbage once dropped */
        weak[i] = rcgc_weakref_new(a, NULL, NULL);
        CHECK(weak[i] != NULL);
        rcgc_decref(a);
    }
    node *keep = new_node(&plain_type, 99);
    /* The 49th entry makes the table grow; its allocation is the second of
       rcgc_weakref_new (the weakref object comes first). */
    arm_collecting_hook(2);
    void *wr = rcgc_weakref_new(keep, NULL, NULL);
    disarm_hook();
    CHECK(wr != NULL);
    CHECK_PTR(rcgc_weakref_peek(wr), keep);
    CHECK_EQ(rcgc_weakref_count(keep), 1);
    for (int i = 0; i < 48; i++) {
        CHECK_PTR(rcgc_weakref_peek(weak[i]), NULL);
        rcgc_decref(weak[i]);
    }
    rcgc_decref(wr);
    rcgc_decref(keep);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), base);
}

static void *grown_list;

static void append_to_grown_list(void *self)
{
    rcgc_list_append(grown_list, self);   /* resurrects self, grows the list */
}
static const rcgc_type appender_type = {.name = "appender", .size = sizeof(node),
                                        .traverse = node_traverse, .clear = node_clear,
                                        .finalize = append_to_grown_list};

/* Before: the list's storage was reallocated from the pointer read before
   the hook ran, after a finalizer had grown (and so freed) it: double free. */
TEST(alloc_hook_collect_during_list_growth)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    grown_list = rcgc_list_new();
    node *item = new_node(&plain_type, 1);
    for (int i = 0; i < 8; i++) rcgc_list_append(grown_list, item);  /* full: cap 8 */
    make_garbage_pair(&appender_type, 7);
    arm_collecting_hook(1);
    CHECK_EQ(rcgc_list_append(grown_list, item), 0);
    disarm_hook();
    CHECK_EQ(rcgc_list_len(grown_list), 10);
    node *resurrected = rcgc_list_get(grown_list, 8);
    CHECK(resurrected && resurrected->id == 7);
    CHECK_PTR(rcgc_list_get(grown_list, 9), item);
    CHECK_EQ(rcgc_refcount(item), 10);
    rcgc_decref(item);
    rcgc_decref(grown_list);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), base);
}

static void *grown_dict;

static void fill_grown_dict(void *self)
{
    char key[16];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "f%d", i);
        rcgc_dict_set(grown_dict, key, self);
    }
}
static const rcgc_type filler_type = {.name = "filler", .size = sizeof(node),
                                      .traverse = node_traverse, .clear = node_clear,
                                      .finalize = fill_grown_dict};

/* Before: the resize sized its new arrays (42 entries) before the hook ran;
   finalizers then added 40 keys and the rehash wrote past the end (heap
   overflow). */
TEST(alloc_hook_collect_during_dict_resize)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    grown_dict = rcgc_dict_new();
    node *v = new_node(&plain_type, 1);
    char key[16];
    for (int i = 0; i < 10; i++) {           /* 10 entries fill the second table */
        snprintf(key, sizeof key, "k%d", i);
        rcgc_dict_set(grown_dict, key, v);
    }
    make_garbage_pair(&filler_type, 3);
    arm_collecting_hook(2);                  /* the key copy, then the resize */
    CHECK_EQ(rcgc_dict_set(grown_dict, "x", v), 0);
    disarm_hook();
    CHECK_EQ(rcgc_dict_len(grown_dict), 51);
    CHECK_PTR(rcgc_dict_get(grown_dict, "x"), v);
    CHECK_PTR(rcgc_dict_get(grown_dict, "k9"), v);
    node *f = rcgc_dict_get(grown_dict, "f39");
    CHECK(f && f->id == 3);
    rcgc_decref(v);
    rcgc_decref(grown_dict);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), base);
}

/* ---- inspection callbacks ------------------------------------------------- */

typedef struct walk {
    size_t calls;
    void *made[64];
    size_t nmade;
    bool freeze;
} walk;

static int make_one_per_call(void *obj, void *arg)
{
    walk *w = arg;
    (void)obj;
    w->calls++;
    if (w->freeze && w->calls == 1) rcgc_freeze();
    if (w->nmade < 64) w->made[w->nmade++] = new_node(&plain_type, (int)w->calls);
    return w->calls > 100000;   /* stop a runaway walk instead of hanging */
}

static size_t tracked_now(void)
{
    size_t n = 0;
    rcgc_get_objects(-1, count_visit_fn, &n);
    return n;
}

/* Before: the walk ran into the objects the callback made: 200,001 calls for
   a 5-object heap (here stopped at 100,001). */
TEST(get_objects_callback_creating_objects_finishes)
{
    quiet_start();
    node *objs[5];
    for (int i = 0; i < 5; i++) objs[i] = new_node(&plain_type, i);
    size_t before = tracked_now();
    walk w = {0};
    CHECK_EQ(rcgc_get_objects(-1, make_one_per_call, &w), 0);
    CHECK_EQ(w.calls, before);
    for (size_t i = 0; i < w.nmade; i++) rcgc_decref(w.made[i]);
    for (int i = 0; i < 5; i++) rcgc_decref(objs[i]);
    quiet_end();
}

/* Before: freezing inside the walk made it wrap round forever and hand the
   callback the permanent list's head, which is not an object. */
TEST(freeze_inside_get_objects_callback)
{
    quiet_start();
    node *objs[5];
    for (int i = 0; i < 5; i++) objs[i] = new_node(&plain_type, i);
    size_t before = tracked_now();
    walk w = {.freeze = true};
    CHECK_EQ(rcgc_get_objects(-1, make_one_per_call, &w), 0);
    CHECK_EQ(w.calls, before);
    CHECK_EQ(rcgc_get_freeze_count(), before);
    rcgc_unfreeze();
    for (size_t i = 0; i < w.nmade; i++) rcgc_decref(w.made[i]);
    for (int i = 0; i < 5; i++) rcgc_decref(objs[i]);
    quiet_end();
}

static node *walk_victim;
static size_t victim_count_inside;

static int drop_victim(void *obj, void *arg)
{
    (void)arg;
    if (obj != walk_victim) return 0;
    rcgc_decref(walk_victim);            /* the program's only reference */
    victim_count_inside = rcgc_refcount(walk_victim);
    return 1;
}

/* Before: debug builds aborted, release builds walked freed memory. */
TEST(decref_inside_get_objects_callback_frees_after_the_walk)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    walk_victim = new_node(&del_type, 5);
    CHECK_EQ(rcgc_get_objects(-1, drop_victim, NULL), 1);
    CHECK_EQ(victim_count_inside, 1);   /* the snapshot's reference */
    CHECK_STR(events, "del5 ");
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), base);
}

/* ---- bounded stack ------------------------------------------------------------ */

/* A type without traverse: never tracked. */
static const rcgc_type leaf_type = {.name = "leaf", .size = sizeof(node)};

static void release_next(void *wr, void *next)
{
    (void)wr;
    rcgc_decref(next);
}

#define CHAIN 100000
static void *chain_weak[CHAIN];

static void *drop_untracked_chain(void *arg)
{
    void **leaves = arg;
    rcgc_decref(leaves[0]);
    return NULL;
}

/* Before: each object's death ran the callback that released the next one,
   recursing without bound: 3,000 overflowed a 256 KiB stack. */
TEST(untracked_chain_freed_by_weakref_callbacks_runs_in_bounded_stack)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    void **leaves = malloc(CHAIN * sizeof *leaves);
    for (size_t i = 0; i < CHAIN; i++) leaves[i] = rcgc_new(&leaf_type);
    for (size_t i = 0; i + 1 < CHAIN; i++)
        chain_weak[i] = rcgc_weakref_new(leaves[i], release_next, leaves[i + 1]);
    chain_weak[CHAIN - 1] = rcgc_weakref_new(leaves[CHAIN - 1], NULL, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t thread;
    CHECK_EQ(pthread_create(&thread, &attr, drop_untracked_chain, leaves), 0);
    pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
    for (size_t i = 0; i < CHAIN; i++) {
        CHECK_PTR(rcgc_weakref_peek(chain_weak[i]), NULL);
        rcgc_decref(chain_weak[i]);
    }
    free(leaves);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), base);
}

/* ---- finalizers and clears that misbehave ------------------------------------- */

static int self_drops;

static void finalize_dropping_self(void *self)
{
    self_drops++;
    rcgc_decref(self);   /* drops the reference the deallocation lent it */
}
static const rcgc_type self_dropper_type = {.name = "selfdropper", .size = sizeof(node),
                                            .traverse = node_traverse, .clear = node_clear,
                                            .finalize = finalize_dropping_self};

static void drop_self_dropper(void)
{
    rcgc_decref(new_node(&self_dropper_type, 1));
}

/* Before: the finalizer ran three times and the debug build then failed an
   internal assertion that named no object. */
TEST(finalizer_that_decrefs_itself_runs_once)
{
#ifdef RCGC_DEBUG
    CHECK_ABORTS(drop_self_dropper, "rcgc: rcgc_decref: finalize dropped a reference it does not own: "
                        "object <selfdropper ", NULL);
#else
    quiet_start();
    size_t base = rcgc_memory_in_use();
    self_drops = 0;
    drop_self_dropper();
    CHECK_EQ(self_drops, 1);
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), base);
#endif
}

static int retrack_errno;

static void clear_retracking_self(void *self)
{
    node_clear(self);
    errno = 0;
    rcgc_track(self);
    retrack_errno = errno;
}
static const rcgc_type retracker_type = {.name = "retracker", .size = sizeof(node),
                                         .traverse = node_traverse,
                                         .clear = clear_retracking_self};

static void drop_retracker(void)
{
    rcgc_decref(new_node(&retracker_type, 1));
}

/* Before: the freed object stayed in generation 0; the next collection
   "collected" it (returned 1) in a release build, and failed an internal
   assertion at that later collection in a debug build. */
TEST(clear_that_retracks_its_own_object_is_refused)
{
#ifdef RCGC_DEBUG
    CHECK_ABORTS(drop_retracker, "rcgc: rcgc_track: object is being deallocated (count is zero): "
                        "object <retracker ", NULL);
#else
    quiet_start();
    size_t base = rcgc_memory_in_use();
    size_t tracked = tracked_now();
    drop_retracker();
    CHECK_EQ(retrack_errno, EINVAL);
    CHECK_EQ(tracked_now(), tracked);
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), base);
#endif
}

/* ---- weakrefs ------------------------------------------------------------------- */

static void *other_weakref;
static int untrack_calls[2];

static void untrack_the_other(void *wr, void *arg)
{
    int which = (int)(size_t)arg;
    untrack_calls[which]++;
    if (which == 1) rcgc_untrack(other_weakref);
    (void)wr;
}

/* Before: the untracked weakref left the collector's list of weakrefs to
   call back: its callback never ran and the reference the collector had
   taken on it was never dropped. */
TEST(weakref_untracked_by_another_weakrefs_callback_still_calls_back)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    node *a = new_node(&plain_type, 1);
    link_slot(a, 0, a);
    void *w0 = rcgc_weakref_new(a, untrack_the_other, (void *)0);
    void *w1 = rcgc_weakref_new(a, untrack_the_other, (void *)1);  /* newest: first */
    other_weakref = w0;
    untrack_calls[0] = untrack_calls[1] = 0;
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 1);
    CHECK_EQ(untrack_calls[1], 1);
    CHECK_EQ(untrack_calls[0], 1);
    CHECK_EQ(rcgc_refcount(w0), 1);
    CHECK_EQ(rcgc_refcount(w1), 1);
    CHECK(!rcgc_is_tracked(w0));
    rcgc_decref(w0);
    rcgc_decref(w1);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), base);
}

/* ---- leaks on failure paths ------------------------------------------------------ */

static int refuse_countdown;

static bool refuse_nth(size_t size, void *arg)
{
    (void)size, (void)arg;
    return !(refuse_countdown > 0 && --refuse_countdown == 0);
}

/* Before: the table struct stayed allocated (32 bytes) when its slots could
   not be. */
TEST(refused_weakref_table_slots_leave_no_table)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    node *a = new_node(&plain_type, 1);
    size_t with_a = rcgc_memory_in_use();
    refuse_countdown = 3;   /* weakref object, table, slots */
    rcgc_set_alloc_hook(refuse_nth, NULL);
    errno = 0;
    CHECK_PTR(rcgc_weakref_new(a, NULL, NULL), NULL);
    CHECK_EQ(errno, ENOMEM);
    rcgc_set_alloc_hook(NULL, NULL);
    CHECK_EQ(rcgc_memory_in_use(), with_a);
    CHECK_EQ(rcgc_weakref_count(a), 0);
    rcgc_decref(a);
    quiet_end();
    CHECK_EQ(rcgc_memory_in_use(), base);
}

static void noop_callback(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)phase, (void)info, (void)arg;
}

/* Before: the callbacks array stayed allocated after the last remove. */
TEST(callbacks_array_freed_after_last_remove)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    for (size_t i = 0; i < 9; i++) CHECK_EQ(rcgc_callback_add(noop_callback, (void *)i), 0);
    CHECK(rcgc_memory_in_use() > base);
    for (size_t i = 0; i < 9; i++) CHECK_EQ(rcgc_callback_remove(noop_callback, (void *)i), 0);
    CHECK_EQ(rcgc_memory_in_use(), base);
    quiet_end();
}

/* ---- debug-build messages ------------------------------------------------------ */

#ifdef RCGC_DEBUG
static void incref_at_page_start(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *two = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(two, (size_t)page, PROT_NONE);
    rcgc_incref(two + page);   /* a header read would touch the guard page */
}

/* Before: the check read the would-be header in front of the pointer, which
   faults (or, under ASan, is reported out of bounds) for a pointer at the
   start of a block. */
TEST(misuse_check_of_pointer_at_block_start_does_not_fault)
{
    CHECK_ABORTS(incref_at_page_start, "rcgc: rcgc_incref: ", " is not a managed object");
}

static void append_to_freed_list(void)
{
    void *l = rcgc_list_new();
    rcgc_decref(l);
    rcgc_list_append(l, NULL);
}

/* Before: the line named rcgc_typeof, which the user never called. */
TEST(list_misuse_names_the_function_called)
{
    CHECK_ABORTS(append_to_freed_list, "rcgc: rcgc_list_append: use of a freed object: object <list ", NULL);
}

static void get_from_freed_dict(void)
{
    void *d = rcgc_dict_new();
    rcgc_decref(d);
    rcgc_dict_get(d, "k");
}

TEST(dict_misuse_names_the_function_called)
{
    CHECK_ABORTS(get_from_freed_dict, "rcgc: rcgc_dict_get: use of a freed object: object <dict ", NULL);
}
#endif

/* ---- debug lines ------------------------------------------------------------------ */

static char long_name[700];
static char captured[4096];
static int captured_lines;

static void capture_line(const char *text, void *arg)
{
    (void)arg;
    captured_lines++;
    strncat(captured, text, sizeof captured - strlen(captured) - 1);
}

/* Before: lines were cut at 511 bytes, without their newline. */
TEST(debug_lines_longer_than_511_bytes_are_whole)
{
    quiet_start();
    memset(long_name, 'n', sizeof long_name - 1);
    const rcgc_type long_type = {.name = long_name, .size = sizeof(node),
                                 .traverse = node_traverse, .clear = node_clear};
    node *a = new_node(&long_type, 1);
    link_slot(a, 0, a);
    rcgc_decref(a);
    captured[0] = '\0';
    captured_lines = 0;
    rcgc_set_output(capture_line, NULL);
    rcgc_set_debug(RCGC_DEBUG_COLLECTABLE);
    CHECK_EQ(rcgc_collect(2), 1);
    rcgc_set_debug(0);
    rcgc_set_output(NULL, NULL);
    CHECK_EQ(captured_lines, 1);
    CHECK(strncmp(captured, "gc: collectable <", 17) == 0);
    CHECK(strstr(captured, long_name) != NULL);
    size_t len = strlen(captured);
    CHECK(len > 720 && captured[len - 1] == '\n' && captured[len - 2] == '>');
    quiet_end();
}

/* ---- small edges --------------------------------------------------------------- */

/* Before: get_threshold(NULL) and get_count(NULL) crashed. */
TEST(null_out_parameters_set_einval)
{
    errno = 0;
    rcgc_get_threshold(NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    rcgc_get_count(NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    rcgc_get_stats(0, NULL);
    CHECK_EQ(errno, EINVAL);
    void *d = rcgc_dict_new();
    errno = 0;
    CHECK(!rcgc_dict_next(d, NULL, NULL, NULL));
    CHECK_EQ(errno, EINVAL);
    rcgc_decref(d);
}

static size_t nested_result;
static int nested_errno;

static void collect_from_finalizer(void *self)
{
    (void)self;
    errno = 0;
    nested_result = rcgc_collect(2);
    nested_errno = errno;
}
static const rcgc_type nested_collector_type = {.name = "nested", .size = sizeof(node),
                                                .traverse = node_traverse, .clear = node_clear,
                                                .finalize = collect_from_finalizer};

/* Before: the refused collection gave 0 with nothing to tell it from "found
   nothing". */
TEST(collect_during_a_collection_sets_ebusy)
{
    quiet_start();
    make_garbage_pair(&nested_collector_type, 1);
    nested_result = 99;
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_EQ(nested_result, 0);
    CHECK_EQ(nested_errno, EBUSY);
    quiet_end();
}
