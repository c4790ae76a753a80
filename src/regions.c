/*
 * memory_profiler for rcgc, by region: rcgc_profile_begin / end around the
 * parts of a program to measure, rcgc_profile_print for the table.
 *
 * Every block rcgc allocates or frees (objects, container storage, internal
 * tables: what rcgc_memory_in_use counts) while a region is open is counted
 * in the innermost open region only: one add, one compare, O(1) per event.
 * When a region ends its totals move into the region around it, so a nested
 * region's memory counts in every region around it too, and the outer
 * region's peak becomes max(its own peak, its increment when the inner one
 * began + the inner one's peak).  This works whether or not tracing is on.
 *
 * Per region name (regions of one name are one row, whatever their nesting):
 *   allocated    bytes allocated inside, summed over occurrences
 *   freed        bytes freed inside (of blocks made before it too)
 *   increment    allocated - freed (negative when it freed more)
 *   peak         the highest increment reached inside one occurrence,
 *                counted from 0 at its begin (so never below 0); the
 *                largest over the occurrences
 *   occurrences  how many times it ended
 * A region nested in itself (recursion) counts its inner occurrence's memory
 * in both occurrences, as nesting does for regions of other names.
 *
 * The table (rcgc_profile_print), one call of `out` per line:
 *   Region              Allocated         Freed     Increment          Peak  Occurrences
 *   =====================================================================================
 *   load               96.000 KiB    32.000 KiB    64.000 KiB    80.000 KiB            1
 *     parse            24.000 KiB     8.000 KiB    16.000 KiB    16.000 KiB            4
 * - the Region column is as wide as its widest entry (at least "Region");
 *   each name is indented two spaces per region open around it when it was
 *   first begun; rows are in the order the regions were first begun;
 * - the four sizes are right-aligned in 13 columns: bytes / 1024 with three
 *   decimals and " KiB" below 1 MiB (in absolute value), bytes / 1048576 and
 *   " MiB" from 1 MiB on (memory_profiler's columns are MiB with decimals;
 *   rcgc's regions are often smaller);
 * - Occurrences is right-aligned in 12 columns;
 * - the '=' line is as long as the heading; regions still open are counted
 *   up to now and marked with " (open)" after their occurrences;
 * - if rcgc's own memory ran out at a begin, a last line says how many
 *   occurrences were not recorded.
 *
 * Misuse: rcgc_profile_end with no region open does nothing else and sets
 * errno = EINVAL; rcgc_profile_begin(NULL) sets errno = EINVAL and opens an
 * unrecorded region (so its end still balances).  When rcgc's own memory
 * cannot be had at a begin, errno = ENOMEM and that region and those begun
 * inside it are unrecorded (their memory still counts in the regions
 * around them).
 *
 * The tables are rcgc's own memory (rcgc__own_*): outside
 * rcgc_memory_in_use and the allocation hook, so regions never count
 * themselves.  The state: state.regions (this file's block) and
 * state.regions_active, set while a region is open.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "profile.h"
#include "rcgc_tools.h"

typedef struct region_stat {      /* one per name, in first-begun order */
    char *name;
    unsigned depth;               /* regions open around its first begin */
    uint64_t allocated, freed;
    int64_t increment, peak;
    size_t occurrences;
} region_stat;

typedef struct region_frame {     /* one per open region, innermost last */
    size_t stat;
    uint64_t allocated, freed;
    int64_t current, peak;
} region_frame;

typedef struct profile_regions {
    region_stat *stats;
    size_t nstats, stats_cap;
    region_frame *frames;
    size_t depth, frames_cap;
    size_t unrecorded_open;       /* unrecorded begins still open, innermost */
    size_t unrecorded_total;      /* unrecorded occurrences, for the table */
} profile_regions;

static void update_active(rcgc_state *S)
{
    profile_regions *R = S->regions;
    S->regions_active = R && R->depth > 0;
    rcgc__update_memory_observed(S);
}

static profile_regions *regions_of(rcgc_state *S)
{
    if (!S->regions) S->regions = rcgc__own_calloc(sizeof *S->regions);
    return S->regions;
}

static bool grow(void **items, size_t *cap, size_t len, size_t elem)
{
    if (len < *cap) return true;
    size_t want = *cap ? *cap * 2 : 8;
    void *grown = rcgc__own_realloc(*items, want * elem);
    if (!grown) return false;
    *items = grown;
    *cap = want;
    return true;
}

static bool find_or_add(profile_regions *R, const char *name, size_t *index)
{
    for (size_t i = 0; i < R->nstats; i++)
        if (strcmp(R->stats[i].name, name) == 0) {
            *index = i;
            return true;
        }
    if (!grow((void **)&R->stats, &R->stats_cap, R->nstats, sizeof *R->stats)) return false;
    size_t len = strlen(name);
    char *copy = rcgc__own_calloc(len + 1);
    if (!copy) return false;
    memcpy(copy, name, len);
    R->stats[R->nstats] = (region_stat){.name = copy, .depth = (unsigned)R->depth};
    *index = R->nstats++;
    return true;
}

void rcgc_profile_begin(const char *region)
{
    rcgc_state *S = state();
    profile_regions *R = regions_of(S);
    if (!R) {
        errno = ENOMEM;
        return;     /* nothing open: the matching end finds none (EINVAL) */
    }
    size_t index = 0;
    if (R->unrecorded_open || !region ||
        !grow((void **)&R->frames, &R->frames_cap, R->depth, sizeof *R->frames) ||
        !find_or_add(R, region, &index)) {
        errno = region ? ENOMEM : EINVAL;
        R->unrecorded_open++;
        R->unrecorded_total++;
        return;
    }
    R->frames[R->depth++] = (region_frame){.stat = index};
    update_active(S);
}

void rcgc_profile_end(void)
{
    rcgc_state *S = state();
    profile_regions *R = S->regions;
    if (R && R->unrecorded_open) {
        R->unrecorded_open--;
        return;
    }
    if (!R || R->depth == 0) {
        errno = EINVAL;
        return;
    }
    region_frame f = R->frames[--R->depth];
    region_stat *st = &R->stats[f.stat];
    st->allocated += f.allocated;
    st->freed += f.freed;
    st->increment += f.current;
    if (f.peak > st->peak) st->peak = f.peak;
    st->occurrences++;
    if (R->depth) {
        region_frame *outer = &R->frames[R->depth - 1];
        if (outer->current + f.peak > outer->peak) outer->peak = outer->current + f.peak;
        outer->allocated += f.allocated;
        outer->freed += f.freed;
        outer->current += f.current;
    }
    update_active(S);
}

void rcgc__regions_on_alloc(rcgc_state *S, size_t size)
{
    region_frame *f = &S->regions->frames[S->regions->depth - 1];
    f->allocated += size;
    f->current += (int64_t)size;
    if (f->current > f->peak) f->peak = f->current;
}

void rcgc__regions_on_free(rcgc_state *S, size_t size)
{
    region_frame *f = &S->regions->frames[S->regions->depth - 1];
    f->freed += size;
    f->current -= (int64_t)size;
}

void rcgc__regions_reset(rcgc_state *S)
{
    profile_regions *R = S->regions;
    if (!R) return;
    for (size_t i = 0; i < R->nstats; i++) rcgc__own_free(R->stats[i].name);
    rcgc__own_free(R->stats);
    rcgc__own_free(R->frames);
    rcgc__own_free(R);
    S->regions = NULL;
    update_active(S);
}

static void format_size(char *buf, size_t cap, int64_t bytes)
{
    int64_t mag = bytes < 0 ? -bytes : bytes;
    if (mag < 1048576)
        snprintf(buf, cap, "%.3f KiB", (double)bytes / 1024.0);
    else
        snprintf(buf, cap, "%.3f MiB", (double)bytes / 1048576.0);
}

void rcgc_profile_print(rcgc_write_fn out, void *arg)
{
    rcgc_state *S = state();
    profile_regions *R = S->regions;
    size_t nstats = R ? R->nstats : 0;

    /* Regions still open: what they hold so far, folded in as if they ended
       now (a copy, innermost first, so nothing recorded changes). */
    int width = (int)strlen("Region");
    for (size_t i = 0; i < nstats; i++) {
        int w = (int)(2 * R->stats[i].depth + strlen(R->stats[i].name));
        if (w > width) width = w;
    }
    char heading[512];
    int len = snprintf(heading, sizeof heading, "%-*s %13s %13s %13s %13s %12s", width,
                       "Region", "Allocated", "Freed", "Increment", "Peak", "Occurrences");
    rcgc__print_to(out, arg, "%s\n", heading);
    char rule[512];
    if (len > (int)sizeof rule - 1) len = (int)sizeof rule - 1;
    memset(rule, '=', (size_t)len);
    rule[len] = '\0';
    rcgc__print_to(out, arg, "%s\n", rule);

    for (size_t i = 0; i < nstats; i++) {
        region_stat st = R->stats[i];
        bool open = false;
        /* An open occurrence: its frame plus the open frames inside it. */
        int64_t inner_current = 0, inner_peak = 0;
        uint64_t inner_alloc = 0, inner_freed = 0;
        for (size_t d = R->depth; d-- > 0;) {
            region_frame f = R->frames[d];
            int64_t peak = f.peak;
            if (f.current + inner_peak > peak) peak = f.current + inner_peak;
            inner_alloc += f.allocated;
            inner_freed += f.freed;
            inner_current += f.current;
            inner_peak = peak;
            if (f.stat == i) {   /* each open occurrence, as recursion counts */
                open = true;
                st.allocated += inner_alloc;
                st.freed += inner_freed;
                st.increment += inner_current;
                if (inner_peak > st.peak) st.peak = inner_peak;
            }
        }
        char a[32], fr[32], inc[32], pk[32];
        format_size(a, sizeof a, (int64_t)st.allocated);
        format_size(fr, sizeof fr, (int64_t)st.freed);
        format_size(inc, sizeof inc, st.increment);
        format_size(pk, sizeof pk, st.peak);
        rcgc__print_to(out, arg, "%*s%-*s %13s %13s %13s %13s %12zu%s\n", (int)(2 * st.depth), "",
                       width - (int)(2 * st.depth), st.name, a, fr, inc, pk, st.occurrences,
                       open ? " (open)" : "");
    }
    if (R && R->unrecorded_total)
        rcgc__print_to(out, arg, "(%zu region occurrence%s not recorded: no name, or no memory)\n",
                       R->unrecorded_total, R->unrecorded_total == 1 ? "" : "s");
}
