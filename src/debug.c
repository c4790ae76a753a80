/*
 * Debug-build misuse checks (RCGC_DEBUG): every abort prints one line saying
 * what was called, what went wrong, and on which object (type, address,
 * count, allocation number).
 *
 * A check must not fault on the pointer it checks: a pointer at the start of
 * a malloc'ed block, or of a page, has no readable header in front of it.
 * So every object is registered by address when it is made, and a pointer
 * the registry does not know is reported without reading memory near it.
 * Freed objects stay registered (as freed) while their memory waits in the
 * quarantine, poisoned (its magic word says FREED; the rest keeps its last
 * contents, and nothing is marked for ASan or valgrind), so that a late
 * incref or decref finds the freed object rather than a new one in its
 * place.
 *
 * Invariants:
 *  D1  A registered LIVE address is the body of a live object; a FREED one
 *      is the body of an object whose memory sits in the quarantine.
 *  D2  If a registration ever failed (the registry could not grow), unknown
 *      addresses fall back to reading the magic word, as before the registry.
 *
 * The registry is rcgc's own memory (ptrmap.h), not the program's, so
 * rcgc_memory_in_use and the allocation hook never see it.  Each heap has its
 * own registry and quarantine (state.h): an address the calling thread's
 * heap does not know is looked up in the others, to say which heap it
 * belongs to when a program mixes them up.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "ptrmap.h"

#ifdef RCGC_DEBUG

/* ---- the registry: body address -> LIVE or FREED ---------------------------- */

#define REG_LIVE ((void *)1)
#define REG_FREED ((void *)2)

void rcgc__debug_register(const void *obj)
{
    rcgc_state *S = state();
    if (!ptrmap_put(&S->registry, obj, REG_LIVE)) S->registry_incomplete = true;
}

static void *reg_state(const rcgc_state *S, const void *obj)
{
    ptrmap_slot *s = ptrmap_find(&S->registry, obj);
    return s ? s->value : NULL;
}

/* ---- the quarantine ------------------------------------------------------------ */

#define QUARANTINE_SLOTS 4096
struct quarantine_slot {
    void *mem;
    size_t size;
    const void *obj;
    trace_site site;   /* a copy (the tracer's may go first); file NULL: untraced */
};

bool rcgc__debug_quarantine(void *mem, size_t size, const void *obj)
{
    rcgc_state *S = state();
    ptrmap_slot *s = ptrmap_find(&S->registry, obj);
    if (s) s->value = REG_FREED;
    if (!S->quarantine) S->quarantine = rcgc__own_calloc(QUARANTINE_SLOTS * sizeof *S->quarantine);
    if (!S->quarantine) {   /* no room to hold it back: the caller frees it */
        if (s) ptrmap_remove(&S->registry, obj);
        return false;
    }
    const traceback *tb = rcgc__trace_of_object(obj);
    struct quarantine_slot *q = &S->quarantine[S->quarantine_next];
    S->quarantine_next = (S->quarantine_next + 1) % QUARANTINE_SLOTS;
    if (q->mem) {
        ptrmap_remove(&S->registry, q->obj);
        rcgc__free_forgotten(S, q->mem, q->size);
    }
    q->mem = mem;
    q->size = size;
    q->obj = obj;
    q->site = tb ? *tb->site : (trace_site){NULL, NULL, 0};
    return true;
}

void rcgc__debug_release(rcgc_state *S)
{
    for (size_t i = 0; S->quarantine && i < QUARANTINE_SLOTS; i++)
        if (S->quarantine[i].mem)
            rcgc__free_forgotten(S, S->quarantine[i].mem, S->quarantine[i].size);
    rcgc__own_free(S->quarantine);
    S->quarantine = NULL;
    ptrmap_free(&S->registry);
    S->registry_incomplete = false;
}

/* The site a freed object was made at, if it was traced. */
static const trace_site *freed_site(const void *obj)
{
    const rcgc_state *S = state();
    for (size_t i = 0; S->quarantine && i < QUARANTINE_SLOTS; i++) {
        const struct quarantine_slot *q = &S->quarantine[i];
        if (q->obj == obj && q->mem && q->site.file) return &q->site;
    }
    return NULL;
}

/* ---- messages ------------------------------------------------------------------ */

/* The object, and where it was made: its site while tracing, else its
   allocation number.  A live object's describe hook adds its text, unless
   the hook itself ran into the misuse being reported. */
static void describe(const void *obj)
{
    static _Thread_local bool in_hook;
    const obj_head *h = head_of(obj);
    const rcgc_type *t = head_type(h);
    char label[RCGC_LABEL_SIZE];
    const char *shown = t && t->name ? t->name : "?";
    if (t && h->magic == OBJ_MAGIC_LIVE && !in_hook) {
        in_hook = true;
        shown = rcgc__label(obj, label, sizeof label);
        in_hook = false;
    }
    fprintf(stderr, "object <%s %p> refcount %zu", shown, obj, h->refcnt);
    const traceback *tb = h->magic == OBJ_MAGIC_LIVE ? rcgc__trace_of_object(obj) : NULL;
    const trace_site *site = tb ? tb->site : freed_site(obj);
    if (site)
        fprintf(stderr, ", allocated at %s:%d in %s\n", site->file, site->line, site->func);
    else
        fprintf(stderr, " (allocation #%llu)\n", (unsigned long long)h->serial);
}

void rcgc__misuse(const char *what, const void *obj, const char *problem)
{
    fprintf(stderr, "rcgc: %s: %s: ", what, problem);
    fflush(stderr);   /* said, even if a describe hook crashes */
    describe(obj);
    fflush(stderr);
    abort();
}

/* Another heap that knows obj (live or freed), if any. */
typedef struct heap_search {
    const void *obj;
    const rcgc_state *skip, *found;
} heap_search;

static void search_heap(rcgc_state *S, void *arg)
{
    heap_search *hs = arg;
    if (S != hs->skip && !hs->found && reg_state(S, hs->obj) == REG_LIVE) hs->found = S;
}

void rcgc__check_object(const void *obj, const char *what)
{
    const rcgc_state *S = state();
    void *known = reg_state(S, obj);
    if (known == REG_LIVE) return;
    if (known == REG_FREED) rcgc__misuse(what, obj, "use of a freed object");
    heap_search hs = {obj, S, NULL};
    rcgc__each_heap(search_heap, &hs);
    if (hs.found) {
        char problem[160];
        snprintf(problem, sizeof problem,
                 "object of heap %p used in heap %p (objects may not cross heaps)",
                 (const void *)hs.found, (const void *)S);
        rcgc__misuse(what, obj, problem);
    }
    if (S->registry_incomplete) {   /* D2: the old check, which reads memory */
        const obj_head *h = head_of(obj);
        if (h->magic == OBJ_MAGIC_LIVE) return;
        if (h->magic == OBJ_MAGIC_FREED) rcgc__misuse(what, obj, "use of a freed object");
    }
    fprintf(stderr, "rcgc: %s: %p is not a managed object (never allocated by rcgc, "
                    "or freed long ago)\n", what, obj);
    fflush(stderr);
    abort();
}

void rcgc__assert_fail(const char *cond, const char *file, int line, const void *obj)
{
    fprintf(stderr, "rcgc: internal invariant failed: %s (%s:%d)%s", cond, file, line,
            obj ? ": " : "\n");
    if (obj) describe(obj);
    fflush(stderr);
    abort();
}

#endif
