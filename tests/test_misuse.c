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
