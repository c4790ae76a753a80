/* Four worker threads, each with a heap of its own: each builds a document
   tree with parent back-pointers (cycles), drops it, and lets its own
   collector find the cycles; no locks, no shared objects.  Each destroys
   its heap at the end, and the program ends the default heap with
   rcgc_shutdown, so valgrind finds nothing rcgc left behind. */
#include <pthread.h>
#include <stdio.h>

#include <rcgc.h>

typedef struct element {
    void *parent;     /* strong, as in a DOM: a cycle with each child */
    void *children;   /* an rcgc list */
} element;

static int element_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    element *e = self;
    RCGC_VISIT(e->parent);
    RCGC_VISIT(e->children);
    return 0;
}

static void element_clear(void *self)
{
    element *e = self;
    RCGC_CLEAR(e->parent);
    RCGC_CLEAR(e->children);
}

static const rcgc_type element_type = {
    .name = "element", .size = sizeof(element),
    .traverse = element_traverse, .clear = element_clear,
};

static element *new_element(element *parent)
{
    element *e = rcgc_new(&element_type);
    e->children = rcgc_list_new();
    if (parent) {
        rcgc_incref(parent);
        e->parent = parent;
        rcgc_list_append(parent->children, e);
    }
    return e;
}

typedef struct worker {
    pthread_t thread;
    int documents;
    size_t collections, memory_at_end;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    rcgc_heap *heap = rcgc_heap_new();
    rcgc_heap_enter(heap);
    for (int d = 0; d < w->documents; d++) {
        element *root = new_element(NULL);
        for (int i = 0; i < 20; i++) rcgc_decref(new_element(root));
        rcgc_decref(root);   /* every element is in a cycle with root: the collector frees them */
    }
    rcgc_collect(2);
    for (int g = 0; g < 3; g++) {
        rcgc_gen_stats st;
        rcgc_get_stats(g, &st);
        w->collections += st.collections;
    }
    w->memory_at_end = rcgc_memory_in_use();
    rcgc_heap_destroy(heap);   /* this thread is back in the default heap */
    return NULL;
}

int main(void)
{
    worker workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (worker){.documents = 1000 * (i + 1)};
        pthread_create(&workers[i].thread, NULL, work, &workers[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(workers[i].thread, NULL);
        printf("worker %d: %d documents, %zu collections, memory in use at the end: %zu bytes\n",
               i, workers[i].documents, workers[i].collections, workers[i].memory_at_end);
    }
    void *l = rcgc_list_new();      /* the main thread: the default heap */
    rcgc_list_append(l, l);
    rcgc_decref(l);
    printf("default heap before shutdown: %zu bytes\n", rcgc_memory_in_use());
    rcgc_shutdown();
    printf("default heap after shutdown: %zu bytes\n", rcgc_memory_in_use());
    return 0;
}
