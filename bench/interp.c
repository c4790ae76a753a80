/*
 * A real client (issue 10, target 2): an interpreter's shape.  For each of
 * N iterations it makes an environment (argument slots in a list, variables
 * in a dict, a parent pointing to the globals) and a closure over it, stores
 * the closure into its own environment (the closure holds the environment,
 * the environment holds the closure: a cycle, as a recursive Python function
 * defined inside another makes), runs the closure's bytecode, which reads
 * the slots and looks names up through the environment chain, and drops
 * both: every closure is cyclic garbage that only a collector frees.
 *
 * Compiled once per memory manager (bench/CMakeLists.txt):
 *   INTERP_RCGC   written against rcgc.h as the README shows, linked to the
 *                 shared library as pkg-config links programs (inline fast
 *                 paths on); automatic collection on.  With INTERP_THROUGHPUT
 *                 under RCGC_POLICY_THROUGHPUT; with INTERP_NO_AUTO_GC,
 *                 collection off and each cycle broken by hand before the
 *                 drop (what memory is without the collector: the floor of
 *                 issue 10's target 5)
 *   INTERP_BOEHM  the same program on Boehm GC: GC_MALLOC objects with a
 *                 kind tag, a plain growable array for the slots and an
 *                 open-addressing hash table (string keys, not copied) for
 *                 the variables, as a Boehm user writes them
 * Every variant prints the same checksum.  bench/interp.py is CPython 3.12
 * doing the same work with real Python closures.
 *
 * usage: interp_<impl> [closures (1000000)] [runs (3)]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bench_util.h"

static void out_of_memory(void)
{
    fprintf(stderr, "interp: out of memory (%s)\n", strerror(errno));
    exit(1);
}

static void type_error(void)
{
    fprintf(stderr, "interp: operand of the wrong type\n");
    exit(1);
}

#if defined(INTERP_RCGC)
#include <rcgc.h>

/* Values are boxed integers; environments and closures are the tracked
   objects, together with their lists and dicts. */
typedef struct box { long value; } box;
static const rcgc_type box_type = {.name = "int", .size = sizeof(box)};

typedef struct env {
    void *slots;        /* rcgc list: the arguments */
    void *vars;         /* rcgc dict: the variables */
    struct env *parent; /* NULL for the globals */
} env;
static int env_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    env *e = self;
    RCGC_VISIT(e->slots);
    RCGC_VISIT(e->vars);
    RCGC_VISIT(e->parent);
    return 0;
}
static void env_clear(void *self)
{
    env *e = self;
    RCGC_CLEAR(e->slots);
    RCGC_CLEAR(e->vars);
    RCGC_CLEAR(e->parent);
}
static const rcgc_type env_type = {
    .name = "env", .size = sizeof(env), .traverse = env_traverse, .clear = env_clear,
};

typedef struct closure {
    env *env;
    long code;
} closure;
static int closure_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    RCGC_VISIT(((closure *)self)->env);
    return 0;
}
static void closure_clear(void *self) { RCGC_CLEAR(((closure *)self)->env); }
static const rcgc_type closure_type = {
    .name = "closure", .size = sizeof(closure),
    .traverse = closure_traverse, .clear = closure_clear,
};

#ifdef INTERP_NO_AUTO_GC
#define IMPL "rcgc_nogc"
#elif defined(INTERP_THROUGHPUT)
#define IMPL "rcgc_throughput"
#elif defined(INTERP_STATIC)
#define IMPL "rcgc_static"
#else
#define IMPL "rcgc"
#endif

/* Time inside collections. */
#include "bench_gc.h"

static void setup(void)
{
    if (bench_gc_start() != 0) out_of_memory();
#ifdef INTERP_NO_AUTO_GC
    rcgc_disable();
#endif
#ifdef INTERP_THROUGHPUT
    if (rcgc_set_policy(RCGC_POLICY_THROUGHPUT) != 0) out_of_memory();
#endif
}

#define value_incref(v) rcgc_incref(v)
#define value_decref(v) rcgc_decref(v)

static box *box_new(long value)
{
    box *b = rcgc_new(&box_type);
    if (!b) out_of_memory();
    b->value = value;
    return b;
}
static long box_value(void *v)
{
    if (rcgc_typeof(v) != &box_type) type_error();
    return ((box *)v)->value;
}
static long closure_code(void *v)
{
    if (rcgc_typeof(v) != &closure_type) type_error();
    return ((closure *)v)->code;
}

static env *env_new(env *parent)
{
    env *e = rcgc_new(&env_type);
    if (!e) out_of_memory();
    e->slots = rcgc_list_new();
    e->vars = rcgc_dict_new();
    if (!e->slots || !e->vars) out_of_memory();
    rcgc_incref(parent);
    e->parent = parent;
    return e;
}
/* The setters take over the caller's reference to value. */
static void slot_push(env *e, void *value)
{
    if (rcgc_list_append_steal(e->slots, value) != 0) out_of_memory();
}
static void var_set(env *e, const char *name, void *value)
{
    if (rcgc_dict_set_steal(e->vars, name, value) != 0) out_of_memory();
}
/* Borrowed, as rcgc's gets are. */
static void *slot_get(env *e, size_t i) { return rcgc_list_get(e->slots, i); }
static void *var_lookup(env *e, const char *name)
{
    for (; e; e = e->parent) {
        void *v = rcgc_dict_get(e->vars, name);
        if (v) return v;
    }
    fprintf(stderr, "interp: name '%s' is not defined\n", name);
    exit(1);
}

/* A new reference to a closure over e (which it holds). */
static closure *closure_new(env *e, long code)
{
    closure *c = rcgc_new(&closure_type);
    if (!c) out_of_memory();
    rcgc_incref(e);
    c->env = e;
    c->code = code;
    return c;
}

/* Drop the program's references to the closure and its environment. */
static void drop(closure *c, env *e)
{
#ifdef INTERP_NO_AUTO_GC
    if (rcgc_dict_del(e->vars, "self") != 0) type_error();   /* break the cycle */
#endif
    rcgc_decref(c);
    rcgc_decref(e);
}

static void report_collections(int runs)
{
    long collections = bench_gc.count[0] + bench_gc.count[1] + bench_gc.count[2];
    bench_result("interp_collections", IMPL, "per_run", (double)collections / runs);
    bench_result("interp_collection_ms", IMPL, "ms_per_run", bench_gc.total_ns / 1e6 / runs);
}

#elif defined(INTERP_BOEHM)
#include <gc.h>
#define IMPL "boehm"

enum kind { KIND_BOX = 1, KIND_CLOSURE, KIND_ENV };
typedef struct box {
    enum kind kind;
    long value;
} box;

/* The variables: open addressing with linear probing, keys borrowed (the
   program's names are string literals), grown at two thirds full. */
typedef struct var_entry {
    const char *name;
    uint64_t hash;
    void *value;
} var_entry;
typedef struct env {
    enum kind kind;
    void **slots;
    size_t slots_len, slots_cap;
    var_entry *vars;
    size_t vars_len, vars_cap;   /* vars_cap a power of two */
    struct env *parent;
} env;
typedef struct closure {
    enum kind kind;
    env *env;
    long code;
} closure;

static void setup(void) { GC_INIT(); }
static void report_collections(int runs)
{
    bench_result("interp_collections", IMPL, "per_run", (double)GC_get_gc_no() / runs);
}

#define value_incref(v) ((void)(v))
#define value_decref(v) ((void)(v))

static box *box_new(long value)
{
    box *b = GC_MALLOC_ATOMIC(sizeof *b);
    if (!b) out_of_memory();
    b->kind = KIND_BOX;
    b->value = value;
    return b;
}
static long box_value(void *v)
{
    if (((box *)v)->kind != KIND_BOX) type_error();
    return ((box *)v)->value;
}
static long closure_code(void *v)
{
    if (((closure *)v)->kind != KIND_CLOSURE) type_error();
    return ((closure *)v)->code;
}

static uint64_t hash_name(const char *s)   /* FNV-1a, as rcgc's dict */
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static env *env_new(env *parent)
{
    env *e = GC_MALLOC(sizeof *e);
    if (!e) out_of_memory();
    e->kind = KIND_ENV;
    e->parent = parent;
    return e;
}
static void slot_push(env *e, void *value)
{
    if (e->slots_len == e->slots_cap) {
        size_t cap = e->slots_cap ? 2 * e->slots_cap : 4;
        void **slots = GC_REALLOC(e->slots, cap * sizeof *slots);
        if (!slots) out_of_memory();
        e->slots = slots;
        e->slots_cap = cap;
    }
    e->slots[e->slots_len++] = value;
}
static void *slot_get(env *e, size_t i) { return i < e->slots_len ? e->slots[i] : NULL; }

static var_entry *var_find(var_entry *vars, size_t cap, const char *name, uint64_t hash)
{
    for (size_t i = (size_t)hash & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!vars[i].name || (vars[i].hash == hash && strcmp(vars[i].name, name) == 0))
            return &vars[i];
}
static void var_set(env *e, const char *name, void *value)
{
    if (3 * (e->vars_len + 1) > 2 * e->vars_cap) {
        size_t cap = e->vars_cap ? 2 * e->vars_cap : 8;
        var_entry *vars = GC_MALLOC(cap * sizeof *vars);
        if (!vars) out_of_memory();
        for (size_t i = 0; i < e->vars_cap; i++)
            if (e->vars[i].name)
                *var_find(vars, cap, e->vars[i].name, e->vars[i].hash) = e->vars[i];
        e->vars = vars;
        e->vars_cap = cap;
    }
    uint64_t hash = hash_name(name);
    var_entry *entry = var_find(e->vars, e->vars_cap, name, hash);
    if (!entry->name) e->vars_len++;
    *entry = (var_entry){name, hash, value};
}
static void *var_lookup(env *e, const char *name)
{
    uint64_t hash = hash_name(name);
    for (; e; e = e->parent) {
        if (!e->vars_cap) continue;
        var_entry *entry = var_find(e->vars, e->vars_cap, name, hash);
        if (entry->name) return entry->value;
    }
    fprintf(stderr, "interp: name '%s' is not defined\n", name);
    exit(1);
}

static closure *closure_new(env *e, long code)
{
    closure *c = GC_MALLOC(sizeof *c);
    if (!c) out_of_memory();
    c->kind = KIND_CLOSURE;
    c->env = e;
    c->code = code;
    return c;
}
static void drop(closure *c, env *e)
{
    (void)c;
    (void)e;   /* the collector finds them */
}

#else
#error "define one of INTERP_RCGC, INTERP_BOEHM"
#endif

/* The bytecode: a stack machine over boxed integers.  The closure's body is
       return (x + y) * n + k + self.code
   with x, y its two arguments (slots), n its own variable, k a global (a
   miss in its environment, a hit in the parent's), self the closure itself
   read back from its environment. */
enum op { OP_SLOT, OP_NAME, OP_ADD, OP_MUL, OP_CODE, OP_RETURN };
typedef struct insn {
    enum op op;
    size_t slot;
    const char *name;
} insn;
static const insn body[] = {
    {OP_SLOT, 0, NULL}, {OP_SLOT, 1, NULL}, {OP_ADD, 0, NULL},
    {OP_NAME, 0, "n"},  {OP_MUL, 0, NULL},  {OP_NAME, 0, "k"},
    {OP_ADD, 0, NULL},  {OP_NAME, 0, "self"}, {OP_CODE, 0, NULL},
    {OP_ADD, 0, NULL},  {OP_RETURN, 0, NULL},
};

/* Runs c's body; the value stack holds references, as an interpreter's
   does. */
static long run(closure *c)
{
    void *stack[8];
    size_t sp = 0;
    env *e = c->env;
    for (const insn *pc = body;; pc++) {
        switch (pc->op) {
        case OP_SLOT:
            stack[sp] = slot_get(e, pc->slot);
            if (!stack[sp]) type_error();
            value_incref(stack[sp]);
            sp++;
            break;
        case OP_NAME:
            stack[sp] = var_lookup(e, pc->name);
            value_incref(stack[sp]);
            sp++;
            break;
        case OP_ADD:
        case OP_MUL: {
            void *b = stack[--sp], *a = stack[--sp];
            long x = box_value(a), y = box_value(b);
            stack[sp++] = box_new(pc->op == OP_ADD ? x + y : x * y);
            value_decref(a);
            value_decref(b);
            break;
        }
        case OP_CODE: {
            void *f = stack[--sp];
            stack[sp++] = box_new(closure_code(f));
            value_decref(f);
            break;
        }
        case OP_RETURN: {
            void *result = stack[--sp];
            long value = box_value(result);
            value_decref(result);
            return value;
        }
        }
    }
}

static long interpret(env *globals, long closures)
{
    long checksum = 0;
    for (long i = 0; i < closures; i++) {
        env *e = env_new(globals);
        slot_push(e, box_new(i));
        slot_push(e, box_new(i % 7));
        var_set(e, "n", box_new(i & 1023));
        closure *c = closure_new(e, i % 5);
        value_incref(c);
        var_set(e, "self", c);   /* the environment holds its closure */
        checksum += run(c);
        drop(c, e);
    }
    return checksum;
}

int main(int argc, char **argv)
{
    long closures = bench_arg(argc, argv, 1, 1000000);
    int runs = (int)bench_arg(argc, argv, 2, 3);
    if (runs > BENCH_MAX_RUNS) runs = BENCH_MAX_RUNS;
    setup();
    env *globals = env_new(NULL);
    var_set(globals, "k", box_new(7));
    double ns[BENCH_MAX_RUNS];
    long checksum = 0;
    for (int r = 0; r < runs; r++) {
        double start = bench_now_ns();
        checksum = interpret(globals, closures);
        ns[r] = bench_now_ns() - start;
    }
    double median = bench_median(ns, runs);
    bench_result("interp_closures", IMPL, "count", (double)closures);
    bench_result("interp_checksum", IMPL, "sum", (double)checksum);
    bench_result("interp_total", IMPL, "ms", median / 1e6);
    bench_result("interp", IMPL, "ns_per_closure", median / (double)closures);
    bench_result("interp_peak_rss", IMPL, "MiB", bench_peak_rss_mib());
    report_collections(runs);
    return 0;
}
