/*
 * Finding a leak: a plain C unit test with rcgc's leak check, then the
 * questions that find the cause (what grows, what holds it, why it is
 * alive), then the fix.  The README's "Finding a leak" shows this output.
 *
 * The bug is the one every interpreter author makes once: a traverse that
 * forgets a field.  A closure keeps its environment alive but does not say
 * so, so the collector takes the environment for something the program
 * holds, and the cycle environment -> variables -> closure -> environment is
 * never freed.
 */
#include <rcgc.h>
#include <rcgc_tools.h>

#include <stdio.h>
#include <stdlib.h>

typedef struct env {
    void *vars;      /* dict: name -> value */
    void *parent;    /* env or NULL */
} env;

typedef struct closure {
    void *env;       /* the environment it captured */
    int code;
} closure;

static int env_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    env *e = self;
    RCGC_VISIT(e->vars);
    RCGC_VISIT(e->parent);
    return 0;
}

static void env_clear(void *self)
{
    env *e = self;
    RCGC_CLEAR(e->vars);
    RCGC_CLEAR(e->parent);
}

/* The bug: the captured environment is not reported. */
static int closure_traverse_buggy(void *self, rcgc_visit_fn visit, void *arg)
{
    (void)self, (void)visit, (void)arg;
    return 0;
}

static int closure_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    RCGC_VISIT(((closure *)self)->env);
    return 0;
}

static void closure_clear(void *self)
{
    RCGC_CLEAR(((closure *)self)->env);
}

/* Optional hooks, for the tools' lines: how an env names its references
   (".vars" reads better than "#0"), and which request a closure came from. */
static int env_name_ref(const void *self, const void *referent, size_t index, char *buf,
                        size_t size)
{
    const env *e = self;
    (void)index;   /* which of its traverse's visits: not needed here */
    return snprintf(buf, size, "%s", referent == e->vars ? ".vars" : ".parent");
}

static int closure_describe(const void *self, char *buf, size_t size)
{
    return snprintf(buf, size, "of request %d", ((const closure *)self)->code);
}

static const rcgc_type env_type = {
    .name = "env", .size = sizeof(env), .traverse = env_traverse, .clear = env_clear,
    .name_ref = env_name_ref,
};
static rcgc_type closure_type = {
    .name = "closure", .size = sizeof(closure), .traverse = closure_traverse_buggy,
    .clear = closure_clear, .describe = closure_describe,
};

static void *must(void *p)
{
    if (!p) {
        perror("leak_hunt");
        exit(1);
    }
    return p;
}

/* One request of a tiny interpreter: a fresh environment under the global
   one, and a callback closure stored in it (a cycle). */
static void handle_request(void *globals, int n)
{
    env *e = must(rcgc_new(&env_type));
    e->vars = must(rcgc_dict_new());
    rcgc_incref(globals);
    e->parent = globals;
    closure *c = must(rcgc_new(&closure_type));
    rcgc_incref(e);
    c->env = e;
    c->code = n;
    rcgc_dict_set(e->vars, "callback", c);
    rcgc_decref(c);
    rcgc_decref(e);   /* the request is over: everything should go */
}

static void print_line(const char *line, void *arg)
{
    (void)arg;
    fputs(line, stdout);
}

static void discard_line(const char *line, void *arg)
{
    (void)line, (void)arg;
}

/* The unit test: nothing a request makes may outlive it. */
static int test_requests_leave_nothing_behind(void *globals)
{
    rcgc_leakcheck_begin();
    for (int n = 0; n < 3; n++) handle_request(globals, n);
    size_t leaked = rcgc_leakcheck_end(print_line, NULL);
    printf("%s: %zu objects leaked\n", leaked ? "FAIL" : "ok", leaked);
    return leaked == 0;
}

/* rcgc_get_objects callback: the first closure, borrowed (leaked ones stay). */
static int find_closure(void *obj, void *arg)
{
    if (rcgc_typeof(obj) != &closure_type) return 0;
    *(closure **)arg = obj;
    return 1;
}

int main(void)
{
    env *globals = must(rcgc_new(&env_type));
    globals->vars = must(rcgc_dict_new());

    printf("== the unit test, with the bug ==\n");
    int passed = test_requests_leave_nothing_behind(globals);

    printf("\n== what grows, request after request ==\n");
    rcgc_show_growth(0, discard_line, NULL);        /* the baseline */
    for (int n = 0; n < 100; n++) handle_request(globals, n);
    rcgc_collect(2);
    rcgc_show_growth(0, print_line, NULL);

    printf("\n== why is a closure still alive? ==\n");
    closure *one = NULL;                             /* any closure will do */
    rcgc_get_objects(-1, find_closure, &one);
    rcgc_why_alive(one, print_line, NULL);
    printf("(the env is \"held from outside\", yet the program holds no env:\n"
           " so whatever refers to it does not report it: the closure's traverse)\n");

    printf("\n== the fix: report the captured env ==\n");
    closure_type.traverse = closure_traverse;
    rcgc_collect(2);                                 /* the old leak goes too */
    passed = test_requests_leave_nothing_behind(globals) && !passed;

    rcgc_decref(globals);
    rcgc_collect(2);
    printf("\nmemory in use at the end: %zu bytes\n", rcgc_memory_in_use());
    return passed ? 0 : 1;
}
