/* Misuse in a debug build (RCGC_DEBUG=ON): each mistake aborts with one line
   naming the type, the address and the refcount.  Each runs in a child
   process whose stderr is checked.  Release builds compile these checks out,
   so this file tests nothing there and says so. */
#include "harness.h"

#include <signal.h>

#include "nodes.h"

#ifdef RCGC_DEBUG

static node *victim;

static void decref_below_zero(void)
{
    victim = new_node(&plain_type, 1);
    rcgc_decref(victim);
    rcgc_decref(victim);    /* freed: caught by the poisoned header */
}

static void decref_during_teardown_child(void *self)
{
    rcgc_decref(self);      /* count is zero while the object tears down */
}
static const rcgc_type overdrop_type = {.name = "overdrop", .size = sizeof(node),
                                        .traverse = node_traverse, .clear = node_clear,
                                        .destroy = decref_during_teardown_child};

static void refcount_too_small(void)
{
    rcgc_decref(new_node(&overdrop_type, 1));
}

static void incref_freed(void)
{
    victim = new_node(&plain_type, 1);
    rcgc_decref(victim);
    rcgc_incref(victim);
}

static void not_managed(void)
{
    static char fake[64] __attribute__((aligned(16)));
    rcgc_incref(fake + 48);
}

/* A type with a describe hook whose traverse reports slot[0] twice: the
   collector finds more references than the count holds. */
static int twice_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    node *n = self;
    RCGC_VISIT(n->slot[0]);
    RCGC_VISIT(n->slot[0]);
    return 0;
}
static int id_describe(const void *self, char *buf, size_t size)
{
    return snprintf(buf, size, "\"id %d\"", ((const node *)self)->id);
}
static const rcgc_type twice_type = {.name = "twice", .size = sizeof(node),
                                     .traverse = twice_traverse, .clear = node_clear,
                                     .describe = id_describe};
static const rcgc_type described_overdrop_type = {
    .name = "doverdrop", .size = sizeof(node), .traverse = node_traverse,
    .clear = node_clear, .destroy = decref_during_teardown_child, .describe = id_describe};

static void counted_twice(void)
{
    node *a = new_node(&twice_type, 7), *b = new_node(&twice_type, 8);
    link_slot(a, 0, b);
    link_slot(b, 0, a);
    rcgc_decref(a);
    rcgc_decref(b);
    rcgc_collect(2);
}

static void described_refcount_too_small(void)
{
    rcgc_decref(new_node(&described_overdrop_type, 9));
}

static void check_abort(void (*fn)(void), const char *needle, const char *type_name)
{
    CHECK_ABORTS(fn, needle, type_name);
}

TEST(decref_of_a_freed_object_aborts_with_type_address_and_count)
{
    check_abort(decref_below_zero, "rcgc_decref: use of a freed object: object <node 0x",
                "refcount 0");
}

TEST(refcount_below_zero_aborts)
{
    check_abort(refcount_too_small, "refcount would go below zero: object <overdrop 0x",
                "refcount 0");
}

TEST(incref_of_a_freed_object_aborts)
{
    check_abort(incref_freed, "rcgc_incref: use of a freed object: object <node", NULL);
}

TEST(a_misuse_line_shows_the_objects_description)
{
    check_abort(counted_twice, "rcgc: rcgc_collect: refcount is too small (traverse reports "
                               "more references than the count holds): object <twice \"id ",
                "\" 0x");
}

TEST(a_misuse_line_shows_no_description_for_an_object_being_torn_down)
{
    check_abort(described_refcount_too_small,
                "rcgc_decref: refcount would go below zero: object <doverdrop 0x", "refcount 0");
}

TEST(pointer_that_is_not_managed_aborts)
{
    check_abort(not_managed, "rcgc_incref: 0x", "is not a managed object");
}

#else

TEST(release_build_has_no_misuse_checks)
{
    /* Nothing to provoke safely: misuse is undefined behaviour here.  Check
       the release build still counts normally. */
    node *n = new_node(&plain_type, 1);
    rcgc_incref(n);
    CHECK_EQ(rcgc_refcount(n), 2);
    rcgc_decref(n);
    rcgc_decref(n);
}

#endif
