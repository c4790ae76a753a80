/*
 * A scene graph whose nodes point up to their parent as well as down to their
 * children: the shape that leaks under plain reference counting, because
 * every parent-child pair is a cycle.
 *
 * Part 1 holds the parent strongly: dropping a subtree frees nothing until
 * rcgc_collect finds the cycles.  Part 2 holds the parent through a weak
 * reference: the same drop frees the subtree at once, with no collection.
 */
#include <rcgc.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    char name[24];
    void *parent;     /* a node (strong) or a weakref to one, by part */
    void *children;   /* an rcgc list of nodes */
} node;

static void *must(void *obj)
{
    if (!obj) {
        fprintf(stderr, "scene_graph: %s\n", strerror(errno));
        exit(1);
    }
    return obj;
}

static int node_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    node *n = self;
    RCGC_VISIT(n->parent);
    RCGC_VISIT(n->children);
    return 0;
}

static void node_clear(void *self)
{
    node *n = self;
    RCGC_CLEAR(n->parent);
    RCGC_CLEAR(n->children);
}

static void node_destroy(void *self)
{
    printf("  freed %s\n", ((node *)self)->name);
}

static const rcgc_type node_type = {
    .name = "node", .size = sizeof(node), .traverse = node_traverse,
    .clear = node_clear, .destroy = node_destroy,
};

/* A new node attached under parent (NULL: a root).  The caller owns the
   returned reference; the parent's child list holds another. */
static node *node_add(node *parent, const char *name, bool weak_parent)
{
    node *n = must(rcgc_new(&node_type));
    snprintf(n->name, sizeof n->name, "%s", name);
    n->children = must(rcgc_list_new());
    if (parent) {
        if (weak_parent) {
            n->parent = must(rcgc_weakref_new(parent, NULL, NULL));
        } else {
            rcgc_incref(parent);
            n->parent = parent;
        }
        if (rcgc_list_append(parent->children, n) != 0) {
            fprintf(stderr, "scene_graph: %s\n", strerror(errno));
            exit(1);
        }
    }
    return n;
}

/* The parent as a new reference, whichever way it is held (NULL: none). */
static node *node_parent(node *n, bool weak_parent)
{
    if (!n->parent) return NULL;
    if (weak_parent) return rcgc_weakref_get(n->parent);
    rcgc_incref(n->parent);
    return n->parent;
}

/* Detach child i of n: the caller gets the list's reference to it. */
static node *node_detach(node *n, size_t i)
{
    return must(rcgc_list_pop(n->children, i));
}

static void build_and_drop(bool weak_parent)
{
    printf("building world/{car/{wheel-front, wheel-back}, tree} with %s parent links\n",
           weak_parent ? "weak" : "strong");
    node *world = node_add(NULL, "world", weak_parent);
    node *car = node_add(world, "car", weak_parent);
    rcgc_decref(node_add(car, "wheel-front", weak_parent));
    rcgc_decref(node_add(car, "wheel-back", weak_parent));
    rcgc_decref(node_add(world, "tree", weak_parent));

    node *up = node_parent(car, weak_parent);
    printf("car's parent is %s; car's refcount is %zu\n", up ? up->name : "(none)",
           rcgc_refcount(car));
    rcgc_decref(up);

    printf("detaching car from world and dropping it:\n");
    rcgc_decref(car);                      /* our own reference */
    rcgc_decref(node_detach(world, 0));    /* the world's reference */
    printf("dropping world:\n");
    rcgc_decref(world);
    printf("rcgc_collect(2):\n");
    size_t found = rcgc_collect(2);
    printf("rcgc_collect(2) found %zu unreachable objects\n\n", found);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    rcgc_disable();   /* so that every free below is the one the text says */
    build_and_drop(false);
    build_and_drop(true);
    return 0;
}
