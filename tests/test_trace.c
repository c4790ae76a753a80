/*
 * Tracing (rcgc_tools.h, tracemalloc's model): traced memory, sites from
 * the header's macros, traces of container storage, lost traces, and the
 * sites in debug messages and why-alive chains.
 */
#include "harness.h"

#include "capture.h"
#include "internal.h"   /* trace.h's reading functions, state.own_refusal */
#include "nodes.h"
#include "rcgc_tools.h"

static capture out;

static size_t traced_now(void)
{
    size_t current, peak;
    rcgc_trace_get_memory(&current, &peak);
    return current;
}

static size_t traced_peak(void)
{
    size_t current, peak;
    rcgc_trace_get_memory(&current, &peak);
    return peak;
}

TEST(trace_start_takes_1_to_64_frames)
{
    errno = 0;
    CHECK_EQ(rcgc_trace_start(0), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcgc_trace_start(65), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK(!rcgc_trace_is_tracing());
    CHECK_EQ(rcgc_trace_start(64), 0);
    CHECK(rcgc_trace_is_tracing());
    rcgc_trace_stop();
    CHECK(!rcgc_trace_is_tracing());
    errno = 0;
    rcgc_trace_get_memory(NULL, NULL);
    CHECK_EQ(errno, EINVAL);
}

TEST(traced_memory_is_what_memory_in_use_counts)
{
    quiet_start();
    size_t each = bytes_of(&plain_type);
    CHECK_EQ(rcgc_trace_start(1), 0);
    CHECK_EQ(traced_now(), 0);
    node *a = new_node(&plain_type, 1), *b = new_node(&plain_type, 2),
         *c = new_node(&plain_type, 3);
    CHECK_EQ(traced_now(), 3 * each);
    CHECK_EQ(traced_peak(), 3 * each);
    rcgc_decref(c);
    CHECK_EQ(traced_now(), 2 * each);
    CHECK_EQ(traced_peak(), 3 * each);
    rcgc_trace_reset_peak();
    CHECK_EQ(traced_peak(), 2 * each);
    CHECK(rcgc_trace_tracer_memory() > 0);
    rcgc_trace_stop();
    CHECK_EQ(rcgc_trace_tracer_memory(), 0);
    CHECK_EQ(traced_now(), 0);
    CHECK_EQ(traced_peak(), 0);
    CHECK_EQ(rcgc_trace_start(1), 0);   /* a restart begins at 0 and forgets a and b */
    CHECK_EQ(traced_now(), 0);
    errno = 0;
    CHECK_EQ(rcgc_trace_object_site(a, capture_write, &out), -1);
    CHECK_EQ(errno, ENOENT);
    rcgc_decref(a);                     /* untraced: traced memory stays 0 */
    CHECK_EQ(traced_now(), 0);
    rcgc_decref(b);
    rcgc_trace_stop();
    quiet_end();
}

TEST(object_site_is_the_line_that_called_rcgc_new)
{
    quiet_start();
    rcgc_trace_start(1);
    int line = __LINE__ + 1;
    void *obj = rcgc_new(&plain_type);
    capture_reset(&out);
    CHECK_EQ(rcgc_trace_object_site(obj, capture_write, &out), 0);
    char expected[1024];
    snprintf(expected, sizeof expected, "  %s:%d in %s\n", __FILE__, line, __func__);
    CHECK_STR(out.text, expected);
    rcgc_decref(obj);
    rcgc_trace_stop();
    errno = 0;
    CHECK_EQ(rcgc_trace_object_site(NULL, capture_write, &out), -1);
    CHECK_EQ(errno, EINVAL);
    quiet_end();
}

/* Sums of the traces of one site's line. */
typedef struct by_line {
    int line;
    size_t bytes, blocks;
    const rcgc_type *type;
} by_line;

static void sum_line(const void *block, size_t size, const traceback *tb, const rcgc_type *type,
                     void *arg)
{
    by_line *b = arg;
    (void)block;
    if (tb->site->line != b->line || strcmp(tb->site->file, __FILE__) != 0) return;
    b->bytes += size;
    b->blocks++;
    b->type = type;
}

static by_line traced_at(int line)
{
    by_line b = {line, 0, 0, NULL};
    rcgc__trace_foreach(sum_line, &b);
    return b;
}

TEST(container_storage_is_traced_to_the_callers_line)
{
    quiet_start();
    void *list = rcgc_list_new();
    void *dict = rcgc_dict_new();
    rcgc_trace_start(1);
    int first = __LINE__ + 1;
    for (int i = 0; i < 8; i++) rcgc_list_append(list, NULL);   /* 4 slots, then 8: one block */
    int ninth = __LINE__ + 1;
    rcgc_list_append(list, NULL);                                /* grows to 16 */
    by_line a = traced_at(first), b = traced_at(ninth);
    CHECK_EQ(a.blocks, 0);                 /* the 8-slot array went when it grew */
    CHECK_EQ(b.blocks, 1);
    CHECK_EQ(b.bytes, 16 * sizeof(void *));
    CHECK_PTR(b.type, &rcgc_list_type);
    int set = __LINE__ + 1;
    rcgc_dict_set(dict, "k", list);        /* the key's copy and the first table */
    by_line d = traced_at(set);
    CHECK_EQ(d.blocks, 2);                 /* key copy, the table (entries and index) */
    CHECK_PTR(d.type, &rcgc_dict_type);
    size_t sum = traced_now();
    CHECK_EQ(sum, b.bytes + d.bytes);
    rcgc_decref(dict);                     /* untraced object, traced storage */
    CHECK_EQ(traced_now(), b.bytes);
    rcgc_decref(list);
    CHECK_EQ(traced_now(), 0);
    rcgc_trace_stop();
    quiet_end();
}

TEST(lost_traces_are_counted_and_never_cost_an_object)
{
    quiet_start();
    rcgc_trace_start(1);
    size_t memory = rcgc_memory_in_use();
    state()->own_refusal = 1;           /* the tracer's first table refused */
    node *a = new_node(&plain_type, 1);
    CHECK(a != NULL);
    CHECK_EQ(rcgc_trace_lost(), 1);
    CHECK_EQ(traced_now(), 0);
    node *b = new_node(&plain_type, 2);    /* the next one is traced */
    CHECK_EQ(rcgc_trace_lost(), 1);
    CHECK_EQ(traced_now(), bytes_of(&plain_type));
    rcgc_decref(a);
    rcgc_decref(b);
    CHECK_EQ(rcgc_memory_in_use(), memory);
    CHECK_EQ(traced_now(), 0);
    rcgc_trace_stop();
    CHECK_EQ(rcgc_trace_lost(), 0);
    quiet_end();
}

static int refuse_every_third;
static bool refuse_some(size_t size, void *arg)
{
    (void)size, (void)arg;
    return ++refuse_every_third % 3 != 0;
}

TEST(refused_allocations_while_tracing_leave_traces_exact)
{
    quiet_start();
    rcgc_trace_start(1);
    void *list = rcgc_list_new();
    rcgc_set_alloc_hook(refuse_some, NULL);
    for (int i = 0; i < 300; i++) {
        void *n = rcgc_new(&plain_type);
        if (n && rcgc_list_append(list, n) != 0) CHECK_EQ(errno, ENOMEM);
        rcgc_decref(n);
    }
    rcgc_set_alloc_hook(NULL, NULL);
    size_t before = rcgc_memory_in_use();
    rcgc_decref(list);
    CHECK_EQ(traced_now(), 0);             /* every traced block was untraced once */
    CHECK(rcgc_memory_in_use() < before);
    rcgc_trace_stop();
    quiet_end();
}

TEST(why_alive_names_each_links_site_while_tracing)
{
    quiet_start();
    rcgc_trace_start(1);
    int list_line = __LINE__ + 1;
    void *list = rcgc_list_new();
    node *n = new_node(&plain_type, 1);    /* nodes.h: new_node calls rcgc_new */
    rcgc_list_append(list, n);
    rcgc_decref(n);
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(n, capture_write, &out), 1);
    /* new_node's site is in nodes.h: its parts are checked apart from its path */
    const char *text = captured_masked(&out);
    char first[1024];
    snprintf(first, sizeof first,
             "<list 0x?> refcount 1, held from outside (1 reference not from tracked objects), "
             "allocated at %s:%d in %s\n", __FILE__, list_line, __func__);
    CHECK(strncmp(text, first, strlen(first)) == 0);
    CHECK_CONTAINS(text, "  [0] -> <node 0x?> refcount 1, allocated at ");
    CHECK_CONTAINS(text, "nodes.h:");
    CHECK_CONTAINS(text, " in new_node\n");
    rcgc_decref(list);
    rcgc_trace_stop();
    quiet_end();
}

#ifdef RCGC_DEBUG
static void *make_traced(void) { return rcgc_new(&plain_type); } enum { MAKE_LINE = __LINE__ };

static void double_decref_traced(void)
{
    rcgc_trace_start(1);
    void *obj = make_traced();
    rcgc_incref(obj);
    rcgc_decref(obj);
    rcgc_decref(obj);
    rcgc_refcount(obj);                    /* use of a freed object */
}

TEST(misuse_lines_name_the_site_while_tracing)
{
    char needle[512];
    snprintf(needle, sizeof needle, ", allocated at %s:%d in make_traced\n", __FILE__,
             (int)MAKE_LINE);
    CHECK_ABORTS(double_decref_traced, "rcgc: rcgc_refcount: use of a freed object: object <node ",
                 needle);
}
#endif

TEST(rcgc_tracemalloc_starts_tracing_at_state_init)
{
    rcgc_trace_stop();
    setenv("RCGC_TRACEMALLOC", "5", 1);
    rcgc__trace_setup();
    CHECK(rcgc_trace_is_tracing());
    CHECK_EQ(state()->trace_nframes, 5);
    rcgc_trace_stop();
    setenv("RCGC_TRACEMALLOC", "many", 1);   /* not a number: one frame, as Python does */
    rcgc__trace_setup();
    CHECK_EQ(state()->trace_nframes, 1);
    rcgc_trace_stop();
    setenv("RCGC_TRACEMALLOC", "0", 1);
    rcgc__trace_setup();
    CHECK(!rcgc_trace_is_tracing());
    unsetenv("RCGC_TRACEMALLOC");
}
