/*
 * Heaps: the state of rcgc, one per heap, and which heap each thread uses.
 *
 * Every function of rcgc acts on the calling thread's current heap,
 * rcgc__current, a thread-local pointer read by state().  A thread that never
 * enters a heap gets the default heap on its first call, so a program that
 * never mentions heaps sees one process-wide heap, as before heaps existed.
 * Objects belong to the heap that made them; nothing is shared between
 * heaps, so two threads in two heaps never touch the same memory and need
 * no lock (the plan for objects shared between threads is in
 * docs/internals.md, "Threads").
 *
 * Teardown (rcgc_heap_destroy, rcgc_shutdown) ends every object of a heap,
 * in this order, each step repeated until it finds nothing new, since the
 * user code it runs may make objects:
 *   1. a full collection, with the callbacks of rcgc_callback_add;
 *   2. every finalizer that has not run yet runs, once, in the order the
 *      objects were made (generation lists, then untracked objects);
 *   3. the weakrefs to every object are cleared and their callbacks run
 *      (those the callbacks make to it as well);
 *   4. the garbage list lets go, and every object's clear runs (once: one
 *      that only the teardown still holds is cleared by its deallocation;
 *      a weakref whose referent lives waits for the next round's step 3,
 *      so that its callback runs), which frees whatever only other objects
 *      held;
 *   5. what is still alive (held by the program, or a cycle of types
 *      without clear) is pinned, its destroy runs, and it is freed (after
 *      the weakrefs that destroys made to it meanwhile are cleared);
 *   6. the tools' tables and the heap's own memory are released.
 * Afterwards the heap's rcgc_memory_in_use() is 0.
 *
 * Invariants:
 *  H1  Every live object of a heap is on exactly one of its lists:
 *      generations[0..2] or permanent (tracked), or untracked; a gc_link
 *      whose next is 0 belongs to an object being deallocated.
 *  H2  owner is the token of the one thread whose current heap this is, or
 *      0; the default heap has no owner (any thread may use it, one at a
 *      time, which the program ensures).
 *  H3  all_heaps lists every heap made and not destroyed, the default one
 *      once it exists; heaps_lock guards the list and the links.
 *  H4  busy(): user code runs in the heap, called by an operation that
 *      goes on in it (a collection, a deallocation, a finalizer, the
 *      teardown, or calling_out: the allocation hook, an output sink, an
 *      inspection visitor); rcgc_heap_enter and rcgc_heap_destroy refuse,
 *      for the heaps this thread owns (the default heap is not asked).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "profile.h"
#include "rcgc_tools.h"
#include "unwind.h"

_Thread_local rcgc_state *rcgc__current __attribute__((tls_model("initial-exec")));

static rcgc_state default_heap;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static rcgc_state *all_heaps;             /* H3 */

/* A thread's token for H2: the address of one of its thread-locals, unique
   among live threads. */
static _Thread_local char thread_token;
static uintptr_t my_token(void) { return (uintptr_t)&thread_token; }

/* A thread that ends inside a heap gives the heap up, so another thread may
   enter it (pthread keys have the only portable thread-exit hook). */
static pthread_key_t exit_key;
static bool exit_key_made;

static void heap_init(rcgc_state *S)
{
    static const size_t thresholds[RCGC_NUM_GENERATIONS] = {700, 10, 10};
    memset(S, 0, sizeof *S);
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) {
        list_init(&S->generations[i].head);
        S->generations[i].threshold = thresholds[i];
    }
    list_init(&S->permanent);
    list_init(&S->untracked);
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++)
        S->generations[i].trigger = thresholds[i];
    S->policy = RCGC_POLICY_CPYTHON;
    rcgc__census_forget_ways(S);
    S->enabled = true;
}

static void link_heap(rcgc_state *S)
{
    pthread_mutex_lock(&heaps_lock);
    S->next_heap = all_heaps;
    all_heaps = S;
    pthread_mutex_unlock(&heaps_lock);
}

static void unlink_heap(rcgc_state *S)
{
    pthread_mutex_lock(&heaps_lock);
    for (rcgc_state **p = &all_heaps; *p; p = &(*p)->next_heap)
        if (*p == S) {
            *p = S->next_heap;
            break;
        }
    pthread_mutex_unlock(&heaps_lock);
}

void rcgc__as_current(rcgc_state *S, void (*fn)(void))
{
    rcgc_state *was = rcgc__current;
    rcgc__current = S;
    fn();
    rcgc__current = was;
}

static void lock_heaps(void) { pthread_mutex_lock(&heaps_lock); }
static void unlock_heaps(void) { pthread_mutex_unlock(&heaps_lock); }

void rcgc__each_heap(void (*fn)(rcgc_state *S, void *arg), void *arg)
{
    pthread_mutex_lock(&heaps_lock);
    for (rcgc_state *S = all_heaps; S; S = S->next_heap) fn(S, arg);
    pthread_mutex_unlock(&heaps_lock);
}

static void give_up(rcgc_state *S)
{
    if (S->is_default) return;
    uintptr_t mine = my_token();
    atomic_compare_exchange_strong(&S->owner, &mine, 0);
}

static void release_at_thread_exit(void *heap)
{
    give_up(heap);
}

/* The default heap, with the switches of the environment (RCGC_MONITOR,
   RCGC_LEAK_REPORT, RCGC_TRACEMALLOC, RCGC_TRACE_FILE), which apply to it
   alone: heaps made later start quiet. */
static void default_init(void)
{
    heap_init(&default_heap);
    default_heap.is_default = true;
    exit_key_made = pthread_key_create(&exit_key, release_at_thread_exit) == 0;
    /* A fork's child has one thread: the lock must not be held by another. */
    (void)pthread_atfork(lock_heaps, unlock_heaps, unlock_heaps);
    link_heap(&default_heap);
    rcgc__current = &default_heap;   /* the setup below calls rcgc */
    rcgc__read_environment();
}

void rcgc__read_environment(void)
{
    rcgc__leak_report_setup();
    rcgc__trace_setup();
    rcgc__capture_setup();   /* RCGC_TRACE_FILE, after RCGC_TRACEMALLOC */
    state()->monitor_on_full = rcgc__env_flag("RCGC_MONITOR");
}

rcgc_state *rcgc__first_use(void)
{
    pthread_once(&default_once, default_init);
    rcgc__current = &default_heap;
    return &default_heap;
}

/* ---- the public surface ---------------------------------------------------- */

rcgc_heap *rcgc_heap_default(void)
{
    pthread_once(&default_once, default_init);
    return &default_heap;
}

rcgc_heap *rcgc_heap_current(void)
{
    return state();
}

rcgc_heap *rcgc_heap_new(void)
{
    pthread_once(&default_once, default_init);
    /* Outside every heap's books: a heap is not an object of another. */
    rcgc_state *S = rcgc__own_calloc(sizeof *S);
    if (!S) {
        errno = ENOMEM;
        return NULL;
    }
    heap_init(S);
    link_heap(S);
    return S;
}

/* Claim S for this thread (H2); false if another thread has it. */
static bool claim(rcgc_state *S)
{
    if (S->is_default) return true;
    uintptr_t expected = 0, mine = my_token();
    if (atomic_compare_exchange_strong(&S->owner, &expected, mine)) return true;
    return expected == mine;
}

/* User code that rcgc runs in S (a finalizer, a callback, clear, destroy)
   runs in the middle of an operation on S that goes on with S when it
   returns: the thread may not leave S meanwhile.  Only heaps this thread
   owns are asked: the default heap's flags may be another thread's to
   change (the program serializes its use of it, not our reads). */
static bool busy(const rcgc_state *S)
{
    return S->collecting || S->dealloc_depth || S->plain_depth || S->finalizing ||
           S->tearing_down || S->calling_out;
}
static bool busy_here(const rcgc_state *S)
{
    return !S->is_default && busy(S);
}

rcgc_heap *rcgc_heap_enter(rcgc_heap *heap)
{
    rcgc_state *S = heap ? heap : rcgc_heap_default();
    rcgc_state *previous = state();
    if (S == previous) return previous;
    /* A heap being torn down is owned by the tearing thread, so claim
       refuses it; only the default heap, which has no owner, says so itself. */
    if (busy_here(previous) || !claim(S) || (S->is_default && S->tearing_down)) {
        errno = EBUSY;
        return NULL;
    }
    give_up(previous);
    rcgc__current = S;
    if (exit_key_made) pthread_setspecific(exit_key, S->is_default ? NULL : S);
    return previous;
}

/* ---- teardown ------------------------------------------------------------------ */

/* Teardown allocates nothing: it must work when memory has run out, and
   the hook must not be able to refuse it.  It walks the lists instead,
   moving each object to a private list as it is visited, so that objects
   that user code makes, frees, tracks or untracks meanwhile never derail
   the walk. */
static gc_link *list_number(rcgc_state *S, int i)
{
    if (i < RCGC_NUM_GENERATIONS) return &S->generations[i].head;
    return i == RCGC_NUM_GENERATIONS ? &S->permanent : &S->untracked;
}
#define NUM_LISTS (RCGC_NUM_GENERATIONS + 2)

/* fn(obj) for each live member of list that want() selects, in list order;
   each is held by a reference of the walk's own while fn runs.  Returns how
   many. */
static size_t each_in_list(gc_link *list, bool (*want)(const obj_head *h), void (*fn)(void *obj))
{
    size_t n = 0;
    gc_link visited;
    list_init(&visited);
    while (!list_is_empty(list)) {
        gc_link *l = link_next(list);
        list_move(l, &visited);
        obj_head *h = link_head(l);
        if (h->refcnt == 0 || !want(h)) continue;
        void *obj = body_of_head(h);
        rcgc_incref(obj);
        fn(obj);
        n++;
        rcgc_decref(obj);
    }
    list_merge(&visited, list);
    return n;
}

/* The same over every list of S: untracked objects first, then frozen ones,
   then the generations oldest first. */
static size_t each_object(rcgc_state *S, bool (*want)(const obj_head *h), void (*fn)(void *obj))
{
    size_t n = 0;
    for (int i = NUM_LISTS - 1; i >= 0; i--) n += each_in_list(list_number(S, i), want, fn);
    return n;
}

static bool needs_finalizer(const obj_head *h)
{
    return head_type(h)->finalize && !(h->type_bits & TYPE_BIT_FINALIZED);
}
static bool has_weakrefs(const obj_head *h) { return (h->type_bits & TYPE_BIT_HAS_WEAKREFS) != 0; }
static bool has_clear(const obj_head *h) { return head_type(h)->clear != NULL; }

static void run_finalizer(void *obj)
{
    obj_head *h = head_of(obj);
    if (!needs_finalizer(h)) return;   /* an earlier finalizer in the walk ran it */
    h->type_bits |= TYPE_BIT_FINALIZED;
    head_type(h)->finalize(obj);
}

/* obj is alive (the walk holds it, or it is pinned): a callback may make
   new weakrefs to it, and those call back as well. */
static void clear_weakrefs(void *obj)
{
    while (has_weakrefs(head_of(obj))) rcgc__weakrefs_clear_and_call(obj);
}

/* One that only the walk holds dies when the walk lets go, and its
   deallocation clears it: clear runs once.  A weakref whose referent is
   alive was made by user code after step 3 passed that referent; its clear
   would drop the callback, which the next round's step 3 runs first. */
static void run_clear(void *obj)
{
    obj_head *h = head_of(obj);
    if (head_type(h) == &rcgc_weakref_type && rcgc_weakref_peek(obj)) return;
    if (h->refcnt > 1) head_type(h)->clear(obj);
}

/* A destroy (or a weakref's release) may make a weakref to an object of
   step 5 after that object's were cleared: those are cleared too, their
   callbacks run, before anything of step 5 is freed; walked as
   each_object walks, since the callbacks may move objects between lists. */
static void clear_late_weakrefs(gc_link *destroyed)
{
    while (each_in_list(destroyed, has_weakrefs, clear_weakrefs) > 0) {}
}

/* Counts no decref can bring to zero: step 5's objects die by the
   teardown's hand alone.  A pinned object's count starts at PINNED, and at
   DESTROYED once its destroy has run; user code may still move either a
   little (a destroy dropping or taking references), hence the ranges. */
#define PINNED    (SIZE_MAX / 4)
#define DESTROYED (SIZE_MAX / 2)
#define COUNT_SLACK (SIZE_MAX / 8)
static bool is_pinned(const obj_head *h) { return h->refcnt > PINNED - COUNT_SLACK; }
static bool is_destroyed(const obj_head *h) { return h->refcnt > DESTROYED - COUNT_SLACK; }

/* Moves every object on S's lists to `doomed` (destroy still to run:
   pinned first if it was not) or `destroyed` (run).  Objects get there
   when user code run by a destroy or a late weakref callback makes them, or
   moves one of step 5's from either list (by untracking or tracking it).
   Returns how many it moved. */
static size_t gather_survivors(rcgc_state *S, gc_link *doomed, gc_link *destroyed)
{
    size_t n = 0;
    for (int i = NUM_LISTS - 1; i >= 0; i--) {   /* each_object's order */
        gc_link *list = list_number(S, i);
        while (!list_is_empty(list)) {
            gc_link *l = link_next(list);
            obj_head *h = link_head(l);
            if (is_destroyed(h)) {
                list_move(l, destroyed);
            } else {
                if (!is_pinned(h)) h->refcnt = PINNED;
                list_move(l, doomed);
            }
            n++;
        }
    }
    return n;
}

/* Step 5.  Every object still alive is pinned and has destroy run; nothing
   is freed before every destroy has run, those of objects that destroys
   made or moved included, so that a destroy may still read (and decref)
   whatever it refers to. */
static void end_survivors(rcgc_state *S)
{
    gc_link doomed, destroyed;
    list_init(&doomed);
    list_init(&destroyed);
    while (gather_survivors(S, &doomed, &destroyed) > 0) {
        while (!list_is_empty(&doomed)) {
            gc_link *l = link_next(&doomed);
            list_move(l, &destroyed);
            obj_head *h = link_head(l);
            clear_weakrefs(body_of_head(h));
            if (head_type(h)->destroy) head_type(h)->destroy(body_of_head(h));
            h->refcnt = DESTROYED;
        }
        clear_late_weakrefs(&destroyed);
    }
    while (!list_is_empty(&destroyed)) {
        obj_head *h = link_head(link_next(&destroyed));
        h->refcnt = 0;
        rcgc__free_object(S, h);   /* unlinks it */
    }
}

static void teardown(rcgc_state *S)
{
    S->tearing_down = true;
    if (S->capturing) rcgc_capture_stop();
    rcgc__leak_report_before_teardown(S);
    (void)rcgc_collect(2);                                  /* 1 */
    S->enabled = false;
    /* Steps 2 to 4 until they find nothing, and only then the clears: user
       code run by one step may make objects that need an earlier one, or
       move objects to a list the step has walked already (rcgc_freeze,
       rcgc_untrack), and no clear may run before a finalizer or callback
       that is due.  Then again while the clears (which run again, as they
       may) leave work for steps 2 to 4. */
    for (bool cleared = false;;) {   /* cleared: and nothing found since */
        size_t work = each_object(S, needs_finalizer, run_finalizer);   /* 2 */
        work += each_object(S, has_weakrefs, clear_weakrefs);          /* 3 */
        work += rcgc_garbage_count();
        rcgc_garbage_clear();                                          /* 4 */
        if (work > 0) {
            cleared = false;
            continue;
        }
        if (cleared) break;
        each_object(S, has_clear, run_clear);
        cleared = true;
    }
    end_survivors(S);                                       /* 5 */
    rcgc_trace_stop();                                      /* 6 */
    rcgc_monitor_reset();
    rcgc__regions_reset(S);
    rcgc__symbolize_forget();
    ptrmap_free(&S->watched);
    ptrmap_free(&S->made_since);
    rcgc__own_free(S->census);
    rcgc__own_free(S->scan_hints);
    rcgc__free(S->callbacks, S->callbacks_cap * sizeof *S->callbacks);
    RCGC_ASSERT(!S->plain_pending && !S->dealloc_pending && !S->weakrefs);
#ifdef RCGC_DEBUG
    rcgc__debug_release(S);
#endif
    RCGC_ASSERT(S->bytes_in_use == 0);
    rcgc__pages_release(S);
    RCGC_ASSERT(S->pages == 0);
}

int rcgc_heap_destroy(rcgc_heap *heap)
{
    rcgc_state *S = heap ? heap : rcgc_heap_default();
    rcgc_state *previous = state();
    if (busy_here(previous) || !claim(S) || busy(S)) {
        errno = EBUSY;
        return -1;
    }
    rcgc__current = S;   /* the user code teardown runs acts on S */
    teardown(S);
    if (S->is_default) {
        /* The default heap stays usable: empty, with its defaults. */
        rcgc_state *next = S->next_heap;
        heap_init(S);
        S->is_default = true;
        S->next_heap = next;
        rcgc__current = previous;
        return 0;
    }
    unlink_heap(S);
    rcgc__current = previous == S ? &default_heap : previous;
    if (previous == S && exit_key_made) pthread_setspecific(exit_key, NULL);
    rcgc__own_free(S);
    return 0;
}

int rcgc_shutdown(void)
{
    return rcgc_heap_destroy(rcgc_heap_default());
}
