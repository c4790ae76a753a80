/*
 * The leak-hunting tools of rcgc_tools.h: census, growth, holders, why
 * alive, watched objects and leak checks, with their exact output
 * (addresses masked), their bad inputs, and the promise that they change
 * nothing the program sees.
 */
#include "harness.h"

#include <signal.h>

#include "capture.h"
#include "internal.h"   /* state()->own_refusal: tests reach those failure paths */
#include "nodes.h"
#include "rcgc_tools.h"

static capture out;

/* Types of this file only, so that counts are exact. */
static const rcgc_type widget_type = {.name = "widget", .size = sizeof(node),
                                      .traverse = node_traverse, .clear = node_clear};
static const rcgc_type leafy_type = {.name = "leafy", .size = 24};
static const rcgc_type closure_type = {.name = "closure", .size = sizeof(node),
                                       .traverse = node_traverse, .clear = node_clear};
static const rcgc_type env_type = {.name = "env", .size = sizeof(node),
                                   .traverse = node_traverse, .clear = node_clear};

/* ---- census ------------------------------------------------------------------ */

TEST(census_counts_every_type_with_or_without_traverse)
{
    quiet_start();
    void *w[3], *l[2];
    for (int i = 0; i < 3; i++) w[i] = rcgc_new(&widget_type);
    for (int i = 0; i < 2; i++) l[i] = rcgc_new(&leafy_type);
    size_t wbytes, lbytes;
    CHECK_EQ(census_of(&widget_type, &wbytes), 3);
    CHECK_EQ(census_of(&leafy_type, &lbytes), 2);
    CHECK_EQ(wbytes, 3 * bytes_of(&widget_type));   /* what memory in use counts */
    CHECK_EQ(lbytes, 2 * bytes_of(&leafy_type));
    rcgc_decref(l[0]);
    CHECK_EQ(census_of(&leafy_type, NULL), 1);
    rcgc_decref(l[1]);
    CHECK_EQ(census_of(&leafy_type, NULL), 0);
    for (int i = 0; i < 3; i++) rcgc_decref(w[i]);
    CHECK_EQ(census_of(&widget_type, NULL), 0);
    quiet_end();
}

TEST(census_returns_the_number_of_types_like_snprintf)
{
    quiet_start();
    void *w = rcgc_new(&widget_type), *l = rcgc_new(&leafy_type);
    size_t all = rcgc_census(NULL, 0);
    CHECK(all >= 2);
    rcgc_type_count one[1] = {{NULL, 0, 0}};
    CHECK_EQ(rcgc_census(one, 1), all);
    CHECK(one[0].type != NULL && one[0].count >= 1);
    rcgc_decref(w);
    rcgc_decref(l);
    CHECK_EQ(rcgc_census(NULL, 0), all - 2);
    quiet_end();
}

TEST(most_common_types_in_objgraphs_format)
{
    quiet_start();
    void *w[50], *l[40];
    for (int i = 0; i < 50; i++) w[i] = rcgc_new(&widget_type);
    for (int i = 0; i < 40; i++) l[i] = rcgc_new(&leafy_type);
    capture_reset(&out);
    rcgc_show_most_common_types(2, capture_write, &out);
    CHECK_STR(out.text, "widget 50\n"
                        "leafy  40\n");
    capture_reset(&out);
    rcgc_show_most_common_types(0, capture_write, &out);   /* 0: every type */
    CHECK_EQ(out.lines, (int)rcgc_census(NULL, 0));
    for (int i = 0; i < 50; i++) rcgc_decref(w[i]);
    for (int i = 0; i < 40; i++) rcgc_decref(l[i]);
    quiet_end();
}

TEST(show_growth_compares_with_the_previous_call)
{
    quiet_start();
    rcgc_show_growth(0, capture_write, &out);   /* the baseline */
    void *c[1000], *e[3];
    for (int i = 0; i < 1000; i++) c[i] = rcgc_new(&closure_type);
    for (int i = 0; i < 3; i++) e[i] = rcgc_new(&env_type);
    capture_reset(&out);
    CHECK_EQ(rcgc_show_growth(0, capture_write, &out), 2);
    CHECK_STR(out.text, "closure     1000     +1000\n"
                        "env            3        +3\n");
    capture_reset(&out);
    CHECK_EQ(rcgc_show_growth(0, capture_write, &out), 0);
    CHECK_STR(out.text, "");
    /* Shrink, then regrow by less than before: the regrowth shows. */
    for (int i = 0; i < 1000; i++) rcgc_decref(c[i]);
    rcgc_show_growth(0, capture_write, &out);
    for (int i = 0; i < 10; i++) c[i] = rcgc_new(&closure_type);
    void *more = rcgc_new(&env_type);
    capture_reset(&out);
    CHECK_EQ(rcgc_show_growth(1, capture_write, &out), 2);   /* both grew, one shown */
    CHECK_STR(out.text, "closure       10       +10\n");
    for (int i = 0; i < 10; i++) rcgc_decref(c[i]);
    for (int i = 0; i < 3; i++) rcgc_decref(e[i]);
    rcgc_decref(more);
    rcgc_show_growth(0, capture_write, &out);
    quiet_end();
}

/* ---- holders and why alive --------------------------------------------------- */

static void *seen[16];
static size_t nseen;

static int remember(void *obj, void *arg)
{
    (void)arg;
    if (nseen < 16) seen[nseen++] = obj;
    return 0;
}

static bool was_seen(const void *obj)
{
    for (size_t i = 0; i < nseen; i++)
        if (seen[i] == obj) return true;
    return false;
}

TEST(holders_reveal_a_forgotten_visit)
{
    quiet_start();
    node *env = new_node(&forgetful_type, 1);
    void *scope = rcgc_list_new();
    rcgc_list_append(scope, env);      /* scope -> env, reported */
    link_slot(env, 2, scope);          /* env -> scope, never reported */
    rcgc_decref(env);
    rcgc_decref(scope);                /* the program holds nothing now */
    CHECK_EQ(rcgc_collect(2), 0);      /* and yet nothing is freed: the leak */
    nseen = 0;
    CHECK_EQ(rcgc_get_holders(remember, NULL), 0);
    CHECK(was_seen(scope));
    CHECK(!was_seen(env));
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(env, capture_write, &out), 1);
    CHECK_STR(captured_masked(&out),
              "<list 0x?> refcount 1, held from outside (1 reference not from tracked objects)\n"
              "  [0] -> <forgetful_env 0x?> refcount 1\n");
    RCGC_CLEAR(env->slot[2]);          /* the fix, by hand: now the cycle can go */
    CHECK_EQ(rcgc_collect(2), 0);      /* scope went at once, env with it */
    quiet_end();
}

TEST(why_alive_labels_list_index_dict_key_and_traverse_position)
{
    quiet_start();
    void *root = rcgc_list_new();
    void *d = rcgc_dict_new();
    node *a = new_node(&widget_type, 1), *b = new_node(&widget_type, 2);
    rcgc_list_append(root, NULL);
    rcgc_list_append(root, NULL);
    rcgc_list_append(root, d);         /* [2]; the NULLs are skipped by traverse */
    rcgc_dict_set(d, "x", root);       /* a cycle back, to make paths longer */
    rcgc_dict_set(d, "f", a);
    link_slot(a, 1, a);                /* self-reference at traverse position #0 */
    link_slot(a, 2, b);                /* #1 */
    rcgc_decref(d);
    rcgc_decref(a);
    rcgc_decref(b);
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(b, capture_write, &out), 3);
    CHECK_STR(captured_masked(&out),
              "<list 0x?> refcount 2, held from outside (1 reference not from tracked objects)\n"
              "  [2] -> <dict 0x?> refcount 1\n"
              "  [\"f\"] -> <widget 0x?> refcount 2\n"
              "  #1 -> <widget 0x?> refcount 1\n");
    rcgc_decref(root);
    CHECK_EQ(rcgc_collect(2), 4);
    quiet_end();
}

TEST(why_alive_of_a_holder_is_one_line)
{
    quiet_start();
    node *a = new_node(&widget_type, 1);
    rcgc_incref(a);
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(a, capture_write, &out), 0);
    CHECK_STR(captured_masked(&out),
              "<widget 0x?> refcount 2, held from outside (2 references not from tracked "
              "objects)\n");
    rcgc_decref(a);
    rcgc_decref(a);
    quiet_end();
}

TEST(why_alive_of_garbage_frozen_and_unreachable_objects)
{
    quiet_start();
    node *g = new_node(&clearless_type, 1);
    link_slot(g, 0, g);
    rcgc_decref(g);
    CHECK_EQ(rcgc_collect(2), 1);      /* uncollectable: in the garbage list */
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(g, capture_write, &out), 0);
    CHECK_STR(captured_masked(&out), "<clearless 0x?> refcount 2, in the garbage list "
                                     "(uncollectable, or kept by DEBUG_SAVEALL)\n");
    RCGC_CLEAR(g->slot[0]);            /* break what no clear could */
    rcgc_garbage_clear();

    node *f = new_node(&widget_type, 2);
    rcgc_freeze();
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(f, capture_write, &out), 0);
    CHECK_STR(captured_masked(&out),
              "<widget 0x?> refcount 1, frozen (rcgc_freeze): no collection looks at it\n");
    rcgc_unfreeze();
    rcgc_decref(f);

    node *c = new_node(&widget_type, 3);
    link_slot(c, 0, c);
    rcgc_decref(c);                    /* cyclic garbage, not yet collected */
    capture_reset(&out);
    errno = 0;
    CHECK_EQ(rcgc_why_alive(c, capture_write, &out), -1);
    CHECK_EQ(errno, ENOENT);
    CHECK_STR(captured_masked(&out),
              "<widget 0x?> refcount 1, reached from no holder: cyclic garbage the next "
              "collection frees, or held by objects rcgc cannot see\n");
    CHECK_EQ(rcgc_collect(2), 1);
    quiet_end();
}

static size_t lines_counted;
static void count_lines(const char *line, void *arg)
{
    (void)line, (void)arg;
    lines_counted++;
}

TEST(why_alive_follows_a_long_chain_without_recursion)
{
    quiet_start();
    size_t length = getenv("RCGC_TEST_QUICK") ? 20000 : 300000;
    node *tail, *head = new_chain(&widget_type, length, &tail);   /* tail: held by the chain alone */
    lines_counted = 0;
    CHECK_EQ(rcgc_why_alive(tail, count_lines, NULL), (int)length - 1);
    CHECK_EQ(lines_counted, length);
    rcgc_decref(head);
    quiet_end();
}

/* ---- watching ------------------------------------------------------------------- */

TEST(watched_objects_still_alive_are_reported_with_a_chain)
{
    quiet_start();
    void *cache = rcgc_list_new();
    node *kept = new_node(&widget_type, 1), *gone = new_node(&widget_type, 2);
    rcgc_list_append(cache, kept);
    CHECK_EQ(rcgc_watch(kept, "request 12 done"), 0);
    CHECK_EQ(rcgc_watch(gone, NULL), 0);
    link_slot(gone, 0, gone);          /* dies only by collection */
    rcgc_decref(kept);
    rcgc_decref(gone);
    capture_reset(&out);
    CHECK_EQ(rcgc_check_watched(capture_write, &out), 1);
    CHECK_STR(captured_masked(&out),
              "watched <widget 0x?> is still alive (request 12 done):\n"
              "  <list 0x?> refcount 1, held from outside (1 reference not from tracked objects)\n"
              "    [0] -> <widget 0x?> refcount 1\n");
    rcgc_list_clear(cache);            /* now it dies: forgotten */
    capture_reset(&out);
    CHECK_EQ(rcgc_check_watched(capture_write, &out), 0);
    CHECK_STR(out.text, "");
    rcgc_decref(cache);
    errno = 0;
    CHECK_EQ(rcgc_watch(NULL, "x"), -1);
    CHECK_EQ(errno, EINVAL);
    quiet_end();
}

/* ---- leak checks ----------------------------------------------------------------- */

/* The sink is user code: one that drops every leaked object at the first
   line it is given.  The groups were made before that line (the fuzzer
   found the grouping reading freed headers), and a freed example gets no
   chain. */
static void *dropped_by_sink[2];
static void dropping_write(const char *line, void *arg)
{
    capture_write(line, arg);
    for (int i = 0; i < 2; i++) {
        void *obj = dropped_by_sink[i];
        dropped_by_sink[i] = NULL;
        rcgc_decref(obj);
    }
}

TEST(leakcheck_groups_before_its_sink_can_free_what_it_found)
{
    quiet_start();
    rcgc_leakcheck_begin();
    dropped_by_sink[0] = rcgc_new(&leafy_type);
    dropped_by_sink[1] = rcgc_new(&leafy_type);
    capture_reset(&out);
    CHECK_EQ(rcgc_leakcheck_end(dropping_write, &out), 2);
    char expected[256];
    snprintf(expected, sizeof expected,
             "leakcheck: 2 objects made since rcgc_leakcheck_begin are still alive\n"
             "  2 x leafy (%zu bytes), for example:\n",
             2 * bytes_of(&leafy_type));
    CHECK_STR(out.text, expected);
    quiet_end();
}


TEST(leakcheck_reports_exactly_what_was_made_and_kept)
{
    quiet_start();
    void *registry = rcgc_list_new();  /* made before the check: not a leak */
    rcgc_leakcheck_begin();
    node *a = new_node(&widget_type, 1), *b = new_node(&widget_type, 2);
    rcgc_list_append(registry, a);
    rcgc_list_append(registry, b);
    rcgc_decref(a);
    rcgc_decref(b);
    node *cycle = new_node(&widget_type, 3);
    link_slot(cycle, 0, cycle);
    rcgc_decref(cycle);                /* freed by end's collection */
    rcgc_decref(new_node(&widget_type, 4));   /* freed at once */
    void *leaf = rcgc_new(&leafy_type);       /* held by a C variable: leaked */
    capture_reset(&out);
    CHECK_EQ(rcgc_leakcheck_end(capture_write, &out), 3);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "leakcheck: 3 objects made since rcgc_leakcheck_begin are still alive\n"
             "  2 x widget (%zu bytes), for example:\n"
             "    <list 0x?> refcount 1, held from outside (1 reference not from tracked objects)\n"
             "      [0] -> <widget 0x?> refcount 1\n"
             "  1 x leafy (%zu bytes), for example:\n"
             "    <leafy 0x?> refcount 1, held from outside (1 reference not from tracked objects)\n",
             2 * bytes_of(&widget_type), bytes_of(&leafy_type));
    CHECK_STR(captured_masked(&out), expected);
    capture_reset(&out);
    CHECK_EQ(rcgc_leakcheck_end(capture_write, &out), 0);   /* no check open */
    rcgc_decref(leaf);
    rcgc_leakcheck_begin();
    rcgc_list_clear(registry);
    CHECK_EQ(rcgc_leakcheck_end(capture_write, &out), 0);
    CHECK_STR(out.text, "");
    rcgc_decref(registry);
    quiet_end();
}

/* ---- the report at exit ------------------------------------------------------------ */

void rcgc__leak_report_setup(void);   /* src/internal.h: what state init calls */

void *test_tools_leaked_leaf;   /* a global, as leaks at exit usually are (and valgrind sees it reachable) */

static void leak_at_exit(void)
{
    quiet_start();
    void *cache = rcgc_list_new();
    rcgc_list_append(cache, new_node(&widget_type, 1));   /* the widget's own ref leaks too */
    test_tools_leaked_leaf = rcgc_new(&leafy_type);
    node *g = new_node(&clearless_type, 2);
    link_slot(g, 0, g);
    rcgc_decref(g);                    /* uncollectable once collected */
    setenv("RCGC_LEAK_REPORT", "1", 1);
    rcgc__leak_report_setup();
    exit(0);                           /* runs the report */
}

TEST(leak_report_at_exit_groups_what_is_alive)
{
    char text[4096];
    int status = harness_run_child(leak_at_exit, text, sizeof text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    capture masked;
    capture_reset(&masked);
    capture_write(text, &masked);
    char expected[2048];
    snprintf(expected, sizeof expected,
             "rcgc leak report: 4 objects still alive at exit (%zu bytes)\n"
             "  1 x clearless (%zu bytes), for example:\n"
             "    <clearless 0x?> refcount 2, in the garbage list (uncollectable, or kept by DEBUG_SAVEALL)\n"
             "  1 x leafy (%zu bytes), not tracked: no chain to show\n"
             "  1 x list (%zu bytes), for example:\n"
             "    <list 0x?> refcount 1, held from outside (1 reference not from tracked objects)\n"
             "  1 x widget (%zu bytes), for example:\n"
             "    <widget 0x?> refcount 2, held from outside (1 reference not from tracked objects)\n"
             "uncollectable garbage: 1 object\n"
             "  <clearless 0x?> refcount 2\n",
             bytes_of(&clearless_type) + bytes_of(&leafy_type) +
                 bytes_of(&rcgc_list_type) + bytes_of(&widget_type),
             bytes_of(&clearless_type), bytes_of(&leafy_type),
             bytes_of(&rcgc_list_type), bytes_of(&widget_type));
    CHECK_STR(captured_masked(&masked), expected);
}

/* ---- the tools' own memory refused ---------------------------------------------- */


static int noop_visit(void *obj, void *arg)
{
    (void)obj, (void)arg;
    return 0;
}

static const rcgc_type fresh_type = {.name = "fresh", .size = 8};

/* Each tool, with its n-th allocation of bookkeeping refused, for every n
   until none is: it fails with ENOMEM or succeeds, and leaves the heap as
   it was (counts, links, memory). */
TEST(tools_survive_refused_bookkeeping_memory)
{
    quiet_start();
    void *root = rcgc_list_new();
    node *tail, *chain = new_chain(&widget_type, 3, &tail);
    rcgc_list_append(root, chain);
    rcgc_decref(chain);
    size_t memory = rcgc_memory_in_use(), tracked = 0;
    rcgc_get_objects(-1, count_visit_fn, &tracked);
    int failures = 0;
    for (unsigned n = 1; n <= 64; n++) {
        state()->own_refusal = n;
        errno = 0;
        int links = rcgc_why_alive(tail, capture_write, &out);
        CHECK(links == 3 || (links == -1 && errno == ENOMEM));
        errno = 0;
        int r = rcgc_get_holders(noop_visit, NULL);
        CHECK(r == 0 || (r == -1 && errno == ENOMEM));
        errno = 0;
        r = rcgc_watch(tail, "refused?");
        CHECK(r == 0 || (r == -1 && errno == ENOMEM));
        rcgc_leakcheck_begin();
        void *fresh = rcgc_new(&fresh_type);
        CHECK(fresh || errno == ENOMEM);
        rcgc_decref(fresh);
        rcgc_leakcheck_end(capture_write, &out);
        rcgc_check_watched(capture_write, &out);
        failures += state()->own_refusal == 0;   /* the refusal was used */
        state()->own_refusal = 0;
        size_t now = 0;
        rcgc_get_objects(-1, count_visit_fn, &now);
        CHECK_EQ(now, tracked);
        CHECK_EQ(rcgc_refcount(tail), 1);
        CHECK_EQ(rcgc_memory_in_use(), memory);
        capture_reset(&out);
    }
    CHECK(failures > 0);      /* some refusal hit something */
    CHECK(failures < 64);     /* and at some n nothing was left to refuse */
    rcgc_decref(root);
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
}

/* ---- the tools change nothing ----------------------------------------------------- */


static int generation_of(void *obj)
{
    for (int g = 0; g < 3; g++) {
        nseen = 0;
        rcgc_get_objects(g, remember, NULL);
        if (was_seen(obj)) return g;
    }
    return -1;
}

TEST(tools_change_no_count_generation_or_refcount)
{
    quiet_start();
    node *old = new_node(&widget_type, 1);
    rcgc_collect(0);                   /* old now in generation 1 */
    node *young = new_node(&widget_type, 2);
    link_slot(young, 0, old);
    size_t before[3], after[3];
    rcgc_get_count(before);
    size_t memory = rcgc_memory_in_use();
    rcgc_census(NULL, 0);
    rcgc_show_most_common_types(3, capture_write, &out);
    rcgc_show_growth(3, capture_write, &out);
    rcgc_get_holders(noop_visit, NULL);
    rcgc_why_alive(old, capture_write, &out);
    rcgc_watch(young, NULL);
    rcgc_get_count(after);
    CHECK_EQ(after[0], before[0]);
    CHECK_EQ(after[1], before[1]);
    CHECK_EQ(after[2], before[2]);
    CHECK_EQ(rcgc_memory_in_use(), memory);
    CHECK_EQ(rcgc_refcount(old), 2);
    CHECK_EQ(rcgc_refcount(young), 1);
    CHECK_EQ(generation_of(old), 1);
    CHECK_EQ(generation_of(young), 0);
    rcgc_decref(young);
    rcgc_decref(old);
    quiet_end();
}

TEST(bad_input_sets_errno)
{
    errno = 0;
    CHECK_EQ(rcgc_why_alive(NULL, capture_write, &out), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcgc_get_holders(NULL, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(rcgc_census(NULL, 5), rcgc_census(NULL, 0));   /* NULL out: nothing written */
}

#ifdef RCGC_DEBUG
static void why_alive_of_freed(void)
{
    void *l = rcgc_list_new();
    rcgc_decref(l);
    rcgc_why_alive(l, NULL, NULL);
}

TEST(why_alive_of_a_freed_object_is_a_misuse)
{
    CHECK_ABORTS(why_alive_of_freed, "rcgc: rcgc_why_alive: use of a freed object: object <list ", NULL);
}

static void watch_unmanaged(void)
{
    static char fake[64] __attribute__((aligned(16)));
    rcgc_watch(fake + 32, "x");
}

TEST(watching_a_pointer_rcgc_did_not_make_is_a_misuse)
{
    CHECK_ABORTS(watch_unmanaged, "rcgc: rcgc_watch: 0x", "is not a managed object");
}
#endif
