/* RCGC_SETREF / RCGC_XSETREF, RCGC_VISIT_WITH, the *_steal container stores
   (success and every failure, allocation hook refusing included), and
   weakrefs whose arg is read back and released. */
#include "harness.h"

#include "nodes.h"

/* ---- RCGC_SETREF ------------------------------------------------------------ */

/* The holder whose field a dying object's finalizer reads. */
static node *holder;
static void *seen_in_field;
static void reads_holder_field(void *self)
{
    (void)self;
    seen_in_field = holder->slot[0];
    event("del%d ", ((node *)self)->id);
}
static const rcgc_type peeking_type = {.name = "peeking", .size = sizeof(node),
                                       .traverse = node_traverse, .clear = node_clear,
                                       .finalize = reads_holder_field};

TEST(setref_stores_the_new_value_before_the_old_one_is_released)
{
    quiet_start();
    size_t base = rcgc_memory_in_use();
    holder = new_node(&plain_type, 0);
    holder->slot[0] = new_node(&peeking_type, 1);   /* the holder's only reference */
    node *next = new_node(&plain_type, 2);
    RCGC_SETREF(holder->slot[0], next);             /* hands over our reference */
    /* the finalizer of the old value ran during the release and saw the new one */
    CHECK_STR(events, "del1 ");
    CHECK_PTR(seen_in_field, next);
    CHECK_PTR(holder->slot[0], next);
    CHECK_EQ(rcgc_refcount(next), 1);
    RCGC_XSETREF(holder->slot[0], NULL);            /* frees next */
    CHECK_PTR(holder->slot[0], NULL);
    RCGC_XSETREF(holder->slot[0], NULL);            /* NULL over NULL: nothing */
    node *again = new_node(&plain_type, 3);
    RCGC_SETREF(holder->slot[1], again);            /* NULL before is ignored */
    CHECK_PTR(holder->slot[1], again);
    CHECK_EQ(rcgc_refcount(again), 1);
    rcgc_decref(holder);
    CHECK_EQ(rcgc_memory_in_use(), base);           /* holder and again are gone */
    quiet_end();
}

TEST(setref_evaluates_its_value_once)
{
    quiet_start();
    node *n = new_node(&plain_type, 0);
    node *items[2] = {new_node(&plain_type, 1), new_node(&plain_type, 2)};
    int i = 0;
    RCGC_SETREF(n->slot[0], items[i++]);
    CHECK_EQ(i, 1);
    CHECK_PTR(n->slot[0], items[0]);
    rcgc_decref(items[1]);
    rcgc_decref(n);
    quiet_end();
}

/* ---- RCGC_VISIT_WITH ---------------------------------------------------------- */

/* A traverse whose parameters are not called visit and arg, and a helper
   that is handed the visitor. */
static int visit_pair(const node *n, rcgc_visit_fn fn, void *closure)
{
    RCGC_VISIT_WITH(fn, closure, n->slot[0]);
    RCGC_VISIT_WITH(fn, closure, n->slot[1]);
    return 0;
}
static int renamed_traverse(void *self, rcgc_visit_fn report, void *ctx)
{
    const node *n = self;
    int r = visit_pair(n, report, ctx);
    if (r) return r;
    RCGC_VISIT_WITH(report, ctx, n->slot[2]);
    return 0;
}
static const rcgc_type renamed_type = {.name = "renamed", .size = sizeof(node),
                                       .traverse = renamed_traverse, .clear = node_clear};

static int stop_at_second(void *obj, void *arg)
{
    (void)obj;
    return ++*(int *)arg == 2 ? 7 : 0;
}

TEST(visit_with_reports_each_non_null_field_and_stops_on_non_zero)
{
    quiet_start();
    node *n = new_node(&renamed_type, 0);
    link_slot(n, 0, n);            /* a self-cycle through slot 0 */
    node *child = new_node(&plain_type, 1);
    link_slot(n, 2, child);        /* slot 1 stays NULL and is skipped */
    size_t count = 0;
    CHECK_EQ(rcgc_get_referents(n, count_visit_fn, &count), 0);
    CHECK_EQ(count, 2);
    int seen = 0;
    CHECK_EQ(rcgc_get_referents(n, stop_at_second, &seen), 7);
    CHECK_EQ(seen, 2);
    rcgc_decref(child);
    rcgc_decref(n);
    CHECK_EQ(rcgc_collect(2), 2);  /* the collector sees the cycle through it */
    quiet_end();
}

/* ---- stealing stores ---------------------------------------------------------- */

TEST(steal_stores_take_over_the_callers_reference)
{
    quiet_start();
    boxed_freed = 0;
    void *list = rcgc_list_new(), *dict = rcgc_dict_new();
    void *a = new_boxed(0), *b = new_boxed(0), *c = new_boxed(0);
    CHECK_EQ(rcgc_list_append_steal(list, a), 0);
    CHECK_EQ(rcgc_refcount(a), 1);                              /* the list's only */
    CHECK_PTR(rcgc_list_get(list, 0), a);
    CHECK_EQ(rcgc_list_append_steal(list, NULL), 0);
    CHECK_EQ(rcgc_list_len(list), 2);
    CHECK_EQ(rcgc_list_set_steal(list, 1, b), 0);
    CHECK_EQ(rcgc_refcount(b), 1);
    CHECK_EQ(rcgc_list_set_steal(list, 0, new_boxed(0)), 0);    /* a goes */
    CHECK_EQ(boxed_freed, 1);
    CHECK_EQ(rcgc_dict_set_steal(dict, "c", c), 0);
    CHECK_EQ(rcgc_refcount(c), 1);
    CHECK_PTR(rcgc_dict_get(dict, "c"), c);
    CHECK_EQ(rcgc_dict_set_steal(dict, "c", new_boxed(0)), 0);  /* c goes */
    CHECK_EQ(boxed_freed, 2);
    rcgc_decref(list);
    rcgc_decref(dict);
    CHECK_EQ(boxed_freed, 5);                                   /* two in the list, one in the dict */
    quiet_end();
}

TEST(steal_stores_release_the_reference_on_every_failure)
{
    quiet_start();
    boxed_freed = 0;
    void *list = rcgc_list_new(), *dict = rcgc_dict_new();
    errno = 0;
    CHECK_EQ(rcgc_list_set_steal(list, 0, new_boxed(0)), -1);     /* past the end */
    CHECK_EQ(errno, ERANGE);
    CHECK_EQ(boxed_freed, 1);
    errno = 0;
    CHECK_EQ(rcgc_list_append_steal(dict, new_boxed(0)), -1);     /* not a list */
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(boxed_freed, 2);
    errno = 0;
    CHECK_EQ(rcgc_dict_set_steal(list, "k", new_boxed(0)), -1);   /* not a dict */
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(boxed_freed, 3);
    errno = 0;
    CHECK_EQ(rcgc_dict_set_steal(dict, NULL, new_boxed(0)), -1);  /* no key */
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(boxed_freed, 4);
    errno = 0;
    CHECK_EQ(rcgc_dict_set_steal(dict, "k", NULL), -1);           /* no value */
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(rcgc_list_len(list), 0);
    CHECK_EQ(rcgc_dict_len(dict), 0);
    rcgc_decref(list);
    rcgc_decref(dict);
    quiet_end();
}

/* Refuse every allocation while on. */
static bool refusing;
static bool refuse_when_on(size_t size, void *arg)
{
    (void)size, (void)arg;
    return !refusing;
}

/* A finalizer that sets errno, run by the release of a refused item: the
   store must still report its own ENOMEM. */
static size_t deaths;
static void clobbers_errno(void *self)
{
    (void)self;
    deaths++;
    errno = EDOM;
}
static const rcgc_type clobbering_type = {.name = "clobbering", .size = sizeof(node),
                                          .traverse = node_traverse, .clear = node_clear,
                                          .finalize = clobbers_errno};

TEST(steal_stores_release_the_reference_when_memory_is_refused)
{
    quiet_start();
    deaths = 0;
    void *list = rcgc_list_new(), *dict = rcgc_dict_new();
    size_t empty = rcgc_memory_in_use();
    rcgc_set_alloc_hook(refuse_when_on, NULL);
    void *item = new_node(&clobbering_type, 1);
    refusing = true;
    errno = 0;
    CHECK_EQ(rcgc_list_append_steal(list, item), -1);   /* the array cannot grow */
    CHECK_EQ(errno, ENOMEM);
    CHECK_EQ(deaths, 1);                                /* released: finalizer ran */
    refusing = false;
    item = new_node(&clobbering_type, 2);
    refusing = true;
    errno = 0;
    CHECK_EQ(rcgc_dict_set_steal(dict, "key", item), -1);  /* the key copy is refused */
    CHECK_EQ(errno, ENOMEM);
    CHECK_EQ(deaths, 2);
    refusing = false;
    CHECK_EQ(rcgc_memory_in_use(), empty);              /* nothing held, nothing leaked */
    CHECK_EQ(rcgc_list_len(list), 0);
    CHECK_EQ(rcgc_dict_len(dict), 0);
    rcgc_set_alloc_hook(NULL, NULL);
    rcgc_decref(list);
    rcgc_decref(dict);
    quiet_end();
}

/* ---- weakref arg and release -------------------------------------------------- */

/* The arg of the weakrefs below: what happened to it, in order. */
typedef struct ctx {
    int id;
    int released;
    int called;
} ctx;

static void release_ctx(void *arg)
{
    ctx *c = arg;
    c->released++;
    event("rel%d ", c->id);
}

static void callback_reads_arg(void *wr, void *arg)
{
    ctx *c = arg;
    CHECK_PTR(rcgc_weakref_arg(wr), arg);
    CHECK_EQ(c->released, 0);
    c->called++;
    event("cb%d ", c->id);
}

TEST(weakref_arg_reads_back_what_it_was_made_with)
{
    quiet_start();
    node *n = new_node(&plain_type, 1);
    ctx c = {1, 0, 0};
    void *w = rcgc_weakref_new(n, callback_reads_arg, &c);
    CHECK_PTR(rcgc_weakref_arg(w), &c);
    void *bare = rcgc_weakref_new(n, NULL, NULL);
    errno = 0;
    CHECK_PTR(rcgc_weakref_arg(bare), NULL);
    CHECK_EQ(errno, 0);
    CHECK_PTR(rcgc_weakref_arg(n), NULL);       /* not a weakref */
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_PTR(rcgc_weakref_arg(NULL), NULL);
    CHECK_EQ(errno, EINVAL);
    rcgc_decref(n);                              /* the callback reads it too */
    CHECK_EQ(c.called, 1);
    CHECK_PTR(rcgc_weakref_arg(w), &c);         /* and after the callback */
    rcgc_decref(w);
    rcgc_decref(bare);
    quiet_end();
}

TEST(weakref_release_runs_once_when_the_weakref_dies_first)
{
    quiet_start();
    node *n = new_node(&plain_type, 1);
    ctx c = {1, 0, 0};
    void *w = rcgc_weakref_new_with_release(n, callback_reads_arg, &c, release_ctx);
    CHECK(w != NULL);
    CHECK_EQ(c.released, 0);
    rcgc_decref(w);
    CHECK_STR(events, "rel1 ");
    rcgc_decref(n);                              /* no weakref left: no callback */
    CHECK_EQ(c.called, 0);
    CHECK_EQ(c.released, 1);
    quiet_end();
}

TEST(weakref_release_runs_after_the_callback_when_the_referent_dies_first)
{
    quiet_start();
    node *n = new_node(&plain_type, 1);
    ctx c = {1, 0, 0}, d = {2, 0, 0};
    void *w = rcgc_weakref_new_with_release(n, callback_reads_arg, &c, release_ctx);
    void *v = rcgc_weakref_new_with_release(n, callback_reads_arg, &d, release_ctx);
    rcgc_decref(n);                              /* newest first; both stay alive */
    CHECK_STR(events, "cb2 cb1 ");
    CHECK_PTR(rcgc_weakref_arg(w), &c);
    rcgc_decref(v);
    rcgc_decref(w);
    CHECK_STR(events, "cb2 cb1 rel2 rel1 ");
    CHECK_EQ(c.released, 1);
    CHECK_EQ(d.released, 1);
    quiet_end();
}

/* The callback drops the last reference to its own weakref: the release
   runs after the callback returns, not during it. */
static void *self_dropping;
static void callback_drops_its_weakref(void *wr, void *arg)
{
    callback_reads_arg(wr, arg);
    rcgc_decref(self_dropping);
    self_dropping = NULL;
    CHECK_EQ(((ctx *)arg)->released, 0);   /* we hold it while the callback runs */
}

TEST(weakref_release_runs_once_when_the_callback_drops_the_weakref)
{
    quiet_start();
    node *n = new_node(&plain_type, 1);
    ctx c = {1, 0, 0};
    self_dropping = rcgc_weakref_new_with_release(n, callback_drops_its_weakref, &c,
                                                  release_ctx);
    rcgc_decref(n);
    CHECK_STR(events, "cb1 rel1 ");
    CHECK_EQ(c.released, 1);
    quiet_end();
}

TEST(weakref_release_runs_when_the_weakref_is_garbage_in_a_collection)
{
    quiet_start();
    /* a cycle holding the only reference to a weakref to a member: all
       garbage, so no callback, and the weakref's release runs as it is freed */
    node *a = make_pair(&plain_type, 1, &plain_type, 2);
    ctx c = {1, 0, 0};
    void *w = rcgc_weakref_new_with_release(a, callback_reads_arg, &c, release_ctx);
    a->slot[1] = w;                              /* hands over our reference */
    rcgc_decref(a);
    CHECK_EQ(c.released, 0);
    CHECK_EQ(rcgc_collect(2), 3);
    CHECK_STR(events, "rel1 ");
    CHECK_EQ(c.called, 0);
    CHECK_EQ(c.released, 1);
    quiet_end();
}

TEST(weakref_release_runs_after_the_callback_in_a_collection)
{
    quiet_start();
    node *a = make_pair(&plain_type, 1, &plain_type, 2);
    ctx c = {1, 0, 0};
    void *w = rcgc_weakref_new_with_release(a, callback_reads_arg, &c, release_ctx);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_STR(events, "cb1 ");
    CHECK_PTR(rcgc_weakref_peek(w), NULL);
    rcgc_decref(w);
    CHECK_STR(events, "cb1 rel1 ");
    quiet_end();
}

/* Allow this many more allocations, then refuse. */
static size_t allowances;
static bool allow_counted(size_t size, void *arg)
{
    (void)size, (void)arg;
    if (allowances == 0) return false;
    allowances--;
    return true;
}

TEST(weakref_with_release_releases_arg_when_it_fails)
{
    quiet_start();
    ctx c = {1, 0, 0};
    errno = 0;
    CHECK_PTR(rcgc_weakref_new_with_release(NULL, NULL, &c, release_ctx), NULL);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(c.released, 1);
    node *n = new_node(&plain_type, 1);
    size_t before = rcgc_memory_in_use();
    /* the weakref object refused; then the object allowed and the side table
       (no weakref exists yet, so it is made) refused */
    for (int i = 2; i <= 3; i++) {
        ctx d = {i, 0, 0};
        allowances = (size_t)(i - 2);
        rcgc_set_alloc_hook(allow_counted, NULL);
        errno = 0;
        CHECK_PTR(rcgc_weakref_new_with_release(n, NULL, &d, release_ctx), NULL);
        CHECK_EQ(errno, ENOMEM);
        CHECK_EQ(d.released, 1);
        CHECK_EQ(allowances, 0);
        rcgc_set_alloc_hook(NULL, NULL);
        CHECK_EQ(rcgc_memory_in_use(), before);
    }
    CHECK_STR(events, "rel1 rel2 rel3 ");
    CHECK_EQ(rcgc_weakref_count(n), 0);
    rcgc_decref(n);
    quiet_end();
}

TEST(weakref_release_runs_once_at_heap_teardown)
{
    /* held by the program at teardown: one weakref whose referent is held
       too (its callback runs, then its release), one whose referent died
       first (callback long done), one without callback */
    rcgc_heap *h = rcgc_heap_new();
    CHECK(h != NULL);
    rcgc_heap *was = rcgc_heap_enter(h);
    events_reset();
    node *kept = new_node(&plain_type, 1), *gone = new_node(&plain_type, 2);
    ctx c = {1, 0, 0}, d = {2, 0, 0}, e = {3, 0, 0};
    void *w1 = rcgc_weakref_new_with_release(kept, callback_reads_arg, &c, release_ctx);
    void *w2 = rcgc_weakref_new_with_release(gone, callback_reads_arg, &d, release_ctx);
    void *w3 = rcgc_weakref_new_with_release(kept, NULL, &e, release_ctx);
    CHECK(w1 && w2 && w3);
    rcgc_decref(gone);
    CHECK_STR(events, "cb2 ");
    CHECK(rcgc_heap_enter(was) == h);
    CHECK_EQ(rcgc_heap_destroy(h), 0);
    CHECK_EQ(c.called, 1);
    CHECK_EQ(c.released, 1);
    CHECK_EQ(d.called, 1);
    CHECK_EQ(d.released, 1);
    CHECK_EQ(e.released, 1);
    /* the teardown's callbacks first, then the weakrefs freed, each
       releasing its arg after its own callback; in list order, which in the
       stress build (a collection at every allocation) is not the order the
       weakrefs were made in */
#ifndef RCGC_STRESS
    CHECK_STR(events, "cb2 cb1 rel1 rel2 rel3 ");
#else
    CHECK_EQ(strncmp(events, "cb2 cb1 ", 8), 0);
    CHECK_CONTAINS(events + 8, "rel1 ");
    CHECK_CONTAINS(events + 8, "rel2 ");
    CHECK_CONTAINS(events + 8, "rel3 ");
    CHECK_EQ(strlen(events), strlen("cb2 cb1 rel1 rel2 rel3 "));
#endif
}
