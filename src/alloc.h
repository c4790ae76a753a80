/*
 * rcgc's one door to memory.  Every byte rcgc allocates (objects, container
 * storage, internal tables) goes through these, so that the user's allocation
 * hook (rcgc_set_alloc_hook) and rcgc_memory_in_use see all of it.
 * Callers pass back on free (and realloc) the size they asked for: the
 * accounting counts requested bytes and needs no lookup.
 * Failure returns NULL with errno = ENOMEM; nothing here aborts.
 */
#ifndef RCGC_ALLOC_H
#define RCGC_ALLOC_H

#include <stddef.h>

void *rcgc__alloc(size_t size);                 /* uninitialised */
void *rcgc__calloc(size_t size);                /* zeroed */
void *rcgc__realloc(void *p, size_t old_size, size_t new_size);
void rcgc__free(void *p, size_t size);
#ifdef RCGC_DEBUG
void rcgc__forget(void *p, size_t size); /* stop counting p; free it later */
void rcgc__free_forgotten(void *p);
#endif

#endif
