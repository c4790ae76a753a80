/*
 * The picture of a leak (rcgc_write_dot, objgraph's show_backrefs): a tiny
 * interpreter whose handler cache keeps every request alive.
 *
 *   leak_picture > leak.dot && dot -Tsvg leak.dot -o leak.svg
 *   leak_picture leak.dot          (writes the file instead)
 *
 * Each request runs in a scope (its variables in a dict) and defines a
 * callback, a closure that captures the scope and is stored in it: a cycle
 * the collector frees once the request is over.  But the interpreter also
 * memoizes each compiled handler in a global cache, keyed by request, and
 * never evicts: the cache holds the closures, the closures their scopes.
 * The picture starts from the scopes that should have died (red letters)
 * and follows what refers to them: closures, the scopes' variables, and
 * the one holder, the cache, filled orange, "held from outside (1 ref)":
 * the global the program keeps it in.  Clearing the cache fixes it.
 * scripts/leak-picture.sh renders it to docs/leak.svg, the README's picture.
 */
#include <rcgc.h>
#include <rcgc_tools.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct scope {
    void *vars;          /* dict: name -> value */
} scope;

typedef struct function {
    void *captured;      /* the scope it closes over */
    const char *name;
} function;

static void *cache;      /* dict: request -> its compiled handler, never evicted */

static void *must(void *obj)
{
    if (!obj) {
        fprintf(stderr, "leak_picture: %s\n", strerror(errno));
        exit(1);
    }
    return obj;
}

static int scope_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    RCGC_VISIT(((scope *)self)->vars);
    return 0;
}

static void scope_clear(void *self)
{
    RCGC_CLEAR(((scope *)self)->vars);
}

static int function_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    RCGC_VISIT(((function *)self)->captured);
    return 0;
}

static void function_clear(void *self)
{
    RCGC_CLEAR(((function *)self)->captured);
}

static const rcgc_type scope_type = {
    .name = "scope", .size = sizeof(scope), .traverse = scope_traverse, .clear = scope_clear,
};
static const rcgc_type function_type = {
    .name = "closure", .size = sizeof(function), .traverse = function_traverse,
    .clear = function_clear,
};

/* One request: a scope, a callback closing over it, and the cache entry.
   Returns the scope, borrowed: the request keeps nothing. */
static scope *handle_request(int n)
{
    scope *s = must(rcgc_new(&scope_type));
    s->vars = must(rcgc_dict_new());
    function *callback = must(rcgc_new(&function_type));
    rcgc_incref(s);
    callback->captured = s;
    callback->name = "on_click";
    char key[32];
    snprintf(key, sizeof key, "request %d", n);
    if (rcgc_dict_set(s->vars, "callback", callback) != 0 ||
        rcgc_dict_set(cache, key, callback) != 0)
        must(NULL);
    rcgc_decref(callback);
    rcgc_decref(s);      /* the request is over */
    return s;
}

int main(int argc, char **argv)
{
    FILE *out = stdout;
    if (argc > 1 && !(out = fopen(argv[1], "w"))) {
        fprintf(stderr, "leak_picture: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    cache = must(rcgc_dict_new());
    void *scopes[3];
    for (int n = 0; n < 3; n++) scopes[n] = handle_request(n + 1);
    fprintf(stderr, "after 3 requests a full collection frees %zu objects\n", rcgc_collect(2));

    /* What keeps the scopes alive, three references up. */
    if (rcgc_write_dot(out, scopes, 3, 3, RCGC_DOT_REFERRERS) != 0) {
        fprintf(stderr, "leak_picture: writing the picture: %s\n", strerror(errno));
        return 1;
    }
    if (out != stdout && fclose(out) != 0) {
        fprintf(stderr, "leak_picture: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }

    /* The fix: evict (here, all at once). */
    rcgc_dict_clear(cache);
    fprintf(stderr, "with the cache cleared, a full collection frees %zu objects\n",
            rcgc_collect(2));
    rcgc_decref(cache);
    fprintf(stderr, "memory in use at the end: %zu bytes\n", rcgc_memory_in_use());
    return rcgc_memory_in_use() == 0 ? 0 : 1;
}
