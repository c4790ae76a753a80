/*
 * A request loop for the monitor's tests (test_monitor.c, the browser test's
 * page writer): each request makes a handler closure capturing the app's
 * environment, a context dict and a scratch buffer, all freed when it ends,
 * and adds an event to a batch that is dropped every 5th request (so the
 * event count goes up and down: 1 2 3 4 0 ...).  Leaks on request: the
 * handler registered in a list and never unregistered (a closure a
 * request), or the scratch buffer kept in a C array (a type without
 * traverse).  Automatic collection is off while the loop runs, so no
 * collection moves the figures.
 */
#ifndef RCGC_TEST_MONITOR_REQUESTS_H
#define RCGC_TEST_MONITOR_REQUESTS_H

#include <stdbool.h>

#include "nodes.h"
#include "rcgc.h"
#include "rcgc_tools.h"

enum { LEAK_NOTHING = 0, LEAK_CLOSURE = 1, LEAK_BUFFER = 2 };
#define REQUESTS_MAX 512

static const rcgc_type closure_type = {.name = "closure", .size = sizeof(node),
                                       .traverse = node_traverse, .clear = node_clear};
static const rcgc_type env_type = {.name = "env", .size = sizeof(node),
                                   .traverse = node_traverse, .clear = node_clear};
static const rcgc_type event_type = {.name = "event", .size = sizeof(node),
                                     .traverse = node_traverse, .clear = node_clear};
static const rcgc_type buffer_type = {.name = "buffer", .size = 64};

typedef struct requests {
    void *registry;                   /* list of registered handlers */
    node *app;                        /* the environment handlers capture */
    void *batch;                      /* list of events */
    void *buffers[REQUESTS_MAX];      /* kept scratch buffers (LEAK_BUFFER) */
    size_t nbuffers, handled;
    size_t memory_at[REQUESTS_MAX];   /* rcgc_memory_in_use() after request i */
} requests;

static inline void requests_begin(requests *r)
{
    rcgc_disable();
    rcgc_monitor_reset();
    r->registry = rcgc_list_new();
    r->app = new_node(&env_type, 0);
    r->batch = rcgc_list_new();
    r->nbuffers = r->handled = 0;
}

static inline void requests_handle(requests *r, int leaks)
{
    node *handler = new_node(&closure_type, (int)r->handled);
    link_slot(handler, 0, r->app);
    void *context = rcgc_dict_new();
    rcgc_dict_set(context, "handler", handler);
    void *scratch = rcgc_new(&buffer_type);
    node *ev = new_node(&event_type, (int)r->handled);
    rcgc_list_append(r->batch, ev);
    if (rcgc_list_len(r->batch) == 5) rcgc_list_clear(r->batch);
    if (leaks & LEAK_CLOSURE) rcgc_list_append(r->registry, handler);
    if ((leaks & LEAK_BUFFER) && r->nbuffers < REQUESTS_MAX) {
        rcgc_incref(scratch);
        r->buffers[r->nbuffers++] = scratch;
    }
    rcgc_decref(ev);
    rcgc_decref(scratch);
    rcgc_decref(context);
    rcgc_decref(handler);
    r->memory_at[r->handled++ % REQUESTS_MAX] = rcgc_memory_in_use();
}

/* n requests, each followed by a sample. */
static inline void requests_sampled(requests *r, size_t n, int leaks)
{
    for (size_t i = 0; i < n; i++) {
        requests_handle(r, leaks);
        rcgc_monitor_sample();
    }
}

static inline void requests_end(requests *r)
{
    rcgc_decref(r->registry);
    rcgc_decref(r->app);
    rcgc_decref(r->batch);
    while (r->nbuffers) rcgc_decref(r->buffers[--r->nbuffers]);
    rcgc_monitor_reset();
    rcgc_enable();
}

#endif
