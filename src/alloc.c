/*
 * Allocation backend.  mimalloc when the build found it (Debian's
 * libmimalloc-dev: its free is about twice as fast as glibc's on
 * binary-trees work, see BENCHMARKS.md); libc malloc otherwise.  Objects of
 * up to SMALL_MAX bytes come from size-class pages (pages.c) instead, which
 * maps its own memory.
 *
 * Accounting counts the bytes asked for; callers pass the same size back on
 * free (asking the backend for a block's usable size cost 10 % of a garbage
 * collection's time).  Debug builds check that the size given back fits the
 * block.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "pages.h"

#ifdef RCGC_HAVE_MIMALLOC
#include <mimalloc.h>
#define backend_malloc(n) mi_malloc(n)
#define backend_calloc(n) mi_calloc(1, (n))
#define backend_realloc(p, n) mi_realloc((p), (n))
#define backend_free(p) mi_free(p)
#define backend_usable(p) mi_usable_size(p)
#else
#include <malloc.h>
#include <stdlib.h>
#define backend_malloc(n) malloc(n)
#define backend_calloc(n) calloc(1, (n))
#define backend_realloc(p, n) realloc((p), (n))
#define backend_free(p) free(p)
#define backend_usable(p) malloc_usable_size(p)
#endif

static bool allowed(rcgc_state *S, size_t size)
{
#ifdef RCGC_STRESS
    /* Stress builds (Lua's HARDMEMTESTS): every allocation that may collect
       does, as if the allocation hook collected each time it is asked. */
    rcgc__stress_collect();
#endif
    if (!S->alloc_hook) return true;
    S->calling_out++;
    bool allow = S->alloc_hook(size, S->alloc_hook_arg);
    S->calling_out--;
    if (!allow) errno = ENOMEM;
    return allow;
}

static void *allocate(rcgc_state *S, size_t size, bool zeroed, bool ask)
{
    if (ask && !allowed(S, size)) return NULL;
    size_t asked = size ? size : 1;
    void *p = zeroed ? backend_calloc(asked) : backend_malloc(asked);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    S->bytes_in_use += size;
    if (S->memory_observed) rcgc__memory_event(S, p, size, NULL, 0);
    return p;
}

void *rcgc__alloc(size_t size) { return allocate(state(), size, false, true); }
void *rcgc__calloc(size_t size) { return allocate(state(), size, true, true); }
void *rcgc__alloc_unasked(size_t size) { return allocate(state(), size, false, false); }

/* The hook runs first and may run user code (a collection, finalizers) that
   changes or frees the very array being grown, so nothing about it is read
   until the new block is in hand: then the array is read afresh and grown
   from what it holds now, or left alone if that code already made room. */
int rcgc__reserve(void *items_field, size_t *cap, const size_t *len, size_t elem,
                  size_t first_cap)
{
    while (*len >= *cap) {
        size_t want = *cap ? *cap * 2 : first_cap;
        if (want <= *cap || want > SIZE_MAX / elem) {
            errno = ENOMEM;
            return -1;
        }
        void *grown = rcgc__alloc(want * elem);
        if (!grown) return -1;
        if (*len < *cap || *len >= want) {   /* changed meanwhile: start over */
            rcgc__free(grown, want * elem);
            continue;
        }
        void *items;
        memcpy(&items, items_field, sizeof items);
        if (*len) memcpy(grown, items, *len * elem);
        rcgc__free(items, *cap * elem);
        memcpy(items_field, &grown, sizeof grown);
        *cap = want;
    }
    return 0;
}

void *rcgc__shrink(void *p, size_t old_size, size_t new_size)
{
    RCGC_ASSERT(new_size <= old_size && old_size <= backend_usable(p));
    /* The old address is a key for the tracer, never read through; the empty
       asm tells gcc so (its use-after-free warning follows the value). */
    uintptr_t old_address = (uintptr_t)p;
    __asm__("" : "+r"(old_address));
    void *q = backend_realloc(p, new_size ? new_size : 1);
    if (!q) return NULL;
    rcgc_state *S = state();
    S->bytes_in_use -= old_size - new_size;
    if (S->memory_observed)
        rcgc__memory_event(S, q, new_size, (const void *)old_address, old_size);
    return q;
}

void rcgc__free(void *p, size_t size)
{
    if (!p) return;
    RCGC_ASSERT(size <= backend_usable(p));
    rcgc_state *S = state();
    S->bytes_in_use -= size;
    if (S->memory_observed) rcgc__memory_event(S, NULL, 0, p, size);
    backend_free(p);
}

/* ---- objects ---------------------------------------------------------------- */

/* Their memory is a size-class block up to SMALL_MAX (pages.h), the backend's
   above.  The common case is inline (object_alloc / object_free in
   internal.h); these are the whole path, for the hook, the tracer, the
   stress build and sizes past the classes. */
void *rcgc__object_alloc(rcgc_state *S, size_t size)
{
    if (!allowed(S, size)) return NULL;
    bool block = in_block(size);
    void *p = block ? rcgc__block_alloc(S, block_class(size)) : backend_malloc(size);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    if (block) block_fit(p, size);
    S->bytes_in_use += size;
    if (S->memory_observed) rcgc__memory_event(S, p, size, NULL, 0);
    return p;
}

static void give_back(rcgc_state *S, void *p, size_t size)
{
    if (in_block(size))
        rcgc__block_free(S, p);
    else
        backend_free(p);
}

/* Off the books: the debug quarantine calls it when the object dies and
   rcgc__free_forgotten later, so rcgc_memory_in_use reads the same in debug
   and release builds. */
void rcgc__forget_in(rcgc_state *S, void *p, size_t size)
{
    RCGC_ASSERT(!in_block(size) || page_of_block(p)->heap == S);
    RCGC_ASSERT(in_block(size) || size <= backend_usable(p));
    S->bytes_in_use -= size;
    if (S->memory_observed) rcgc__memory_event(S, NULL, 0, p, size);
}

void rcgc__object_free(rcgc_state *S, void *p, size_t size)
{
    rcgc__forget_in(S, p, size);
    give_back(S, p, size);
}

void rcgc__free_forgotten(rcgc_state *S, void *p, size_t size)
{
    give_back(S, p, size);
}

/* rcgc's own bookkeeping (the census, the tools' tables): straight from the
   backend, outside the user's books and hook, as tracemalloc's own tables
   are outside the memory it traces. */
/* The hook never sees these, so tests reach their failure paths through
   state.own_refusal: when non-zero, the allocation that counts it down to
   zero fails. */
static bool own_refused(void)
{
    rcgc_state *S = state();
    return S->own_refusal && --S->own_refusal == 0;
}

void *rcgc__own_calloc(size_t size)
{
    return own_refused() ? NULL : backend_calloc(size ? size : 1);
}

void *rcgc__own_realloc(void *p, size_t size)
{
    return own_refused() ? NULL : backend_realloc(p, size ? size : 1);
}
void rcgc__own_free(void *p) { backend_free(p); }

/* The table of pages.c's chunks: refused with the pages (state.page_refusal),
   not with the tools' tables, whose tests count own_refusal exactly. */
void *rcgc__chunks_realloc(void *p, size_t size)
{
    return backend_realloc(p, size ? size : 1);
}

void rcgc_set_alloc_hook(rcgc_alloc_hook_fn allow, void *arg)
{
    rcgc_state *S = state();
    S->alloc_hook = allow;
    S->alloc_hook_arg = arg;
}

size_t rcgc_memory_in_use(void)
{
    return state()->bytes_in_use;
}
