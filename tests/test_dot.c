/*
 * rcgc_write_dot (rcgc_tools.h): the exact DOT text of small graphs in both
 * directions, depth limits, edge labels, the holder, garbage and frozen
 * marks, objgraph's "N more" box; bad input and failing streams; the
 * promise that drawing changes nothing; and the picture as people see it:
 * Graphviz's `dot -Tsvg` renders the text, and the SVG holds the boxes,
 * their words and the labelled edges.
 */
#include "harness.h"

#include "capture.h"
#include "internal.h"   /* state()->own_refusal: the ENOMEM paths */
#include "nodes.h"
#include "rcgc_tools.h"

static const rcgc_type widget_type = {.name = "widget", .size = sizeof(node),
                                      .traverse = node_traverse, .clear = node_clear};
static const rcgc_type leafy_type = {.name = "leafy", .size = 24};

/* The DOT text rcgc_write_dot gives for objs (static buffer), or NULL with
   its errno if it failed. */
static char dot_text[1 << 16];
static const char *dot_of(void *const *objs, size_t n, unsigned max_depth, unsigned flags)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int r = rcgc_write_dot(f, objs, n, max_depth, flags), e = errno;
    fclose(f);
    snprintf(dot_text, sizeof dot_text, "%s", buf ? buf : "");
    free(buf);
    errno = e;
    return r == 0 ? dot_text : NULL;
}

#define HEADER                                  \
    "digraph ObjectGraph {\n"                   \
    "  node[shape=box, style=filled, fillcolor=white];\n"

/* root (held here) = [NULL, a, d]; d = {"f": a}; a.slot[1] = d. */
typedef struct small_graph {
    void *root, *d;
    node *a;
} small_graph;

static small_graph make_small_graph(void)
{
    small_graph g = {rcgc_list_new(), rcgc_dict_new(), new_node(&widget_type, 1)};
    rcgc_list_append(g.root, NULL);
    rcgc_list_append(g.root, g.a);
    rcgc_list_append(g.root, g.d);
    rcgc_dict_set(g.d, "f", g.a);
    link_slot(g.a, 1, g.d);
    rcgc_decref(g.a);
    rcgc_decref(g.d);
    return g;
}

/* ---- the text -------------------------------------------------------------------- */

TEST(referents_labelled_by_index_key_and_traverse_position)
{
    quiet_start();
    small_graph g = make_small_graph();
    CHECK_STR(dot_of(&g.root, 1, 2, RCGC_DOT_REFERENTS),
              HEADER
              "  o0 [label=\"list\\n3 items\\nheld from outside (1 ref)\", fillcolor=\"0.1,0.6,1\", "
              "fontcolor=red, penwidth=2];\n"
              "  o1 [label=\"widget\\nrefcount 2\", fillcolor=\"0,0,0.65\"];\n"
              "  o2 [label=\"dict\\n1 key\", fillcolor=\"0,0,0.65\"];\n"
              "  o0 -> o1 [label=\"[1]\"];\n"
              "  o0 -> o2 [label=\"[2]\"];\n"
              "  o1 -> o2 [label=\"#0\"];\n"
              "  o2 -> o1 [label=\"[\\\"f\\\"]\"];\n"
              "}\n");
    /* Depth 1: the referents are drawn, not expanded, in the darkest grey. */
    CHECK_STR(dot_of(&g.root, 1, 1, RCGC_DOT_REFERENTS),
              HEADER
              "  o0 [label=\"list\\n3 items\\nheld from outside (1 ref)\", fillcolor=\"0.1,0.6,1\", "
              "fontcolor=red, penwidth=2];\n"
              "  o1 [label=\"widget\\nrefcount 2\", fillcolor=\"0,0,0.3\", fontcolor=white];\n"
              "  o2 [label=\"dict\\n1 key\", fillcolor=\"0,0,0.3\", fontcolor=white];\n"
              "  o0 -> o1 [label=\"[1]\"];\n"
              "  o0 -> o2 [label=\"[2]\"];\n"
              "}\n");
    rcgc_decref(g.root);               /* leaves the widget-dict cycle */
    CHECK_EQ(rcgc_collect(2), 2);
    quiet_end();
}

TEST(referrers_level_by_level_up_to_max_depth)
{
    SKIP_IF_STRESS("referrers come in heap order, which collections change");
    quiet_start();
    small_graph g = make_small_graph();
    void *start[1] = {g.a};
    /* Depth 0: the object alone. */
    CHECK_STR(dot_of(start, 1, 0, RCGC_DOT_REFERRERS),
              HEADER
              "  o0 [label=\"widget\\nrefcount 2\", fillcolor=\"0,0,1\", fontcolor=red, penwidth=2];\n"
              "}\n");
    CHECK_STR(dot_of(start, 1, 1, RCGC_DOT_REFERRERS),
              HEADER
              "  o0 [label=\"widget\\nrefcount 2\", fillcolor=\"0,0,1\", fontcolor=red, penwidth=2];\n"
              "  o1 [label=\"list\\n3 items\\nheld from outside (1 ref)\", fillcolor=\"0.1,0.6,1\"];\n"
              "  o2 [label=\"dict\\n1 key\", fillcolor=\"0,0,0.3\", fontcolor=white];\n"
              "  o1 -> o0 [label=\"[1]\"];\n"
              "  o2 -> o0 [label=\"[\\\"f\\\"]\"];\n"
              "}\n");
    /* Depth 2: the dict's referrers are the list and the widget, both
       drawn already; the list has none. */
    CHECK_STR(dot_of(start, 1, 2, RCGC_DOT_REFERRERS),
              HEADER
              "  o0 [label=\"widget\\nrefcount 2\", fillcolor=\"0,0,1\", fontcolor=red, penwidth=2];\n"
              "  o1 [label=\"list\\n3 items\\nheld from outside (1 ref)\", fillcolor=\"0.1,0.6,1\"];\n"
              "  o2 [label=\"dict\\n1 key\", fillcolor=\"0,0,0.65\"];\n"
              "  o1 -> o0 [label=\"[1]\"];\n"
              "  o2 -> o0 [label=\"[\\\"f\\\"]\"];\n"
              "  o1 -> o2 [label=\"[2]\"];\n"
              "  o0 -> o2 [label=\"#0\"];\n"
              "}\n");
    /* The same call writes the same text. */
    char first[4096];
    snprintf(first, sizeof first, "%s", dot_of(start, 1, 2, RCGC_DOT_REFERRERS));
    CHECK_STR(dot_of(start, 1, 2, RCGC_DOT_REFERRERS), first);
    rcgc_decref(g.root);               /* leaves the widget-dict cycle */
    CHECK_EQ(rcgc_collect(2), 2);
    quiet_end();
}

TEST(a_forgotten_visit_shows_as_a_holder)
{
    quiet_start();
    node *env = new_node(&forgetful_type, 1);
    void *scope = rcgc_list_new();
    rcgc_list_append(scope, env);
    link_slot(env, 2, scope);          /* never reported by traverse */
    rcgc_decref(env);
    rcgc_decref(scope);
    CHECK_EQ(rcgc_collect(2), 0);
    void *start[1] = {env};
    CHECK_STR(dot_of(start, 1, 3, RCGC_DOT_REFERRERS),
              HEADER
              "  o0 [label=\"forgetful_env\\nrefcount 1\", fillcolor=\"0,0,1\", fontcolor=red, "
              "penwidth=2];\n"
              "  o1 [label=\"list\\n1 item\\nheld from outside (1 ref)\", fillcolor=\"0.1,0.6,1\"];\n"
              "  o1 -> o0 [label=\"[0]\"];\n"
              "}\n");
    link_slot(env, 2, NULL);           /* mend it by hand: both are freed */
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
}

TEST(garbage_and_frozen_objects_are_marked)
{
    quiet_start();
    node *g = new_node(&clearless_type, 1);
    link_slot(g, 0, g);
    rcgc_decref(g);
    CHECK_EQ(rcgc_collect(2), 1);      /* uncollectable: in the garbage list */
    void *start[2] = {g, NULL};
    /* Its own referrer: the self-reference, drawn once. */
    CHECK_STR(dot_of(start, 1, 1, RCGC_DOT_REFERRERS),
              HEADER
              "  o0 [label=\"clearless\\nrefcount 2\\nin the garbage list\", "
              "fillcolor=\"0.83,0.3,1\", fontcolor=red, penwidth=2];\n"
              "  o0 -> o0 [label=\"#0\"];\n"
              "}\n");
    node *f = new_node(&widget_type, 2);
    rcgc_freeze();                     /* both frozen now */
    start[1] = f;
    CHECK_STR(dot_of(start, 2, 0, RCGC_DOT_REFERRERS),
              HEADER
              "  o0 [label=\"clearless\\nrefcount 2\\nin the garbage list\\nfrozen\", "
              "fillcolor=\"0.83,0.3,1\", fontcolor=red, penwidth=2];\n"
              "  o1 [label=\"widget\\nrefcount 1\\nheld from outside (1 ref)\\nfrozen\", "
              "fillcolor=\"0.55,0.3,1\", fontcolor=red, penwidth=2];\n"
              "}\n");
    rcgc_unfreeze();
    rcgc_decref(f);
    rcgc_garbage_clear();
    CHECK_EQ(rcgc_collect(2), 1);
    quiet_end();
}

TEST(one_edge_per_referent_at_its_first_index_and_ten_at_most)
{
    quiet_start();
    void *list = rcgc_list_new();
    node *w[12];
    for (int i = 0; i < 12; i++) {
        w[i] = new_node(&widget_type, i);
        rcgc_list_append(list, w[i]);
    }
    rcgc_list_set(list, 2, w[0]);      /* w[0] at [0] and [2]: one edge, [0] */
    const char *text = dot_of(&list, 1, 1, RCGC_DOT_REFERENTS);
    CHECK_CONTAINS(text, "  o0 -> o1 [label=\"[0]\"];\n"
                         "  o0 -> o2 [label=\"[1]\"];\n"
                         "  o0 -> o3 [label=\"[3]\"];\n");
    CHECK_CONTAINS(text, "  o0 -> o10 [label=\"[10]\"];\n"
                         "  o0_more [label=\"1 more reference\", color=red, fontcolor=red, "
                         "fontsize=10];\n"
                         "  o0 -> o0_more [color=red, style=dotted];\n"
                         "}\n");
    CHECK(!strstr(text, "o11"));
    for (int i = 0; i < 12; i++) rcgc_decref(w[i]);
    rcgc_decref(list);
    quiet_end();
}

TEST(ten_referrers_at_most_in_heap_order)
{
    SKIP_IF_STRESS("referrers come in heap order, which collections change");
    quiet_start();
    void *list = rcgc_list_new(), *lists[12];
    node *w = new_node(&widget_type, 1);
    rcgc_list_append(list, NULL);
    rcgc_list_append(list, w);
    for (int i = 0; i < 12; i++) {     /* twelve more referrers */
        lists[i] = rcgc_list_new();
        rcgc_list_append(lists[i], w);
    }
    void *start[1] = {w};
    const char *text = dot_of(start, 1, 1, RCGC_DOT_REFERRERS);
    CHECK_CONTAINS(text, "  o1 [label=\"list\\n2 items\\nheld from outside (1 ref)\"");
    CHECK_CONTAINS(text, "  o1 -> o0 [label=\"[1]\"];\n"
                         "  o2 -> o0 [label=\"[0]\"];\n");
    CHECK_CONTAINS(text, "  o10 -> o0 [label=\"[0]\"];\n"
                         "  o0_more [label=\"3 more referrers\", color=red, fontcolor=red, "
                         "fontsize=10];\n"
                         "  o0_more -> o0 [color=red, style=dotted];\n"
                         "}\n");
    CHECK(!strstr(text, "o11"));
    for (int i = 0; i < 12; i++) rcgc_decref(lists[i]);
    rcgc_decref(w);
    rcgc_decref(list);
    quiet_end();
}

TEST(keys_are_escaped_and_cut_objects_without_traverse_drawn)
{
    quiet_start();
    void *d = rcgc_dict_new();
    void *leaf = rcgc_new(&leafy_type);
    void *l = rcgc_list_new();
    char long_key[64], split_key[64];
    memset(long_key, 'k', 45);         /* 45 bytes: cut after 40 */
    long_key[45] = '\0';
    /* "caf\u00e9", 34 k, "\u00e9x": the cut at 40 bytes falls inside the
       second e-acute, which goes whole. */
    snprintf(split_key, sizeof split_key, "caf\xc3\xa9%.34s\xc3\xa9x", long_key);
    rcgc_dict_set(d, "say \"hi\"\\", leaf);
    rcgc_dict_set(d, "a\nb", leaf);   /* the same referent: drawn once */
    rcgc_dict_set(d, long_key, d);
    rcgc_dict_set(d, split_key, l);
    rcgc_decref(l);
    char expected[2048];
    snprintf(expected, sizeof expected,
             HEADER
             "  o0 [label=\"dict\\n4 keys\\nheld from outside (1 ref)\", fillcolor=\"0.1,0.6,1\", "
             "fontcolor=red, penwidth=2];\n"
             "  o1 [label=\"leafy\\nrefcount 3\\nheld from outside (1 ref)\", "
             "fillcolor=\"0.1,0.6,1\"];\n"
             "  o2 [label=\"list\\n0 items\", fillcolor=\"0,0,0.3\", fontcolor=white];\n"
             "  o0 -> o1 [label=\"[\\\"say \\\"hi\\\"\\\\\\\"]\"];\n"
             "  o0 -> o0 [label=\"[\\\"%.40s...\\\"]\"];\n"
             "  o0 -> o2 [label=\"[\\\"caf\xc3\xa9%.34s...\\\"]\"];\n"
             "}\n",
             long_key, long_key);
    CHECK_STR(dot_of(&d, 1, 1, RCGC_DOT_REFERENTS), expected);
    rcgc_decref(leaf);
    rcgc_decref(d);
    CHECK_EQ(rcgc_collect(2), 2);
    quiet_end();
}

TEST(addresses_on_request)
{
    quiet_start();
    void *l = rcgc_list_new();
    capture c;
    capture_reset(&c);
    capture_write(dot_of(&l, 1, 0, RCGC_DOT_REFERENTS | RCGC_DOT_ADDRESSES), &c);
    CHECK_STR(captured_masked(&c),
              HEADER
              "  o0 [label=\"list\\n0 items\\nheld from outside (1 ref)\\n0x?\", "
              "fillcolor=\"0.1,0.6,1\", fontcolor=red, penwidth=2];\n"
              "}\n");
    char addr[64];
    snprintf(addr, sizeof addr, "\\n%p\"", l);
    CHECK_CONTAINS(dot_text, addr);
    rcgc_decref(l);
    quiet_end();
}

/* ---- bad input, failing streams, nothing changed ----------------------------------- */

TEST(bad_input_sets_einval_and_writes_nothing)
{
    void *l = rcgc_list_new();
    void *objs[2] = {l, NULL};
    char buf[64] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    struct {
        FILE *f;
        void *const *objs;
        size_t n;
        unsigned flags;
    } bad[] = {
        {NULL, objs, 1, RCGC_DOT_REFERRERS},
        {f, NULL, 1, RCGC_DOT_REFERRERS},
        {f, objs, 2, RCGC_DOT_REFERRERS},                        /* a NULL object */
        {f, objs, 1, 0},                                         /* no direction */
        {f, objs, 1, RCGC_DOT_REFERRERS | RCGC_DOT_REFERENTS},   /* both */
        {f, objs, 1, RCGC_DOT_REFERENTS | 8u},                   /* unknown flag */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        CHECK_EQ(rcgc_write_dot(bad[i].f, bad[i].objs, bad[i].n, 3, bad[i].flags), -1);
        CHECK_EQ(errno, EINVAL);
    }
    fflush(f);
    CHECK_STR(buf, "");
    fclose(f);
    /* No objects: an empty picture. */
    CHECK_STR(dot_of(NULL, 0, 3, RCGC_DOT_REFERRERS), HEADER "}\n");
    rcgc_decref(l);
}

TEST(a_stream_that_cannot_be_written_gives_its_errno)
{
    quiet_start();
    small_graph g = make_small_graph();
    size_t memory = rcgc_memory_in_use();
    FILE *ro = fopen("/dev/null", "r");
    CHECK(ro != NULL);
    errno = 0;
    CHECK_EQ(rcgc_write_dot(ro, &g.root, 1, 2, RCGC_DOT_REFERENTS), -1);
    CHECK_EQ(errno, EBADF);
    fclose(ro);
    FILE *full = fopen("/dev/full", "w");
    if (full) {                        /* the write is buffered: fflush fails */
        errno = 0;
        CHECK_EQ(rcgc_write_dot(full, &g.root, 1, 2, RCGC_DOT_REFERENTS), -1);
        CHECK_EQ(errno, ENOSPC);
        fclose(full);
    }
    char small[16];                    /* too small a buffer: the write fails */
    FILE *mem = fmemopen(small, sizeof small, "w");
    setvbuf(mem, NULL, _IONBF, 0);
    errno = 0;
    CHECK_EQ(rcgc_write_dot(mem, &g.root, 1, 2, RCGC_DOT_REFERENTS), -1);
    CHECK(errno != 0);
    fclose(mem);
    CHECK_EQ(rcgc_memory_in_use(), memory);
    rcgc_decref(g.root);               /* leaves the widget-dict cycle */
    CHECK_EQ(rcgc_collect(2), 2);
    quiet_end();
}

/* rcgc's own memory (the map, the boxes, the edges, the text) refused at
   its n-th allocation, for every n until nothing is left to refuse: -1 +
   ENOMEM with nothing written, or the whole picture; the heap as it was. */
TEST(refused_bookkeeping_memory_gives_enomem_and_writes_nothing)
{
    quiet_start();
    small_graph g = make_small_graph();
    size_t memory = rcgc_memory_in_use();
    void *start[1] = {g.a};
    for (unsigned flags = RCGC_DOT_REFERRERS; flags <= RCGC_DOT_REFERENTS; flags++) {
        char whole[4096];
        snprintf(whole, sizeof whole, "%s", dot_of(start, 1, 3, flags));
        int failures = 0;
        for (unsigned n = 1; n <= 64; n++) {
            state()->own_refusal = n;
            errno = 0;
            const char *text = dot_of(start, 1, 3, flags);
            if (text)
                CHECK_STR(text, whole);
            else
                CHECK(errno == ENOMEM && dot_text[0] == '\0');
            failures += state()->own_refusal == 0;   /* the refusal was used */
            state()->own_refusal = 0;
            CHECK_EQ(rcgc_memory_in_use(), memory);
            CHECK_EQ(rcgc_refcount(g.a), 2);
        }
        CHECK(failures > 2);      /* refusals hit several allocations */
        CHECK(failures < 64);     /* and at some n nothing was left to refuse */
    }
    rcgc_decref(g.root);
    CHECK_EQ(rcgc_collect(2), 2);
    quiet_end();
}

static size_t objects_in(int generation)
{
    size_t n = 0;
    rcgc_get_objects(generation, count_visit_fn, &n);
    return n;
}

TEST(drawing_changes_no_count_generation_or_refcount)
{
    quiet_start();
    small_graph g = make_small_graph();
    rcgc_collect(0);                   /* the graph in generation 1 */
    node *young = new_node(&widget_type, 2);
    link_slot(young, 0, g.a);
    size_t before[3], after[3], in_before[3], in_after[3];
    rcgc_get_count(before);
    for (int i = 0; i < 3; i++) in_before[i] = objects_in(i);
    size_t memory = rcgc_memory_in_use();
    void *start[2] = {g.a, young};
    CHECK(dot_of(start, 2, 5, RCGC_DOT_REFERRERS) != NULL);
    CHECK(dot_of(start, 2, 5, RCGC_DOT_REFERENTS) != NULL);
    rcgc_get_count(after);
    for (int i = 0; i < 3; i++) {
        in_after[i] = objects_in(i);
        CHECK_EQ(after[i], before[i]);
        CHECK_EQ(in_after[i], in_before[i]);
    }
    CHECK_EQ(rcgc_memory_in_use(), memory);
    CHECK_EQ(rcgc_refcount(g.a), 3);
    CHECK_EQ(rcgc_refcount(g.d), 2);
    CHECK_EQ(rcgc_refcount(g.root), 1);
    CHECK_EQ(rcgc_refcount(young), 1);
    rcgc_decref(young);
    rcgc_decref(g.root);               /* leaves the widget-dict cycle */
    CHECK_EQ(rcgc_collect(2), 2);
    quiet_end();
}

TEST(a_long_chain_is_walked_without_recursion)
{
    quiet_start();
    size_t length = getenv("RCGC_TEST_QUICK") ? 2000 : 20000;
    node *head = new_chain(&widget_type, length, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_EQ(rcgc_write_dot(f, (void **)&head, 1, (unsigned)length, RCGC_DOT_REFERENTS), 0);
    fclose(f);
    char last[64];
    snprintf(last, sizeof last, "  o%zu -> o%zu [label=\"#0\"];\n}\n", length - 2, length - 1);
    CHECK(len > strlen(last) && strcmp(buf + len - strlen(last), last) == 0);
    free(buf);
    rcgc_decref(head);
    quiet_end();
}

#ifdef RCGC_DEBUG
static void draw_freed(void)
{
    void *l = rcgc_list_new();
    rcgc_decref(l);
    rcgc_write_dot(stdout, &l, 1, 1, RCGC_DOT_REFERRERS);
}

TEST(drawing_a_freed_object_is_a_misuse)
{
    CHECK_ABORTS(draw_freed, "rcgc: rcgc_write_dot: use of a freed object: object <list ", NULL);
}
#endif

/* ---- the picture, rendered --------------------------------------------------------- */

TEST(graphviz_renders_the_boxes_and_labelled_edges)
{
    if (system("command -v dot >/dev/null 2>&1") != 0)
        SKIP("Graphviz's dot is not installed (scripts/install-deps.sh installs it)");
    quiet_start();
    small_graph g = make_small_graph();
    char dot_path[] = "/tmp/rcgc-test-dot-XXXXXX";
    int fd = mkstemp(dot_path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    CHECK_EQ(rcgc_write_dot(f, &g.root, 1, 2, RCGC_DOT_REFERENTS), 0);
    fclose(f);
    char svg_path[64], command[256];
    snprintf(svg_path, sizeof svg_path, "%s.svg", dot_path);
    snprintf(command, sizeof command, "dot -Tsvg '%s' -o '%s'", dot_path, svg_path);
    CHECK_EQ(system(command), 0);
    const char *svg = read_text_file(svg_path);
    CHECK(svg != NULL);
    /* Three boxes, named as in the DOT text, with their words. */
    CHECK_CONTAINS(svg, "<g id=\"node1\" class=\"node\">\n<title>o0</title>");
    CHECK_CONTAINS(svg, "<g id=\"node2\" class=\"node\">\n<title>o1</title>");
    CHECK_CONTAINS(svg, "<g id=\"node3\" class=\"node\">\n<title>o2</title>");
    CHECK(!strstr(svg, "id=\"node4\""));
    CHECK_CONTAINS(svg, ">list</text>");
    CHECK_CONTAINS(svg, ">3 items</text>");
    CHECK_CONTAINS(svg, ">held from outside (1 ref)</text>");
    CHECK_CONTAINS(svg, ">widget</text>");
    CHECK_CONTAINS(svg, ">refcount 2</text>");
    CHECK_CONTAINS(svg, ">dict</text>");
    CHECK_CONTAINS(svg, ">1 key</text>");
    CHECK_CONTAINS(svg, "fill=\"red\">list</text>");   /* the starting object */
    /* Four edges, each with its label. */
    CHECK_CONTAINS(svg, "class=\"edge\">\n<title>o0&#45;&gt;o1</title>");
    CHECK_CONTAINS(svg, "class=\"edge\">\n<title>o0&#45;&gt;o2</title>");
    CHECK_CONTAINS(svg, "class=\"edge\">\n<title>o1&#45;&gt;o2</title>");
    CHECK_CONTAINS(svg, "class=\"edge\">\n<title>o2&#45;&gt;o1</title>");
    CHECK(!strstr(svg, "id=\"edge5\""));
    CHECK_CONTAINS(svg, ">[1]</text>");
    CHECK_CONTAINS(svg, ">[2]</text>");
    CHECK_CONTAINS(svg, ">#0</text>");
    CHECK_CONTAINS(svg, ">[&quot;f&quot;]</text>");
    remove(dot_path);
    remove(svg_path);
    rcgc_decref(g.root);               /* leaves the widget-dict cycle */
    CHECK_EQ(rcgc_collect(2), 2);
    quiet_end();
}
