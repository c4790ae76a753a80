/*
 * The classic Python memory-management tutorials, replayed in C with rcgc.
 *
 * Each step prints the Python it mirrors (">>> ...", left) beside the C that
 * does the same (right), then what the C program observes.  Comparing the two
 * columns is the point: rcgc keeps Python's rules, so the numbers match
 * CPython 3.12 except where the text says why not.
 *
 * Build and run: scripts/tour.sh
 */
#include <rcgc.h>
#include <rcgc_tools.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers -------------------------------------------------------- */

/* A tour has no sensible way to go on without memory. */
static void *must(void *obj)
{
    if (!obj) {
        fprintf(stderr, "tour: out of memory (%s)\n", strerror(errno));
        exit(1);
    }
    return obj;
}

static void must_ok(int rc)
{
    if (rc != 0) {
        fprintf(stderr, "tour: container operation failed (%s)\n", strerror(errno));
        exit(1);
    }
}

static void step(const char *title)
{
    printf("\n== %s ==\n", title);
}

/* One line of the Python session beside the C that mirrors it. */
static void py(const char *python, const char *c)
{
    printf(">>> %-38s| %s\n", python, c);
}

/* rcgc writes each debug line whole; stdout keeps it in order with ours. */
static void write_to_stdout(const char *text, void *arg)
{
    (void)arg;
    fputs(text, stdout);
}

static void discard(const char *text, void *arg)
{
    (void)text, (void)arg;
}

/* ---- the types the tutorials use ----------------------------------------- */

/* class Demo: def __del__(self): print("Demo.__del__: freed") */
static void demo_finalize(void *self)
{
    (void)self;
    printf("Demo.__del__: freed\n");
}
static const rcgc_type demo_type = {
    .name = "Demo", .size = 1, .finalize = demo_finalize,
};

/* A boxed int: CPython 3.12's small ints are immortal (their refcount is
   pinned at 4294967295), so the tutorial's counting is shown on a box. */
typedef struct { long value; } boxed_int;
static const rcgc_type int_type = { .name = "int", .size = sizeof(boxed_int) };

static void *box_int(long value)
{
    boxed_int *box = must(rcgc_new(&int_type));
    box->value = value;
    return box;
}

/* class MyObj: prints on creation and in __del__; holds one attribute. */
typedef struct { void *other; } my_obj;

static int my_obj_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    my_obj *o = self;
    RCGC_VISIT(o->other);
    return 0;
}
static void my_obj_clear(void *self)
{
    my_obj *o = self;
    RCGC_CLEAR(o->other);
}
static void my_obj_finalize(void *self)
{
    (void)self;
    printf("Object deleted.\n");
}
static const rcgc_type my_obj_type = {
    .name = "MyObj", .size = sizeof(my_obj), .traverse = my_obj_traverse,
    .clear = my_obj_clear, .finalize = my_obj_finalize,
};

static my_obj *my_obj_new(void)
{
    my_obj *o = must(rcgc_new(&my_obj_type));
    printf("Object created.\n");
    return o;
}

/* ---- repr(): Python's printing of lists and dicts, cycles as [...] {...} --- */

#define REPR_MAX_DEPTH 32
static const void *repr_stack[REPR_MAX_DEPTH];
static size_t repr_depth;

static bool repr_in_progress(const void *obj)
{
    for (size_t i = 0; i < repr_depth; i++)
        if (repr_stack[i] == obj) return true;
    return false;
}

static void print_repr(const void *obj)
{
    const rcgc_type *type = rcgc_typeof(obj);
    bool is_list = type == &rcgc_list_type, is_dict = type == &rcgc_dict_type;
    if (type == &int_type) {
        printf("%ld", ((const boxed_int *)obj)->value);
        return;
    }
    if (!is_list && !is_dict) {
        printf("<%s object at %p>", type->name, (void *)obj);
        return;
    }
    if (repr_in_progress(obj) || repr_depth == REPR_MAX_DEPTH) {
        printf(is_list ? "[...]" : "{...}");
        return;
    }
    repr_stack[repr_depth++] = obj;
    if (is_list) {
        printf("[");
        for (size_t i = 0; i < rcgc_list_len(obj); i++) {
            if (i) printf(", ");
            void *item = rcgc_list_get(obj, i);
            if (item) print_repr(item); else printf("None");
        }
        printf("]");
    } else {
        const char *key;
        void *value;
        size_t pos = 0;
        printf("{");
        for (bool first = true; rcgc_dict_next(obj, &pos, &key, &value); first = false) {
            printf("%s'%s': ", first ? "" : ", ", key);
            print_repr(value);
        }
        printf("}");
    }
    repr_depth--;
}

/* ---- the steps -------------------------------------------------------------- */

static void f(void)
{
    void *d = must(rcgc_new(&demo_type));
    printf("inside f, d = <Demo object at %p>\n", d);
    rcgc_decref(d);   /* the local goes out of scope */
}

static void local_freed_on_return(void)
{
    step("1. A local object is freed when its function returns");
    py("def f():", "static void f(void) {");
    py("    d = Demo()", "    void *d = rcgc_new(&demo_type);");
    py("    print('inside f, d =', d)", "    printf(...);");
    py("", "    rcgc_decref(d);  /* end of scope */ }");
    py("f(); print('after f')", "f(); printf(\"after f\\n\");");
    f();
    printf("after f\n");
}

static void counting_references(void)
{
    step("2. x = 42; y = x; del x");
    py("x = 42", "void *x = box_int(42);");
    void *x = box_int(42);
    py("sys.getrefcount(x) - 1", "rcgc_refcount(x)");
    printf("%zu\n", rcgc_refcount(x));
    py("y = x", "void *y = x; rcgc_incref(y);");
    void *y = x;
    rcgc_incref(y);
    py("sys.getrefcount(y) - 1", "rcgc_refcount(y)");
    printf("%zu\n", rcgc_refcount(y));
    py("del x", "rcgc_decref(x); x = NULL;");
    rcgc_decref(x);
    x = NULL;
    py("sys.getrefcount(y) - 1", "rcgc_refcount(y)");
    printf("%zu\n", rcgc_refcount(y));
    py("y", "((boxed_int *)y)->value");
    print_repr(y);
    printf("\n");
    py("del y", "rcgc_decref(y);  /* count 0: freed */");
    rcgc_decref(y);
    printf("(CPython 3.12 prints 4294967295 for 42 itself: small ints are immortal)\n");
}

static void getrefcount_of_a_list(void)
{
    step("3. sys.getrefcount() of a list as a second reference comes and goes");
    printf("(getrefcount's own argument is one more reference: hence the + 1)\n");
    py("a = []", "void *a = rcgc_list_new();");
    void *a = must(rcgc_list_new());
    py("sys.getrefcount(a)", "rcgc_refcount(a) + 1");
    printf("%zu\n", rcgc_refcount(a) + 1);
    py("b = a", "void *b = a; rcgc_incref(b);");
    void *b = a;
    rcgc_incref(b);
    py("sys.getrefcount(a)", "rcgc_refcount(a) + 1");
    printf("%zu\n", rcgc_refcount(a) + 1);
    py("del b", "rcgc_decref(b);");
    rcgc_decref(b);
    py("sys.getrefcount(a)", "rcgc_refcount(a) + 1");
    printf("%zu\n", rcgc_refcount(a) + 1);
    rcgc_decref(a);
}

static void print_garbage(void)
{
    printf("[");
    for (size_t i = 0; i < rcgc_garbage_count(); i++) {
        if (i) printf(", ");
        print_repr(rcgc_garbage_get(i));
    }
    printf("]\n");
}

static void cycles_need_the_collector(void)
{
    step("4. Cycles: a list that contains itself, two dicts that refer to each other");
    py("gc.set_debug(gc.DEBUG_SAVEALL)", "rcgc_set_debug(RCGC_DEBUG_SAVEALL);");
    rcgc_set_debug(RCGC_DEBUG_SAVEALL);
    py("l = []", "void *l = rcgc_list_new();");
    void *l = must(rcgc_list_new());
    py("l.append(l)", "rcgc_list_append(l, l);");
    must_ok(rcgc_list_append(l, l));
    py("sys.getrefcount(l)", "rcgc_refcount(l) + 1");
    printf("%zu\n", rcgc_refcount(l) + 1);
    py("del l", "rcgc_decref(l);  /* count 1: kept */");
    rcgc_decref(l);
    py("a = {}; b = {}", "void *a = rcgc_dict_new(), *b = ...;");
    void *a = must(rcgc_dict_new()), *b = must(rcgc_dict_new());
    py("a['b'] = b; b['a'] = a", "rcgc_dict_set(a, \"b\", b); ...");
    must_ok(rcgc_dict_set(a, "b", b));
    must_ok(rcgc_dict_set(b, "a", a));
    py("del a, b", "rcgc_decref(a); rcgc_decref(b);");
    rcgc_decref(a);
    rcgc_decref(b);
    py("gc.collect()", "rcgc_collect(2)");
    printf("%zu\n", rcgc_collect(2));
    py("len(gc.garbage)", "rcgc_garbage_count()");
    printf("%zu\n", rcgc_garbage_count());
    py("gc.garbage", "rcgc_garbage_get(0..2)");
    print_garbage();
    py("gc.set_debug(0)", "rcgc_set_debug(0);");
    rcgc_set_debug(0);
    py("gc.garbage.clear()", "rcgc_garbage_clear();");
    rcgc_garbage_clear();
    py("gc.collect()  # now freed for real", "rcgc_collect(2)");
    printf("%zu\n", rcgc_collect(2));
}

static void finalizers_in_a_cycle(void)
{
    step("5. Two objects in a cycle, with __init__ and __del__ that print");
    py("a = MyObj()", "my_obj *a = my_obj_new();");
    my_obj *a = my_obj_new();
    py("b = MyObj()", "my_obj *b = my_obj_new();");
    my_obj *b = my_obj_new();
    py("a.other = b; b.other = a", "a->other = b; rcgc_incref(b); ...");
    a->other = b;
    rcgc_incref(b);
    b->other = a;
    rcgc_incref(a);
    py("del a, b", "rcgc_decref(a); rcgc_decref(b);");
    rcgc_decref(a);
    rcgc_decref(b);
    printf("(nothing printed: each still holds the other)\n");
    py("gc.collect()", "rcgc_collect(2)");
    printf("%zu\n", rcgc_collect(2));
}

static size_t gen0_collections(void)
{
    rcgc_gen_stats stats;
    rcgc_get_stats(0, &stats);
    return stats.collections;
}

static void print_callback(rcgc_phase phase, const rcgc_gc_info *info, void *arg)
{
    (void)arg;
    if (phase == RCGC_PHASE_START)
        printf("callback: start, generation %d\n", info->generation);
    else
        printf("callback: stop, generation %d, collected %zu, uncollectable %zu\n",
               info->generation, info->collected, info->uncollectable);
}

static void disable_and_enable(void)
{
    step("6. Automatic collection: thresholds, disable, enable");
    size_t threshold[3], count[3];
    py("gc.get_threshold()", "rcgc_get_threshold(t)");
    rcgc_get_threshold(threshold);
    printf("(%zu, %zu, %zu)\n", threshold[0], threshold[1], threshold[2]);
    py("gc.disable()", "rcgc_disable();");
    rcgc_disable();
    py("gc.isenabled()", "rcgc_isenabled()");
    printf("%s\n", rcgc_isenabled() ? "True" : "False");
    py("for i in range(1000):", "for (int i = 0; i < 1000; i++) {");
    py("    l = []; l.append(l); del l", "    ... /* 1000 garbage self-cycles */ }");
    size_t before = gen0_collections();
    for (int i = 0; i < 1000; i++) {
        void *cycle = must(rcgc_list_new());
        must_ok(rcgc_list_append(cycle, cycle));
        rcgc_decref(cycle);
    }
    py("gc.get_count()", "rcgc_get_count(c)");
    rcgc_get_count(count);
    printf("(%zu, %zu, %zu)\n", count[0], count[1], count[2]);
    printf("(past the threshold of %zu, yet %zu automatic collections: disabled)\n",
           threshold[0], gen0_collections() - before);
    py("gc.callbacks.append(cb)", "rcgc_callback_add(print_callback, NULL);");
    must_ok(rcgc_callback_add(print_callback, NULL));
    py("gc.enable()", "rcgc_enable();");
    rcgc_enable();
    py("gc.isenabled()", "rcgc_isenabled()");
    printf("%s\n", rcgc_isenabled() ? "True" : "False");
    py("x = []  # the next allocation", "void *x = rcgc_list_new();");
    void *x = must(rcgc_list_new());
    py("gc.get_count()", "rcgc_get_count(c)");
    rcgc_get_count(count);
    printf("(%zu, %zu, %zu)\n", count[0], count[1], count[2]);
    py("gc.callbacks.remove(cb)", "rcgc_callback_remove(print_callback, NULL);");
    must_ok(rcgc_callback_remove(print_callback, NULL));
    rcgc_decref(x);
}

static void debug_stats(void)
{
    step("7. One collection under DEBUG_STATS, one under DEBUG_COLLECTABLE");
    printf("(debug lines go through rcgc_set_output(write_to_stdout, NULL))\n");
    rcgc_set_output(write_to_stdout, NULL);
    void *kept = must(rcgc_list_new());
    void *cycle = must(rcgc_list_new());
    must_ok(rcgc_list_append(cycle, cycle));
    rcgc_decref(cycle);
    py("keep = []; l = []; l.append(l); del l", "... /* one live list, one garbage cycle */");
    py("gc.set_debug(gc.DEBUG_STATS)", "rcgc_set_debug(RCGC_DEBUG_STATS);");
    rcgc_set_debug(RCGC_DEBUG_STATS);
    py("gc.collect()", "rcgc_collect(2)");
    size_t found = rcgc_collect(2);
    printf("%zu\n", found);

    cycle = must(rcgc_list_new());
    must_ok(rcgc_list_append(cycle, cycle));
    rcgc_decref(cycle);
    py("l = []; l.append(l); del l", "... /* another garbage cycle */");
    py("gc.set_debug(gc.DEBUG_COLLECTABLE)", "rcgc_set_debug(RCGC_DEBUG_COLLECTABLE);");
    rcgc_set_debug(RCGC_DEBUG_COLLECTABLE);
    py("gc.collect()", "rcgc_collect(2)");
    found = rcgc_collect(2);
    printf("%zu\n", found);
    rcgc_set_debug(0);
    rcgc_set_output(NULL, NULL);
    rcgc_decref(kept);
}

static void finding_a_leak(void)
{
    step("8. Finding a leak: objgraph's growth and a chain to what holds it");
    printf("(examples/leak_hunt.c does this inside a unit test)\n");
    py("objgraph.show_growth()  # baseline", "rcgc_show_growth(0, discard, NULL);");
    rcgc_show_growth(0, discard, NULL);
    void *cache = must(rcgc_list_new());
    py("cache = [[], [], []]", "... rcgc_list_append(cache, item) x 3");
    for (int i = 0; i < 3; i++) {
        void *item = must(rcgc_list_new());
        must_ok(rcgc_list_append(cache, item));
        rcgc_decref(item);
    }
    py("objgraph.show_growth()", "rcgc_show_growth(0, write_to_stdout, NULL);");
    rcgc_show_growth(0, write_to_stdout, NULL);
    void *last = rcgc_list_get(cache, 2);
    py("objgraph.find_backref_chain(item, ...)", "rcgc_why_alive(item, write_to_stdout, NULL);");
    rcgc_why_alive(last, write_to_stdout, NULL);
    rcgc_decref(cache);
}

static void profiling_memory(void)
{
    step("9. Profiling memory: tracemalloc, by line and by type");
    printf("(examples/profile.c adds phases, regions and a capture for rcgc-report)\n");
    py("tracemalloc.start()", "rcgc_trace_start(1);");
    rcgc_trace_start(1);
    void *rows = must(rcgc_list_new());
    py("rows = [[] for i in range(1000)]", "... rcgc_list_append(rows, row) x 1000");
    for (int i = 0; i < 1000; i++) {
        void *row = must(rcgc_list_new());
        must_ok(rcgc_list_append(rows, row));
        rcgc_decref(row);
    }
    size_t current, peak;
    py("tracemalloc.get_traced_memory()", "rcgc_trace_get_memory(&current, &peak);");
    rcgc_trace_get_memory(&current, &peak);
    printf("(%zu, %zu)\n", current, peak);
    py("snapshot = tracemalloc.take_snapshot()", "rcgc_snapshot *s = rcgc_snapshot_take();");
    rcgc_snapshot *snapshot = must(rcgc_snapshot_take());
    py("snapshot.statistics('lineno')[:3]",
       "rcgc_snapshot_print_top(s, RCGC_BY_LINENO, 3, ...);");
    rcgc_snapshot_print_top(snapshot, RCGC_BY_LINENO, 3, write_to_stdout, NULL);
    rcgc_snapshot_free(snapshot);
    rcgc_decref(rows);
    py("tracemalloc.stop()", "rcgc_trace_stop();");
    rcgc_trace_stop();
}

int main(void)
{
    /* Tour output is read line by line beside the debug lines. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("rcgc tour: Python's memory management, replayed in C\n");
    local_freed_on_return();
    counting_references();
    getrefcount_of_a_list();
    cycles_need_the_collector();
    finalizers_in_a_cycle();
    disable_and_enable();
    debug_stats();
    finding_a_leak();
    profiling_memory();
    return 0;
}
