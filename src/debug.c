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
 * quarantine, poisoned, so that a late incref or decref finds the freed
 * object rather than a new one in its place.
 *
 * Invariants:
 *  D1  A registered LIVE address is the body of a live object; a FREED one
 *      is the body of an object whose memory sits in the quarantine.
 *  D2  If a registration ever failed (the registry could not grow), unknown
 *      addresses fall back to reading the magic word, as before the registry.
 *
 * The registry is rcgc's own memory (ptrmap.h), not the program's, so
 * rcgc_memory_in_use and the allocation hook never see it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "ptrmap.h"

#ifdef RCGC_DEBUG

/* ---- the registry: body address -> LIVE or FREED ---------------------------- */

#define REG_LIVE ((void *)1)
#define REG_FREED ((void *)2)

static ptrmap registry;
static bool reg_incomplete;   /* D2 */

void rcgc__debug_register(const void *obj)
{
    if (!ptrmap_put(&registry, obj, REG_LIVE)) reg_incomplete = true;
}

static void *reg_state(const void *obj)
{
    ptrmap_slot *s = ptrmap_find(&registry, obj);
    return s ? s->value : NULL;
}

/* ---- the quarantine ------------------------------------------------------------ */

#define QUARANTINE_SLOTS 4096
static struct {
    void *mem;
    const void *obj;
    trace_site site;   /* a copy (the tracer's may go first); file NULL: untraced */
} quarantine[QUARANTINE_SLOTS];
static size_t quarantine_next;

void rcgc__debug_quarantine(void *mem, const void *obj)
{
    ptrmap_slot *s = ptrmap_find(&registry, obj);
    if (s) s->value = REG_FREED;
    const traceback *tb = rcgc__trace_of_object(obj);
    size_t i = quarantine_next;
    quarantine_next = (quarantine_next + 1) % QUARANTINE_SLOTS;
    if (quarantine[i].mem) {
        ptrmap_remove(&registry, quarantine[i].obj);
        rcgc__free_forgotten(quarantine[i].mem);
    }
    quarantine[i].mem = mem;
    quarantine[i].obj = obj;
    quarantine[i].site = tb ? *tb->site : (trace_site){NULL, NULL, 0};
}

/* The site a freed object was made at, if it was traced. */
static const trace_site *freed_site(const void *obj)
{
    for (size_t i = 0; i < QUARANTINE_SLOTS; i++)
        if (quarantine[i].obj == obj && quarantine[i].mem && quarantine[i].site.file)
            return &quarantine[i].site;
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

void rcgc__check_object(const void *obj, const char *what)
{
    void *known = reg_state(obj);
    if (known == REG_LIVE) return;
    if (known == REG_FREED) rcgc__misuse(what, obj, "use of a freed object");
    if (reg_incomplete) {   /* D2: the old check, which reads memory */
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
