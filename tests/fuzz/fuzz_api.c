/*
 * rcgc's own fuzzer: each input is a program of operations over the whole
 * public API, run against a shadow model that is checked after every step.
 *
 * The program works on a table of NSLOTS handles; each filled slot owns one
 * strong reference.  Operations take 4 input bytes each (opcode and three
 * operands, see the OP_ list), so any byte string is a valid program and
 * libFuzzer's mutations stay meaningful.  User code that rcgc calls back
 * (finalizers, clears, weakref callbacks, gc callbacks, the allocation hook,
 * the output sink, inspection callbacks) runs an action chosen by the input
 * when the object or callback was made: decref a handle, allocate, collect,
 * append, make a weakref, register a callback, track, untrack...  so the
 * re-entrant paths are exercised as often as the plain ones.
 *
 * What the model checks (fail() aborts with a line naming the mismatch):
 *  - every slot's object is alive: rcgc_refcount >= the references the
 *    program holds on it (slots and the pins an operation holds on its
 *    arguments), and rcgc_typeof is the type it had when acquired;
 *  - lists, dicts and nodes the program holds have exactly the items the
 *    program put there, in order (a shadow copy follows every call,
 *    including those made from callbacks); clear, finalize and destroy never
 *    run on an object the program holds, a finalizer at most once;
 *  - weakrefs: a weakref whose referent the program holds returns it; one
 *    that returned NULL keeps doing so; a weakref held since its creation
 *    whose referent died has called back, exactly once; rcgc_weakref_count
 *    counts at least the held weakrefs; rcgc_weakref_arg reads back the arg;
 *    an owned arg's release runs exactly once, never while the program
 *    holds the weakref, never before its callback, and at once when the
 *    call fails;
 *  - the *_steal stores leave no reference behind on any path (a leak
 *    shows in the memory check at the end, an extra release as a crash);
 *  - walks (rcgc_list_next, rcgc_dict_next) with an action run between two
 *    steps: each step yields the shadow's next entry while the model saw no
 *    change of that container since the walk started; after one, the walk
 *    ends with EAGAIN; a walk with no change ends with errno 0 after
 *    exactly the shadow's entries;
 *  - every failed call returned its documented error: NULL/-1 with errno
 *    ENOMEM only when the allocation hook refused an allocation during the
 *    call, EINVAL, ERANGE, ENOENT, EBUSY where the header says so;
 *  - collections: rcgc_collect runs unless one is running (then 0 + EBUSY),
 *    returns what its gc callbacks report, and updates rcgc_get_stats; gc
 *    callbacks see START and STOP in pairs;
 *  - the control surface reads back what was set (threshold, policy, debug flags,
 *    enabled), and every debug line reaching the sink is one whole line;
 *  - stack: no callback runs deeper than STACK_LIMIT, even while a chain of
 *    2,048 objects is freed;
 *  - the tools of rcgc_tools.h change nothing the program sees (counts,
 *    rcgc_get_count, generation sizes around each call), print whole lines,
 *    and answer as the model says: census per node type, holders include
 *    every tracked handle, why_alive of a held object succeeds, leak checks
 *    count at least the live nodes made since, DOT text is a digraph with
 *    balanced braces, traced memory <= memory in use, a snapshot dumped and
 *    loaded prints the same; every tool is stopped at the end of the input;
 *  - the optional type hooks (types 3 and 8): describe and name_ref run on
 *    live objects only, name_ref is given the visit of the reference it
 *    names, and their text (line breaks, more than fits) reaches the sinks
 *    as whole lines;
 *  - memory: at the end of each input everything is released, garbage
 *    cleared and rcgc_collect(2) run (SAVEALL off); then no node of ours
 *    may be left and rcgc_memory_in_use() must equal its value before the
 *    input.  Thresholds, debug flags, hook, callbacks, output and enabled
 *    are restored, so inputs are independent.
 *  - heaps: every input runs in a heap of its own (rcgc_heap_new + enter),
 *    destroyed at the end: empty after the careful end above, or, when the
 *    input says so (opcode heap_destroy), straight away on whatever the
 *    operations left, user code acting during the teardown
 *    (end_by_destroy; in its step 5, where the program's references
 *    dangle, destroys only untrack and track nodes: move_in_step_5).  Then every node was destroyed once, every weakref
 *    callback owed ran once, the thread is in the default heap and that
 *    heap's memory is unchanged.  User code and heaps (ACT_HEAP): from
 *    every callback rcgc_heap_enter and rcgc_heap_destroy are refused with
 *    EBUSY, during a teardown too; rcgc_heap_new works, and the heap made
 *    is filled and destroyed at the end of the input.  From the loop body
 *    of a walk (op_walk), which rcgc does not run, the thread leaves the
 *    heap and comes back.
 *
 * RELIABILITY.md ("Fuzzing") has the whole list and the figures.
 *
 * Built two ways: with -DRCGC_FUZZ_LIBFUZZER it is a libFuzzer target
 * (cmake -DRCGC_FUZZ=ON, scripts/fuzz.sh); without, main() below replays
 * corpus files and directories (CTest's fuzz_corpus_replay, valgrind).
 *
 * RCGC_FUZZ_SKIP=op,op,... (opcode numbers) skips operations, for triage of
 * a known crash while others are hunted; the committed runs skip nothing.
 * RCGC_FUZZ_TOOL_ECHO=1 copies every line the tools print to stderr.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rcgc.h"
#include "rcgc_tools.h"

#define NSLOTS 16
#define MAX_OPS 512          /* operations per input */
#define MAX_ACTIONS 256      /* re-entrant actions per input */
#define MAX_DEPTH 3          /* nesting of re-entrant actions */
#define MAX_PINS 64
#define LIST_MAX 48          /* no append starts on a list this long */
#define NKEYS 8
#define NPAIRS 8             /* gc callback (fn, arg) pairs */
#define MAX_WEAK_CB 256      /* weakrefs with callbacks per input */
#define MAX_KEEPERS 64
#define MAX_CHAIN 2048       /* links of a long chain */
/* How deep user code called by rcgc may find the stack, from the top of an
   input: every deallocation path runs in bounded stack, however long the
   chain it frees.  Measured (RCGC_FUZZ_STACK=1 prints it): 32 KiB at most
   in the ASan + RCGC_DEBUG build, 9 KiB in gcc Release; before issue 6's
   fixes a chain of 2,048 objects freed through weakref callbacks went
   720 KiB deep. */
#define STACK_LIMIT (256 * 1024)

/* ---- failure ---------------------------------------------------------------- */

static int cur_op = -1;
static const char *cur_name = "setup";
static int depth;            /* nesting of re-entrant actions, 0 at top level */
static int loop_body_depth = -1;   /* the depth of op_walk's action, which the
                                      program runs, not rcgc */

__attribute__((noreturn, format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz_api: model mismatch: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (operation #%d %s, action depth %d)\n", cur_op, cur_name, depth);
    fflush(stderr);
    abort();
}

static const char *stack_base;
static size_t stack_deepest;

/* Called from every callback: how deep are we? */
static void stack_check(void)
{
    char here;
    size_t used = (size_t)(stack_base - &here);
    if (used > stack_deepest) stack_deepest = used;
    if (used > STACK_LIMIT) fail("user code called %zu KiB deep into the stack", used / 1024);
}

/* ---- the types of our objects --------------------------------------------------- */

typedef struct fnode {
    void *slot[3];
    struct fnode *reg_prev, *reg_next;  /* registry of live nodes */
    uint8_t fin_action, fin_arg, clear_action, clear_arg;
    bool fin_ran;                       /* its finalizer has been called */
    bool destroyed;                     /* its destroy has been called */
    uint32_t serial;                    /* order of making, from 1 */
    uint32_t trace_session;             /* tracing session that made it, 0: none */
} fnode;

enum { T_TRAVERSE = 1, T_CLEAR = 2, T_FINALIZE = 4, NTYPES = 9 };

static fnode *registry;        /* every fnode not yet destroyed */
static size_t registry_len;
/* The input ends in rcgc_heap_destroy on whatever it left: teardown runs
   finalize, clear and destroy on what the program still holds, and destroy
   at the count of its choice (end_by_destroy). */
static bool destroying;
static bool ending_survivors(void);   /* step 5 has begun (see below) */
static int in_teardown;        /* rcgc_heap_destroy calls of ours running */
static rcgc_heap *fuzz_heap;   /* each input runs in a heap of its own */
static rcgc_heap *outer_heap;  /* the default heap, which the fuzzer never uses */
static size_t outer_memory;    /* its rcgc_memory_in_use(), which no input changes */

static int node_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    fnode *n = self;
    for (int i = 0; i < 3; i++) RCGC_VISIT(n->slot[i]);
    return 0;
}

static void act(unsigned action, unsigned arg);
static void resurrect(void *self);

static unsigned held(const void *obj);

static void node_clear(void *self)
{
    fnode *n = self;
    if (held(self) && !in_teardown)
        fail("clear of <%s %p>, which the program holds", rcgc_typeof(self)->name, self);
    stack_check();
    for (int i = 0; i < 3; i++) RCGC_CLEAR(n->slot[i]);
    act(n->clear_action, n->clear_arg);
}

static void node_finalize(void *self)
{
    fnode *n = self;
    if (rcgc_refcount(self) < 1) fail("finalizer runs on an object with count 0");
    if (n->fin_ran) fail("finalizer of <%s %p> runs a second time", rcgc_typeof(self)->name, self);
    n->fin_ran = true;
    stack_check();
    if (held(self) && !in_teardown)
        fail("finalizer of <%s %p>, which the program holds", rcgc_typeof(self)->name, self);
    act(n->fin_action, n->fin_arg);
    if (n->fin_arg & 0x80) resurrect(self);
}

static bool is_node(const rcgc_type *t);

/* rcgc.h lets a destroy untrack and track objects: in teardown's step 5
   that moves this node, or one it holds whose destroy is still to come,
   off the round's list; the round must find it again, destroy it once
   and free nothing before every destroy of the round has run. */
static void move_in_step_5(fnode *n)
{
    fnode *target = n;
    void *held_one = n->slot[n->serial % 3];
    if (held_one && is_node(rcgc_typeof(held_one)) && !((fnode *)held_one)->destroyed)
        target = held_one;
    if (!rcgc_typeof(target)->traverse || n->serial % 4 == 0) return;
    rcgc_untrack(target);
    if (n->serial % 4 == 2) rcgc_track(target);
}

static void node_destroy(void *self)
{
    fnode *n = self;
    if (n->destroyed) fail("destroy of <%s %p> runs a second time", rcgc_typeof(self)->name, self);
    n->destroyed = true;
    if ((rcgc_refcount(self) != 0 || held(self)) && !in_teardown)
        fail("destroy of <%s %p> with count %zu", rcgc_typeof(self)->name, self, rcgc_refcount(self));
    stack_check();
    if (destroying && ending_survivors()) move_in_step_5(n);
    for (int i = 0; i < 3; i++) RCGC_CLEAR(n->slot[i]);   /* types without clear */
    if (n->reg_prev) n->reg_prev->reg_next = n->reg_next; else registry = n->reg_next;
    if (n->reg_next) n->reg_next->reg_prev = n->reg_prev;
    registry_len--;
}

/* The describe and name_ref hooks of types 3 and 8, which check what the
   tools pass them (a live object; the visit of the reference named) and
   write what tools must tame: a line break, text longer than the buffer. */
static int node_describe(const void *self, char *buf, size_t size)
{
    const fnode *n = self;
    if (rcgc_refcount(self) < 1) fail("describe called on %p, whose count is 0", self);
    if (size < 64) fail("describe given %zu bytes", size);
    switch (n->serial % 3) {
    case 0: return snprintf(buf, size, "serial %u\nsecond line", (unsigned)n->serial);
    case 1: return snprintf(buf, size, "serial %u %0200d", (unsigned)n->serial, 0);
    default: return snprintf(buf, size, "#%u", (unsigned)n->serial);
    }
}

static int node_name_ref(const void *self, const void *referent, size_t index, char *buf,
                         size_t size)
{
    const fnode *n = self;
    if (rcgc_refcount(self) < 1) fail("name_ref called on %p, whose count is 0", self);
    int at = -1, first = -1;
    size_t seen = 0;
    for (int i = 0; i < 3; i++) {
        if (!n->slot[i]) continue;
        if (seen++ == index) at = i;
        if (first < 0 && n->slot[i] == referent) first = i;
    }
    /* A sink may have changed the slots since the chain was found: then the
       referent is gone and the index names no slot of it. */
    if (first >= 0 && (at < 0 || n->slot[at] != referent))
        fail("name_ref: the reference to %p is not visit %zu of %p", referent, index, self);
    if (at < 0) return 0;
    return n->serial & 1 ? snprintf(buf, size, ".slot[%d]", at)
                         : snprintf(buf, size, ".slot_%d_%0100d", at, 0);
}

/* Types 0-7: every combination of traverse, clear and finalize; destroy for
   all (it unregisters).  Type 8 has a name longer than a debug line.  Types
   3 and 8 have the optional hooks too. */
#define LONG_NAME_X10 "long-name-"
#define LONG_NAME_X100 LONG_NAME_X10 LONG_NAME_X10 LONG_NAME_X10 LONG_NAME_X10 \
    LONG_NAME_X10 LONG_NAME_X10 LONG_NAME_X10 LONG_NAME_X10 LONG_NAME_X10 LONG_NAME_X10
static const rcgc_type node_types[NTYPES] = {
    {.name = "leaf", .size = sizeof(fnode), .destroy = node_destroy},
    {.name = "clearless", .size = sizeof(fnode), .traverse = node_traverse,
     .destroy = node_destroy},
    {.name = "leaf_c", .size = sizeof(fnode), .clear = node_clear, .destroy = node_destroy},
    {.name = "node", .size = sizeof(fnode), .traverse = node_traverse, .clear = node_clear,
     .destroy = node_destroy, .describe = node_describe, .name_ref = node_name_ref},
    {.name = "leaf_del", .size = sizeof(fnode), .finalize = node_finalize,
     .destroy = node_destroy},
    {.name = "clearless_del", .size = sizeof(fnode), .traverse = node_traverse,
     .finalize = node_finalize, .destroy = node_destroy},
    {.name = "leaf_c_del", .size = sizeof(fnode), .clear = node_clear,
     .finalize = node_finalize, .destroy = node_destroy},
    {.name = "node_del", .size = sizeof(fnode), .traverse = node_traverse, .clear = node_clear,
     .finalize = node_finalize, .destroy = node_destroy},
    {.name = LONG_NAME_X100 LONG_NAME_X100 LONG_NAME_X100 LONG_NAME_X100 LONG_NAME_X100
             LONG_NAME_X100,
     .size = sizeof(fnode), .traverse = node_traverse, .clear = node_clear,
     .finalize = node_finalize, .destroy = node_destroy, .describe = node_describe,
     .name_ref = node_name_ref},
};

static int node_type_index(const rcgc_type *t)
{
    for (int i = 0; i < NTYPES; i++)
        if (t == &node_types[i]) return i;
    return -1;
}

static bool is_node(const rcgc_type *t) { return node_type_index(t) >= 0; }

/* ---- handles, pins and shadows ------------------------------------------------- */

typedef struct {
    void *obj;
    const rcgc_type *type;
} handle;

static handle slots[NSLOTS];
static void *pins[MAX_PINS];
static int npins;

enum { SH_LIST = 1, SH_DICT, SH_WEAK, SH_NODE };

typedef struct {
    void *obj;             /* NULL: free */
    int kind;
    size_t len;
    /* list items; dict values in insertion order; node slots.  Appends made by
       callbacks during an append can pass LIST_MAX, by MAX_ACTIONS at most. */
    void *items[LIST_MAX + MAX_ACTIONS + 1];
    int keys[NKEYS];       /* dict keys (indexes into key_text) in insertion order */
    void *referent;        /* weakref: what it was made for (NULL: unknown) */
    bool dead;             /* weakref: returned NULL once */
    bool continuous;       /* weakref: held by the program since its creation */
    bool referent_let_go;  /* weakref: the program stopped holding the referent
                              since (its address may now be another object's) */
    int cb_id;             /* weakref: index into cb_calls, -1 without callback */
    int rel_id;            /* weakref: index into rel_calls if it owns its arg, else -1 */
    unsigned changes;      /* list, dict: changes that move entries, as the model saw them */
} shadow;

static shadow shadows[NSLOTS + MAX_PINS];

static const char *const key_text[NKEYS] = {
    "", "a", "b", "key3", "k4", "x", "y",
    "a-key-longer-than-the-others-so-that-it-needs-its-own-allocation",
};

static unsigned held(const void *obj)
{
    unsigned n = 0;
    for (int i = 0; i < NSLOTS; i++) n += slots[i].obj == obj;
    for (int i = 0; i < npins; i++) n += pins[i] == obj;
    return n;
}

static shadow *shadow_of(const void *obj)
{
    for (size_t i = 0; i < sizeof shadows / sizeof shadows[0]; i++)
        if (shadows[i].obj == obj) return &shadows[i];
    return NULL;
}

/* A shadow for an object the program just came to hold, read from the
   object itself (contents since then are followed call by call). */
static void shadow_start(void *obj, const rcgc_type *t)
{
    int kind = t == &rcgc_list_type ? SH_LIST : t == &rcgc_dict_type ? SH_DICT
             : t == &rcgc_weakref_type ? SH_WEAK : t->traverse && is_node(t) ? SH_NODE : 0;
    if (!kind || shadow_of(obj)) return;
    shadow *s = shadow_of(NULL);
    if (!s) fail("out of shadows");
    memset(s, 0, sizeof *s);
    s->obj = obj;
    s->kind = kind;
    s->cb_id = -1;
    s->rel_id = -1;
    if (kind == SH_LIST) {
        s->len = rcgc_list_len(obj);
        if (s->len > sizeof s->items / sizeof s->items[0])
            fail("list of %zu items, longer than any we build", s->len);
        for (size_t i = 0; i < s->len; i++) s->items[i] = rcgc_list_get(obj, i);
    } else if (kind == SH_DICT) {
        size_t pos = 0;
        const char *k;
        void *v;
        while (rcgc_dict_next(obj, &pos, &k, &v)) {
            int ki = -1;
            for (int j = 0; j < NKEYS; j++)
                if (strcmp(k, key_text[j]) == 0) ki = j;
            if (ki < 0 || s->len >= NKEYS) fail("dict holds a key we never stored: \"%s\"", k);
            s->keys[s->len] = ki;
            s->items[s->len++] = v;
        }
    } else if (kind == SH_NODE) {
        s->len = 3;
        memcpy(s->items, ((fnode *)obj)->slot, sizeof ((fnode *)obj)->slot);
    } else {
        s->referent = rcgc_weakref_peek(obj);
        s->dead = s->referent == NULL;
        s->referent_let_go = !s->referent || !held(s->referent);
    }
}

static void shadow_drop_if_unheld(void *obj)
{
    if (held(obj)) return;
    shadow *s = shadow_of(obj);
    if (s) s->obj = NULL;
    for (size_t i = 0; i < sizeof shadows / sizeof shadows[0]; i++)
        if (shadows[i].obj && shadows[i].kind == SH_WEAK && shadows[i].referent == obj)
            shadows[i].referent_let_go = true;
}

/* Weakrefs with a callback that the program holds during a teardown: each
   must have called back by the time rcgc_heap_destroy returns, unless the
   program let it go meanwhile (then it may die first, silently). */
static struct {
    void *wr;
    int cb_id;
} owed[NSLOTS + MAX_ACTIONS];
static unsigned nowed;

static void owe(void *wr, int cb_id)
{
    for (unsigned i = 0; i < nowed; i++)
        if (owed[i].wr == wr) return;
    if (nowed == sizeof owed / sizeof owed[0]) fail("out of owed callbacks");
    owed[nowed].wr = wr;
    owed[nowed++].cb_id = cb_id;
}

static void owe_no_more(void *wr)
{
    for (unsigned i = 0; i < nowed; i++)
        if (owed[i].wr == wr) owed[i] = owed[--nowed];
}

static int free_slot(void)
{
    for (int i = 0; i < NSLOTS; i++)
        if (!slots[i].obj) return i;
    return -1;
}

/* Take ownership of a new reference: into a free slot, or dropped at once. */
static int acquire(void *obj)
{
    if (!obj) return -1;
    int i = free_slot();
    if (i < 0) {
        rcgc_decref(obj);
        return -1;
    }
    const rcgc_type *t = rcgc_typeof(obj);
    bool fresh = !held(obj);
    slots[i].obj = obj;
    slots[i].type = t;
    /* (during a teardown contents are not followed: clear runs on what the
       program holds) */
    if (fresh && !destroying) shadow_start(obj, t);
    return i;
}

/* Drop the reference slot i owns; the model changes before rcgc_decref runs
   whatever user code the drop triggers. */
static void release(int i)
{
    void *obj = slots[i].obj;
    if (!obj) return;
    slots[i].obj = NULL;
    shadow_drop_if_unheld(obj);
    if (destroying && !held(obj)) owe_no_more(obj);
    rcgc_decref(obj);
}

static void *slot_obj(unsigned b) { return slots[b % NSLOTS].obj; }

/* The object of slot b, or NULL when b names the NULL item (16) or an
   empty slot. */
static void *item_of(unsigned b) { return b % 17 == 16 ? NULL : slots[b % 17].obj; }

/* Pin: a reference of the running operation on its arguments, as a Python
   caller's frame holds its arguments; dropped when the operation ends. */
static void pin(void *obj)
{
    if (!obj) return;
    if (npins == MAX_PINS) fail("out of pins");
    rcgc_incref(obj);
    pins[npins++] = obj;
}

static void unpin_to(int mark)
{
    while (npins > mark) {
        void *obj = pins[--npins];
        shadow_drop_if_unheld(obj);
        if (destroying && !held(obj)) owe_no_more(obj);
        rcgc_decref(obj);
    }
}

static shadow *held_shadow(void *obj, int kind)
{
    shadow *s = obj ? shadow_of(obj) : NULL;
    return s && s->kind == kind ? s : NULL;
}

/* ---- the collection tracker and the errno checks -------------------------------- */

static struct {
    bool in_gc;           /* between a START and its STOP */
    bool after_stop;      /* a STOP seen; the collection may still be returning */
    unsigned starts, stops;
    int gen;
    size_t collected, uncollectable;
} trk;

static void tracker(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)arg;
    if (info->generation < 0 || info->generation > 2)
        fail("gc callback sees generation %d", info->generation);
    if (phase == RCGC_PHASE_START) {
        if (trk.in_gc) fail("a collection started inside a collection");
        if (info->collected || info->uncollectable) fail("START phase with non-zero counts");
        trk.in_gc = true;
        trk.after_stop = false;
        trk.starts++;
        trk.gen = info->generation;
    } else {
        if (!trk.in_gc) fail("STOP without START");
        if (info->generation != trk.gen) fail("STOP for generation %d after START for %d",
                                              info->generation, trk.gen);
        trk.in_gc = false;
        trk.after_stop = true;
        trk.stops++;
        trk.collected = info->collected;
        trk.uncollectable = info->uncollectable;
    }
}

static unsigned refusals;     /* allocations the hook refused, this input */

static void expect_errno(const char *call, int expected)
{
    if (errno != expected)
        fail("%s failed with errno %d (%s), expected %d (%s)", call, errno,
             strerror(errno), expected, strerror(expected));
}

/* A call that failed while allocations may have been refused. */
static void expect_nomem(const char *call, unsigned refusals_before)
{
    expect_errno(call, ENOMEM);
    if (refusals == refusals_before)
        fail("%s failed with ENOMEM though no allocation was refused", call);
}

/* ---- re-entrant actions --------------------------------------------------------- */

enum {
    ACT_NONE, ACT_DECREF, ACT_NEW, ACT_COLLECT, ACT_WEAKREF, ACT_APPEND,
    ACT_DICT_SET, ACT_TRACK, ACT_UNTRACK, ACT_CALLBACK_ADD, ACT_CALLBACK_REMOVE,
    ACT_COPY, ACT_LIST_CLEAR, ACT_DICT_CLEAR, ACT_GARBAGE_CLEAR, ACT_INSPECT,
    ACT_LIST_POP, ACT_DICT_DEL, ACT_FREEZE, ACT_TOOL, ACT_HEAP, NACTIONS
};

/* Teardown's step 5 pins what is left at a count no decref reaches zero
   from, destroys and frees it: the program's references dangle from then
   on, so user code run there (destroy, a weakref's release) acts no more.
   Read while nothing is freed yet: in the round that pins the slots. */
static bool survivors_ending;

static bool ending_survivors(void)
{
    for (int i = 0; i < NSLOTS && !survivors_ending; i++)
        if (slots[i].obj && rcgc_refcount(slots[i].obj) > SIZE_MAX / 8)   /* state.c's PINNED range */
            survivors_ending = true;
    return survivors_ending;
}

static unsigned actions_left;
static unsigned actions_done;  /* this input, for checks that no callback may disturb */
static bool teardown;          /* end of input: callbacks do nothing */
static unsigned skip_ops[2];   /* bitmask of opcodes to skip (RCGC_FUZZ_SKIP) */

static void op_new(unsigned a, unsigned b, unsigned c);
static void op_collect(int gen);
static void op_weakref_new(void *referent, unsigned b, unsigned c, bool owning);
static void op_list_append(void *list, void *item, bool steal);
static void op_list_pop(void *list, size_t i);
static void op_dict_set(void *dict, int key, void *value, bool steal);
static void op_dict_del(void *dict, int key);
static void op_track(void *obj, bool track);
static void op_callback(unsigned pair, bool add);
static void op_clear(void *obj, int kind);
static void op_inspect(int which, void *target, unsigned mode, unsigned arg);
static void act_tool(unsigned arg);
static void act_heap(unsigned arg);

/* Run one re-entrant action: from user code rcgc called, or from a walk's
   loop body (op_walk).  errno is kept, as a well-behaved callback keeps it. */
static void act(unsigned action, unsigned arg)
{
    action %= NACTIONS;
    if (action == ACT_NONE || teardown || depth >= MAX_DEPTH || actions_left == 0) return;
    if (destroying && ending_survivors()) return;
    actions_left--;
    actions_done++;
    int saved_errno = errno;
    int saved_op = cur_op;
    const char *saved_name = cur_name;
    int mark = npins;
    depth++;
    switch (action) {
    case ACT_DECREF: release(arg % NSLOTS); break;
    case ACT_NEW: op_new(arg, arg >> 3, 0); break;
    case ACT_COLLECT: op_collect((int)(arg % 3)); break;
    case ACT_WEAKREF: op_weakref_new(slot_obj(arg), arg >> 4, arg, arg & 8); break;
    case ACT_APPEND: op_list_append(slot_obj(arg), item_of(arg >> 4), arg & 4); break;
    case ACT_DICT_SET:
        op_dict_set(slot_obj(arg), (int)(arg >> 4) % NKEYS, slot_obj(arg >> 3), arg & 2);
        break;
    case ACT_TRACK: op_track(slot_obj(arg), true); break;
    case ACT_UNTRACK: op_track(slot_obj(arg), false); break;
    case ACT_CALLBACK_ADD: op_callback(arg, true); break;
    case ACT_CALLBACK_REMOVE: op_callback(arg, false); break;
    case ACT_COPY: if (slot_obj(arg)) { rcgc_incref(slot_obj(arg)); acquire(slot_obj(arg)); } break;
    case ACT_LIST_CLEAR: op_clear(slot_obj(arg), SH_LIST); break;
    case ACT_DICT_CLEAR: op_clear(slot_obj(arg), SH_DICT); break;
    case ACT_GARBAGE_CLEAR: rcgc_garbage_clear(); break;
    case ACT_INSPECT: op_inspect((int)(arg % 3), slot_obj(arg >> 2), 0, 0); break;
    case ACT_LIST_POP: op_list_pop(slot_obj(arg), arg >> 4); break;
    case ACT_DICT_DEL: op_dict_del(slot_obj(arg), (int)(arg >> 4) % NKEYS); break;
    case ACT_FREEZE: if (arg & 1) rcgc_freeze(); else rcgc_unfreeze(); break;
    case ACT_TOOL: act_tool(arg); break;
    case ACT_HEAP: act_heap(arg); break;
    }
    depth--;
    unpin_to(mark);
    cur_op = saved_op;
    cur_name = saved_name;
    errno = saved_errno;
}

static void resurrect(void *self)
{
    if (teardown || depth >= MAX_DEPTH) return;
    rcgc_incref(self);
    acquire(self);
}

/* ---- weakref callbacks ----------------------------------------------------------- */

static uint8_t cb_calls[MAX_WEAK_CB];
static unsigned cb_next;
static uint16_t cb_action[MAX_WEAK_CB];
/* Weakrefs that own their arg: the releases run, and the action each runs. */
static bool rel_owned[MAX_WEAK_CB];
static uint8_t rel_calls[MAX_WEAK_CB];
static uint16_t rel_action[MAX_WEAK_CB];

static void weak_callback(void *wr, void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    if (id >= cb_next) fail("weakref callback with an argument we never gave");
    if (cb_calls[id]++) fail("weakref callback %u runs a second time", id);
    if (rcgc_weakref_arg(wr) != arg) fail("rcgc_weakref_arg differs from the callback's arg");
    if (rel_calls[id]) fail("weakref callback %u runs after its arg was released", id);
    if (rcgc_refcount(wr) < 1) fail("weakref callback gets a dead weakref");
    if (rcgc_weakref_peek(wr)) fail("weakref callback runs before its weakref is cleared");
    stack_check();
    act(cb_action[id] & 0xff, cb_action[id] >> 8);
}

/* The release of an owned arg: once, and only once the program no longer
   holds the weakref (it runs from the weakref's deallocation). */
static void weak_release(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    if (id >= cb_next || !rel_owned[id]) fail("release of an arg we never gave");
    if (rel_calls[id]++) fail("arg %u released a second time", id);
    for (size_t k = 0; k < sizeof shadows / sizeof shadows[0]; k++)
        if (shadows[k].obj && shadows[k].kind == SH_WEAK && shadows[k].rel_id == (int)id)
            fail("arg %u released while the program holds its weakref", id);
    stack_check();
    act(rel_action[id] & 0xff, rel_action[id] >> 8);
}

/* ---- gc callbacks, the allocation hook, the output sink ----------------------------- */

static unsigned pair_registered[NPAIRS];
static const uint8_t pair_action[NPAIRS] = {
    ACT_NONE, ACT_NEW, ACT_COLLECT, ACT_CALLBACK_REMOVE, ACT_DECREF, ACT_WEAKREF,
    ACT_CALLBACK_ADD, ACT_UNTRACK,
};
static uint8_t pair_arg[NPAIRS];

static void gc_callback_a(rcgc_phase phase, const rcgc_gc_info *info, void *arg);
static void gc_callback_b(rcgc_phase phase, const rcgc_gc_info *info, void *arg);

static void pair_call(unsigned pair, rcgc_phase phase, const rcgc_gc_info *info)
{
    if (!trk.in_gc && !trk.after_stop) fail("gc callback outside a collection");
    if (phase == RCGC_PHASE_START && (info->collected || info->uncollectable))
        fail("START phase with non-zero counts");
    if (pair_action[pair] == ACT_CALLBACK_REMOVE)
        act(ACT_CALLBACK_REMOVE, pair);        /* removes itself */
    else
        act(pair_action[pair], pair_arg[pair]);
}

static void gc_callback_a(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    pair_call((unsigned)(uintptr_t)arg, phase, info);
}

static void gc_callback_b(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    pair_call((unsigned)(uintptr_t)arg + 4, phase, info);
}

static rcgc_callback_fn pair_fn(unsigned pair) { return pair & 4 ? gc_callback_b : gc_callback_a; }
static void *pair_argp(unsigned pair) { return (void *)(uintptr_t)(pair & 3); }

static struct {
    int mode;              /* 0 none, 1 refuse the n-th, 2 refuse every k-th, 3 refuse all */
    unsigned n, k, calls, every;
    uint8_t action, action_arg;
} hook;

static bool alloc_hook(size_t size, void *arg)
{
    (void)size;
    if (arg != &hook) fail("allocation hook gets another argument");
    hook.calls++;
    if (hook.action && hook.calls % hook.every == 0) act(hook.action, hook.action_arg);
    bool refuse = (hook.mode == 1 && hook.calls == hook.n) ||
                  (hook.mode == 2 && hook.calls % hook.k == 0) || hook.mode == 3;
    if (refuse) refusals++;
    return !refuse;
}

static uint8_t sink_action, sink_arg;
static unsigned sink_lines;

static void sink(const char *text, void *arg)
{
    if (arg != &sink_lines) fail("output sink gets another argument");
    size_t len = strlen(text);
    if (len == 0 || text[len - 1] != '\n' || strchr(text, '\n') != text + len - 1)
        fail("debug output is not one whole line: \"%.80s\"... (%zu bytes)", text, len);
    sink_lines++;
    act(sink_action, sink_arg);
}

/* ---- operations -------------------------------------------------------------------- */

static uint32_t node_serial;       /* serial of the last node made */
static bool model_tracing;         /* rcgc_trace_start called, not stopped since */
static uint32_t trace_session;     /* tracing sessions started, this process */

static void register_node(fnode *n)
{
    n->serial = ++node_serial;
    n->trace_session = model_tracing ? trace_session : 0;
    n->reg_prev = NULL;
    n->reg_next = registry;
    if (registry) registry->reg_prev = n;
    registry = n;
    registry_len++;
}

static void op_new(unsigned a, unsigned b, unsigned c)
{
    int ti = (int)(a % NTYPES);
    const rcgc_type *t = &node_types[ti];
    unsigned before = refusals;
    errno = 0;
    fnode *n = rcgc_new(t);
    if (!n) {
        expect_nomem("rcgc_new", before);
        return;
    }
    if (rcgc_refcount(n) != 1) fail("new object with count %zu", rcgc_refcount(n));
    if (rcgc_is_tracked(n) != (t->traverse != NULL)) fail("new object tracked wrongly");
    for (int i = 0; i < 3; i++)
        if (n->slot[i]) fail("body not zeroed");
    n->fin_action = (uint8_t)(b % NACTIONS);
    n->fin_arg = (uint8_t)c;
    n->clear_action = (uint8_t)((b >> 4) % NACTIONS);
    n->clear_arg = (uint8_t)(c >> 1);
    register_node(n);
    acquire(n);
}

/* Long chains: a list of nodes linked through slot 0 (types with traverse),
   or nodes each freed by the callback of a weakref to the one before
   (CPython's classic way to overflow the stack).  One chain an input; the
   program holds its head, our tables the rest. */
static void *chain[MAX_CHAIN];      /* references of ours to the links */
static void *chain_wr[MAX_CHAIN];   /* weakrefs of ours, one a link */
static size_t chain_len;

static void chain_callback(void *wr, void *arg)
{
    (void)wr;
    size_t i = (size_t)(uintptr_t)arg;
    stack_check();
    if (i + 1 < chain_len && chain[i + 1]) {
        void *next = chain[i + 1];
        chain[i + 1] = NULL;
        rcgc_decref(next);
    }
}

static size_t chain_links_left;   /* links per input, for both kinds */

static void op_chain(unsigned a, unsigned b, unsigned c)
{
    const rcgc_type *t = &node_types[a % NTYPES];
    /* 4 to 64 links; 2,048 only for b = 255, as long chains are slow to free */
    size_t n = b == 255 ? MAX_CHAIN : (size_t)4 << (b % 5);
    bool slots_chain = (c & 1) && t->traverse;
    if (!slots_chain && chain_len) return;
    if (n > chain_links_left) n = chain_links_left;
    chain_links_left -= n;
    void *head = NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned before = refusals;
        errno = 0;
        fnode *f = rcgc_new(t);
        if (!f) {
            expect_nomem("rcgc_new", before);
            break;
        }
        register_node(f);
        if (slots_chain) {
            f->slot[0] = head;   /* our reference to the previous link moves there */
            head = f;
            continue;
        }
        chain[chain_len] = f;
        chain_wr[chain_len] = rcgc_weakref_new(f, chain_callback, (void *)(uintptr_t)chain_len);
        chain_len++;
        if (!chain_wr[chain_len - 1]) {
            expect_nomem("rcgc_weakref_new", before);
            break;
        }
    }
    if (!slots_chain && chain_len) {
        head = chain[0];
        chain[0] = NULL;
    }
    /* The program holds the head: releasing it frees the chain. */
    if (head) acquire(head);
}

static void chain_release(void)
{
    for (size_t i = 0; i < chain_len; i++) {
        void *wr = chain_wr[i];
        chain_wr[i] = NULL;
        rcgc_decref(wr);
    }
    for (size_t i = 0; i < chain_len; i++) {
        void *obj = chain[i];
        chain[i] = NULL;
        rcgc_decref(obj);
    }
    chain_len = 0;
}

static void op_container_new(bool dict)
{
    unsigned before = refusals;
    errno = 0;
    void *c = dict ? rcgc_dict_new() : rcgc_list_new();
    if (!c) {
        expect_nomem(dict ? "rcgc_dict_new" : "rcgc_list_new", before);
        return;
    }
    if (rcgc_refcount(c) != 1) fail("new container with count %zu", rcgc_refcount(c));
    if (acquire(c) >= 0 && !shadow_of(c)) fail("no shadow for a new container");
}

static void op_collect(int gen)
{
    unsigned starts = trk.starts;
    bool was_in = trk.in_gc, was_after = trk.after_stop;
    rcgc_gen_stats before = {0, 0, 0}, after;
    if (gen >= 0 && gen <= 2) rcgc_get_stats(gen, &before);
    errno = 0;
    size_t n = rcgc_collect(gen);
    if (gen < 0 || gen > 2) {
        if (n != 0) fail("rcgc_collect(%d) returned %zu", gen, n);
        expect_errno("rcgc_collect(bad generation)", EINVAL);
        return;
    }
    bool ran = trk.starts != starts;
    if (was_in) {
        if (ran) fail("rcgc_collect ran a collection inside a collection");
        if (n != 0) fail("rcgc_collect inside a collection returned %zu", n);
        expect_errno("rcgc_collect inside a collection", EBUSY);
        return;
    }
    if (!ran) {
        if (!was_after) fail("rcgc_collect(%d) returned %zu without collecting", gen, n);
        if (n != 0) fail("rcgc_collect returned %zu without collecting", n);
        expect_errno("rcgc_collect at the end of a collection", EBUSY);
        return;
    }
    if (trk.starts != starts + 1 || trk.stops != trk.starts)
        fail("rcgc_collect ran %u collections", trk.starts - starts);
    if (trk.gen != gen) fail("rcgc_collect(%d) collected generation %d", gen, trk.gen);
    if (n != trk.collected + trk.uncollectable)
        fail("rcgc_collect returned %zu, its callbacks saw %zu + %zu", n, trk.collected,
             trk.uncollectable);
    rcgc_get_stats(gen, &after);
    if (after.collections != before.collections + 1 ||
        after.collected != before.collected + trk.collected ||
        after.uncollectable != before.uncollectable + trk.uncollectable)
        fail("rcgc_get_stats(%d) after a collection: %zu %zu %zu, before %zu %zu %zu", gen,
             after.collections, after.collected, after.uncollectable, before.collections,
             before.collected, before.uncollectable);
}

static void op_weakref_new(void *referent, unsigned b, unsigned c, bool owning)
{
    if (!referent) return;
    int mark = npins;
    pin(referent);
    bool with_cb = (b & 3) != 0 && cb_next < MAX_WEAK_CB;
    owning = owning && cb_next < MAX_WEAK_CB;
    unsigned id = cb_next;
    if (with_cb || owning) {
        cb_action[id] = (uint16_t)((b >> 2) % NACTIONS | (c & 0xff) << 8);
        rel_action[id] = (uint16_t)((c >> 3) % NACTIONS | (b & 0xff) << 8);
        cb_calls[id] = 0;
        rel_calls[id] = 0;
        rel_owned[id] = owning;
        cb_next++;
    }
    void *arg = with_cb || owning ? (void *)(uintptr_t)id : NULL;
    unsigned before = refusals;
    errno = 0;
    void *wr = owning ? rcgc_weakref_new_with_release(referent, with_cb ? weak_callback : NULL,
                                                      arg, weak_release)
                      : rcgc_weakref_new(referent, with_cb ? weak_callback : NULL, arg);
    if (!wr) {
        expect_nomem(owning ? "rcgc_weakref_new_with_release" : "rcgc_weakref_new", before);
        if (owning && rel_calls[id] != 1)
            fail("a failed rcgc_weakref_new_with_release released its arg %u times",
                 rel_calls[id]);
    } else {
        if (!rcgc_is_weakref(wr)) fail("rcgc_weakref_new made no weakref");
        if (rcgc_weakref_arg(wr) != arg) fail("rcgc_weakref_arg does not read back its arg");
        if (owning && rel_calls[id]) fail("arg released while its new weakref lives");
        if (rcgc_weakref_peek(wr) != referent) fail("new weakref does not see its referent");
        /* (callbacks during the call may have dropped other weakrefs to it) */
        if (rcgc_weakref_count(referent) < 1) fail("rcgc_weakref_count misses a new weakref");
        int i = acquire(wr);
        if (i >= 0 && destroying && with_cb) owe(wr, (int)id);
        if (i >= 0 && !destroying) {
            shadow *s = shadow_of(wr);
            if (!s) fail("no shadow for a new weakref");
            s->referent = referent;
            s->continuous = true;
            s->cb_id = with_cb ? (int)id : -1;
            s->rel_id = owning ? (int)id : -1;
        }
    }
    unpin_to(mark);
}

/* With `steal`, the call is handed a reference of ours made for it: kept by
   the container or released, it must leave nothing behind (the memory check
   at the end of the input sees a leak, a crash an extra release). */
static void op_list_append(void *list, void *item, bool steal)
{
    shadow *s = held_shadow(list, SH_LIST);
    if (!s) return;
    if (s->len >= LIST_MAX) return;
    int mark = npins;
    pin(list);
    pin(item);
    unsigned before = refusals;
    errno = 0;
    if (steal && item) rcgc_incref(item);
    int r = steal ? rcgc_list_append_steal(list, item) : rcgc_list_append(list, item);
    if (r != 0) {
        expect_nomem(steal ? "rcgc_list_append_steal" : "rcgc_list_append", before);
    } else {
        s = held_shadow(list, SH_LIST);   /* pinned: still there */
        if (s->len >= sizeof s->items / sizeof s->items[0]) fail("a list grew past our appends");
        s->items[s->len++] = item;
        s->changes++;
    }
    unpin_to(mark);
}

static void op_list_set(void *list, size_t i, void *item, bool steal)
{
    shadow *s = held_shadow(list, SH_LIST);
    if (!s) return;
    int mark = npins;
    pin(list);
    pin(item);
    bool in_range = i < s->len;
    if (in_range) s->items[i] = item;
    errno = 0;
    if (steal && item) rcgc_incref(item);
    int r = steal ? rcgc_list_set_steal(list, i, item) : rcgc_list_set(list, i, item);
    if (in_range ? r != 0 : r != -1) fail("rcgc_list_set(%zu) returned %d", i, r);
    if (!in_range) expect_errno("rcgc_list_set past the end", ERANGE);
    unpin_to(mark);
}

/* Entry i leaves a list or dict shadow; the later ones move up. */
static void shadow_take(shadow *s, size_t i)
{
    for (; i + 1 < s->len; i++) {
        if (s->kind == SH_DICT) s->keys[i] = s->keys[i + 1];
        s->items[i] = s->items[i + 1];
    }
    s->len--;
    s->changes++;
}

static void op_list_pop(void *list, size_t i)
{
    shadow *s = held_shadow(list, SH_LIST);
    if (!s) return;
    int mark = npins;
    pin(list);
    bool in_range = i < s->len;
    void *expected = in_range ? s->items[i] : NULL;
    if (in_range) shadow_take(s, i);
    errno = 0;
    void *item = rcgc_list_pop(list, i);
    if (item != expected) fail("rcgc_list_pop(%zu) returned %p, expected %p", i, item, expected);
    if (!in_range) expect_errno("rcgc_list_pop past the end", ERANGE);
    if (item) acquire(item);
    unpin_to(mark);
}

static void op_list_remove(void *list, size_t i)
{
    shadow *s = held_shadow(list, SH_LIST);
    if (!s) return;
    int mark = npins;
    pin(list);
    bool in_range = i < s->len;
    if (in_range) shadow_take(s, i);
    errno = 0;
    int r = rcgc_list_remove(list, i);
    if (in_range ? r != 0 : r != -1) fail("rcgc_list_remove(%zu) returned %d", i, r);
    if (!in_range) expect_errno("rcgc_list_remove past the end", ERANGE);
    unpin_to(mark);
}

/* Both containers detach their storage before dropping anything, so the
   shadow empties first. */
static void op_clear(void *obj, int kind)
{
    shadow *s = held_shadow(obj, kind);
    if (!s) return;
    int mark = npins;
    pin(obj);
    s->len = 0;
    s->changes++;
    if (kind == SH_LIST) rcgc_list_clear(obj); else rcgc_dict_clear(obj);
    unpin_to(mark);
}

static void op_list_get(void *list, size_t i, bool grab)
{
    shadow *s = held_shadow(list, SH_LIST);
    if (!s) return;
    errno = 0;
    void *item = rcgc_list_get(list, i);
    if (i >= s->len) {
        if (item) fail("rcgc_list_get past the end returned an item");
        expect_errno("rcgc_list_get past the end", ERANGE);
        return;
    }
    if (item != s->items[i]) fail("list item %zu is %p, expected %p", i, item, s->items[i]);
    if (grab && item) {
        rcgc_incref(item);
        acquire(item);
    }
}

static int dict_find(const shadow *s, int key)
{
    for (size_t i = 0; i < s->len; i++)
        if (s->keys[i] == key) return (int)i;
    return -1;
}

static void op_dict_set(void *dict, int key, void *value, bool steal)
{
    shadow *s = held_shadow(dict, SH_DICT);
    if (!s || !value) return;
    int mark = npins;
    pin(dict);
    pin(value);
    int at = dict_find(s, key);
    if (at >= 0) s->items[at] = value;   /* stored before the old value drops */
    unsigned before = refusals;
    errno = 0;
    if (steal) rcgc_incref(value);
    int r = steal ? rcgc_dict_set_steal(dict, key_text[key], value)
                  : rcgc_dict_set(dict, key_text[key], value);
    if (at >= 0 && r != 0) fail("rcgc_dict_set of an existing key failed");
    if (r != 0) {
        expect_nomem(steal ? "rcgc_dict_set_steal" : "rcgc_dict_set", before);
    } else if (at < 0) {
        s = held_shadow(dict, SH_DICT);
        s->changes++;
        at = dict_find(s, key);          /* a callback during the growth may have set it */
        if (at >= 0) {
            s->items[at] = value;
        } else {
            s->keys[s->len] = key;
            s->items[s->len++] = value;
        }
    }
    unpin_to(mark);
}

static void op_dict_del(void *dict, int key)
{
    shadow *s = held_shadow(dict, SH_DICT);
    if (!s) return;
    int mark = npins;
    pin(dict);
    int at = dict_find(s, key);
    if (at >= 0) shadow_take(s, (size_t)at);
    errno = 0;
    int r = rcgc_dict_del(dict, key_text[key]);
    if (at >= 0 ? r != 0 : r != -1) fail("rcgc_dict_del(\"%s\") returned %d", key_text[key], r);
    if (at < 0) expect_errno("rcgc_dict_del of a missing key", ENOENT);
    unpin_to(mark);
}

static void op_dict_get(void *dict, int key, bool grab)
{
    shadow *s = held_shadow(dict, SH_DICT);
    if (!s) return;
    int at = dict_find(s, key);
    errno = 0;
    void *v = rcgc_dict_get(dict, key_text[key]);
    if (at < 0) {
        if (v) fail("rcgc_dict_get(\"%s\") found a deleted key", key_text[key]);
        expect_errno("rcgc_dict_get of a missing key", ENOENT);
        return;
    }
    if (v != s->items[at]) fail("dict[\"%s\"] is %p, expected %p", key_text[key], v, s->items[at]);
    if (grab) {
        rcgc_incref(v);
        acquire(v);
    }
}

/* Untracked lists and dicts would leak in a cycle; a weakref of ours lets the
   end of the input find them and track them again. */
static void *keepers[MAX_KEEPERS];
static int nkeepers;

static void op_track(void *obj, bool track)
{
    if (!obj) return;
    int mark = npins;
    pin(obj);
    const rcgc_type *t = rcgc_typeof(obj);
    if (!track && !is_node(t) && t->traverse) {
        unsigned before = refusals;
        errno = 0;
        void *k = nkeepers < MAX_KEEPERS ? rcgc_weakref_new(obj, NULL, NULL) : NULL;
        if (!k && nkeepers < MAX_KEEPERS) expect_nomem("rcgc_weakref_new", before);
        if (k && nkeepers == MAX_KEEPERS) {   /* callbacks during the call filled them */
            rcgc_decref(k);
            k = NULL;
        }
        if (!k) {
            unpin_to(mark);
            return;
        }
        keepers[nkeepers++] = k;
    }
    if (track) rcgc_track(obj); else rcgc_untrack(obj);
    if (!t->traverse && rcgc_is_tracked(obj)) fail("object of a type without traverse is tracked");
    if (t->traverse && rcgc_is_tracked(obj) != track)
        fail("rcgc_%s did not take effect", track ? "track" : "untrack");
    unpin_to(mark);
}

static void op_callback(unsigned pair, bool add)
{
    pair %= NPAIRS;
    unsigned before = refusals;
    errno = 0;
    if (add) {
        if (rcgc_callback_add(pair_fn(pair), pair_argp(pair)) == 0)
            pair_registered[pair]++;
        else
            expect_nomem("rcgc_callback_add", before);
    } else {
        int r = rcgc_callback_remove(pair_fn(pair), pair_argp(pair));
        if (pair_registered[pair]) {
            if (r != 0) fail("rcgc_callback_remove of a registered pair returned %d", r);
            pair_registered[pair]--;
        } else {
            if (r != -1) fail("rcgc_callback_remove of an unknown pair returned %d", r);
            expect_errno("rcgc_callback_remove of an unknown pair", ENOENT);
        }
    }
}

/* get_objects / get_referrers / get_referents with a callback that counts,
   grabs, stops early or runs an action for each object. */
typedef struct {
    int which;           /* 0 get_objects, 1 get_referrers, 2 get_referents */
    void *target;
    unsigned mode, arg, visits;
    unsigned actions_before;
} inspection;

static int is_target(void *obj, void *target) { return obj == target; }

static int inspector(void *obj, void *argp)
{
    inspection *q = argp;
    if (++q->visits > 100000) fail("inspection never finishes (%u calls)", q->visits);
    if (!obj) fail("inspection callback gets NULL");
    const rcgc_type *t = rcgc_typeof(obj);
    if (!t) fail("inspection callback gets something that is not an object");
    if (q->which < 2) {
        /* A snapshot reference, as an item of gc.get_objects()'s list. */
        if (rcgc_refcount(obj) < held(obj) + 1)
            fail("object visited with count %zu, the program holds %u and the snapshot one",
                 rcgc_refcount(obj), held(obj));
    } else if (rcgc_refcount(obj) < 1) {
        fail("referent with count 0");
    }
    switch (q->mode % 4) {
    case 0:
        /* (unless a callback, e.g. the allocation hook, changed the heap
           since the snapshot) */
        if (q->which == 1 && actions_done == q->actions_before &&
            !rcgc_get_referents(obj, is_target, q->target))
            fail("rcgc_get_referrers visits an object that does not refer to the target");
        break;
    case 1:
        rcgc_incref(obj);
        acquire(obj);
        break;
    case 2:
        if (q->visits == (q->arg & 7) + 1) return 7;
        break;
    case 3:
        if (q->visits <= 2) act(q->arg, q->arg >> 3);
        break;
    }
    return 0;
}

static void op_inspect(int which, void *target, unsigned mode, unsigned arg)
{
    static const int gens[6] = {-1, 0, 1, 2, 3, -2};
    int gen = gens[arg % 6];
    inspection q = {which, target, mode, arg >> 3, 0, actions_done};
    int mark = npins;
    unsigned before = refusals;
    int r;
    errno = 0;
    if (which == 0) {
        r = rcgc_get_objects(gen, (mode & 8) ? NULL : inspector, &q);
        if (gen < -1 || gen > 2 || (mode & 8)) {
            if (r != -1) fail("rcgc_get_objects with bad arguments returned %d", r);
            expect_errno("rcgc_get_objects with bad arguments", EINVAL);
            return;
        }
    } else if (which == 1) {
        if (!target) {
            r = rcgc_get_referrers(NULL, inspector, &q);
            if (r != -1) fail("rcgc_get_referrers(NULL) returned %d", r);
            expect_errno("rcgc_get_referrers(NULL)", EINVAL);
            return;
        }
        pin(target);
        r = rcgc_get_referrers(target, inspector, &q);
    } else {
        if (!target) {
            r = rcgc_get_referents(NULL, inspector, &q);
            if (r != -1) fail("rcgc_get_referents(NULL) returned %d", r);
            expect_errno("rcgc_get_referents(NULL)", EINVAL);
            return;
        }
        pin(target);
        r = rcgc_get_referents(target, inspector, &q);
    }
    if (r == -1 && which < 2) {
        expect_nomem(which ? "rcgc_get_referrers" : "rcgc_get_objects", before);
    } else if (q.mode % 4 == 2 && q.visits == (q.arg & 7) + 1) {
        if (r != 7) fail("inspection stopped by 7 returned %d", r);
    } else if (r != 0) {
        fail("inspection returned %d", r);
    }
    unpin_to(mark);
}

static void op_link(void *obj, unsigned field, void *target)
{
    if (!obj || !is_node(rcgc_typeof(obj)) || !rcgc_typeof(obj)->traverse) return;
    int mark = npins;
    pin(obj);
    fnode *n = obj;
    void *old = n->slot[field % 3];
    rcgc_incref(target);
    n->slot[field % 3] = target;
    held_shadow(obj, SH_NODE)->items[field % 3] = target;
    rcgc_decref(old);
    unpin_to(mark);
}

static const size_t tiny[8] = {0, 1, 2, 3, 5, 10, 100, 700};
static size_t model_threshold[3];
static rcgc_policy model_policy;
static bool model_enabled;
static unsigned model_debug;

static const unsigned debug_flags[8] = {
    0, RCGC_DEBUG_STATS, RCGC_DEBUG_COLLECTABLE, RCGC_DEBUG_UNCOLLECTABLE, RCGC_DEBUG_SAVEALL,
    RCGC_DEBUG_LEAK, RCGC_DEBUG_LEAK | RCGC_DEBUG_STATS, RCGC_DEBUG_SAVEALL | RCGC_DEBUG_STATS,
};

/* Calls that must fail, and how. */
static void op_errors(unsigned a, unsigned b)
{
    void *obj = slot_obj(b);
    errno = 0;
    switch (a % 14) {
    case 0:
        if (rcgc_new(NULL)) fail("rcgc_new(NULL) made an object");
        expect_errno("rcgc_new(NULL)", EINVAL);
        break;
    case 1:
        if (rcgc_weakref_new(NULL, NULL, NULL)) fail("rcgc_weakref_new(NULL) made a weakref");
        expect_errno("rcgc_weakref_new(NULL)", EINVAL);
        break;
    case 2:
        if (!obj || rcgc_typeof(obj) == &rcgc_list_type) break;
        if (rcgc_list_append(obj, NULL) != -1) fail("rcgc_list_append on a non-list succeeded");
        expect_errno("rcgc_list_append on a non-list", EINVAL);
        errno = 0;
        if (rcgc_list_len(obj) != 0) fail("rcgc_list_len of a non-list");
        expect_errno("rcgc_list_len on a non-list", EINVAL);
        break;
    case 3:
        if (!obj || rcgc_typeof(obj) == &rcgc_dict_type) break;
        if (rcgc_dict_set(obj, "a", obj) != -1) fail("rcgc_dict_set on a non-dict succeeded");
        expect_errno("rcgc_dict_set on a non-dict", EINVAL);
        errno = 0;
        if (rcgc_dict_get(obj, "a")) fail("rcgc_dict_get on a non-dict found something");
        expect_errno("rcgc_dict_get on a non-dict", EINVAL);
        break;
    case 4:
        if (!obj || rcgc_typeof(obj) != &rcgc_dict_type) break;
        if (rcgc_dict_set(obj, NULL, obj) != -1) fail("rcgc_dict_set(NULL key) succeeded");
        expect_errno("rcgc_dict_set(NULL key)", EINVAL);
        errno = 0;
        if (rcgc_dict_set(obj, "a", NULL) != -1) fail("rcgc_dict_set(NULL value) succeeded");
        expect_errno("rcgc_dict_set(NULL value)", EINVAL);
        errno = 0;
        if (rcgc_dict_get(obj, NULL)) fail("rcgc_dict_get(NULL key) found something");
        expect_errno("rcgc_dict_get(NULL key)", EINVAL);
        errno = 0;
        if (rcgc_dict_next(obj, NULL, NULL, NULL)) fail("rcgc_dict_next(NULL pos) iterated");
        expect_errno("rcgc_dict_next(NULL pos)", EINVAL);
        break;
    case 5:
        rcgc_get_threshold(NULL);
        expect_errno("rcgc_get_threshold(NULL)", EINVAL);
        break;
    case 6:
        rcgc_get_count(NULL);
        expect_errno("rcgc_get_count(NULL)", EINVAL);
        break;
    case 7:
        rcgc_get_stats(0, NULL);
        expect_errno("rcgc_get_stats(0, NULL)", EINVAL);
        break;
    case 8: {
        rcgc_gen_stats st = {1, 1, 1};
        rcgc_get_stats(3, &st);
        if (st.collections || st.collected || st.uncollectable) fail("stats of generation 3");
        expect_errno("rcgc_get_stats(3)", EINVAL);
        break;
    }
    case 9:
        if (rcgc_garbage_get(rcgc_garbage_count())) fail("rcgc_garbage_get past the end");
        expect_errno("rcgc_garbage_get past the end", ERANGE);
        break;
    case 10:
        if (rcgc_callback_add(NULL, NULL) != -1) fail("rcgc_callback_add(NULL) succeeded");
        expect_errno("rcgc_callback_add(NULL)", EINVAL);
        break;
    case 11:
        if (!obj || rcgc_typeof(obj) == &rcgc_weakref_type) break;
        if (rcgc_weakref_peek(obj)) fail("rcgc_weakref_peek of a non-weakref");
        expect_errno("rcgc_weakref_peek of a non-weakref", EINVAL);
        if (rcgc_is_weakref(obj)) fail("rcgc_is_weakref of a non-weakref");
        break;
    case 12:
        if (rcgc_typeof(NULL)) fail("rcgc_typeof(NULL)");
        expect_errno("rcgc_typeof(NULL)", EINVAL);
        break;
    case 13: {
        size_t count[3];
        rcgc_get_count(count);
        size_t th[3];
        rcgc_get_threshold(th);
        for (int i = 0; i < 3; i++)
            if (th[i] != model_threshold[i]) fail("threshold %d reads %zu, set %zu", i, th[i],
                                                  model_threshold[i]);
        if (rcgc_get_policy() != model_policy)
            fail("policy reads %d, set %d", (int)rcgc_get_policy(), (int)model_policy);
        break;
    }
    }
}

static void op_garbage(unsigned a, unsigned b)
{
    size_t n = rcgc_garbage_count();
    switch (a % 3) {
    case 0:
        if (n) {
            void *g = rcgc_garbage_get(b % n);
            if (!g || rcgc_refcount(g) < 1) fail("garbage item %u is gone", b);
            rcgc_incref(g);
            acquire(g);
        }
        break;
    case 1:
        rcgc_garbage_clear();
        break;
    case 2:
        for (size_t i = 0; i < n; i++)
            if (!rcgc_garbage_get(i)) fail("garbage item %zu is NULL", i);
        break;
    }
}

static void op_hook(unsigned a, unsigned b, unsigned c)
{
    hook.mode = (int)(a & 3);
    hook.calls = 0;
    hook.n = b + 1;
    hook.k = b % 7 + 2;
    hook.every = b % 5 + 1;
    hook.action = (uint8_t)(c % NACTIONS);
    hook.action_arg = (uint8_t)(a >> 2 | c << 6);
    rcgc_set_alloc_hook(alloc_hook, &hook);
}

/* Walk a held list or dict with rcgc_list_next / rcgc_dict_next and run an
   action between two steps (after step `at`, 1..8), as a loop body that
   allocates runs a collection's finalizers and callbacks: it may change the
   container, or anything else.  The walk must go on exactly as the shadow
   says while the model saw no change of the container, and end with EAGAIN
   once it did. */
static void op_walk(void *obj, unsigned at, unsigned action, unsigned arg)
{
    shadow *s = obj ? shadow_of(obj) : NULL;
    if (!s || (s->kind != SH_LIST && s->kind != SH_DICT)) return;
    bool list = s->kind == SH_LIST;
    const char *name = list ? "rcgc_list_next" : "rcgc_dict_next";
    int mark = npins;
    pin(obj);
    unsigned changes = s->changes;
    size_t pos = 0, step = 0;
    at = at % 8 + 1;
    for (;;) {
        if (step == at) {
            int outer = loop_body_depth;
            loop_body_depth = depth + 1;
            act(action, arg);
            loop_body_depth = outer;
        }
        s = shadow_of(obj);   /* pinned: still there */
        bool changed = s->changes != changes;
        void *item = NULL;
        const char *key = NULL;
        errno = EINVAL;
        bool more = list ? rcgc_list_next(obj, &pos, &item)
                         : rcgc_dict_next(obj, &pos, &key, &item);
        if (changed) {
            if (more) fail("%s goes on after the container changed", name);
            expect_errno(name, EAGAIN);
            break;
        }
        if (!more) {
            expect_errno(name, 0);
            if (step != s->len) fail("%s ended after %zu of %zu entries", name, step, s->len);
            break;
        }
        if (step >= s->len) fail("%s yields more than %zu entries", name, s->len);
        if (item != s->items[step] || (!list && strcmp(key, key_text[s->keys[step]]) != 0))
            fail("%s step %zu yields \"%s\" %p, expected %p", name, step, key ? key : "",
                 item, s->items[step]);
        step++;
    }
    unpin_to(mark);
}

static void op_weak_read(void *wr, unsigned b)
{
    shadow *s = held_shadow(wr, SH_WEAK);
    if (!s) return;
    void *p = rcgc_weakref_peek(wr);
    if (b & 1) {
        void *g = rcgc_weakref_get(wr);
        if (g != p) fail("rcgc_weakref_get returned %p, peek %p", g, p);
        if (g) acquire(g);
    } else if (p) {
        if (rcgc_weakref_count(p) < 1) fail("referent of a live weakref counts no weakrefs");
    }
}

/* ---- the tools of rcgc_tools.h ------------------------------------------------------ */

/* The tools promise to change nothing the program sees: no count, no
   generation, rcgc_get_count as it was (only rcgc_check_watched,
   rcgc_leakcheck_end and rcgc_leak_report collect).  Every line they print
   goes to tool_sink, which checks it is one whole line and may run an
   action (the sink is user code: the tools gather what they print first). */
static uint8_t tool_action, tool_arg;
static unsigned tool_lines;
static bool tool_keep;          /* keep the text printed, for comparisons */
static char *tool_text;
static bool tool_echo;           /* RCGC_FUZZ_TOOL_ECHO=1: copy it to stderr */
static size_t tool_text_len, tool_text_cap;

static void tool_sink(const char *text, void *arg)
{
    if (arg != &tool_lines) fail("tool sink gets another argument");
    size_t len = strlen(text);
    if (len == 0 || text[len - 1] != '\n' || strchr(text, '\n') != text + len - 1)
        fail("tool output is not one whole line: \"%.80s\"... (%zu bytes)", text, len);
    stack_check();
    tool_lines++;
    if (tool_echo) fputs(text, stderr);
    if (tool_keep) {
        if (tool_text_len + len + 1 > tool_text_cap) {
            tool_text_cap = (tool_text_len + len + 1) * 2;
            tool_text = realloc(tool_text, tool_text_cap);
            if (!tool_text) abort();
        }
        memcpy(tool_text + tool_text_len, text, len + 1);
        tool_text_len += len;
    }
    act(tool_action, tool_arg);
}

static int count_visit(void *obj, void *arg)
{
    (void)obj;
    ++*(size_t *)arg;
    return 0;
}

static bool hook_on;            /* alloc_hook is installed */

/* Objects per generation, read without the allocation hook (get_objects
   allocates its snapshot). */
static void generation_sizes(size_t out[3])
{
    int saved = errno;
    /* The walk's snapshot is an allocation: no hook, and no collection (a
       stress build collects at every allocation that may) while it is had. */
    bool enabled = rcgc_isenabled();
    rcgc_disable();
    rcgc_set_alloc_hook(NULL, NULL);
    for (int g = 0; g < 3; g++) {
        out[g] = 0;
        if (rcgc_get_objects(g, count_visit, &out[g]) != 0) out[g] = SIZE_MAX;
    }
    if (hook_on) rcgc_set_alloc_hook(alloc_hook, &hook);
    if (enabled) rcgc_enable();
    errno = saved;
}

typedef struct {
    size_t rc[NSLOTS], count[3], gens[3];
    void *obj[NSLOTS];
    unsigned actions;
    const char *call;
} observed;

static void observe(observed *o, const char *call)
{
    o->call = call;
    o->actions = actions_done;
    for (int i = 0; i < NSLOTS; i++) {
        o->obj[i] = slots[i].obj;
        o->rc[i] = o->obj[i] ? rcgc_refcount(o->obj[i]) : 0;
    }
    rcgc_get_count(o->count);
    generation_sizes(o->gens);
}

/* After the call: unless user code ran meanwhile (an action of the sink or
   of a callback), nothing the program sees changed. */
static void unchanged(const observed *o)
{
    if (actions_done != o->actions) return;
    for (int i = 0; i < NSLOTS; i++)
        if (o->obj[i] && slots[i].obj == o->obj[i] && rcgc_refcount(o->obj[i]) != o->rc[i])
            fail("%s changed the count of <%s %p> from %zu to %zu", o->call,
                 rcgc_typeof(o->obj[i])->name, o->obj[i], o->rc[i], rcgc_refcount(o->obj[i]));
    size_t count[3], gens[3];
    rcgc_get_count(count);
    generation_sizes(gens);
    for (int g = 0; g < 3; g++) {
        if (count[g] != o->count[g])
            fail("%s changed rcgc_get_count[%d] from %zu to %zu", o->call, g, o->count[g],
                 count[g]);
        if (gens[g] != o->gens[g])
            fail("%s changed generation %d from %zu to %zu objects", o->call, g, o->gens[g],
                 gens[g]);
    }
}

/* The one lower bound the leak tools must reach: our nodes made after
   `since` (serial) and up to `upto`, alive now. */

static size_t nodes_alive_made(uint32_t since, uint32_t upto)
{
    size_t n = 0;
    for (fnode *f = registry; f; f = f->reg_next) n += f->serial > since && f->serial <= upto;
    return n;
}

/* census */
static void op_census(unsigned a, unsigned b)
{
    observed o;
    unsigned lines = tool_lines;
    switch (a % 3) {
    case 0: {
        rcgc_type_count out[8];
        size_t cap = b % 9;
        observe(&o, "rcgc_census");
        size_t n = rcgc_census(cap ? out : NULL, cap);
        unchanged(&o);
        size_t shown = n < cap ? n : cap;
        size_t ours[NTYPES] = {0};
        for (fnode *f = registry; f; f = f->reg_next) ours[node_type_index(rcgc_typeof(f))]++;
        size_t our_types = 0;
        for (int t = 0; t < NTYPES; t++) our_types += ours[t] != 0;
        if (n < our_types) fail("rcgc_census counts %zu types, we have %zu alive", n, our_types);
        for (size_t i = 0; i < shown; i++) {
            if (!out[i].type || !out[i].count) fail("census entry %zu is empty", i);
            if (i && (out[i].count > out[i - 1].count ||
                      (out[i].count == out[i - 1].count &&
                       strcmp(out[i].type->name, out[i - 1].type->name) < 0)))
                fail("census entries %zu and %zu out of order", i - 1, i);
            int t = node_type_index(out[i].type);
            if (t < 0) continue;
            if (depth == 0 && out[i].count != ours[t])
                fail("census: %zu objects of %s, %zu alive", out[i].count, out[i].type->name,
                     ours[t]);
            if (out[i].bytes < out[i].count * sizeof(fnode))
                fail("census: %zu bytes for %zu %s", out[i].bytes, out[i].count,
                     out[i].type->name);
        }
        break;
    }
    case 1: {
        size_t limit = b % 5, ntypes = rcgc_census(NULL, 0);
        observe(&o, "rcgc_show_most_common_types");
        rcgc_show_most_common_types(limit, tool_sink, &tool_lines);
        unchanged(&o);
        size_t expect = limit && limit < ntypes ? limit : ntypes;
        if (actions_done == o.actions && tool_lines - lines != expect)
            fail("rcgc_show_most_common_types(%zu) printed %u lines for %zu types", limit,
                 tool_lines - lines, ntypes);
        break;
    }
    case 2: {
        size_t limit = b % 5;
        observe(&o, "rcgc_show_growth");
        size_t grew = rcgc_show_growth(limit, tool_sink, &tool_lines);
        unchanged(&o);
        size_t expect = limit && limit < grew ? limit : grew;
        if (actions_done == o.actions && tool_lines - lines != expect)
            fail("rcgc_show_growth(%zu) printed %u lines, returned %zu", limit,
                 tool_lines - lines, grew);
        break;
    }
    }
}

/* rcgc_get_holders: every tracked object the program holds is a holder
   (a slot is a reference from outside), unless frozen. */
typedef struct {
    unsigned mode, visits, stop_at;
    void *seen[512];     /* every holder visited, by address */
    size_t nseen;
} holders_q;

static int holder_visit(void *obj, void *arg)
{
    holders_q *q = arg;
    if (++q->visits > 100000) fail("rcgc_get_holders never finishes");
    if (!obj || !rcgc_typeof(obj)) fail("rcgc_get_holders visits something that is no object");
    if (rcgc_refcount(obj) < held(obj) + 1)
        fail("holder visited with count %zu, the program holds %u and the tool one",
             rcgc_refcount(obj), held(obj));
    if (q->nseen < sizeof q->seen / sizeof q->seen[0]) q->seen[q->nseen++] = obj;
    if (q->mode % 3 == 1 && q->visits <= 2) act(q->mode >> 2, q->mode >> 5);
    if (q->mode % 3 == 2 && q->visits == q->stop_at) return 5;
    return 0;
}

static void op_holders(unsigned a, unsigned b)
{
    holders_q *q = calloc(1, sizeof *q);   /* (big: off the stack of deep actions) */
    if (!q) abort();
    q->mode = a;
    q->stop_at = b % 4 + 1;
    void *expect[NSLOTS];
    int nexpect = 0;
    bool frozen = rcgc_get_freeze_count() > 0;
    for (int i = 0; i < NSLOTS; i++)
        if (slots[i].obj && rcgc_is_tracked(slots[i].obj)) expect[nexpect++] = slots[i].obj;
    observed o;
    observe(&o, "rcgc_get_holders");
    errno = 0;
    int r = rcgc_get_holders(holder_visit, q);
    unchanged(&o);
    if (r == -1) {
        expect_errno("rcgc_get_holders", ENOMEM);
        free(q);
        return;
    }
    if (q->mode % 3 == 2 && q->visits == q->stop_at) {
        if (r != 5) fail("rcgc_get_holders stopped by 5 returned %d", r);
        free(q);
        return;
    }
    if (r != 0) fail("rcgc_get_holders returned %d", r);
    for (int i = 0; i < nexpect && !frozen && !depth; i++) {
        bool found = false;
        for (size_t j = 0; j < q->nseen; j++) found |= q->seen[j] == expect[i];
        /* (the address only: an action may have let it go since) */
        if (!found && q->nseen < sizeof q->seen / sizeof q->seen[0])
            fail("rcgc_get_holders misses %p, which the program held", expect[i]);
    }
    free(q);
}

/* A tool that prints about one object (the caller has pinned it): called
   under observation; NULL must fail with EINVAL. */
typedef int (*object_tool)(const void *obj, rcgc_write_fn out, void *arg);

static int call_object_tool(object_tool fn, const char *name, void *obj, observed *o)
{
    observe(o, name);
    errno = 0;
    int r = fn(obj, tool_sink, &tool_lines);
    int e = errno;
    unchanged(o);
    errno = e;
    if (!obj) {
        if (r != -1) fail("%s(NULL) returned %d", name, r);
        expect_errno(name, EINVAL);
    }
    return r;
}

static void op_why_alive(void *obj)
{
    int mark = npins;
    pin(obj);
    bool tracked = obj && rcgc_is_tracked(obj);
    observed o;
    unsigned lines = tool_lines;
    int r = call_object_tool(rcgc_why_alive, "rcgc_why_alive", obj, &o);
    if (obj && r < 0) {
        if (r != -1) fail("rcgc_why_alive returned %d", r);
        if (errno != ENOMEM && (tracked || errno != ENOENT))
            fail("rcgc_why_alive of <%s %p> (the program holds it, %s) failed with errno %d (%s)",
                 rcgc_typeof(obj)->name, obj, tracked ? "tracked" : "untracked", errno,
                 strerror(errno));
    } else if (obj && actions_done == o.actions && tool_lines - lines != (unsigned)r + 1) {
        fail("rcgc_why_alive returned %d links and printed %u lines", r, tool_lines - lines);
    }
    unpin_to(mark);
}

/* rcgc_leak_report, rcgc_monitor_report and rcgc_check_watched print a
   line about an object (a type's example, a watched object), then its
   chain: the sink, which runs the input's action, may free the object in
   between (a library bug this fuzzer found, fixed in 2b0ee09), so their
   sink acts like every other. */
static uint8_t sink_off(void)
{
    return tool_action;
}

static const char *const why_text[4] = {NULL, "", "should be gone", "the request is over"};

static void op_watch(unsigned a, unsigned b)
{
    if (b % 4 == 3) {
        uint8_t saved = sink_off();
        rcgc_check_watched(tool_sink, &tool_lines);
        tool_action = saved;
        return;
    }
    void *obj = item_of(a);
    int mark = npins;
    pin(obj);
    observed o;
    observe(&o, "rcgc_watch");
    errno = 0;
    int r = rcgc_watch(obj, why_text[b % 4]);
    unchanged(&o);
    if (!obj) {
        if (r != -1) fail("rcgc_watch(NULL) returned %d", r);
        expect_errno("rcgc_watch(NULL)", EINVAL);
    } else if (r != 0) {
        if (r != -1) fail("rcgc_watch returned %d", r);
        expect_errno("rcgc_watch", ENOMEM);
    }
    unpin_to(mark);
}

static bool leakcheck_open;
static uint32_t leakcheck_since;

static void op_leakcheck(unsigned a)
{
    if (a & 1) {
        observed o;
        observe(&o, "rcgc_leakcheck_begin");
        rcgc_leakcheck_begin();
        unchanged(&o);
        leakcheck_open = true;
        leakcheck_since = node_serial;
        return;
    }
    bool was_open = leakcheck_open;
    uint32_t upto = node_serial;
    unsigned lines = tool_lines, actions = actions_done;
    leakcheck_open = false;
    size_t n = rcgc_leakcheck_end(tool_sink, &tool_lines);
    if (!was_open) {
        if (n != 0) fail("rcgc_leakcheck_end without begin returned %zu", n);
        if (tool_lines != lines) fail("rcgc_leakcheck_end without begin printed");
        return;
    }
    if (n == 0 && tool_lines != lines && actions == actions_done)
        fail("rcgc_leakcheck_end found no leak and printed %u lines", tool_lines - lines);
    if (depth == 0 && actions == actions_done) {
        size_t alive = nodes_alive_made(leakcheck_since, upto);
        if (n < alive) fail("rcgc_leakcheck_end returned %zu, %zu nodes made since are alive", n,
                            alive);
    }
}

static void op_leak_report(void)
{
    uint32_t upto = node_serial;
    unsigned actions = actions_done;
    uint8_t saved = sink_off();
    size_t n = rcgc_leak_report(tool_sink, &tool_lines);
    tool_action = saved;
    if (depth == 0 && actions == actions_done) {
        size_t alive = nodes_alive_made(0, upto);
        if (n < alive) fail("rcgc_leak_report returned %zu, %zu of our nodes alive", n, alive);
    }
}

static void op_dot(unsigned a, unsigned b, unsigned c)
{
    void *objs[4];
    size_t n = a % 4;
    int mark = npins;
    bool null_obj = false;
    for (size_t i = 0; i < n; i++) {
        objs[i] = item_of(b + 5 * (unsigned)i);
        null_obj |= !objs[i];
        pin(objs[i]);
    }
    static const unsigned flag_sets[8] = {
        RCGC_DOT_REFERRERS, RCGC_DOT_REFERENTS, RCGC_DOT_REFERRERS | RCGC_DOT_ADDRESSES,
        RCGC_DOT_REFERENTS | RCGC_DOT_ADDRESSES, RCGC_DOT_REFERRERS, RCGC_DOT_REFERENTS,
        0, RCGC_DOT_REFERRERS | RCGC_DOT_REFERENTS,
    };
    unsigned flags = flag_sets[c % 8];
    bool bad = null_obj || (c % 8) >= 6;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) abort();
    observed o;
    observe(&o, "rcgc_write_dot");
    errno = 0;
    int r = rcgc_write_dot((a & 4) ? NULL : f, n ? objs : NULL, n, (a >> 3) % 4, flags);
    unchanged(&o);
    int e = errno;
    fclose(f);
    errno = e;
    if ((a & 4) || bad) {
        if (r != -1) fail("rcgc_write_dot with bad arguments returned %d", r);
        expect_errno("rcgc_write_dot with bad arguments", EINVAL);
    } else if (r != 0) {
        if (r != -1) fail("rcgc_write_dot returned %d", r);
        expect_errno("rcgc_write_dot", ENOMEM);
    } else {
        if (!text || strncmp(text, "digraph", 7) != 0)
            fail("rcgc_write_dot wrote no digraph: \"%.40s\"", text ? text : "");
        long open = 0;
        bool quoted = false;
        for (size_t i = 0; i < len; i++) {
            if (text[i] == '\\' && quoted) { i++; continue; }
            if (text[i] == '"') quoted = !quoted;
            if (quoted) continue;
            if (text[i] == '{') open++;
            if (text[i] == '}' && --open < 0) fail("rcgc_write_dot: '}' without '{' at %zu", i);
        }
        if (open || quoted) fail("rcgc_write_dot: unbalanced braces or quotes (%ld open)", open);
        if (len < 2 || text[len - 1] != '\n' || text[len - 2] != '}')
            fail("rcgc_write_dot: the picture does not end with \"}\\n\"");
    }
    free(text);
    unpin_to(mark);
}

static char scratch_dir[64];

static void scratch_remove(void)
{
    static const char *const names[] = {"monitor.html", "snapshot", "not-a-snapshot", "capture"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch_dir, names[i]);
        remove(path);
    }
    remove(scratch_dir);
}

static void scratch_path(char *buf, size_t cap, const char *name)
{
    if (!scratch_dir[0]) {
        snprintf(scratch_dir, sizeof scratch_dir, "/tmp/rcgc-fuzz-XXXXXX");
        if (!mkdtemp(scratch_dir)) abort();
    }
    snprintf(buf, cap, "%s/%s", scratch_dir, name);
}

static bool monitor_used;

static void op_monitor(unsigned a)
{
    observed o;
    monitor_used = true;
    switch (a % 4) {
    case 0:
        observe(&o, "rcgc_monitor_sample");
        rcgc_monitor_sample();
        unchanged(&o);
        break;
    case 1: {
        unsigned lines = tool_lines;
        observe(&o, "rcgc_monitor_report");
        uint8_t saved = sink_off();
        size_t n = rcgc_monitor_report(tool_sink, &tool_lines);
        tool_action = saved;
        unchanged(&o);
        if (tool_lines - lines < 1 + n && actions_done == o.actions)
            fail("rcgc_monitor_report: %zu suspects in %u lines", n, tool_lines - lines);
        break;
    }
    case 2: {
        char path[128];
        scratch_path(path, sizeof path, "monitor.html");
        observe(&o, "rcgc_monitor_write_html");
        errno = 0;
        int r = rcgc_monitor_write_html(path);
        unchanged(&o);
        if (r != 0) fail("rcgc_monitor_write_html returned %d (%s)", r, strerror(errno));
        errno = 0;
        if (rcgc_monitor_write_html(NULL) != -1) fail("rcgc_monitor_write_html(NULL) succeeded");
        expect_errno("rcgc_monitor_write_html(NULL)", EINVAL);
        break;
    }
    case 3:
        observe(&o, "rcgc_monitor_reset");
        rcgc_monitor_reset();
        unchanged(&o);
        break;
    }
}

/* Tracing: the model knows whether it is on, and which tracing session
   made each node (0: made while not tracing). */

static void check_traced_memory(const char *when)
{
    size_t cur = 1, peak = 1;
    rcgc_trace_get_memory(&cur, &peak);
    if (rcgc_trace_is_tracing() != model_tracing)
        fail("rcgc_trace_is_tracing reads %d %s", rcgc_trace_is_tracing(), when);
    if (!model_tracing) {
        if (cur || peak) fail("traced memory %zu, peak %zu while not tracing (%s)", cur, peak, when);
        if (rcgc_trace_lost()) fail("%zu blocks lost while not tracing", rcgc_trace_lost());
        return;
    }
    if (cur > rcgc_memory_in_use())
        fail("traced memory %zu above memory in use %zu (%s)", cur, rcgc_memory_in_use(), when);
    if (peak < cur) fail("traced peak %zu below current %zu (%s)", peak, cur, when);
}

static void op_trace(unsigned a, unsigned b)
{
    observed o;
    switch (a % 6) {
    case 0: {
        int nframes = (int)(b % 16) + 1;
        observe(&o, "rcgc_trace_start");
        errno = 0;
        int r = rcgc_trace_start(nframes);
        unchanged(&o);
        if (r != 0) {
            if (r != -1) fail("rcgc_trace_start returned %d", r);
            expect_errno("rcgc_trace_start", ENOMEM);
            break;
        }
        if (!model_tracing) trace_session++;
        model_tracing = true;
        break;
    }
    case 1:
        observe(&o, "rcgc_trace_stop");
        rcgc_trace_stop();
        unchanged(&o);
        model_tracing = false;
        break;
    case 2:
        rcgc_trace_reset_peak();
        break;
    case 3: {
        void *obj = item_of(b);
        int mark = npins;
        pin(obj);
        unsigned lines = tool_lines;
        int r = call_object_tool(rcgc_trace_object_site, "rcgc_trace_object_site", obj, &o);
        if (obj && is_node(rcgc_typeof(obj)) && actions_done == o.actions) {
            fnode *f = obj;
            bool traced = model_tracing && f->trace_session == trace_session;
            if (traced && rcgc_trace_lost() == 0 && r != 0)
                fail("rcgc_trace_object_site of a node made while tracing: %d (%s)", r,
                     strerror(errno));
            if (!traced && r != -1) fail("rcgc_trace_object_site of an untraced node: %d", r);
            if (!traced) expect_errno("rcgc_trace_object_site of an untraced node", ENOENT);
            if (r == 0 && tool_lines == lines) fail("rcgc_trace_object_site printed nothing");
        }
        unpin_to(mark);
        break;
    }
    case 4: {
        static const int bad[4] = {0, -1, 65, 1000};
        errno = 0;
        if (rcgc_trace_start(bad[b % 4]) != -1) fail("rcgc_trace_start(%d) succeeded", bad[b % 4]);
        expect_errno("rcgc_trace_start(bad nframes)", EINVAL);
        break;
    }
    case 5:
        (void)rcgc_trace_tracer_memory();
        break;
    }
    check_traced_memory("after a trace operation");
}

/* Snapshots: two at most, freed at the end of the input. */
static rcgc_snapshot *snaps[2];

static const char *print_all_keys(const rcgc_snapshot *s, size_t limit)
{
    tool_text_len = 0;
    if (tool_text) tool_text[0] = 0;
    bool keep = tool_keep;
    uint8_t action = tool_action;
    tool_keep = true;
    tool_action = 0;
    for (int k = 0; k <= RCGC_BY_LINENO_CUMULATIVE; k++) {
        errno = 0;
        rcgc_snapshot_print_top(s, (rcgc_key)k, limit, tool_sink, &tool_lines);
        if (errno == EINVAL) fail("rcgc_snapshot_print_top(key %d) failed with EINVAL", k);
    }
    tool_keep = keep;
    tool_action = action;
    return tool_text ? tool_text : "";
}

static const char *const patterns[4] = {"*", "*.c", "*fuzz_api*", "no-such-file"};

/* Snapshots an outer op_snapshot is reading: the sink's actions may not free
   or filter them under it, as a program does not free what it is printing
   (found once owned weakref args gave the fuzzer's inputs more actions). */
static int snaps_busy;

static void op_snapshot(unsigned a, unsigned b, unsigned c)
{
    observed o;
    rcgc_snapshot **s = &snaps[b & 1], *other = snaps[!(b & 1)];
    if (snaps_busy && (a % 6 == 0 || a % 6 == 3)) return;
    snaps_busy++;
    switch (a % 6) {
    case 0: {
        observe(&o, "rcgc_snapshot_take");
        errno = 0;
        rcgc_snapshot *t = rcgc_snapshot_take();
        unchanged(&o);
        if (!t) {
            if (model_tracing) expect_errno("rcgc_snapshot_take", ENOMEM);
            else expect_errno("rcgc_snapshot_take while not tracing", EINVAL);
            break;
        }
        if (!model_tracing) fail("rcgc_snapshot_take while not tracing made a snapshot");
        rcgc_snapshot_free(*s);
        *s = t;
        break;
    }
    case 1:
        if (!*s) break;
        observe(&o, "rcgc_snapshot_print_top");
        for (int k = 0; k <= RCGC_BY_LINENO_CUMULATIVE; k++)
            rcgc_snapshot_print_top(*s, (rcgc_key)k, c % 4, tool_sink, &tool_lines);
        unchanged(&o);
        errno = 0;
        rcgc_snapshot_print_top(*s, (rcgc_key)(RCGC_BY_LINENO_CUMULATIVE + 1 + c % 3), 0,
                                tool_sink, &tool_lines);
        expect_errno("rcgc_snapshot_print_top(bad key)", EINVAL);
        errno = 0;
        rcgc_snapshot_print_top(NULL, RCGC_BY_TYPE, 0, tool_sink, &tool_lines);
        expect_errno("rcgc_snapshot_print_top(NULL)", EINVAL);
        break;
    case 2:
        if (!*s || !other) break;
        observe(&o, "rcgc_snapshot_print_compare");
        for (int k = 0; k <= RCGC_BY_LINENO_CUMULATIVE; k++)
            rcgc_snapshot_print_compare(*s, other, (rcgc_key)k, c % 4, tool_sink, &tool_lines);
        unchanged(&o);
        break;
    case 3:
        if (!*s) break;
        if (rcgc_snapshot_filter(*s, c & 1, patterns[(c >> 1) % 4]) != 0)
            fail("rcgc_snapshot_filter failed (%s)", strerror(errno));
        errno = 0;
        if (rcgc_snapshot_filter(*s, true, NULL) != -1) fail("rcgc_snapshot_filter(NULL) succeeded");
        expect_errno("rcgc_snapshot_filter(NULL pattern)", EINVAL);
        break;
    case 4: {
        if (!*s) break;
        char path[128];
        scratch_path(path, sizeof path, "snapshot");
        errno = 0;
        if (rcgc_snapshot_dump(*s, path) != 0)
            fail("rcgc_snapshot_dump failed (%s)", strerror(errno));
        errno = 0;
        rcgc_snapshot *l = rcgc_snapshot_load(path);
        if (!l) fail("rcgc_snapshot_load of a dump failed (%s)", strerror(errno));
        char *before = strdup(print_all_keys(*s, c % 4));
        if (!before) abort();
        const char *after = print_all_keys(l, c % 4);
        if (strcmp(before, after) != 0)
            fail("a loaded snapshot prints otherwise: \"%.60s\" / \"%.60s\"", before, after);
        free(before);
        rcgc_snapshot_free(l);
        break;
    }
    case 5: {
        /* A dump cut short (or, without a snapshot, bytes of junk) */
        char path[128];
        scratch_path(path, sizeof path, "not-a-snapshot");
        long size = 0;
        if (*s) {
            if (rcgc_snapshot_dump(*s, path) != 0)
                fail("rcgc_snapshot_dump failed (%s)", strerror(errno));
            FILE *f = fopen(path, "rb");
            if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0) abort();
            fclose(f);
            size = (long)((unsigned long)size * c / 256);   /* 0 to size - 1 bytes */
            if (truncate(path, size) != 0) abort();
        } else {
            unsigned char junk[40];
            for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(c * (i + 7));
            size = (long)(c % sizeof junk);
            FILE *f = fopen(path, "wb");
            if (!f) abort();
            fwrite(junk, 1, (size_t)size, f);
            fclose(f);
        }
        errno = 0;
        rcgc_snapshot *l = rcgc_snapshot_load(path);
        if (l) fail("rcgc_snapshot_load of %ld bytes (cut or junk) loaded", size);
        expect_errno("rcgc_snapshot_load of a cut dump or junk", EINVAL);
        break;
    }
    }
    snaps_busy--;
}

static int regions_open;
static const char *const region_names[4] = {"load", "parse", "a region named at length", "x"};

static void op_region(unsigned a, unsigned b)
{
    observed o;
    switch (a % 3) {
    case 0:
        if (regions_open >= 8) break;
        observe(&o, "rcgc_profile_begin");
        errno = 0;
        rcgc_profile_begin(b % 5 == 4 ? NULL : region_names[b % 4]);
        unchanged(&o);
        if (b % 5 == 4) expect_errno("rcgc_profile_begin(NULL)", EINVAL);
        regions_open++;
        break;
    case 1:
        observe(&o, "rcgc_profile_end");
        errno = 0;
        rcgc_profile_end();
        unchanged(&o);
        if (regions_open) regions_open--;
        else expect_errno("rcgc_profile_end with no region open", EINVAL);
        break;
    case 2:
        observe(&o, "rcgc_profile_print");
        rcgc_profile_print(tool_sink, &tool_lines);
        unchanged(&o);
        break;
    }
}

static bool capturing;
/* A rcgc_capture_start that fails on open(2) leaves nothing behind: the
   next rcgc_capture_stop says EINVAL (a library bug this fuzzer found,
   fixed in 2b0ee09). */

static void op_capture(unsigned a)
{
    char path[128];
    scratch_path(path, sizeof path, "capture");
    observed o;
    errno = 0;
    switch (a % 4) {
    case 0: {
        observe(&o, "rcgc_capture_start");
        int r = rcgc_capture_start(path);
        unchanged(&o);
        if (capturing) {
            if (r != -1) fail("a second rcgc_capture_start returned %d", r);
            expect_errno("a second rcgc_capture_start", EBUSY);
        } else if (r != 0) {
            fail("rcgc_capture_start failed (%s)", strerror(errno));
        }
        capturing = true;
        break;
    }
    case 1: {
        observe(&o, "rcgc_capture_stop");
        int r = rcgc_capture_stop();
        unchanged(&o);
        if (!capturing) {
            if (r != -1) fail("rcgc_capture_stop without a capture returned %d", r);
            expect_errno("rcgc_capture_stop without a capture", EINVAL);
        } else if (r != 0) {
            fail("rcgc_capture_stop failed (%s)", strerror(errno));
        }
        capturing = false;
        break;
    }
    case 2:
        if (rcgc_capture_start(a & 4 ? "" : NULL) != -1) fail("rcgc_capture_start(bad path) succeeded");
        expect_errno("rcgc_capture_start(bad path)", EINVAL);
        break;
    case 3:
        if (capturing) break;
        scratch_path(path, sizeof path, "no-such-dir/capture");
        if (rcgc_capture_start(path) != -1) fail("rcgc_capture_start(missing directory) succeeded");
        expect_errno("rcgc_capture_start(missing directory)", ENOENT);
        break;
    }
}

/* ACT_TOOL: a tool that must change nothing, called from user code
   (finalizers, clears, callbacks, sinks, the allocation hook). */
static void act_tool(unsigned arg)
{
    switch (arg % 8) {
    case 0: op_census(arg >> 3, arg >> 4); break;
    case 1: op_why_alive(slot_obj(arg >> 3)); break;
    case 2: op_holders(arg >> 3, arg >> 5); break;
    case 3: op_dot(arg >> 3, arg >> 5, arg >> 6); break;
    case 4: op_monitor(0); break;
    case 5: check_traced_memory("in user code"); break;
    case 6: op_snapshot(0, arg >> 3, 0); break;
    case 7: op_trace(3, arg >> 3); break;
    }
}

/* ACT_HEAP: heaps from user code, which runs in the middle of an operation
   that goes on in its heap: rcgc_heap_enter of another heap and
   rcgc_heap_destroy of any heap are refused with EBUSY, from every callback
   (rcgc.h; docs/reentrancy.md), whatever the code has seen of the heap.
   rcgc_heap_new works; the heap made is destroyed at the end of the input,
   from the default heap, with the node made in it (from top level). */
static rcgc_heap *made_heaps[4];
static unsigned nmade_heaps;

static void act_heap(unsigned arg)
{
    rcgc_heap *here = rcgc_heap_current();
    if (here != fuzz_heap) fail("user code runs in heap %p, not the input's", (void *)here);
    errno = 0;
    if (depth == loop_body_depth) {
        /* A loop body of the program's, between two steps of a walk: rcgc
           runs nothing, so the thread may leave the heap and come back (a
           destroy would end the input's heap: not done). */
        if (arg % 4 == 0) return;
        rcgc_heap *other = outer_heap;
        if (arg % 4 != 1) {
            if (nmade_heaps == sizeof made_heaps / sizeof made_heaps[0]) return;
            other = rcgc_heap_new();
            if (!other) fail("rcgc_heap_new from a loop body failed (%s)", strerror(errno));
            made_heaps[nmade_heaps++] = other;
        }
        if (rcgc_heap_enter(other) != here) fail("rcgc_heap_enter from a loop body");
        if (rcgc_heap_current() != other) fail("rcgc_heap_enter from a loop body left the thread elsewhere");
        if (rcgc_heap_enter(here) != other) fail("rcgc_heap_enter back from a loop body");
        return;
    }
    switch (arg % 4) {
    case 0: {
        int r = rcgc_heap_destroy(arg & 4 ? here : fuzz_heap);
        if (r != -1) fail("rcgc_heap_destroy of the heap user code runs in returned %d", r);
        expect_errno("rcgc_heap_destroy from user code", EBUSY);
        break;
    }
    case 1: {
        rcgc_heap *was = rcgc_heap_enter(arg & 4 ? outer_heap : NULL);
        if (was) fail("rcgc_heap_enter(default heap) from user code returned %p", (void *)was);
        expect_errno("rcgc_heap_enter from user code", EBUSY);
        break;
    }
    default: {
        if (nmade_heaps == sizeof made_heaps / sizeof made_heaps[0]) break;
        rcgc_heap *h = rcgc_heap_new();
        if (!h) fail("rcgc_heap_new from user code failed (%s)", strerror(errno));
        made_heaps[nmade_heaps++] = h;
        errno = 0;
        if (rcgc_heap_enter(h)) fail("rcgc_heap_enter(new heap) from user code succeeded");
        expect_errno("rcgc_heap_enter(new heap) from user code", EBUSY);
        errno = 0;
        if (rcgc_heap_destroy(h) != -1) fail("rcgc_heap_destroy(new heap) from user code");
        expect_errno("rcgc_heap_destroy of another heap from user code", EBUSY);
        break;
    }
    }
    if (rcgc_heap_current() != fuzz_heap) fail("user code left in another heap");
}

/* At the end of the input, in the default heap: each heap user code made,
   with a pair of nodes (a cycle when their types traverse) and a leaf left
   in it, destroyed from inside or from outside (by the heap's index);
   every node made there is destroyed. */
static void destroy_made_heaps(void)
{
    for (unsigned i = 0; i < nmade_heaps; i++) {
        rcgc_heap *h = made_heaps[i];
        if (rcgc_heap_enter(h) != outer_heap) fail("rcgc_heap_enter(heap made by user code)");
        size_t before = registry_len;
        fnode *a = rcgc_new(&node_types[(i + node_serial) % NTYPES]);
        fnode *b = rcgc_new(&node_types[(i + 3 * node_serial) % NTYPES]);
        fnode *leaf = rcgc_new(&node_types[0]);
        if (!a || !b || !leaf) fail("rcgc_new in a new heap failed (%s)", strerror(errno));
        register_node(a);
        register_node(b);
        register_node(leaf);
        if (rcgc_typeof(a)->traverse) a->slot[0] = b;   /* our reference moves there */
        if (rcgc_typeof(b)->traverse) {
            rcgc_incref(a);
            b->slot[0] = a;
        }
        if (!rcgc_typeof(a)->traverse) rcgc_decref(b);
        if (i & 1) rcgc_heap_enter(outer_heap);
        in_teardown++;
        int r = rcgc_heap_destroy(h);
        in_teardown--;
        if (r != 0) fail("rcgc_heap_destroy of a heap made by user code returned %d", r);
        if (rcgc_heap_current() != outer_heap)
            fail("after rcgc_heap_destroy the thread is in heap %p", (void *)rcgc_heap_current());
        if (registry_len != before)
            fail("%zu nodes of a destroyed heap left", registry_len - before);
    }
    nmade_heaps = 0;
}

/* End of input: stop what the tools run, so the next input starts alike. */
static void tools_end_of_input(void)
{
    rcgc_snapshot_free(snaps[0]);
    rcgc_snapshot_free(snaps[1]);
    snaps[0] = snaps[1] = NULL;
    while (regions_open) {
        rcgc_profile_end();
        regions_open--;
    }
    if (capturing && rcgc_capture_stop() != 0) fail("rcgc_capture_stop at the end failed");
    capturing = false;
    rcgc_trace_stop();
    model_tracing = false;
    check_traced_memory("at the end of the input");
    /* The scratch directory goes with the input (libFuzzer leaves by _Exit,
       which runs no atexit handler). */
    if (scratch_dir[0]) {
        scratch_remove();
        scratch_dir[0] = 0;
    }
    if (monitor_used) rcgc_monitor_reset();
    monitor_used = false;
    if (leakcheck_open) rcgc_leakcheck_end(tool_sink, &tool_lines);
    leakcheck_open = false;
    tool_action = 0;
}

/* ---- the model check ------------------------------------------------------------- */

static void check_model(void)
{
    if (npins) fail("pins left at top level");
    if (trk.in_gc) fail("collection still running at top level");
    for (int i = 0; i < NSLOTS; i++) {
        void *obj = slots[i].obj;
        if (!obj) continue;
        size_t rc = rcgc_refcount(obj);
        unsigned h = held(obj);
        if (rc < h) fail("slot %d: count %zu, the program holds %u references", i, rc, h);
        const rcgc_type *t = rcgc_typeof(obj);
        if (t != slots[i].type) fail("slot %d: type changed from %s to %s", i,
                                     slots[i].type->name, t ? t->name : "?");
        if (!t->traverse && rcgc_is_tracked(obj)) fail("slot %d: untrackable object tracked", i);
    }
    for (size_t k = 0; k < sizeof shadows / sizeof shadows[0]; k++) {
        shadow *s = &shadows[k];
        if (!s->obj) continue;
        if (!held(s->obj)) fail("shadow of an object the program no longer holds");
        if (s->kind == SH_LIST) {
            size_t len = rcgc_list_len(s->obj);
            if (len != s->len) fail("list of %zu items, expected %zu", len, s->len);
            for (size_t i = 0; i < len; i++)
                if (rcgc_list_get(s->obj, i) != s->items[i])
                    fail("list item %zu is %p, expected %p", i, rcgc_list_get(s->obj, i),
                         s->items[i]);
        } else if (s->kind == SH_NODE) {
            if (rcgc_is_finalized(s->obj) != ((fnode *)s->obj)->fin_ran)
                fail("rcgc_is_finalized(<%s %p>) is %d", rcgc_typeof(s->obj)->name, s->obj,
                     rcgc_is_finalized(s->obj));
            /* Only the program writes a node's slots while it holds it: a
               clear of a reachable object would show here. */
            for (int i = 0; i < 3; i++)
                if (((fnode *)s->obj)->slot[i] != s->items[i])
                    fail("held <%s %p> slot %d is %p, expected %p", rcgc_typeof(s->obj)->name,
                         s->obj, i, ((fnode *)s->obj)->slot[i], s->items[i]);
        } else if (s->kind == SH_DICT) {
            size_t len = rcgc_dict_len(s->obj), pos = 0, i = 0;
            if (len != s->len) fail("dict of %zu entries, expected %zu", len, s->len);
            const char *key;
            void *value;
            while (rcgc_dict_next(s->obj, &pos, &key, &value)) {
                if (i >= s->len) fail("dict iterates more than %zu entries", s->len);
                if (strcmp(key, key_text[s->keys[i]]) != 0 || value != s->items[i])
                    fail("dict entry %zu is \"%s\" %p, expected \"%s\" %p", i, key, value,
                         key_text[s->keys[i]], s->items[i]);
                i++;
            }
            if (i != s->len) fail("dict iterates %zu entries, expected %zu", i, s->len);
        } else {
            void *p = rcgc_weakref_peek(s->obj);
            if (s->dead && p) fail("weakref came back to life");
            if (p && p != s->referent)
                fail("weakref returns %p, made for %p", p, s->referent);
            if (!p) {
                s->dead = true;
                if (!s->referent_let_go) fail("weakref cleared though its referent is held");
                if (s->continuous && s->cb_id >= 0 && !cb_calls[s->cb_id])
                    fail("weakref %d held since its creation: referent died, no callback",
                         s->cb_id);
            }
        }
    }
    /* Every weak shadow is now dead or sees its referent. */
    for (size_t k = 0; k < sizeof shadows / sizeof shadows[0]; k++) {
        shadow *s = &shadows[k];
        if (!s->obj || s->kind != SH_WEAK || s->dead) continue;
        unsigned n = 0;
        for (size_t j = 0; j < sizeof shadows / sizeof shadows[0]; j++)
            n += shadows[j].obj && shadows[j].kind == SH_WEAK && !shadows[j].dead &&
                 shadows[j].referent == s->referent;
        if (rcgc_weakref_count(s->referent) < n)
            fail("rcgc_weakref_count %zu, the program holds %u weakrefs to it",
                 rcgc_weakref_count(s->referent), n);
    }
    if (rcgc_isenabled() != model_enabled) fail("rcgc_isenabled reads %d", rcgc_isenabled());
    if (rcgc_get_debug() != model_debug) fail("rcgc_get_debug reads %#x, set %#x",
                                              rcgc_get_debug(), model_debug);
}

/* ---- one input ------------------------------------------------------------------- */

enum {
    OP_NEW, OP_LIST_NEW, OP_DICT_NEW, OP_RELEASE, OP_COPY, OP_LINK,
    OP_LIST_APPEND, OP_LIST_SET, OP_LIST_POP, OP_LIST_REMOVE, OP_LIST_CLEAR, OP_LIST_GET,
    OP_DICT_SET, OP_DICT_DEL, OP_DICT_GET, OP_DICT_CLEAR,
    OP_WEAKREF_NEW, OP_WEAKREF_READ, OP_COLLECT, OP_ENABLE, OP_THRESHOLD, OP_FREEZE,
    OP_GET_OBJECTS, OP_GET_REFERRERS, OP_GET_REFERENTS, OP_TRACK, OP_DEBUG, OP_GARBAGE,
    OP_CALLBACK, OP_HOOK, OP_ERRORS, OP_SINK, OP_PAIR_ARG, OP_CHAIN,
    /* rcgc_tools.h */
    OP_CENSUS, OP_HOLDERS, OP_WHY_ALIVE, OP_WATCH, OP_LEAKCHECK, OP_LEAK_REPORT, OP_DOT,
    OP_MONITOR, OP_TRACE, OP_SNAPSHOT, OP_REGION, OP_CAPTURE, OP_TOOL_SINK,
    /* ends the input: rcgc_heap_destroy on whatever is left (end_by_destroy) */
    OP_HEAP_DESTROY, NOPS
};

/* In the operand that names the slot (which reads only its low 4 bits), the
   top bit picks the variant issue 9 added, so that the opcodes, and with
   them the meaning of the committed corpus, stay as they were:
   list_append, list_set, dict_set: the *_steal store; weakref_new: an
   owned arg (rcgc_weakref_new_with_release); list_get, dict_get: a walk
   with an action between two steps (op_walk). */
#define ISSUE9_BIT 0x80u

static const char *const op_names[NOPS] = {
    "new", "list_new", "dict_new", "release", "copy", "link",
    "list_append", "list_set", "list_pop", "list_remove", "list_clear", "list_get",
    "dict_set", "dict_del", "dict_get", "dict_clear",
    "weakref_new", "weakref_read", "collect", "enable", "threshold", "freeze",
    "get_objects", "get_referrers", "get_referents", "track", "debug", "garbage",
    "callback", "hook", "errors", "sink", "pair_arg", "chain",
    "census", "holders", "why_alive", "watch", "leakcheck", "leak_report", "dot",
    "monitor", "trace", "snapshot", "region", "capture", "tool_sink",
    "heap_destroy",
};

static void run_op(unsigned op, unsigned a, unsigned b, unsigned c)
{
    switch (op) {
    case OP_NEW: op_new(a, b, c); break;
    case OP_LIST_NEW: op_container_new(false); break;
    case OP_DICT_NEW: op_container_new(true); break;
    case OP_RELEASE: release((int)(a % NSLOTS)); break;
    case OP_COPY:
        if (slot_obj(a)) {
            rcgc_incref(slot_obj(a));
            acquire(slot_obj(a));
        }
        break;
    case OP_LINK: op_link(slot_obj(a), b, item_of(c)); break;
    case OP_LIST_APPEND: op_list_append(slot_obj(a), item_of(b), a & ISSUE9_BIT); break;
    case OP_LIST_SET: op_list_set(slot_obj(a), b % 20, item_of(c), a & ISSUE9_BIT); break;
    case OP_LIST_POP: op_list_pop(slot_obj(a), b % 20); break;
    case OP_LIST_REMOVE: op_list_remove(slot_obj(a), b % 20); break;
    case OP_LIST_CLEAR: op_clear(slot_obj(a), SH_LIST); break;
    case OP_LIST_GET:
        if (a & ISSUE9_BIT) op_walk(slot_obj(a), b, c, (b >> 3) | (a << 5));
        else op_list_get(slot_obj(a), b % 20, c & 1);
        break;
    case OP_DICT_SET: op_dict_set(slot_obj(a), (int)(b % NKEYS), slot_obj(c), a & ISSUE9_BIT); break;
    case OP_DICT_DEL: op_dict_del(slot_obj(a), (int)(b % NKEYS)); break;
    case OP_DICT_GET:
        if (a & ISSUE9_BIT) op_walk(slot_obj(a), b, c, (b >> 3) | (a << 5));
        else op_dict_get(slot_obj(a), (int)(b % NKEYS), c & 1);
        break;
    case OP_DICT_CLEAR: op_clear(slot_obj(a), SH_DICT); break;
    case OP_WEAKREF_NEW: op_weakref_new(slot_obj(a), b, c, a & ISSUE9_BIT); break;
    case OP_WEAKREF_READ: op_weak_read(slot_obj(a), b); break;
    case OP_COLLECT: op_collect(a % 8 == 7 ? 3 : a % 8 == 6 ? -1 : (int)(a % 3)); break;
    case OP_ENABLE:
        if (a & 1) rcgc_enable(); else rcgc_disable();
        model_enabled = a & 1;
        break;
    case OP_THRESHOLD:
        model_threshold[0] = tiny[a % 8];
        model_threshold[1] = tiny[b % 8];
        model_threshold[2] = tiny[c % 8];
        rcgc_set_threshold(model_threshold[0], model_threshold[1], model_threshold[2]);
        if (a & 0x40) {   /* issue 10: the policy switch, at any point */
            model_policy = b & 0x40 ? RCGC_POLICY_THROUGHPUT : RCGC_POLICY_CPYTHON;
            if (rcgc_set_policy(model_policy) != 0) fail("rcgc_set_policy(%d)", (int)model_policy);
        }
        break;
    case OP_FREEZE:
        if (a & 1) {
            rcgc_freeze();
        } else {
            rcgc_unfreeze();
            if (rcgc_get_freeze_count()) fail("frozen objects after rcgc_unfreeze");
        }
        break;
    case OP_GET_OBJECTS: op_inspect(0, NULL, b, c | (a << 8)); break;
    case OP_GET_REFERRERS: op_inspect(1, item_of(a), b, c); break;
    case OP_GET_REFERENTS: op_inspect(2, item_of(a), b, c); break;
    case OP_TRACK: op_track(slot_obj(a), b & 1); break;
    case OP_DEBUG:
        model_debug = debug_flags[a % 8];
        rcgc_set_debug(model_debug);
        break;
    case OP_GARBAGE: op_garbage(a, b); break;
    case OP_CALLBACK: op_callback(a, b & 1); break;
    case OP_HOOK:
        if ((a & 3) == 0) {
            hook.mode = 0;
            hook_on = false;
            rcgc_set_alloc_hook(NULL, NULL);
        } else {
            op_hook(a, b, c);
            hook_on = true;
        }
        break;
    case OP_ERRORS: op_errors(a, b); break;
    case OP_SINK:
        sink_action = (uint8_t)(a % NACTIONS);
        sink_arg = (uint8_t)b;
        break;
    case OP_PAIR_ARG: pair_arg[a % NPAIRS] = (uint8_t)b; break;
    case OP_CHAIN: op_chain(a, b, c); break;
    case OP_CENSUS: op_census(a, b); break;
    case OP_HOLDERS: op_holders(a, b); break;
    case OP_WHY_ALIVE: op_why_alive(item_of(a)); break;
    case OP_WATCH: op_watch(a, b); break;
    case OP_LEAKCHECK: op_leakcheck(a); break;
    case OP_LEAK_REPORT: op_leak_report(); break;
    case OP_DOT: op_dot(a, b, c); break;
    case OP_MONITOR: op_monitor(a); break;
    case OP_TRACE: op_trace(a, b); break;
    case OP_SNAPSHOT: op_snapshot(a, b, c); break;
    case OP_REGION: op_region(a, b); break;
    case OP_CAPTURE: op_capture(a); break;
    case OP_TOOL_SINK:
        tool_action = (uint8_t)(a % NACTIONS);
        tool_arg = (uint8_t)b;
        break;
    case OP_HEAP_DESTROY: break;   /* the input's loop ends there */
    }
}

static void read_skip_list(void)
{
    static bool done;
    if (done) return;
    done = true;
    tool_echo = getenv("RCGC_FUZZ_TOOL_ECHO") != NULL;
    const char *env = getenv("RCGC_FUZZ_SKIP");
    while (env && *env) {
        char *end;
        unsigned long op = strtoul(env, &end, 10);
        if (end == env) break;
        if (op < 64) skip_ops[op / 32] |= 1u << (op % 32);
        env = *end ? end + 1 : end;
    }
}

/* Drop everything the program holds and collect; then nothing of ours may
   be left. */
static void end_of_input(void)
{
    cur_op = -1;
    cur_name = "end of input";
    teardown = true;
    rcgc_set_alloc_hook(NULL, NULL);
    hook_on = false;
    for (unsigned p = 0; p < NPAIRS; p++)
        while (pair_registered[p]) op_callback(p, false);
    op_callback(0, false);   /* nothing left: ENOENT */
    tools_end_of_input();
    rcgc_set_debug(0);
    model_debug = 0;
    for (int i = 0; i < NSLOTS; i++) release(i);
    chain_release();
    rcgc_unfreeze();
    rcgc_garbage_clear();
    /* Track again what the program untracked, and cut the edges of nodes
       without clear, whose cycles no collection can break. */
    for (int i = 0; i < nkeepers; i++) {
        void *obj = rcgc_weakref_get(keepers[i]);
        if (obj) {
            rcgc_track(obj);
            rcgc_decref(obj);
        }
        rcgc_decref(keepers[i]);
    }
    nkeepers = 0;
    size_t n = registry_len, k = 0;
    void **nodes = malloc((n ? n : 1) * sizeof *nodes);
    if (!nodes) abort();
    for (fnode *f = registry; f; f = f->reg_next) {
        rcgc_incref(f);
        nodes[k++] = f;
    }
    for (size_t i = 0; i < k; i++) {
        fnode *f = nodes[i];
        rcgc_track(f);
        if (!rcgc_typeof(f)->clear)
            for (int j = 0; j < 3; j++) RCGC_CLEAR(f->slot[j]);
    }
    for (size_t i = 0; i < k; i++) rcgc_decref(nodes[i]);
    free(nodes);
    rcgc_collect(2);
    if (rcgc_garbage_count()) fail("%zu uncollectable objects at the end", rcgc_garbage_count());
    for (unsigned id = 0; id < cb_next; id++)
        if (rel_owned[id] && rel_calls[id] != 1)
            fail("arg %u released %u times, every weakref gone", id, rel_calls[id]);
    if (registry) fail("%zu nodes left at the end, first <%s %p> count %zu", registry_len,
                       rcgc_typeof(registry)->name, (void *)registry, rcgc_refcount(registry));
    /* Every watched object died: the check forgets them all. */
    unsigned lines = tool_lines;
    size_t watched = rcgc_check_watched(tool_sink, &tool_lines);
    if (watched || tool_lines != lines)
        fail("rcgc_check_watched at the end: %zu alive, %u lines", watched, tool_lines - lines);
}

/* The other end of an input: rcgc_heap_destroy straight away, on whatever
   the operations left (cycles, clear-less cycles, frozen and untracked
   objects, the garbage list, weakrefs with callbacks that act, watched
   objects, tracing, capture, regions, monitor, hook, callbacks, sinks), from
   inside the heap or from the default heap (a & 1).  The user code teardown
   runs may do anything an action does, until step 5 pins the survivors
   (then the program's references dangle and it acts no more); finalize,
   clear and destroy may now run on what the program holds (destroy at any
   count), finalizers still once.  Afterwards every node was destroyed once (the registry is empty),
   every weakref with a callback that the program held throughout, referent
   alive, has called back once, the thread is in the default heap, and that
   heap's memory is what it was; ASan/LSan see any block left behind. */
static void end_by_destroy(unsigned a)
{
    cur_op = -1;
    cur_name = "heap destroy";
    destroying = true;
    survivors_ending = false;
    nowed = 0;
    for (int i = 0; i < NSLOTS; i++) {
        shadow *s = slots[i].obj ? held_shadow(slots[i].obj, SH_WEAK) : NULL;
        if (s && s->cb_id >= 0 && !cb_calls[s->cb_id] && rcgc_weakref_peek(s->obj))
            owe(s->obj, s->cb_id);
    }
    /* Contents are no longer followed: teardown clears what the program holds. */
    memset(shadows, 0, sizeof shadows);
    if (a & 1 && rcgc_heap_enter(outer_heap) != fuzz_heap) fail("rcgc_heap_enter(default)");
    unsigned starts = trk.starts;
    in_teardown++;
    errno = 0;
    int r = rcgc_heap_destroy(fuzz_heap);
    in_teardown--;
    if (r != 0) fail("rcgc_heap_destroy returned %d (%s)", r, strerror(errno));
    if (trk.starts == starts || trk.in_gc) fail("teardown ran no whole collection");
    if (rcgc_heap_current() != outer_heap)
        fail("after rcgc_heap_destroy the thread is in heap %p", (void *)rcgc_heap_current());
    if (npins) fail("pins left after the teardown");
    for (unsigned id = 0; id < cb_next; id++)
        if (rel_owned[id] && rel_calls[id] != 1)
            fail("arg %u released %u times, the heap destroyed", id, rel_calls[id]);
    for (unsigned i = 0; i < nowed; i++)
        if (cb_calls[owed[i].cb_id] != 1)
            fail("weakref %d, held through the teardown: its callback ran %u times",
                 owed[i].cb_id, cb_calls[owed[i].cb_id]);
    if (registry || registry_len) fail("%zu nodes left after the teardown", registry_len);
    /* Every reference of ours went with the heap; so did the tools' state,
       callbacks, hook and sinks. */
    memset(slots, 0, sizeof slots);
    memset(chain, 0, sizeof chain);
    memset(chain_wr, 0, sizeof chain_wr);
    chain_len = 0;
    nkeepers = 0;
    memset(pair_registered, 0, sizeof pair_registered);
    hook_on = false;
    model_tracing = false;
    capturing = false;
    regions_open = 0;
    leakcheck_open = false;
    monitor_used = false;
    rcgc_snapshot_free(snaps[0]);
    rcgc_snapshot_free(snaps[1]);
    snaps[0] = snaps[1] = NULL;
    if (scratch_dir[0]) {
        scratch_remove();
        scratch_dir[0] = 0;
    }
    tool_action = 0;
    destroying = false;
    fuzz_heap = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_skip_list();
    char top;
    stack_base = &top;
    cur_op = -1;
    cur_name = "setup";
    outer_heap = rcgc_heap_current();
    if (outer_heap != rcgc_heap_default()) fail("the fuzzer runs outside the default heap");
    outer_memory = rcgc_memory_in_use();
    fuzz_heap = rcgc_heap_new();
    if (!fuzz_heap) fail("rcgc_heap_new failed (%s)", strerror(errno));
    if (rcgc_heap_enter(fuzz_heap) != outer_heap) fail("rcgc_heap_enter(new heap)");
    size_t threshold[3];
    rcgc_get_threshold(threshold);
    bool enabled = rcgc_isenabled();
    unsigned debug = rcgc_get_debug();
    size_t memory = rcgc_memory_in_use();

    memset(slots, 0, sizeof slots);
    memset(shadows, 0, sizeof shadows);
    memset(&trk, 0, sizeof trk);
    memset(&hook, 0, sizeof hook);
    memset(pair_registered, 0, sizeof pair_registered);
    memset(pair_arg, 0, sizeof pair_arg);
    npins = 0;
    refusals = 0;
    cb_next = 0;
    sink_action = sink_arg = 0;
    actions_left = MAX_ACTIONS;
    chain_links_left = 2 * MAX_CHAIN;
    teardown = false;
    depth = 0;
    memcpy(model_threshold, threshold, sizeof threshold);
    model_enabled = enabled;
    model_policy = rcgc_get_policy();
    model_debug = debug;
    cur_op = -1;
    cur_name = "setup";
    if (rcgc_callback_add(tracker, NULL) != 0) fail("cannot register the tracker");
    rcgc_set_output(sink, &sink_lines);

    size_t nops = size / 4 < MAX_OPS ? size / 4 : MAX_OPS;
    int destroy_how = -1;
    for (size_t i = 0; i < nops; i++) {
        const uint8_t *p = data + 4 * i;
        unsigned op = p[0] % NOPS;
        if (skip_ops[op / 32] & (1u << (op % 32))) continue;
        if (op == OP_HEAP_DESTROY) {
            destroy_how = p[1];
            break;
        }
        cur_op = (int)i;
        cur_name = op_names[op];
        run_op(op, p[1], p[2], p[3]);
        trk.after_stop = false;
        check_model();
    }

    if (destroy_how >= 0) {
        end_by_destroy((unsigned)destroy_how);
    } else {
        end_of_input();
        rcgc_set_threshold(threshold[0], threshold[1], threshold[2]);
        if (enabled) rcgc_enable(); else rcgc_disable();
        rcgc_set_debug(debug);
        rcgc_set_output(NULL, NULL);
        if (rcgc_callback_remove(tracker, NULL) != 0) fail("the tracker was unregistered");
        if (rcgc_memory_in_use() != memory)
            fail("memory in use %zu after the input, %zu before", rcgc_memory_in_use(), memory);
        /* Empty now: destroyed from inside, which leaves the thread in the
           default heap. */
        in_teardown++;
        if (rcgc_heap_destroy(fuzz_heap) != 0) fail("rcgc_heap_destroy of an empty heap failed");
        in_teardown--;
        fuzz_heap = NULL;
        if (rcgc_heap_current() != outer_heap) fail("after rcgc_heap_destroy the thread is elsewhere");
    }
    destroy_made_heaps();
    if (rcgc_memory_in_use() != outer_memory)
        fail("default heap: memory in use %zu after the input, %zu before", rcgc_memory_in_use(),
             outer_memory);
    if (getenv("RCGC_FUZZ_STACK"))
        fprintf(stderr, "fuzz_api: deepest callback %zu bytes into the stack\n", stack_deepest);
    stack_deepest = 0;
    return 0;
}

/* ---- replay without libFuzzer ------------------------------------------------------ */

#ifndef RCGC_FUZZ_LIBFUZZER

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; returns the count or -1. */
static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names) abort();
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n]) abort();
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && run_file(names[i]) == 0) count++;
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
#ifdef RCGC_FUZZ_CORPUS_DIR
    static char *default_args[] = {NULL, RCGC_FUZZ_CORPUS_DIR, NULL};
    if (argc < 2) {
        default_args[0] = argv[0];
        argv = default_args;
        argc = 2;
    }
#endif
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        int n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) == 0 ? 1 : -1;
        if (n < 0) return 1;
        total += n;
    }
    if (total == 0) {
        fprintf(stderr, "no inputs to replay\n");
        return 1;
    }
    printf("replayed %d inputs: no model mismatch, memory back to baseline after each\n", total);
    return 0;
}

#endif
