/*
 * The rcgc side of the conformance test: runs the programs that interp.py
 * runs in CPython and prints the same log (README.md has the format).
 *
 * Usage: conformance_interp [FILE]   (programs end with a line "end")
 *
 * Nodes are rcgc objects with three slots; each slot holds a node, a weakref
 * or nothing.  The finalizers and weakref callbacks mirror the methods of the
 * Python classes in interp.py line for line, so that any difference in the
 * logs comes from the memory model and not from the two interpreters.
 */
#include "rcgc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NVARS = 8, NWREFS = 8, NSLOTS = 3, TOKEN_MAX = 48 };

typedef struct node {
    void *slot[NSLOTS];     /* node, weakref or NULL */
    long id;
} node;

typedef struct op {
    char name[8];
    int a, b, c;            /* small integer arguments */
    char kind;              /* node kind (new) or callback kind (wref) */
    long serial;            /* id of the node or weakref it creates */
    char text[64];          /* the line, fields joined by one space */
} op;

typedef struct tokens {
    char (*item)[TOKEN_MAX];
    size_t len, cap;
} tokens;

/* Program state, reset before each program. */
static void *vars[NVARS];
static void *wrefs[NWREFS];
static long *wref_target;       /* weakref id -> node id */
static unsigned char *finalized; /* node id -> its finalizer ran */
static int *cb_seq;             /* node id -> callbacks for it in this step */
static node **live;             /* node id -> the node, NULL once destroyed */
static long nnodes;
static void **resurrected;
static size_t nresurrected;
static bool auto_mode;
static bool in_collect;
static tokens events, all_events;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        perror("conformance_interp");
        exit(2);
    }
    return p;
}

static void tokens_add(tokens *t, const char *fmt, ...)
{
    if (t->len == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->item = realloc(t->item, t->cap * sizeof *t->item);
        if (!t->item) {
            perror("conformance_interp");
            exit(2);
        }
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->item[t->len++], TOKEN_MAX, fmt, ap);
    va_end(ap);
}

static int compare_tokens(const void *x, const void *y)
{
    return strcmp(x, y);
}

/* Sorted, space-separated, after `prefix`; only tokens starting with `first`
   if it is not 0, or only those not starting with 'C' if it is '-'. */
static void print_tokens(FILE *out, const char *prefix, tokens *t, char first)
{
    qsort(t->item, t->len, sizeof *t->item, compare_tokens);
    fputs(prefix, out);
    bool any = false;
    for (size_t i = 0; i < t->len; i++) {
        char c = t->item[i][0];
        if ((first == '-' && c == 'C') || (first && first != '-' && c != first))
            continue;
        fprintf(out, "%s%s", any ? " " : "", t->item[i]);
        any = true;
    }
    fputc('\n', out);
}

/* ---- nodes ---------------------------------------------------------------- */

static int node_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    node *n = self;
    for (int i = 0; i < NSLOTS; i++)
        RCGC_VISIT(n->slot[i]);
    return 0;
}

static void node_clear(void *self)
{
    node *n = self;
    for (int i = 0; i < NSLOTS; i++)
        RCGC_CLEAR(n->slot[i]);
}

static void node_destroy(void *self)
{
    node *n = self;
    if (n->id > 0 && n->id <= nnodes)
        live[n->id] = NULL;
}

static void note_finalizer(char tag, long id)
{
    finalized[id] = 1;
    tokens_add(&events, "%c%ld", tag, id);
    if (auto_mode)
        tokens_add(&all_events, "%c%ld", tag, id);
}

static void finalize_plain(void *self)
{
    note_finalizer('F', ((node *)self)->id);
}

static void finalize_resurrect(void *self)
{
    note_finalizer('R', ((node *)self)->id);
    rcgc_incref(self);
    resurrected[nresurrected++] = self;
}

static void finalize_suicide(void *self)
{
    note_finalizer('S', ((node *)self)->id);
    node_clear(self);
}

static const rcgc_type node_types[] = {
    {.name = "node", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear,
     .destroy = node_destroy},
    {.name = "finnode", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear,
     .finalize = finalize_plain, .destroy = node_destroy},
    {.name = "resnode", .size = sizeof(node), .traverse = node_traverse, .clear = node_clear,
     .finalize = finalize_resurrect, .destroy = node_destroy},
    {.name = "suicidenode", .size = sizeof(node), .traverse = node_traverse,
     .clear = node_clear, .finalize = finalize_suicide, .destroy = node_destroy},
};
static const char node_kinds[] = "pfrs";

static bool is_node(const void *obj)
{
    const rcgc_type *t = rcgc_typeof(obj);
    for (size_t i = 0; i < sizeof node_types / sizeof node_types[0]; i++)
        if (t == &node_types[i])
            return true;
    return false;
}

static bool is_resurrector(const void *obj)
{
    return rcgc_typeof(obj) == &node_types[2];
}

static void node_name(char *buf, const void *obj)
{
    if (obj)
        snprintf(buf, TOKEN_MAX, "n%ld", ((const node *)obj)->id);
    else
        strcpy(buf, "none");
}

/* ---- weakref callbacks ---------------------------------------------------- */

/* Logs a callback; false if it is not to be logged (and then must have no
   side effect either, since rcgc may not have run it at all). */
static bool note_callback(void *wr, long wid)
{
    long tid = wref_target[wid];
    /* Every weakref to a dying object must be cleared before the first
       callback runs: count the table's weakrefs that still reach it. */
    int alive = 0;
    for (int i = 0; i < NWREFS; i++) {
        if (!wrefs[i] || wrefs[i] == wr)
            continue;
        void *obj = rcgc_weakref_get(wrefs[i]);
        if (obj && ((node *)obj)->id == tid)
            alive++;
        rcgc_decref(obj);
    }
    if (auto_mode) {
        if (alive)
            tokens_add(&all_events, "C%ld!%d", wid, alive);
        else
            tokens_add(&all_events, "C%ld", wid);
        return true;
    }
    int seq = cb_seq[tid]++;
    char tok[TOKEN_MAX];
    snprintf(tok, sizeof tok, "C%ld:n%ld@%d%s", wid, tid, seq,
             finalized[tid] ? "f" : "");
    if (alive)
        tokens_add(&events, "%s!%d", tok, alive);
    else
        tokens_add(&events, "%s", tok);
    return true;
}

/* The callbacks of kinds c, d, v and g, as in interp.py. */
static void on_clear(void *wr, void *arg)
{
    note_callback(wr, (long)(intptr_t)arg);
}

static void on_clear_drop(void *wr, void *arg)
{
    note_callback(wr, (long)(intptr_t)arg);
    for (int i = 0; i < NWREFS; i++) {
        if (wrefs[i] == wr) {
            wrefs[i] = NULL;
            rcgc_decref(wr);
        }
    }
}

static void set_var(int v, void *obj);

static void on_clear_drop_var(void *wr, void *arg)
{
    long wid = (long)(intptr_t)arg;
    if (note_callback(wr, wid))
        set_var((int)(wid % NVARS), NULL);
}

static void on_clear_collect(void *wr, void *arg)
{
    long wid = (long)(intptr_t)arg;
    if (note_callback(wr, wid) && in_collect)
        tokens_add(&events, "G%ld:%zu", wid, rcgc_collect(2));
}

static rcgc_weakref_callback_fn callback_of_kind(char kind)
{
    switch (kind) {
    case 'c': return on_clear;
    case 'd': return on_clear_drop;
    case 'v': return on_clear_drop_var;
    case 'g': return on_clear_collect;
    default: return NULL;
    }
}

/* ---- operations ----------------------------------------------------------- */

static void set_var(int v, void *obj)  /* takes the reference */
{
    void *old = vars[v];
    vars[v] = obj;
    rcgc_decref(old);
}

static void set_slot(node *n, int s, void *obj)  /* borrows obj */
{
    void *old = n->slot[s];
    if (obj)
        rcgc_incref(obj);
    n->slot[s] = obj;
    rcgc_decref(old);
}

/* As Python's list.clear(): empty the list, then drop the items from the
   end; what their finalizers resurrect meanwhile stays in the list. */
static void clear_resurrected(void)
{
    size_t n = nresurrected;
    void **items = xcalloc(n, sizeof *items);
    memcpy(items, resurrected, n * sizeof *items);
    nresurrected = 0;
    while (n)
        rcgc_decref(items[--n]);
    free(items);
}

static node *new_node(char kind, long id)
{
    node *n = rcgc_new(&node_types[strchr(node_kinds, kind) - node_kinds]);
    if (!n) {
        perror("rcgc_new");
        exit(2);
    }
    n->id = id;
    live[id] = n;
    return n;
}

static bool allowed_in_auto(const char *name)
{
    static const char *const names[] = {"new", "link", "unlink", "copy",
                                        "drop", "load", "wref", "collect",
                                        "chain", "ring"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i]))
            return true;
    return false;
}

/* interp.py's step() keeps what it works on in local variables, which
   CPython releases only when step() returns, in the order the function first
   names them (n, head, tail, x, w).  A local can be the last reference to a
   node (a callback dropped the variable), so the order of that release shows
   in the log: hold the same references here and release them the same way. */
enum { LOCAL_N, LOCAL_HEAD, LOCAL_TAIL, LOCAL_X, LOCAL_W, NLOCALS };
static void *locals[NLOCALS];

static void hold(int local, void *obj)
{
    if (obj)
        rcgc_incref(obj);
    void *old = locals[local];
    locals[local] = obj;
    rcgc_decref(old);
}

static void release_locals(void)
{
    for (int i = 0; i < NLOCALS; i++) {
        void *obj = locals[i];
        locals[i] = NULL;
        rcgc_decref(obj);
    }
}

static void run_op(const op *o, char *res);

/* Runs one operation and writes what to log into res. */
static void step(const op *o, char *res)
{
    run_op(o, res);
    release_locals();
}

static void run_op(const op *o, char *res)
{
    const char *name = o->name;
    int a = o->a, b = o->b, c = o->c;
    strcpy(res, "ok");
    if (auto_mode && !allowed_in_auto(name)) {
        strcpy(res, "skip");
    } else if (!strcmp(name, "new")) {
        node *n = new_node(o->kind, o->serial);
        hold(LOCAL_N, n);
        set_var(a, n);
        snprintf(res, TOKEN_MAX, "n%ld", o->serial);
    } else if (!strcmp(name, "chain") || !strcmp(name, "ring")) {
        /* first -> first+1 -> ... -> last (-> first for a ring), through s0 */
        if (auto_mode && (o->kind == 'r' || o->kind == 'm')) {
            strcpy(res, "skip");
            return;
        }
        long first = o->serial;
        node *head = NULL, *tail = NULL;
        for (long i = first + b - 1; i >= first; i--) {
            char kind = o->kind == 'm' ? node_kinds[i % 4] : o->kind;
            node *x = new_node(kind, i);
            x->slot[0] = head;      /* takes over the reference to head */
            if (!tail)
                tail = x;
            head = x;
        }
        if (name[0] == 'r') {
            rcgc_incref(head);
            tail->slot[0] = head;
        }
        hold(LOCAL_HEAD, head);
        hold(LOCAL_TAIL, tail);
        hold(LOCAL_X, head);
        set_var(a, head);
        snprintf(res, TOKEN_MAX, "n%ld..n%ld", first, first + b - 1);
    } else if (!strcmp(name, "link") || !strcmp(name, "unlink")) {
        node *n = vars[a];
        hold(LOCAL_N, n);
        if (!n || (auto_mode && is_resurrector(n)))
            strcpy(res, "skip");
        else
            set_slot(n, b, name[0] == 'l' ? vars[c] : NULL);
    } else if (!strcmp(name, "copy")) {
        if (vars[a])
            rcgc_incref(vars[a]);
        set_var(b, vars[a]);
    } else if (!strcmp(name, "drop")) {
        set_var(a, NULL);
    } else if (!strcmp(name, "load")) {
        node *n = vars[a];
        hold(LOCAL_N, n);
        void *x = n ? n->slot[b] : NULL;
        if (n)
            hold(LOCAL_X, x);
        if (!n || (x && !is_node(x))) {
            strcpy(res, "skip");
        } else {
            node_name(res, x);
            if (x)
                rcgc_incref(x);
            set_var(c, x);
        }
    } else if (!strcmp(name, "wref")) {
        node *n = vars[b];
        hold(LOCAL_N, n);
        if (!n || (auto_mode && (wrefs[a] || is_resurrector(n) || !strchr("nc", o->kind)))) {
            strcpy(res, "skip");
        } else {
            void *w = rcgc_weakref_new(n, callback_of_kind(o->kind),
                                       (void *)(intptr_t)o->serial);
            if (!w) {
                perror("rcgc_weakref_new");
                exit(2);
            }
            wref_target[o->serial] = n->id;
            hold(LOCAL_W, w);
            void *old = wrefs[a];
            wrefs[a] = w;
            rcgc_decref(old);
            snprintf(res, TOKEN_MAX, "w%ld", o->serial);
        }
    } else if (!strcmp(name, "wdrop")) {
        void *old = wrefs[a];
        if (!old) {
            strcpy(res, "skip");
        } else {
            wrefs[a] = NULL;
            rcgc_decref(old);
        }
    } else if (!strcmp(name, "wget") || !strcmp(name, "wpeek")) {
        hold(LOCAL_W, wrefs[a]);
        if (!wrefs[a]) {
            strcpy(res, "skip");
        } else {
            void *x = rcgc_weakref_get(wrefs[a]);
            hold(LOCAL_X, x);
            node_name(res, x);
            if (name[1] == 'g')
                set_var(b, x);
            else
                rcgc_decref(x);
        }
    } else if (!strcmp(name, "wstore")) {
        hold(LOCAL_N, vars[b]);
        hold(LOCAL_W, wrefs[a]);
        if (!vars[b] || !wrefs[a])
            strcpy(res, "skip");
        else
            set_slot(vars[b], c, wrefs[a]);
    } else if (!strcmp(name, "wcount")) {
        if (!vars[a])
            strcpy(res, "skip");
        else
            snprintf(res, TOKEN_MAX, "%zu", rcgc_weakref_count(vars[a]));
    } else if (!strcmp(name, "collect")) {
        in_collect = true;
        size_t found = rcgc_collect(a);
        in_collect = false;
        snprintf(res, TOKEN_MAX, "%zu", found);
    } else if (!strcmp(name, "rc")) {
        if (!vars[a])
            strcpy(res, "skip");
        else
            snprintf(res, TOKEN_MAX, "%zu", rcgc_refcount(vars[a]));
    } else if (!strcmp(name, "fin")) {
        if (!vars[a])
            strcpy(res, "skip");
        else
            strcpy(res, rcgc_is_finalized(vars[a]) ? "1" : "0");
    } else if (!strcmp(name, "count")) {
        size_t cnt[3];
        rcgc_get_count(cnt);
        snprintf(res, TOKEN_MAX, "%zu,%zu,%zu", cnt[0], cnt[1], cnt[2]);
    } else if (!strcmp(name, "saveall")) {
        rcgc_set_debug(a ? RCGC_DEBUG_SAVEALL : 0);
    } else if (!strcmp(name, "garbage")) {
        snprintf(res, TOKEN_MAX, "%zu", rcgc_garbage_count());
    } else if (!strcmp(name, "gclear")) {
        rcgc_garbage_clear();
    } else if (!strcmp(name, "rpop")) {
        if (!nresurrected) {
            strcpy(res, "skip");
        } else {
            void *x = resurrected[--nresurrected];   /* list.pop() */
            hold(LOCAL_X, x);
            node_name(res, x);
            set_var(a, x);
        }
    } else if (!strcmp(name, "rclear")) {
        clear_resurrected();
    }
}

static void end_step(FILE *out, const char *label, const char *res)
{
    if (events.len) {
        fprintf(out, "%s -> %s", label, res);
        print_tokens(out, " | ", &events, 0);
    } else {
        fprintf(out, "%s -> %s\n", label, res);
    }
    events.len = 0;
    for (long i = 0; i <= nnodes; i++)
        cb_seq[i] = 0;
}

/* ---- programs ------------------------------------------------------------- */

struct op_spec {
    const char *name;
    int nint;               /* integer arguments */
    int limit[3];
    const char *kinds;      /* a trailing kind letter, if any */
};

static const struct op_spec op_specs[] = {
    {"new", 1, {NVARS}, "pfrs"},       {"link", 3, {NVARS, NSLOTS, NVARS}, NULL},
    {"unlink", 2, {NVARS, NSLOTS}, NULL}, {"copy", 2, {NVARS, NVARS}, NULL},
    {"drop", 1, {NVARS}, NULL},        {"load", 3, {NVARS, NSLOTS, NVARS}, NULL},
    {"wref", 2, {NWREFS, NVARS}, "ncdvg"}, {"wdrop", 1, {NWREFS}, NULL},
    {"wget", 2, {NWREFS, NVARS}, NULL}, {"wpeek", 1, {NWREFS}, NULL},
    {"wstore", 3, {NWREFS, NVARS, NSLOTS}, NULL}, {"wcount", 1, {NVARS}, NULL},
    {"collect", 1, {3}, NULL},         {"rc", 1, {NVARS}, NULL},
    {"fin", 1, {NVARS}, NULL},         {"count", 0, {0}, NULL},
    {"saveall", 1, {2}, NULL},         {"garbage", 0, {0}, NULL},
    {"gclear", 0, {0}, NULL},          {"rpop", 1, {NVARS}, NULL},
    {"rclear", 0, {0}, NULL},          {"chain", 2, {NVARS, 61}, "pfrsm"},
    {"ring", 2, {NVARS, 61}, "pfrsm"},
};

static void die_bad_line(const char *line)
{
    fprintf(stderr, "conformance_interp: bad line: %s\n", line);
    exit(2);
}

/* Parses one operation line into o; false for a blank or comment line. */
static bool parse_op(char *line, op *o, long *node_serial, long *wref_serial)
{
    char *field[6];
    int nf = 0;
    char copy[256];
    snprintf(copy, sizeof copy, "%s", line);
    for (char *tok = strtok(copy, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
        if (nf == 6)
            die_bad_line(line);
        field[nf++] = tok;
    }
    if (!nf || field[0][0] == '#')
        return false;
    const struct op_spec *spec = NULL;
    for (size_t i = 0; i < sizeof op_specs / sizeof op_specs[0]; i++)
        if (!strcmp(field[0], op_specs[i].name))
            spec = &op_specs[i];
    if (!spec || nf != 1 + spec->nint + (spec->kinds ? 1 : 0))
        die_bad_line(line);
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", spec->name);
    int *arg[3] = {&o->a, &o->b, &o->c};
    for (int i = 0; i < spec->nint; i++) {
        char *end;
        long x = strtol(field[1 + i], &end, 10);
        if (*end || x < 0 || x >= spec->limit[i])
            die_bad_line(line);
        *arg[i] = (int)x;
    }
    if (spec->kinds) {
        const char *k = field[1 + spec->nint];
        if (strlen(k) != 1 || !strchr(spec->kinds, k[0]))
            die_bad_line(line);
        o->kind = k[0];
    }
    if (!strcmp(o->name, "new")) {
        o->serial = ++*node_serial;
    } else if (!strcmp(o->name, "chain") || !strcmp(o->name, "ring")) {
        if (o->b < 1)
            die_bad_line(line);
        o->serial = *node_serial + 1;
        *node_serial += o->b;
    }
    else if (!strcmp(o->name, "wref"))
        o->serial = ++*wref_serial;
    size_t len = 0;
    for (int i = 0; i < nf; i++)
        len += (size_t)snprintf(o->text + len, sizeof o->text - len, "%s%s",
                                i ? " " : "", field[i]);
    return true;
}

static void drop_roots(void)
{
    for (int i = 0; i < NVARS; i++)
        set_var(i, NULL);
    for (int i = 0; i < NWREFS; i++) {
        void *w = wrefs[i];
        wrefs[i] = NULL;
        rcgc_decref(w);
    }
    clear_resurrected();
    rcgc_garbage_clear();
}

static void print_alive(FILE *out, const char *prefix)
{
    fputs(prefix, out);
    bool any = false;
    for (long i = 1; i <= nnodes; i++) {
        if (live[i]) {
            fprintf(out, "%sn%ld", any ? " " : "", i);
            any = true;
        }
    }
    fputc('\n', out);
}

static void run_program(op *ops, size_t nops, long node_count, long wref_count,
                        const size_t thresholds[3], FILE *out)
{
    nnodes = node_count;
    wref_target = xcalloc((size_t)wref_count + 1, sizeof *wref_target);
    finalized = xcalloc((size_t)nnodes + 1, 1);
    cb_seq = xcalloc((size_t)nnodes + 1, sizeof *cb_seq);
    live = xcalloc((size_t)nnodes + 1, sizeof *live);
    resurrected = xcalloc((size_t)nnodes + 1, sizeof *resurrected);
    nresurrected = 0;
    events.len = all_events.len = 0;

    rcgc_disable();
    rcgc_set_debug(0);
    rcgc_set_threshold(700, 10, 10);
    rcgc_gen_stats stats_before[3];
    for (int g = 0; g < 3; g++)
        rcgc_get_stats(g, &stats_before[g]);
    rcgc_collect(2);
    if (auto_mode) {
        rcgc_set_threshold(thresholds[0], thresholds[1], thresholds[2]);
        rcgc_enable();
    }
    char res[TOKEN_MAX], label[96];
    for (size_t i = 0; i < nops; i++) {
        step(&ops[i], res);
        if (!auto_mode) {
            snprintf(label, sizeof label, "%zu: %s", i + 1, ops[i].text);
            end_step(out, label, res);
        }
    }
    rcgc_disable();
    if (auto_mode) {
        rcgc_collect(2);
        print_tokens(out, "finalizers: ", &all_events, '-');
        print_tokens(out, "callbacks: ", &all_events, 'C');
    } else {
        snprintf(res, sizeof res, "%zu", rcgc_collect(2));
        end_step(out, "final: collect 2", res);
    }
    print_alive(out, "alive: ");
    if (!auto_mode) {
        fputs("stats:", out);
        for (int g = 0; g < 3; g++) {
            rcgc_gen_stats now;
            rcgc_get_stats(g, &now);
            fprintf(out, " %zu,%zu,%zu", now.collections - stats_before[g].collections,
                    now.collected - stats_before[g].collected,
                    now.uncollectable - stats_before[g].uncollectable);
        }
        fputc('\n', out);
    }

    rcgc_set_debug(0);
    /* Each round frees one more link of a chain of resurrectors. */
    for (int round = 0; round < 10000; round++) {
        drop_roots();
        rcgc_collect(2);
        if (!nresurrected && !rcgc_garbage_count())
            break;
    }
    bool leaked = false;
    for (long i = 1; i <= nnodes; i++)
        leaked |= live[i] != NULL;
    if (leaked)
        print_alive(out, "leaked after teardown: ");
    fputs("end\n", out);
    fflush(out);
    if (leaked)
        exit(3);   /* its nodes would pollute the next program; run.py restarts */
    free(live);
    live = NULL;
    nnodes = 0;
    free(wref_target);
    free(finalized);
    free(cb_seq);
    free(resurrected);
    wref_target = NULL;
    finalized = NULL;
    cb_seq = NULL;
    resurrected = NULL;
}

int main(int argc, char **argv)
{
    FILE *in = stdin;
    if (argc > 1 && !(in = fopen(argv[1], "r"))) {
        perror(argv[1]);
        return 2;
    }
    size_t cap = 64, nops = 0;
    op *ops = xcalloc(cap, sizeof *ops);
    long node_serial = 0, wref_serial = 0;
    bool have_mode = false, any_line = false;
    size_t thresholds[3] = {700, 10, 10};
    char line[256];
    while (fgets(line, sizeof line, in)) {
        char first[16] = "";
        sscanf(line, "%15s", first);
        if (!strcmp(first, "end")) {
            if (!have_mode)
                die_bad_line("end (no mode line before it)");
            run_program(ops, nops, node_serial, wref_serial, thresholds, stdout);
            nops = 0;
            node_serial = wref_serial = 0;
            have_mode = any_line = false;
        } else if (!strcmp(first, "mode")) {
            char kind[16] = "";
            int n = sscanf(line, "mode %15s %zu %zu %zu", kind, &thresholds[0],
                           &thresholds[1], &thresholds[2]);
            if (!strcmp(kind, "manual") && n == 1)
                auto_mode = false;
            else if (!strcmp(kind, "auto") && n == 4)
                auto_mode = true;
            else
                die_bad_line(line);
            have_mode = true;
        } else {
            if (nops == cap) {
                cap *= 2;
                ops = realloc(ops, cap * sizeof *ops);
                if (!ops) {
                    perror("conformance_interp");
                    return 2;
                }
            }
            if (parse_op(line, &ops[nops], &node_serial, &wref_serial))
                nops++;
            any_line |= first[0] && first[0] != '#';
        }
    }
    if (any_line) {
        if (!have_mode)
            die_bad_line("(no mode line)");
        run_program(ops, nops, node_serial, wref_serial, thresholds, stdout);
    }
    free(ops);
    free(events.item);
    free(all_events.item);
    return 0;
}
