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
 * The registry and the quarantine use libc directly: they are the debug
 * build's own memory, not the program's, so rcgc_memory_in_use and the
 * allocation hook never see them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#ifdef RCGC_DEBUG

/* ---- the registry: open addressing keyed by body address ------------------ */

enum { REG_EMPTY = 0, REG_LIVE = 1, REG_FREED = 2, REG_GONE = 3 /* tombstone */ };

typedef struct reg_slot {
    const void *obj;
    uintptr_t state;
} reg_slot;

static reg_slot *reg_slots;
static size_t reg_cap, reg_filled;   /* filled counts tombstones too */
static bool reg_incomplete;          /* D2 */

static size_t reg_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 31;
    x *= UINT64_C(0x9e3779b97f4a7c15);
    return (size_t)(x ^ (x >> 29));
}

static reg_slot *reg_find(const void *obj)
{
    if (!reg_cap) return NULL;
    for (size_t i = reg_hash(obj) & (reg_cap - 1);; i = (i + 1) & (reg_cap - 1)) {
        if (reg_slots[i].state == REG_EMPTY) return NULL;
        if (reg_slots[i].obj == obj && reg_slots[i].state != REG_GONE) return &reg_slots[i];
    }
}

static bool reg_grow(void)
{
    size_t cap = reg_cap ? reg_cap * 2 : 4096;
    reg_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return false;
    for (size_t i = 0; i < reg_cap; i++) {
        if (reg_slots[i].state != REG_LIVE && reg_slots[i].state != REG_FREED) continue;
        size_t j = reg_hash(reg_slots[i].obj) & (cap - 1);
        while (slots[j].state != REG_EMPTY) j = (j + 1) & (cap - 1);
        slots[j] = reg_slots[i];
    }
    free(reg_slots);
    reg_slots = slots;
    reg_cap = cap;
    reg_filled = 0;
    for (size_t i = 0; i < cap; i++) reg_filled += slots[i].state != REG_EMPTY;
    return true;
}

void rcgc__debug_register(const void *obj)
{
    reg_slot *s = reg_find(obj);
    if (s) {   /* an address the quarantine gave back, reused */
        s->state = REG_LIVE;
        return;
    }
    if ((reg_filled + 1) * 2 > reg_cap && !reg_grow()) {
        reg_incomplete = true;
        return;
    }
    size_t i = reg_hash(obj) & (reg_cap - 1);
    while (reg_slots[i].state == REG_LIVE || reg_slots[i].state == REG_FREED)
        i = (i + 1) & (reg_cap - 1);
    if (reg_slots[i].state == REG_EMPTY) reg_filled++;
    reg_slots[i] = (reg_slot){obj, REG_LIVE};
}

static void reg_set(const void *obj, uintptr_t state)
{
    reg_slot *s = reg_find(obj);
    if (s) s->state = state;
}

/* ---- the quarantine ------------------------------------------------------------ */

#define QUARANTINE_SLOTS 4096
static struct {
    void *mem;
    const void *obj;
} quarantine[QUARANTINE_SLOTS];
static size_t quarantine_next;

void rcgc__debug_quarantine(void *mem, const void *obj)
{
    reg_set(obj, REG_FREED);
    size_t i = quarantine_next;
    quarantine_next = (quarantine_next + 1) % QUARANTINE_SLOTS;
    if (quarantine[i].mem) {
        reg_set(quarantine[i].obj, REG_GONE);
        rcgc__free_forgotten(quarantine[i].mem);
    }
    quarantine[i].mem = mem;
    quarantine[i].obj = obj;
}

/* ---- messages ------------------------------------------------------------------ */

static void describe(const void *obj)
{
    const obj_head *h = head_of(obj);
    const rcgc_type *t = head_type(h);
    fprintf(stderr, "object <%s %p> refcount %zu (allocation #%llu)\n",
            t && t->name ? t->name : "?", obj, h->refcnt, (unsigned long long)h->serial);
}

void rcgc__misuse(const char *what, const void *obj, const char *problem)
{
    fprintf(stderr, "rcgc: %s: %s: ", what, problem);
    describe(obj);
    fflush(stderr);
    abort();
}

void rcgc__check_object(const void *obj, const char *what)
{
    reg_slot *s = reg_find(obj);
    if (s && s->state == REG_LIVE) return;
    if (s && s->state == REG_FREED) rcgc__misuse(what, obj, "use of a freed object");
    if (!s && reg_incomplete) {   /* D2: the old check, which reads memory */
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
