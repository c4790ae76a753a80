/*
 * rcgc's one door to memory.  Every byte rcgc allocates (objects, container
 * storage, internal tables) goes through these, so that the user's allocation
 * hook (rcgc_set_alloc_hook) and rcgc_memory_in_use see all of it.
 * Callers pass back on free (and shrink) the size they asked for: the
 * accounting counts requested bytes and needs no lookup.
 * Failure returns NULL with errno = ENOMEM; nothing here aborts.
 */
#ifndef RCGC_ALLOC_H
#define RCGC_ALLOC_H

#include <stddef.h>

struct rcgc_heap;

void *rcgc__alloc(size_t size);                 /* uninitialised */
void *rcgc__calloc(size_t size);                /* zeroed */
/* Without asking the hook, for the deallocation path, which must not fail
   for a reason the user chose nor run user code of its own. */
void *rcgc__alloc_unasked(size_t size);
/* Make room for one more element in an array of `elem`-byte elements whose
   pointer (of any T * type) is stored at items_field, with *len used of *cap:
   capacity doubles from first_cap.  Safe when the hook changes the array
   (see alloc.c).  0, or -1 + ENOMEM with the array untouched. */
int rcgc__reserve(void *items_field, size_t *cap, const size_t *len, size_t elem,
                  size_t first_cap);
/* Give back the tail of a block; never asks the hook.  NULL: keep the old. */
void *rcgc__shrink(void *p, size_t old_size, size_t new_size);
void rcgc__free(void *p, size_t size);
/* rcgc's own bookkeeping: neither counted nor shown to the hook. */
void *rcgc__own_calloc(size_t size);
void *rcgc__own_realloc(void *p, size_t size);
void rcgc__own_free(void *p);
void *rcgc__chunks_realloc(void *p, size_t size);   /* pages.c's table of chunks; free: own_free */
/* Objects (object.c): uninitialised memory of exactly `size` bytes, 16-byte
   aligned, from a size-class page or the backend (alloc.c, pages.h). */
void *rcgc__object_alloc(struct rcgc_heap *S, size_t size);
void rcgc__object_free(struct rcgc_heap *S, void *p, size_t size);
/* The object's bytes leave the books now; the memory goes back later
   (the debug quarantine). */
void rcgc__forget_in(struct rcgc_heap *S, void *p, size_t size);
void rcgc__free_forgotten(struct rcgc_heap *S, void *p, size_t size);

#endif
