/*
 * The census: live objects and bytes per type, for every type, with or
 * without traverse (objgraph's most_common_types and show_growth).
 *
 * Counted at birth and death rather than found by a walk, because objects
 * of types without traverse sit on no list.  The counts live in a small
 * open-addressing table keyed by type, with the types used lately cached in
 * front of it, eight ways picked by the type's address, checked inline
 * (internal.h): a program allocating a few types pays a shift, a load, a
 * compare and an increment per birth and per death.  (One way, the last
 * type only, missed on every birth of a program alternating five types:
 * 7.8 % of bench/interp.c's instructions went to the slow path.)  Bytes
 * are not counted: every object of a type has the same size, so they are
 * count times that size.  (Measured on binary trees: BENCHMARKS.md.)
 *
 * The table is rcgc's own bookkeeping (rcgc__own_*): it asks no hook and is
 * not in rcgc_memory_in_use, as tracemalloc's tables are not in the memory
 * it traces.  Entries stay once made, at count 0 when a type dies out, so
 * show_growth can compare with a type's count at the previous call.
 *
 * Invariants:
 *  C1  For each type, entry.count is the number of objects made by rcgc_new
 *      and not yet freed (queued and being torn down ones included).
 *  C2  Each of census_ways points into the table at an entry whose type
 *      picks that way, or at state.census_none (whose type is NULL and so
 *      matches no type); all at census_none while state.tools_observing,
 *      so that every birth and death reaches the slow path, which tells
 *      leakcheck.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "rcgc_tools.h"

static size_t hash_type(const rcgc_type *t)
{
    uint64_t x = (uint64_t)(uintptr_t)t;
    x ^= x >> 29;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    return (size_t)(x ^ (x >> 32));
}

static census_entry *find(const rcgc_state *S, const rcgc_type *t)
{
    if (!S->census_cap) return NULL;
    for (size_t i = hash_type(t) & (S->census_cap - 1);; i = (i + 1) & (S->census_cap - 1)) {
        census_entry *e = &S->census[i];
        if (e->type == t || !e->type) return e->type ? e : NULL;
    }
}

static census_entry *insert_new(rcgc_state *S, const rcgc_type *t)
{
    if ((S->census_len + 1) * 2 > S->census_cap) {
        size_t cap = S->census_cap ? S->census_cap * 2 : 32;
        census_entry *table = rcgc__own_calloc(cap * sizeof *table);
        if (!table) return NULL;
        for (size_t i = 0; i < S->census_cap; i++) {
            census_entry *old = &S->census[i];
            if (!old->type) continue;
            size_t j = hash_type(old->type) & (cap - 1);
            while (table[j].type) j = (j + 1) & (cap - 1);
            table[j] = *old;
        }
        rcgc__own_free(S->census);
        S->census = table;
        S->census_cap = cap;
        rcgc__census_forget_ways(S);   /* C2: they pointed into the old table */
    }
    size_t i = hash_type(t) & (S->census_cap - 1);
    while (S->census[i].type) i = (i + 1) & (S->census_cap - 1);
    S->census[i] = (census_entry){t, 0, 0};
    S->census_len++;
    return &S->census[i];
}

bool rcgc__census_add_slow(rcgc_state *S, const rcgc_type *t, const void *obj)
{
    census_entry *e = find(S, t);
    if (!e && !(e = insert_new(S, t))) return false;
    e->count++;
    if (S->tools_observing)
        rcgc__tools_note_new(S, obj);
    else
        *census_way(S, t) = e;
    return true;
}

void rcgc__census_remove_slow(rcgc_state *S, const rcgc_type *t, const void *obj)
{
    census_entry *e = find(S, t);
    RCGC_ASSERT(e && e->count > 0);
    e->count--;
    if (S->tools_observing)
        rcgc__tools_forget(S, obj);
    else
        *census_way(S, t) = e;
}

void rcgc__census_forget_ways(rcgc_state *S)
{
    for (size_t i = 0; i < CENSUS_WAYS; i++) S->census_ways[i] = &S->census_none;
}

/* Header and body, as rcgc_memory_in_use counts an object of type t. */
static size_t bytes_each(const rcgc_type *t)
{
    return object_size(t);
}

size_t rcgc__census_count(const rcgc_state *S, const rcgc_type *t)
{
    census_entry *e = find(S, t);
    return e ? e->count : 0;
}

/* Most objects first; equal counts by name, then by address, so the order
   is the same at every call. */
static bool ranks_before(const census_entry *a, const census_entry *b)
{
    if (a->count != b->count) return a->count > b->count;
    int c = strcmp(a->type->name ? a->type->name : "", b->type->name ? b->type->name : "");
    if (c) return c < 0;
    return (uintptr_t)a->type < (uintptr_t)b->type;
}

/* The live entry that ranks next after `prev` (NULL: the first). Selection
   without a sorted copy: no allocation, and types are few. */
static const census_entry *next_ranked(const rcgc_state *S, const census_entry *prev)
{
    const census_entry *best = NULL;
    for (size_t i = 0; i < S->census_cap; i++) {
        const census_entry *e = &S->census[i];
        if (!e->type || e->count == 0) continue;
        if (prev && !ranks_before(prev, e)) continue;
        if (!best || ranks_before(e, best)) best = e;
    }
    return best;
}

size_t rcgc_census(rcgc_type_count *out, size_t cap)
{
    rcgc_state *S = state();
    size_t alive = 0;
    for (size_t i = 0; i < S->census_cap; i++)
        alive += S->census[i].type && S->census[i].count > 0;
    if (!out) cap = 0;
    const census_entry *e = NULL;
    for (size_t n = 0; n < cap && (e = next_ranked(S, e)); n++)
        out[n] = (rcgc_type_count){e->type, e->count, e->count * bytes_each(e->type)};
    return alive;
}

static const char *type_name(const rcgc_type *t)
{
    return t->name ? t->name : "?";
}

void rcgc_show_most_common_types(size_t limit, rcgc_write_fn out, void *arg)
{
    rcgc_state *S = state();
    int width = 0;
    size_t n = 0;
    for (const census_entry *e = next_ranked(S, NULL); e && (!limit || n < limit);
         e = next_ranked(S, e), n++) {
        int len = (int)strlen(type_name(e->type));
        if (len > width) width = len;
    }
    n = 0;
    for (const census_entry *e = next_ranked(S, NULL); e && (!limit || n < limit);
         e = next_ranked(S, e), n++)
        rcgc__print_to(out, arg, "%-*s %zu\n", width, type_name(e->type), e->count);
}

/* Largest growth first; equal growth in census order. */
static bool grows_before(const census_entry *a, const census_entry *b)
{
    size_t ga = a->count - a->shown, gb = b->count - b->shown;
    if (ga != gb) return ga > gb;
    return ranks_before(a, b);
}

static const census_entry *next_grown(const rcgc_state *S, const census_entry *prev)
{
    const census_entry *best = NULL;
    for (size_t i = 0; i < S->census_cap; i++) {
        const census_entry *e = &S->census[i];
        if (!e->type || e->count <= e->shown) continue;
        if (prev && !grows_before(prev, e)) continue;
        if (!best || grows_before(e, best)) best = e;
    }
    return best;
}

size_t rcgc_show_growth(size_t limit, rcgc_write_fn out, void *arg)
{
    rcgc_state *S = state();
    int width = 0;
    size_t grew = 0, n = 0;
    for (const census_entry *e = next_grown(S, NULL); e; e = next_grown(S, e), grew++) {
        int len = (int)strlen(type_name(e->type));
        if ((!limit || grew < limit) && len > width) width = len;
    }
    for (const census_entry *e = next_grown(S, NULL); e && (!limit || n < limit);
         e = next_grown(S, e), n++)
        rcgc__print_to(out, arg, "%-*s%9zu %+9lld\n", width, type_name(e->type), e->count,
                       (long long)(e->count - e->shown));
    for (size_t i = 0; i < S->census_cap; i++) S->census[i].shown = S->census[i].count;
    return grew;
}
