/*
 * The test objects and helpers every test program shares (include it after
 * harness.h): a node with three reference slots (like a Python instance with
 * __slots__), in variants with and without a finalizer; an event log that
 * records finalizer calls and weakref callbacks in order, so tests can check
 * exact sequences; boxed ints, plain objects that count their deaths (the
 * containers' contents); inst, the four-slot instance of the ports of
 * CPython's tests; an allocation hook that refuses everything; the census
 * count of one type; and the quiet start and end of a counting test.
 */
#ifndef RCGC_TEST_NODES_H
#define RCGC_TEST_NODES_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcgc.h"
#include "rcgc_tools.h"

typedef struct node {
    void *slot[3];
    int id;
} node;

static char events[4096];

static inline void event(const char *fmt, int id)
{
    size_t len = strlen(events);
    snprintf(events + len, sizeof events - len, fmt, id);
}

static inline void events_reset(void) { events[0] = '\0'; }

/* "<who>-start " or "<who>-stop ": a gc callback's call. */
static inline void phase_event(const char *who, rcgc_phase phase)
{
    size_t len = strlen(events);
    snprintf(events + len, sizeof events - len, "%s-%s ", who,
             phase == RCGC_PHASE_START ? "start" : "stop");
}

static inline int node_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    node *n = self;
    for (int i = 0; i < 3; i++) RCGC_VISIT(n->slot[i]);
    return 0;
}

static inline void node_clear(void *self)
{
    node *n = self;
    for (int i = 0; i < 3; i++) RCGC_CLEAR(n->slot[i]);
}

static inline void node_finalize(void *self)
{
    event("del%d ", ((node *)self)->id);
}

/* Objects resurrected by resurrect_finalize land here (a strong reference). */
static void *lazarus[64];
static int lazarus_len;

static inline void resurrect_finalize(void *self)
{
    event("del%d ", ((node *)self)->id);
    rcgc_incref(self);
    lazarus[lazarus_len++] = self;
}

static inline void lazarus_release(void)
{
    while (lazarus_len > 0) rcgc_decref(lazarus[--lazarus_len]);
}

static const rcgc_type plain_type = {.name = "node", .size = sizeof(node),
                                     .traverse = node_traverse, .clear = node_clear};
static const rcgc_type del_type = {.name = "delnode", .size = sizeof(node),
                                   .traverse = node_traverse, .clear = node_clear,
                                   .finalize = node_finalize};
static const rcgc_type lazarus_type = {.name = "lazarus", .size = sizeof(node),
                                       .traverse = node_traverse, .clear = node_clear,
                                       .finalize = resurrect_finalize};
/* No clear: a cycle of these cannot be broken (CPython's legacy tp_del). */
static inline void clearless_destroy(void *self) { node_clear(self); }
static const rcgc_type clearless_type = {.name = "clearless", .size = sizeof(node),
                                         .traverse = node_traverse,
                                         .destroy = clearless_destroy};

static inline node *new_node(const rcgc_type *t, int id)
{
    node *n = rcgc_new(t);
    if (n) n->id = id;
    return n;
}

/* What rcgc_memory_in_use counts for one object of type t (header and
   body).  The plain function: no site of its own while tracing. */
static inline size_t bytes_of(const rcgc_type *t)
{
    size_t before = rcgc_memory_in_use();
    void *obj = (rcgc_new)(t);
    size_t bytes = rcgc_memory_in_use() - before;
    rcgc_decref(obj);
    return bytes;
}

/* n->slot[i] = target, with the reference accounting of an assignment. */
static inline void link_slot(node *n, int i, void *target)
{
    void *old = n->slot[i];
    rcgc_incref(target);
    n->slot[i] = target;
    rcgc_decref(old);
}

/* A chain of `length` nodes of type t, each holding the next in slot[0];
   the caller owns the head, the chain holds the rest; *last (if not NULL)
   gets the last node. */
static inline node *new_chain(const rcgc_type *t, size_t length, node **last)
{
    node *head = new_node(t, 0), *tail = head;
    for (size_t i = 1; i < length; i++) {
        node *n = new_node(t, (int)i);
        link_slot(tail, 0, n);
        rcgc_decref(n);
        tail = n;
    }
    if (last) *last = tail;
    return head;
}

/* The newcomer's interpreter leak: an environment whose traverse forgets
   its `parent` field (slot 2), which holds a strong reference all the same. */
static inline int forgetful_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    node *n = self;
    RCGC_VISIT(n->slot[0]);
    RCGC_VISIT(n->slot[1]);
    return 0;   /* slot[2] forgotten */
}
static const rcgc_type forgetful_type = {.name = "forgetful_env", .size = sizeof(node),
                                         .traverse = forgetful_traverse, .clear = node_clear};

/* A new node in a two-cycle with a second one; the caller owns `a` only. */
static inline node *make_pair(const rcgc_type *ta, int ia, const rcgc_type *tb, int ib)
{
    node *a = new_node(ta, ia), *b = new_node(tb, ib);
    link_slot(a, 0, b);
    link_slot(b, 0, a);
    rcgc_decref(b);
    return a;
}

static inline void weak_event(void *wr, void *arg)
{
    (void)wr;
    event("cb%d ", (int)(size_t)arg);
}

/* A visit function that counts what it is given into *(size_t *)arg. */
static inline int count_visit_fn(void *obj, void *arg)
{
    (void)obj;
    ++*(size_t *)arg;
    return 0;
}

/* Boxed ints: plain managed objects (type name "item", the containers'
   contents) that count their deaths in boxed_freed. */
static size_t boxed_freed;
static inline void boxed_destroy(void *self)
{
    (void)self;
    boxed_freed++;
}
static const rcgc_type boxed_type = {
    .name = "item", .size = sizeof(int), .destroy = boxed_destroy,
};

static inline void *new_boxed(int value)
{
    int *item = rcgc_new(&boxed_type);
    if (item) *item = value;
    return item;
}

/* inst: the Python instance of the ports of CPython's tests, four slots and
   a value.  make() stops the program if rcgc_new fails: those tests are about
   what collections find, and go on with no object would only crash later. */
typedef struct inst {
    void *slot[4];
    long value;
} inst;

static inline int inst_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    inst *o = self;
    for (int i = 0; i < 4; i++) RCGC_VISIT(o->slot[i]);
    return 0;
}

static inline void inst_clear(void *self)
{
    inst *o = self;
    for (int i = 0; i < 4; i++) RCGC_CLEAR(o->slot[i]);
}

static inline inst *make(const rcgc_type *type)
{
    inst *o = rcgc_new(type);
    if (!o) {
        fprintf(stderr, "make: rcgc_new(<%s>) failed\n", type->name);
        abort();
    }
    return o;
}

/* o.slot[i] = value with the reference accounting of a Python assignment;
   NULL is `del o.slot`. */
static inline void set_slot(inst *o, int i, void *value)
{
    void *old = o->slot[i];
    rcgc_incref(value);
    o->slot[i] = value;
    rcgc_decref(old);
}

/* o.slot[i] = value, handing over the caller's reference. */
static inline void give_slot(inst *o, int i, void *value)
{
    set_slot(o, i, value);
    rcgc_decref(value);
}

/* An allocation hook that refuses everything, counting its refusals. */
static size_t refused_allocations;
static inline bool refuse_all(size_t size, void *arg)
{
    (void)size;
    (void)arg;
    refused_allocations++;
    return false;
}

/* The census's count of live objects of type t (0 if it has none), and
   their bytes in *bytes if bytes is not NULL. */
static inline size_t census_of(const rcgc_type *t, size_t *bytes)
{
    rcgc_type_count counts[64];
    size_t n = rcgc_census(counts, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        if (counts[i].type == t) {
            if (bytes) *bytes = counts[i].bytes;
            return counts[i].count;
        }
    if (bytes) *bytes = 0;
    return 0;
}

/* Start every counting test from an empty young heap, automatic gc off. */
static inline void quiet_start(void)
{
    rcgc_disable();
    rcgc_set_debug(0);
    rcgc_garbage_clear();
    rcgc_collect(2);
    events_reset();
    boxed_freed = 0;
    refused_allocations = 0;
}

static inline void quiet_end(void)
{
    lazarus_release();
    rcgc_garbage_clear();
    rcgc_collect(2);
    rcgc_garbage_clear();
    rcgc_enable();
}

#endif
