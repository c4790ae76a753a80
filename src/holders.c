/*
 * Who holds an object: holders (objects with references no tracked object
 * explains) and the shortest chain from a holder to an object, like a
 * browser's heap "retainers" view, in time linear in the heap.
 *
 * Both need a mark on every tracked object; both borrow gc_link.prev for it,
 * as the collector does for its counts, and put every prev pointer back
 * (from next, which they never touch) before any user code can run.  The
 * mark is bit 1, which the collector uses only in phases 2-4, when no user
 * code runs: so a tool called from a finalizer during a collection leaves
 * the collector's own lists (whose members carry PREV_COLLECTING, not bit 1)
 * alone and simply does not see their objects.
 *
 * While marked, prev holds one of:
 *   counting:   TOOL_MARK | internal << PREV_SHIFT    (references found)
 *   searching:  TOOL_MARK [| TOOL_SEEN | parent link]  (breadth-first search)
 * Tool memory (the queue, the chain) comes from rcgc__own_*: no hook, so no
 * user code, runs while the marks are on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "ptrmap.h"
#include "rcgc_tools.h"

#define TOOL_MARK ((uintptr_t)2)
#define TOOL_SEEN ((uintptr_t)1)

static inline bool marked(const gc_link *g) { return (g->prev & TOOL_MARK) != 0; }

/* The tracked object of obj if rcgc_get_objects would see it, else NULL. */
static gc_link *marked_link(const void *obj)
{
    if (!type_is_gc(head_type(head_of(obj)))) return NULL;
    gc_link *g = link_of(obj);
    return link_tracked(g) && marked(g) ? g : NULL;
}

static gc_link *lists_of(rcgc_state *S, int i)
{
    return i < RCGC_NUM_GENERATIONS ? &S->generations[i].head : &S->permanent;
}
#define ALL_LISTS (RCGC_NUM_GENERATIONS + 1)

static void restore_links(rcgc_state *S)
{
    for (int i = 0; i < ALL_LISTS; i++) {
        gc_link *list = lists_of(S, i), *prev = list;
        for (gc_link *g = link_next(list); g != list; prev = g, g = link_next(g))
            g->prev = (uintptr_t)prev;
    }
}

/* ---- counting: refcount minus the references tracked objects explain ------ */

typedef struct counting {
    const void *target;        /* also count references to this one */
    size_t target_internal;
} counting;

static int count_reference(void *obj, void *arg)
{
    counting *c = arg;
    RCGC_CHECK_OBJECT(obj, "traverse (reported to a rcgc tool)");
    if (obj == c->target) c->target_internal++;
    gc_link *g = marked_link(obj);
    if (g) g->prev += (uintptr_t)1 << PREV_SHIFT;
    return 0;
}

/* Marks every tracked object with its internal count; returns how many
   there are.  The garbage list's references count as explained. */
static size_t mark_and_count(rcgc_state *S, counting *c)
{
    size_t n = 0;
    for (int i = 0; i < ALL_LISTS; i++) {
        gc_link *list = lists_of(S, i);
        for (gc_link *g = link_next(list); g != list; g = link_next(g), n++)
            g->prev = TOOL_MARK;
    }
    for (int i = 0; i < ALL_LISTS; i++) {
        gc_link *list = lists_of(S, i);
        for (gc_link *g = link_next(list); g != list; g = link_next(g))
            head_type(link_head(g))->traverse(body_of_link(g), count_reference, c);
    }
    for (size_t i = 0; i < S->garbage_len; i++)
        count_reference(S->garbage[i], c);
    return n;
}

static size_t external_refs(gc_link *g)
{
    size_t internal = g->prev >> PREV_SHIFT, refcnt = link_head(g)->refcnt;
    return refcnt > internal ? refcnt - internal : 0;
}

/* ---- holders ------------------------------------------------------------------ */

int rcgc_get_holders(rcgc_visit_fn fn, void *arg)
{
    if (!fn) {
        errno = EINVAL;
        return -1;
    }
    rcgc_state *S = state();
    size_t tracked = 0;
    for (int i = 0; i < ALL_LISTS; i++) tracked += rcgc__list_size(lists_of(S, i));
    void **holders = rcgc__own_calloc(tracked * sizeof *holders);
    if (!holders) {
        errno = ENOMEM;
        return -1;
    }
    counting c = {NULL, 0};
    mark_and_count(S, &c);
    size_t n = 0;
    for (int i = 0; i < ALL_LISTS; i++) {
        gc_link *list = lists_of(S, i);
        for (gc_link *g = link_next(list); g != list; g = link_next(g))
            if (external_refs(g) > 0) holders[n++] = body_of_link(g);
    }
    restore_links(S);
    for (size_t i = 0; i < n; i++) rcgc_incref(holders[i]);
    int r = 0;
    S->calling_out++;
    for (size_t i = 0; i < n && r == 0; i++) r = fn(holders[i], arg);
    S->calling_out--;
    for (size_t i = 0; i < n; i++) rcgc_decref(holders[i]);
    rcgc__own_free(holders);
    return r;
}

/* ---- why alive ----------------------------------------------------------------- */

typedef struct search {
    const void *target;
    gc_link **queue;
    size_t tail;
    gc_link *parent;       /* the object being traversed */
    gc_link *found_from;   /* the target's parent, once found */
} search;

static int visit_breadth_first(void *obj, void *arg)
{
    search *q = arg;
    if (obj == q->target) {
        q->found_from = q->parent;
        return 1;
    }
    gc_link *g = marked_link(obj);
    if (g && !(g->prev & TOOL_SEEN)) {
        g->prev = TOOL_MARK | TOOL_SEEN | (uintptr_t)q->parent;
        q->queue[q->tail++] = g;
    }
    return 0;
}

/* The position of the reference to `to` in from's traverse: the name_ref
   hook's index. */
typedef struct position {
    const void *to;
    size_t at;
} position;

static int find_position(void *obj, void *arg)
{
    position *p = arg;
    if (obj == p->to) return 1;
    p->at++;
    return 0;
}

/* ", allocated at app.c:120 in main" while tracing, else nothing. */
static const char *allocated_at(const void *obj, char *buf, size_t cap)
{
    const traceback *tb = rcgc__trace_of_object(obj);
    if (!tb) return "";
    char frame[512];
    rcgc__format_frame(tb, 0, frame, sizeof frame);
    snprintf(buf, cap, ", allocated at %s", frame);
    return buf;
}

/* "  .next -> <node 0x...> refcount 1": how `from` holds `to` (its name_ref
   hook, "[3]" in a list, ["key"] in a dict, else the traverse position). */
static void print_link(rcgc_write_fn out, void *arg, const void *from, const void *to,
                       size_t refcnt)
{
    char site[600], label[RCGC_LABEL_SIZE], name[RCGC_REF_NAME_SIZE];
    const char *at = allocated_at(to, site, sizeof site);
    position p = {to, 0};
    head_type(head_of(from))->traverse((void *)from, find_position, &p);
    rcgc__print_to(out, arg, "  %s -> <%s %p> refcount %zu%s\n",
                   rcgc__ref_name(from, to, p.at, name, sizeof name),
                   rcgc__label(to, label, sizeof label), to, refcnt, at);
}

static void print_holder(rcgc_write_fn out, void *arg, const void *obj, size_t refcnt,
                         size_t external)
{
    char site[600], label[RCGC_LABEL_SIZE];
    rcgc__print_to(out, arg,
                   "<%s %p> refcount %zu, held from outside (%zu reference%s not from "
                   "tracked objects)%s\n",
                   rcgc__label(obj, label, sizeof label), obj, refcnt, external,
                   external == 1 ? "" : "s", allocated_at(obj, site, sizeof site));
}

static bool in_list(const gc_link *list, const void *obj)
{
    for (const gc_link *g = link_next(list); g != list; g = link_next(g))
        if (body_of_link((gc_link *)g) == obj) return true;
    return false;
}

/* The chain from a holder to the target, holder first: found by a
   breadth-first search from every holder at once. */
typedef struct chain {
    void **objs;
    size_t len;
    size_t holder_external;
} chain;

static int find_chain(rcgc_state *S, const void *obj, chain *ch)
{
    size_t tracked = 0;
    for (int i = 0; i < ALL_LISTS; i++) tracked += rcgc__list_size(lists_of(S, i));
    gc_link **queue = rcgc__own_calloc((tracked + 1) * sizeof *queue);
    if (!queue) {
        errno = ENOMEM;
        return -1;
    }
    counting c = {obj, 0};
    mark_and_count(S, &c);
    size_t refcnt = head_of(obj)->refcnt;
    gc_link *self = marked_link(obj);
    if (self ? external_refs(self) > 0 : refcnt > c.target_internal) {
        ch->holder_external = self ? external_refs(self) : refcnt - c.target_internal;
        restore_links(S);
        rcgc__own_free(queue);
        ch->len = 0;
        return 0;
    }
    /* Holders are few: their outside counts wait in a map, for the first
       line, since the search overwrites the counts. */
    ptrmap outside = {NULL, 0, 0, 0};
    bool outside_ok = true;
    search q = {obj, queue, 0, NULL, NULL};
    for (int i = 0; i < ALL_LISTS; i++) {
        gc_link *list = lists_of(S, i);
        for (gc_link *g = link_next(list); g != list; g = link_next(g)) {
            size_t external = external_refs(g);
            g->prev = TOOL_MARK;
            if (external > 0 && g != self) {
                g->prev |= TOOL_SEEN;
                queue[q.tail++] = g;
                outside_ok = outside_ok && ptrmap_put(&outside, g, (void *)external);
            }
        }
    }
    if (self) self->prev |= TOOL_SEEN;
    for (size_t head = 0; head < q.tail && !q.found_from; head++) {
        q.parent = queue[head];
        head_type(link_head(q.parent))->traverse(body_of_link(q.parent), visit_breadth_first, &q);
    }
    int r = -1;
    if (q.found_from) {
        size_t len = 1;
        for (gc_link *g = q.found_from; g; g = link_prev(g)) len++;
        ch->objs = rcgc__own_calloc(len * sizeof *ch->objs);
        if (ch->objs) {
            ch->len = len;
            ch->objs[len - 1] = (void *)obj;
            size_t i = len - 1;
            for (gc_link *g = q.found_from; g; g = link_prev(g)) ch->objs[--i] = body_of_link(g);
            r = (int)(len - 1);
        } else {
            errno = ENOMEM;
        }
    } else {
        errno = ENOENT;
    }
    if (r > 0) {
        ptrmap_slot *held = ptrmap_find(&outside, link_of(ch->objs[0]));
        ch->holder_external = held ? (size_t)held->value : 0;
    }
    ptrmap_free(&outside);
    restore_links(S);
    rcgc__own_free(queue);
    if (r > 0 && !outside_ok) {   /* the map ran out of memory: count again */
        counting again = {ch->objs[0], 0};
        mark_and_count(S, &again);
        ch->holder_external = external_refs(link_of(ch->objs[0]));
        restore_links(S);
    }
    return r;
}


int rcgc_why_alive(const void *obj, rcgc_write_fn out, void *arg)
{
    if (!obj) {
        errno = EINVAL;
        return -1;
    }
    RCGC_CHECK_OBJECT(obj, "rcgc_why_alive");
    rcgc_state *S = state();
    const rcgc_type *t = head_type(head_of(obj));
    size_t refcnt = head_of(obj)->refcnt;
    char label[RCGC_LABEL_SIZE];
    for (size_t i = 0; i < S->garbage_len; i++) {
        if (S->garbage[i] != obj) continue;
        rcgc__print_to(out, arg, "<%s %p> refcount %zu, in the garbage list "
                       "(uncollectable, or kept by DEBUG_SAVEALL)\n",
                       rcgc__label(obj, label, sizeof label), obj, refcnt);
        return 0;
    }
    if (type_is_gc(t) && link_of(obj)->next && in_list(&S->permanent, obj)) {
        rcgc__print_to(out, arg, "<%s %p> refcount %zu, frozen (rcgc_freeze): "
                       "no collection looks at it\n", rcgc__label(obj, label, sizeof label),
                       obj, refcnt);
        return 0;
    }
    chain ch = {NULL, 0, 0};
    int links = find_chain(S, obj, &ch);
    if (links < 0) {
        if (errno == ENOENT) {   /* the hook and the sink may change errno */
            rcgc__print_to(out, arg, "<%s %p> refcount %zu, reached from no holder: cyclic "
                           "garbage the next collection frees, or held by objects rcgc "
                           "cannot see\n", rcgc__label(obj, label, sizeof label), obj, refcnt);
            errno = ENOENT;
        }
        return -1;
    }
    if (links == 0) {
        print_holder(out, arg, obj, refcnt, ch.holder_external);
        return 0;
    }
    /* Printing runs the user's sink, which could free what the chain names:
       hold every link meanwhile, and show the counts as they were. */
    size_t *counts = rcgc__own_calloc(ch.len * sizeof *counts);
    if (!counts) {
        rcgc__own_free(ch.objs);
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 0; i < ch.len; i++) {
        counts[i] = head_of(ch.objs[i])->refcnt;
        rcgc_incref(ch.objs[i]);
    }
    print_holder(out, arg, ch.objs[0], counts[0], ch.holder_external);
    for (size_t i = 1; i < ch.len; i++)
        print_link(out, arg, ch.objs[i - 1], ch.objs[i], counts[i]);
    for (size_t i = 0; i < ch.len; i++) rcgc_decref(ch.objs[i]);
    rcgc__own_free(counts);
    rcgc__own_free(ch.objs);
    return links;
}
