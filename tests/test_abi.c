/*
 * The stable ABI and the type hooks: the version the library reports is the
 * header's; rcgc_type has the size and offsets of the ABI, and a type filled
 * with designated initializers (the README's way) has every new field zero;
 * the describe and name_ref hooks appear, exactly, in why-alive chains,
 * watched objects, leak checks, leak reports, the monitor's examples,
 * rcgc_write_dot and the collector's DEBUG_COLLECTABLE / UNCOLLECTABLE lines, cut with "..." when they write too much, with control
 * characters shown as '?', and the bare name where a hook says nothing;
 * the built-in list and dict name their references by index and key.
 */
#include "harness.h"

#include <stdint.h>

#include "capture.h"
#include "nodes.h"
#include "rcgc_tools.h"

static capture out;

/* ---- the version ------------------------------------------------------------------ */

TEST(version_is_the_headers)
{
    CHECK_EQ(rcgc_version(), RCGC_VERSION_HEX);
    CHECK_EQ(rcgc_version() >> 16, RCGC_VERSION_MAJOR);
    CHECK_EQ((rcgc_version() >> 8) & 0xff, RCGC_VERSION_MINOR);
    CHECK_EQ(rcgc_version() & 0xff, RCGC_VERSION_PATCH);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", RCGC_VERSION_MAJOR, RCGC_VERSION_MINOR,
             RCGC_VERSION_PATCH);
    CHECK_STR(rcgc_version_string(), expected);
    CHECK_STR(RCGC_VERSION_STRING, expected);
}

/* ---- the layout of rcgc_type ----------------------------------------------------------- */

TEST(rcgc_type_has_the_size_and_offsets_of_the_abi)
{
    if (sizeof(void *) != 8) SKIP("the offsets are fixed for LP64");
    CHECK_EQ(sizeof(rcgc_type), 128);
    CHECK_EQ(offsetof(rcgc_type, destroy), 40);
    CHECK_EQ(offsetof(rcgc_type, describe), 48);
    CHECK_EQ(offsetof(rcgc_type, name_ref), 56);
    CHECK_EQ(offsetof(rcgc_type, reserved), 64);
    CHECK_EQ(sizeof(((rcgc_type *)0)->reserved), 64);
}

/* The README's node, word for word. */
typedef struct readme_node { void *next; } readme_node;
static int readme_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    RCGC_VISIT(((readme_node *)self)->next);
    return 0;
}
static void readme_clear(void *self)
{
    RCGC_CLEAR(((readme_node *)self)->next);
}
static const rcgc_type node_type = {
    .name = "node", .size = sizeof(readme_node),
    .traverse = readme_traverse, .clear = readme_clear,
};

TEST(a_type_filled_as_the_readme_does_has_every_new_field_zero_and_works)
{
    quiet_start();
    CHECK(node_type.describe == NULL);
    CHECK(node_type.name_ref == NULL);
    for (size_t i = 0; i < sizeof node_type.reserved / sizeof node_type.reserved[0]; i++)
        CHECK(node_type.reserved[i] == NULL);
    readme_node *a = rcgc_new(&node_type), *b = rcgc_new(&node_type);
    a->next = b;   /* a takes our reference to b, b ours to a */
    b->next = a;
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(b, capture_write, &out), -1);   /* nothing holds the cycle */
    CHECK_STR(captured_masked(&out),
              "<node 0x?> refcount 1, reached from no holder: cyclic garbage the next "
              "collection frees, or held by objects rcgc cannot see\n");
    CHECK_EQ(rcgc_collect(2), 2);
    quiet_end();
}

/* ---- hooks of a node type ------------------------------------------------------------ */

/* "#<id>" */
static int id_describe(const void *self, char *buf, size_t size)
{
    return snprintf(buf, size, "#%d", ((const node *)self)->id);
}
/* The node's slots as a C programmer names them, found by the referent. */
static int slot_name_ref(const void *self, const void *referent, size_t index, char *buf,
                         size_t size)
{
    static const char *const names[3] = {".next", ".prev", ".owner"};
    const node *n = self;
    (void)index;
    for (int i = 0; i < 3; i++)
        if (n->slot[i] == referent) return snprintf(buf, size, "%s", names[i]);
    return 0;
}
static const rcgc_type item_type = {.name = "item", .size = sizeof(node),
                                    .traverse = node_traverse, .clear = node_clear,
                                    .describe = id_describe, .name_ref = slot_name_ref};

/* Writes 200 bytes, as a careless hook would. */
static int long_describe(const void *self, char *buf, size_t size)
{
    (void)self;
    char text[201];
    memset(text, 'x', 200);
    memcpy(text, "begins", 6);
    text[200] = '\0';
    return snprintf(buf, size, "%s", text);
}
/* A name that would break a line, and a reference name of 100 bytes. */
static int control_describe(const void *self, char *buf, size_t size)
{
    (void)self;
    return snprintf(buf, size, "two\nlines\tand a bell\a");
}
static int long_name_ref(const void *self, const void *referent, size_t index, char *buf,
                         size_t size)
{
    (void)self, (void)referent;
    return snprintf(buf, size, ".field_%zu_%0100d", index, 0);
}
/* Hooks with nothing to say: 0 and -1. */
static int silent_describe(const void *self, char *buf, size_t size)
{
    (void)self, (void)buf, (void)size;
    return 0;
}
static int failing_name_ref(const void *self, const void *referent, size_t index, char *buf,
                            size_t size)
{
    (void)self, (void)referent, (void)index;
    snprintf(buf, size, "ignored");
    return -1;
}
static const rcgc_type chatty_type = {.name = "chatty", .size = sizeof(node),
                                      .traverse = node_traverse, .clear = node_clear,
                                      .describe = long_describe, .name_ref = long_name_ref};
static const rcgc_type odd_type = {.name = "odd", .size = sizeof(node),
                                   .traverse = node_traverse, .clear = node_clear,
                                   .describe = control_describe};
static const rcgc_type silent_type = {.name = "silent", .size = sizeof(node),
                                      .traverse = node_traverse, .clear = node_clear,
                                      .describe = silent_describe, .name_ref = failing_name_ref};

/* A program-held list -> item #1 -(.prev)-> item #2 -(.owner)-> target of
   type t: the chain to the target has three links. */
typedef struct chain3 {
    void *root;
    node *one, *two, *target;
} chain3;

static chain3 make_chain(const rcgc_type *t)
{
    chain3 c = {rcgc_list_new(), new_node(&item_type, 1), new_node(&item_type, 2),
                new_node(t, 3)};
    rcgc_list_append(c.root, c.one);
    link_slot(c.one, 1, c.two);
    link_slot(c.two, 2, c.target);
    rcgc_decref(c.one);
    rcgc_decref(c.two);
    rcgc_decref(c.target);
    return c;
}

#define CHAIN_HEAD                                                                     \
    "<list 0x?> refcount 1, held from outside (1 reference not from tracked objects)\n" \
    "  [0] -> <item #1 0x?> refcount 1\n"                                              \
    "  .prev -> <item #2 0x?> refcount 1\n"

TEST(why_alive_shows_descriptions_and_reference_names)
{
    quiet_start();
    chain3 c = make_chain(&item_type);
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(c.target, capture_write, &out), 3);
    CHECK_STR(captured_masked(&out), CHAIN_HEAD "  .owner -> <item #3 0x?> refcount 1\n");
    /* A holder's own line, and one in the garbage list. */
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(c.root, capture_write, &out), 0);
    rcgc_incref(c.one);
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(c.one, capture_write, &out), 0);
    CHECK_STR(captured_masked(&out), "<item #1 0x?> refcount 2, held from outside (1 reference "
                                     "not from tracked objects)\n");
    rcgc_decref(c.one);
    link_slot(c.target, 0, c.one);   /* a cycle, kept as garbage */
    rcgc_decref(c.root);
    rcgc_set_debug(RCGC_DEBUG_SAVEALL);
    CHECK_EQ(rcgc_collect(2), 3);
    rcgc_set_debug(0);
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(c.two, capture_write, &out), 0);
    CHECK_STR(captured_masked(&out), "<item #2 0x?> refcount 2, in the garbage list "
                                     "(uncollectable, or kept by DEBUG_SAVEALL)\n");
    quiet_end();
}

TEST(a_description_longer_than_its_buffer_is_cut_with_dots)
{
    quiet_start();
    chain3 c = make_chain(&chatty_type);
    node *next = new_node(&item_type, 4);
    link_slot(c.target, 0, next);   /* chatty -> item: the chatty hook names the reference */
    rcgc_decref(next);
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(next, capture_write, &out), 4);
    /* 76 bytes of the 200 and "...": 79, the buffer of 80 less its NUL */
    char expected[1024];
    snprintf(expected, sizeof expected,
             CHAIN_HEAD "  .owner -> <chatty begins%.70s... 0x?> refcount 1\n"
                        "  .field_0_%.51s... -> <item #4 0x?> refcount 1\n",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
             "0000000000000000000000000000000000000000000000000000000000000000000000");
    CHECK_STR(captured_masked(&out), expected);
    rcgc_decref(c.root);
    CHECK_EQ(rcgc_collect(2), 0);
    quiet_end();
}

TEST(control_characters_in_a_description_show_as_question_marks)
{
    quiet_start();
    chain3 c = make_chain(&odd_type);
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(c.target, capture_write, &out), 3);
    CHECK_STR(captured_masked(&out),
              CHAIN_HEAD "  .owner -> <odd two?lines?and a bell? 0x?> refcount 1\n");
    CHECK_EQ(out.lines, 4);
    rcgc_decref(c.root);
    quiet_end();
}

TEST(hooks_with_nothing_to_say_leave_the_bare_name_and_position)
{
    quiet_start();
    void *root = rcgc_list_new();
    node *s = new_node(&silent_type, 1), *t = new_node(&silent_type, 2);
    rcgc_list_append(root, s);
    link_slot(s, 2, t);
    rcgc_decref(s);
    rcgc_decref(t);
    capture_reset(&out);
    CHECK_EQ(rcgc_why_alive(t, capture_write, &out), 2);
    CHECK_STR(captured_masked(&out),
              "<list 0x?> refcount 1, held from outside (1 reference not from tracked objects)\n"
              "  [0] -> <silent 0x?> refcount 1\n"
              "  #0 -> <silent 0x?> refcount 1\n");
    rcgc_decref(root);
    quiet_end();
}

/* ---- the other tools --------------------------------------------------------------- */

TEST(watched_objects_and_leak_checks_show_descriptions)
{
    quiet_start();
    chain3 c = make_chain(&item_type);
    CHECK_EQ(rcgc_watch(c.target, "should be gone"), 0);
    capture_reset(&out);
    CHECK_EQ(rcgc_check_watched(capture_write, &out), 1);
    CHECK_STR(captured_masked(&out),
              "watched <item #3 0x?> is still alive (should be gone):\n"
              "  <list 0x?> refcount 1, held from outside (1 reference not from tracked "
              "objects)\n"
              "    [0] -> <item #1 0x?> refcount 1\n"
              "    .prev -> <item #2 0x?> refcount 1\n"
              "    .owner -> <item #3 0x?> refcount 1\n");
    rcgc_decref(c.root);
    CHECK_EQ(rcgc_check_watched(capture_write, &out), 0);

    size_t item_bytes = bytes_of(&item_type), list_bytes = bytes_of(&rcgc_list_type);
    rcgc_leakcheck_begin();
    void *keep = rcgc_list_new();
    node *n = new_node(&item_type, 5);
    rcgc_list_append(keep, n);
    rcgc_decref(n);
    capture_reset(&out);
    CHECK_EQ(rcgc_leakcheck_end(capture_write, &out), 2);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "leakcheck: 2 objects made since rcgc_leakcheck_begin are still alive\n"
             "  1 x item (%zu bytes), for example:\n"
             "    <list 0x?> refcount 1, held from outside (1 reference not from tracked "
             "objects)\n"
             "      [0] -> <item #5 0x?> refcount 1\n"
             "  1 x list (%zu bytes), for example:\n"
             "    <list 0x?> refcount 1, held from outside (1 reference not from tracked "
             "objects)\n", item_bytes, list_bytes);
    CHECK_STR(captured_masked(&out), expected);
    rcgc_decref(keep);
    quiet_end();
}

TEST(the_leak_report_shows_descriptions_in_chains_and_garbage)
{
    quiet_start();
    node *a = make_pair(&item_type, 6, &item_type, 7);
    rcgc_set_debug(RCGC_DEBUG_SAVEALL);
    rcgc_decref(a);
    CHECK_EQ(rcgc_collect(2), 2);
    rcgc_set_debug(0);
    capture_reset(&out);
    rcgc_leak_report(capture_write, &out);
    const char *text = captured_masked(&out);
    char expected[256];
    snprintf(expected, sizeof expected,
             "  2 x item (%zu bytes), for example:\n"
             "    <item #6 0x?> refcount 2, in the garbage list (uncollectable, or kept by "
             "DEBUG_SAVEALL)\n", 2 * bytes_of(&item_type));
    CHECK_CONTAINS(text, expected);
    CHECK_CONTAINS(text, "uncollectable garbage: 2 objects\n"
                         "  <item #6 0x?> refcount 2\n"
                         "  <item #7 0x?> refcount 2\n");
    quiet_end();
}

TEST(the_monitors_example_chain_shows_descriptions)
{
    quiet_start();
    rcgc_monitor_reset();
    void *registry = rcgc_list_new();
    for (int i = 0; i < 8; i++) {
        node *n = new_node(&item_type, 10 + i);
        rcgc_list_append(registry, n);
        rcgc_decref(n);
        rcgc_monitor_sample();
    }
    capture_reset(&out);
    CHECK_EQ(rcgc_monitor_report(capture_write, &out), 1);
    CHECK_CONTAINS(captured_masked(&out),
                   "  item: 1 -> 8 in 8 samples, +1.0 per sample (rose in 7 of 7 steps, noise "
                   "0.0), for example:\n"
                   "    <list 0x?> refcount 1, held from outside (1 reference not from tracked "
                   "objects)\n"
                   "      [0] -> <item #10 0x?> refcount 1\n");
    rcgc_decref(registry);
    rcgc_monitor_reset();
    quiet_end();
}

/* Without clear: a cycle of these is uncollectable. */
static const rcgc_type stuck_item_type = {.name = "stuck", .size = sizeof(node),
                                          .traverse = node_traverse, .destroy = node_clear,
                                          .describe = id_describe};

TEST(the_collectors_debug_lines_show_descriptions)
{
    quiet_start();
    rcgc_set_output(capture_write, &out);
    rcgc_set_debug(RCGC_DEBUG_COLLECTABLE | RCGC_DEBUG_UNCOLLECTABLE);
    rcgc_decref(make_pair(&item_type, 1, &silent_type, 2));
    capture_reset(&out);
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_STR(captured_masked(&out), "gc: collectable <item #1 0x?>\n"
                                     "gc: collectable <silent 0x?>\n");
    node *stuck = make_pair(&stuck_item_type, 3, &stuck_item_type, 4);
    rcgc_decref(stuck);
    capture_reset(&out);
    CHECK_EQ(rcgc_collect(2), 2);
    CHECK_STR(captured_masked(&out), "gc: collectable <stuck #3 0x?>\n"
                                     "gc: collectable <stuck #4 0x?>\n"
                                     "gc: uncollectable <stuck #3 0x?>\n"
                                     "gc: uncollectable <stuck #4 0x?>\n");
    RCGC_CLEAR(stuck->slot[0]);   /* broken by hand: the garbage list's references go last */
    rcgc_set_debug(0);
    rcgc_set_output(NULL, NULL);
    quiet_end();
}

/* The DOT text for one starting object (static buffer). */
static const char *dot_of(void *obj, unsigned depth, unsigned flags)
{
    static char text[1 << 14];
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int r = rcgc_write_dot(f, &obj, 1, depth, flags);
    fclose(f);
    snprintf(text, sizeof text, "%s", r == 0 && buf ? buf : "");
    free(buf);
    return text;
}

TEST(dot_shows_descriptions_and_reference_names)
{
    quiet_start();
    chain3 c = make_chain(&odd_type);
    CHECK_STR(dot_of(c.one, 2, RCGC_DOT_REFERENTS),
              "digraph ObjectGraph {\n"
              "  node[shape=box, style=filled, fillcolor=white];\n"
              "  o0 [label=\"item\\n#1\\nrefcount 1\", fillcolor=\"0,0,1\", fontcolor=red, "
              "penwidth=2];\n"
              "  o1 [label=\"item\\n#2\\nrefcount 1\", fillcolor=\"0,0,0.65\"];\n"
              "  o2 [label=\"odd\\ntwo?lines?and a bell?\\nrefcount 1\", fillcolor=\"0,0,0.3\", "
              "fontcolor=white];\n"
              "  o0 -> o1 [label=\".prev\"];\n"
              "  o1 -> o2 [label=\".owner\"];\n"
              "}\n");
    /* Backwards, the list's edge keeps its index. */
    CHECK_STR(dot_of(c.one, 1, RCGC_DOT_REFERRERS),
              "digraph ObjectGraph {\n"
              "  node[shape=box, style=filled, fillcolor=white];\n"
              "  o0 [label=\"item\\n#1\\nrefcount 1\", fillcolor=\"0,0,1\", fontcolor=red, "
              "penwidth=2];\n"
              "  o1 [label=\"list\\n1 item\\nheld from outside (1 ref)\", "
              "fillcolor=\"0.1,0.6,1\"];\n"
              "  o1 -> o0 [label=\"[0]\"];\n"
              "}\n");
    rcgc_decref(c.root);
    quiet_end();
}

/* ---- the built-in containers' names ------------------------------------------------------ */

static const char *name_of(const void *container, const void *referent, size_t index)
{
    static char buf[64];
    const rcgc_type *t = rcgc_typeof(container);
    int r = t->name_ref(container, referent, index, buf, sizeof buf);
    return r > 0 ? buf : "(none)";
}

TEST(list_and_dict_name_their_references_by_index_and_key)
{
    quiet_start();
    void *l = rcgc_list_new(), *d = rcgc_dict_new();
    node *a = new_node(&plain_type, 1), *b = new_node(&plain_type, 2);
    rcgc_list_append(l, NULL);
    rcgc_list_append(l, a);
    rcgc_list_append(l, NULL);
    rcgc_list_append(l, b);
    /* traverse skips the NULLs: a is visit 0, b visit 1 */
    CHECK_STR(name_of(l, a, 0), "[1]");
    CHECK_STR(name_of(l, b, 1), "[3]");
    CHECK_STR(name_of(l, b, 7), "[3]");      /* a wrong index: found by the referent */
    CHECK_STR(name_of(l, d, 0), "(none)");   /* not in the list */
    rcgc_dict_set(d, "gone", a);
    rcgc_dict_set(d, "a", a);
    rcgc_dict_set(d, "b", b);
    rcgc_dict_del(d, "gone");                /* a hole before the live entries */
    CHECK_STR(name_of(d, a, 0), "[\"a\"]");
    CHECK_STR(name_of(d, b, 1), "[\"b\"]");
    rcgc_dict_set(d, "a-key-of-fifty-bytes-which-is-more-than-forty-shown", l);
    CHECK_STR(name_of(d, l, 2), "[\"a-key-of-fifty-bytes-which-is-more-than-...\"]");
    CHECK_STR(name_of(d, d, 0), "(none)");
    rcgc_decref(a);
    rcgc_decref(b);
    rcgc_decref(l);
    rcgc_decref(d);
    quiet_end();
}
