/*
 * What the ready containers (list.c, dict.c), written against the public
 * API, use besides it: the allocator, and a type lookup whose debug-build
 * misuse line names the function the user called rather than rcgc_typeof.
 */
#ifndef RCGC_CONTAINER_H
#define RCGC_CONTAINER_H

#include "rcgc.h"
#include "alloc.h"

#include <errno.h>
#include <stdint.h>

/* The pos of rcgc_list_next and rcgc_dict_next: the index to read next in
   the low POS_INDEX_BITS, and above them the container's change count
   (`version`, bumped by every change that moves entries) as it was when the
   walk started.  0 starts a walk; once an item is returned pos is never 0
   again, since the index read next is at least 1.  The stamp is the version
   modulo 2^(bits above): a walk misses a change only if exactly a multiple
   of that many (2^24 on 64-bit, 2^8 on 32-bit) happened between two steps.
   32-bit walks stop at index 2^24 with EOVERFLOW. */
#if SIZE_MAX > 0xffffffffu
#define POS_INDEX_BITS 40
#else
#define POS_INDEX_BITS 24
#endif
#define POS_INDEX_MASK (((size_t)1 << POS_INDEX_BITS) - 1)

/* Where a walk at *pos goes on, or SIZE_MAX (errno EAGAIN) if the container
   changed since the walk started. */
static inline size_t pos_index(size_t pos, size_t version)
{
    if (pos != 0 && pos >> POS_INDEX_BITS != (version & (SIZE_MAX >> POS_INDEX_BITS))) {
        errno = EAGAIN;
        return SIZE_MAX;
    }
    return pos & POS_INDEX_MASK;
}

/* pos after returning the item at index i; false (errno EOVERFLOW) if the
   next index does not fit. */
static inline bool pos_advance(size_t *pos, size_t i, size_t version)
{
    if (i + 1 > POS_INDEX_MASK) {
        errno = EOVERFLOW;
        return false;
    }
    *pos = (version << POS_INDEX_BITS) | (i + 1);
    return true;
}

/* The end of a *_steal store: the container took a reference of its own,
   or failed, so the caller's goes either way; a failure's errno is kept
   through whatever the release runs (finalizers, callbacks). */
static inline int steal_result(int r, void *item)
{
    int saved = errno;
    rcgc_decref(item);
    if (r != 0) errno = saved;
    return r;
}

/* rcgc_typeof(obj), misuse reported as coming from `what`. */
const rcgc_type *rcgc__typeof_in(const void *obj, const char *what);

#endif
