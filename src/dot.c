/*
 * Pictures: Graphviz DOT of the objects around a few starting ones, in
 * objgraph's style (show_backrefs: what refers to them; show_refs: what
 * they refer to), with what rcgc knows besides: holders and their outside
 * references, the garbage list, frozen objects, and edges labelled as
 * why-alive labels them.
 *
 * The walk is breadth-first, one level at a time.  Going to referrers, one
 * pass over every tracked object finds the referrers of the whole level
 * (each reference looked up in a map of the objects drawn so far); going to
 * referents, each object of the level is traversed once.  One more pass
 * over every tracked object counts the references each drawn object gets
 * from tracked objects, for the holders.  So the cost is linear in the heap
 * per level, and nothing is written on any object: the map and the arrays
 * are rcgc's own memory (rcgc__own_*), which asks no hook and so runs no
 * user code.  The whole text is made in memory before the first byte goes
 * to the stream, so even a stream whose writes call back into rcgc cannot
 * change what the picture shows while it is written.
 *
 * Node ids follow the order of discovery (o0, o1, ...: the starting objects
 * first, then level by level; within a level, by the node they were found
 * from, then in heap order or traverse order), never addresses, so the text
 * of a picture is the same from run to run of the same program.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "container.h"
#include "rcgc_tools.h"

/* objgraph's too_many: edges drawn per expanded object; the others are
   summed up in one "N more ..." box. */
#define EDGES_SHOWN 10

typedef struct dot_node {
    void *obj;
    unsigned depth;
    bool start, garbage, frozen;
    size_t internal;          /* references from tracked objects (and the garbage list) */
    size_t more;              /* edges not drawn */
    const void *last_from;    /* the last referrer that gave a candidate to this node */
} dot_node;

/* An edge's label is the source's name for the reference (rcgc__ref_name),
   asked for when the text is made: `at` is the reference's position in the
   source's traverse. */
typedef struct dot_edge {
    size_t from, to;          /* node numbers */
    size_t at;
} dot_edge;

/* A referrer found for node `to` before it has a node of its own. */
typedef struct dot_candidate {
    void *from;
    size_t to;
    size_t at;
} dot_candidate;

typedef struct dot_walk {
    ptrmap index;             /* object -> node number + 1 */
    dot_node *nodes;
    size_t nnodes, nodes_cap;
    dot_edge *edges;
    size_t nedges, edges_cap;
    dot_candidate *cands;
    size_t ncands, cands_cap;
    size_t level_lo, level_hi;   /* the level being expanded: nodes [lo, hi) */
    /* The object being traversed and the references it has reported so far. */
    void *source;
    size_t source_node;
    size_t visits, shown;
    bool failed;              /* ENOMEM */
} dot_walk;

/* ---- growable arrays and the text ------------------------------------------------ */

static bool reserve(void *items_field, size_t *cap, size_t len, size_t elem)
{
    if (len < *cap) return true;
    size_t ncap = *cap ? *cap * 2 : 32;
    if (ncap > SIZE_MAX / elem) return false;
    void *items;
    memcpy(&items, items_field, sizeof items);
    void *grown = rcgc__own_realloc(items, ncap * elem);
    if (!grown) return false;
    memcpy(items_field, &grown, sizeof grown);
    *cap = ncap;
    return true;
}

typedef struct text {
    char *buf;
    size_t len, cap;
    bool failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    if (t->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t ncap = t->cap ? t->cap : 4096;
        while (ncap - t->len <= (size_t)n) ncap *= 2;
        char *p = rcgc__own_realloc(t->buf, ncap);
        if (!p) {
            t->failed = true;
            return;
        }
        t->buf = p;
        t->cap = ncap;
    }
}

/* s inside a DOT string: quotes and backslashes escaped, control bytes
   shown as '?'.  (Long dict keys and descriptions come cut already.) */
static void put_escaped(text *t, const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(t, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            put(t, "?");
        else
            put(t, "%c", c);
    }
}

/* ---- nodes ------------------------------------------------------------------------ */

static size_t node_of(const dot_walk *w, const void *obj)
{
    ptrmap_slot *s = ptrmap_find(&w->index, obj);
    return s ? (size_t)(uintptr_t)s->value - 1 : SIZE_MAX;
}

/* The node of obj, made at `depth` if new; SIZE_MAX when out of memory. */
static size_t add_node(dot_walk *w, void *obj, unsigned depth)
{
    size_t i = node_of(w, obj);
    if (i != SIZE_MAX) return i;
    if (!reserve(&w->nodes, &w->nodes_cap, w->nnodes, sizeof *w->nodes) ||
        !ptrmap_put(&w->index, obj, (void *)(uintptr_t)(w->nnodes + 1))) {
        w->failed = true;
        return SIZE_MAX;
    }
    w->nodes[w->nnodes] = (dot_node){.obj = obj, .depth = depth};
    return w->nnodes++;
}

static bool add_edge(dot_walk *w, size_t from, size_t to, size_t at)
{
    if (!reserve(&w->edges, &w->edges_cap, w->nedges, sizeof *w->edges)) {
        w->failed = true;
        return false;
    }
    w->edges[w->nedges++] = (dot_edge){from, to, at};
    return true;
}

static void begin_source(dot_walk *w, void *obj)
{
    w->source = obj;
    w->visits = w->shown = 0;
}

/* ---- the walk ---------------------------------------------------------------------- */

static gc_link *tracked_list(rcgc_state *S, int i)
{
    return i < RCGC_NUM_GENERATIONS ? &S->generations[i].head : &S->permanent;
}
#define TRACKED_LISTS (RCGC_NUM_GENERATIONS + 1)

/* Referrers: a reference from the object being traversed to a node of the
   level becomes a candidate (once per referrer and node). */
static int visit_for_referrers(void *obj, void *arg)
{
    dot_walk *w = arg;
    size_t visit = w->visits++;
    size_t i = node_of(w, obj);
    if (i < w->level_lo || i >= w->level_hi || w->nodes[i].last_from == w->source) return 0;
    w->nodes[i].last_from = w->source;
    if (!reserve(&w->cands, &w->cands_cap, w->ncands, sizeof *w->cands)) {
        w->failed = true;
        return 1;
    }
    w->cands[w->ncands++] = (dot_candidate){w->source, i, visit};
    return 0;
}

/* The level's candidates, grouped by the node they refer to (a counting
   sort keeps heap order within a node), become edges and new nodes. */
static void referrers_of_level(rcgc_state *S, dot_walk *w, unsigned depth)
{
    w->ncands = 0;
    for (int l = 0; l < TRACKED_LISTS && !w->failed; l++) {
        gc_link *list = tracked_list(S, l);
        for (gc_link *g = link_next(list); g != list && !w->failed; g = link_next(g)) {
            begin_source(w, body_of_link(g));
            head_type(link_head(g))->traverse(w->source, visit_for_referrers, w);
        }
    }
    if (w->failed) return;
    size_t width = w->level_hi - w->level_lo;
    size_t *start = rcgc__own_calloc((width + 1) * sizeof *start);
    dot_candidate *sorted = rcgc__own_calloc((w->ncands + 1) * sizeof *sorted);
    if (!start || !sorted) {
        w->failed = true;
    } else {
        for (size_t c = 0; c < w->ncands; c++) start[w->cands[c].to - w->level_lo + 1]++;
        for (size_t i = 0; i < width; i++) start[i + 1] += start[i];
        for (size_t c = 0; c < w->ncands; c++) sorted[start[w->cands[c].to - w->level_lo]++] = w->cands[c];
        size_t shown = 0, to = SIZE_MAX;
        for (size_t c = 0; c < w->ncands && !w->failed; c++) {
            dot_candidate *k = &sorted[c];
            if (k->to != to) shown = 0, to = k->to;
            if (shown == EDGES_SHOWN) {
                w->nodes[to].more++;
                continue;
            }
            shown++;
            size_t from = add_node(w, k->from, depth);
            if (from != SIZE_MAX) add_edge(w, from, to, k->at);
        }
    }
    rcgc__own_free(start);
    rcgc__own_free(sorted);
}

/* Referents: each reference of the node being traversed is an edge (once
   per referent), and a node if new. */
static int visit_for_referents(void *obj, void *arg)
{
    dot_walk *w = arg;
    size_t visit = w->visits++;
    size_t i = node_of(w, obj);
    if (i != SIZE_MAX && w->nodes[i].last_from == w->source) return 0;
    if (w->shown == EDGES_SHOWN) {
        w->nodes[w->source_node].more++;
        return 0;
    }
    w->shown++;
    if (i == SIZE_MAX) i = add_node(w, obj, w->nodes[w->source_node].depth + 1);
    if (i == SIZE_MAX || !add_edge(w, w->source_node, i, visit)) return 1;
    w->nodes[i].last_from = w->source;
    return 0;
}

static void referents_of_level(dot_walk *w)
{
    for (size_t n = w->level_lo; n < w->level_hi && !w->failed; n++) {
        const rcgc_type *t = head_type(head_of(w->nodes[n].obj));
        if (!type_is_gc(t)) continue;
        begin_source(w, w->nodes[n].obj);
        w->source_node = n;
        t->traverse(w->source, visit_for_referents, w);
    }
}

/* References each drawn object gets from tracked objects and the garbage
   list, as rcgc_get_holders counts them; the garbage and frozen marks. */
static int count_internal(void *obj, void *arg)
{
    dot_walk *w = arg;
    size_t i = node_of(w, obj);
    if (i != SIZE_MAX) w->nodes[i].internal++;
    return 0;
}

static void count_and_mark(rcgc_state *S, dot_walk *w)
{
    for (int l = 0; l < TRACKED_LISTS; l++) {
        gc_link *list = tracked_list(S, l);
        for (gc_link *g = link_next(list); g != list; g = link_next(g)) {
            size_t i = node_of(w, body_of_link(g));
            if (i != SIZE_MAX && list == &S->permanent) w->nodes[i].frozen = true;
            head_type(link_head(g))->traverse(body_of_link(g), count_internal, w);
        }
    }
    for (size_t k = 0; k < S->garbage_len; k++) {
        size_t i = node_of(w, S->garbage[k]);
        if (i != SIZE_MAX) w->nodes[i].garbage = true;
        count_internal(S->garbage[k], w);
    }
}

/* ---- the text ----------------------------------------------------------------------- */

static void put_node(text *t, const dot_node *n, unsigned max_depth, unsigned flags)
{
    const void *obj = n->obj;
    const rcgc_type *type = head_type(head_of(obj));
    size_t refcnt = head_of(obj)->refcnt;
    size_t external = refcnt > n->internal ? refcnt - n->internal : 0;
    char description[RCGC_DESCRIBE_SIZE];
    put(t, "[label=\"");
    put_escaped(t, type->name ? type->name : "?");
    if (rcgc__describe(obj, description, sizeof description)) {   /* objgraph's second line, the repr */
        put(t, "\\n");
        put_escaped(t, description);
    }
    if (type == &rcgc_list_type) {
        size_t len = rcgc_list_len(obj);
        put(t, "\\n%zu item%s", len, len == 1 ? "" : "s");
    } else if (type == &rcgc_dict_type) {
        size_t len = rcgc_dict_len(obj);
        put(t, "\\n%zu key%s", len, len == 1 ? "" : "s");
    } else {
        put(t, "\\nrefcount %zu", refcnt);
    }
    if (external > 0) put(t, "\\nheld from outside (%zu ref%s)", external, external == 1 ? "" : "s");
    if (n->garbage) put(t, "\\nin the garbage list");
    if (n->frozen) put(t, "\\nfrozen");
    if (flags & RCGC_DOT_ADDRESSES) put(t, "\\n%p", obj);
    put(t, "\"");
    /* objgraph's colours: white to grey with depth; starting objects in red
       letters; rcgc's own marks in colours of their own. */
    if (n->garbage) {
        put(t, ", fillcolor=\"0.83,0.3,1\"");
    } else if (n->frozen) {
        put(t, ", fillcolor=\"0.55,0.3,1\"");
    } else if (external > 0) {
        put(t, ", fillcolor=\"0.1,0.6,1\"");
    } else {
        double v = max_depth ? 1.0 - 0.7 * n->depth / max_depth : 1.0;
        put(t, ", fillcolor=\"0,0,%.3g\"", v);
        if (v < 0.5 && !n->start) put(t, ", fontcolor=white");
    }
    if (n->start) put(t, ", fontcolor=red, penwidth=2");
    put(t, "];\n");
}

static void put_label(text *t, const dot_walk *w, const dot_edge *e)
{
    char name[RCGC_REF_NAME_SIZE];
    put(t, " [label=\"");
    put_escaped(t, rcgc__ref_name(w->nodes[e->from].obj, w->nodes[e->to].obj, e->at, name,
                                  sizeof name));
    put(t, "\"];\n");
}

static void put_graph(text *t, const dot_walk *w, unsigned max_depth, unsigned flags)
{
    bool back = flags & RCGC_DOT_REFERRERS;
    put(t, "digraph ObjectGraph {\n"
           "  node[shape=box, style=filled, fillcolor=white];\n");
    for (size_t i = 0; i < w->nnodes; i++) {
        put(t, "  o%zu ", i);
        put_node(t, &w->nodes[i], max_depth, flags);
    }
    for (size_t e = 0; e < w->nedges; e++) {
        put(t, "  o%zu -> o%zu", w->edges[e].from, w->edges[e].to);
        put_label(t, w, &w->edges[e]);
    }
    for (size_t i = 0; i < w->nnodes; i++) {
        size_t more = w->nodes[i].more;
        if (!more) continue;
        put(t, "  o%zu_more [label=\"%zu more %s\", color=red, fontcolor=red, fontsize=10];\n",
            i, more, back ? (more == 1 ? "referrer" : "referrers")
                          : (more == 1 ? "reference" : "references"));
        if (back)
            put(t, "  o%zu_more -> o%zu [color=red, style=dotted];\n", i, i);
        else
            put(t, "  o%zu -> o%zu_more [color=red, style=dotted];\n", i, i);
    }
    put(t, "}\n");
}

/* ---- the entry point ----------------------------------------------------------------- */

static int write_all(FILE *f, const text *t)
{
    errno = 0;
    size_t written = fwrite(t->buf, 1, t->len, f);
    if (written == t->len && fflush(f) == 0) return 0;
    if (errno == 0) errno = EIO;   /* ferror says so, without a reason */
    return -1;
}

int rcgc_write_dot(FILE *f, void *const *objs, size_t n, unsigned max_depth, unsigned flags)
{
    unsigned direction = flags & (RCGC_DOT_REFERRERS | RCGC_DOT_REFERENTS);
    if (!f || (n > 0 && !objs) ||
        (direction != RCGC_DOT_REFERRERS && direction != RCGC_DOT_REFERENTS) ||
        (flags & ~(RCGC_DOT_REFERRERS | RCGC_DOT_REFERENTS | RCGC_DOT_ADDRESSES))) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!objs[i]) {
            errno = EINVAL;
            return -1;
        }
        RCGC_CHECK_OBJECT(objs[i], "rcgc_write_dot");
    }
    rcgc_state *S = state();
    dot_walk w = {0};
    for (size_t i = 0; i < n && !w.failed; i++) {
        size_t k = add_node(&w, objs[i], 0);
        if (k != SIZE_MAX) w.nodes[k].start = true;
    }
    w.level_hi = w.nnodes;
    for (unsigned depth = 0; depth < max_depth && w.level_lo < w.level_hi && !w.failed; depth++) {
        if (direction == RCGC_DOT_REFERRERS)
            referrers_of_level(S, &w, depth + 1);
        else
            referents_of_level(&w);
        w.level_lo = w.level_hi;
        w.level_hi = w.nnodes;
    }
    if (!w.failed) count_and_mark(S, &w);
    text t = {NULL, 0, 0, false};
    if (!w.failed) put_graph(&t, &w, max_depth, flags);
    ptrmap_free(&w.index);
    rcgc__own_free(w.nodes);
    rcgc__own_free(w.edges);
    rcgc__own_free(w.cands);
    int r;
    if (w.failed || t.failed) {
        errno = ENOMEM;
        r = -1;
    } else {
        r = write_all(f, &t);
    }
    rcgc__own_free(t.buf);
    return r;
}
