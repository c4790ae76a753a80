/*
 * Allocation backend.  mimalloc when the build found it (Debian's
 * libmimalloc-dev: size-segregated pages keep objects of one size together and
 * in allocation order, and its free is about twice as fast as glibc's on
 * binary-trees work, see BENCHMARKS.md); libc malloc otherwise.
 *
 * Accounting counts the bytes asked for; callers pass the same size back on
 * free (asking the backend for a block's usable size cost 10 % of a garbage
 * collection's time).  Debug builds check that the size given back fits the
 * block.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

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
    if (S->alloc_hook && !S->alloc_hook(size, S->alloc_hook_arg)) {
        errno = ENOMEM;
        return false;
    }
    return true;
}

static void *allocate(size_t size, bool zeroed)
{
    rcgc_state *S = state();
    if (!allowed(S, size)) return NULL;
    size_t asked = size ? size : 1;
    void *p = zeroed ? backend_calloc(asked) : backend_malloc(asked);
    if (!p) {
        errno = ENOMEM;
        return NULL;
    }
    S->bytes_in_use += size;
    return p;
}

void *rcgc__alloc(size_t size) { return allocate(size, false); }
void *rcgc__calloc(size_t size) { return allocate(size, true); }

void *rcgc__realloc(void *p, size_t old_size, size_t new_size)
{
    if (!p) return rcgc__alloc(new_size);
    RCGC_ASSERT(old_size <= backend_usable(p));
    rcgc_state *S = state();
    if (!allowed(S, new_size)) return NULL;
    void *q = backend_realloc(p, new_size ? new_size : 1);
    if (!q) {
        errno = ENOMEM;
        return NULL;
    }
    S->bytes_in_use = S->bytes_in_use - old_size + new_size;
    return q;
}

void rcgc__free(void *p, size_t size)
{
    if (!p) return;
    RCGC_ASSERT(size <= backend_usable(p));
    rcgc__state.bytes_in_use -= size;
    backend_free(p);
}

#ifdef RCGC_DEBUG
/* The debug quarantine: memory leaves the books when the object dies and goes
   back to the backend later, so rcgc_memory_in_use reads the same in debug
   and release builds. */
void rcgc__forget(void *p, size_t size)
{
    RCGC_ASSERT(size <= backend_usable(p));
    rcgc__state.bytes_in_use -= size;
}

void rcgc__free_forgotten(void *p)
{
    backend_free(p);
}
#endif

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
