/*
 * A map from addresses to pointers, in rcgc's own memory (rcgc__own_*: no
 * hook, not in rcgc_memory_in_use), for the debug registry and the tools'
 * sets of objects.  Open addressing with linear probing and tombstones;
 * grows at half full.  Keys are never NULL.
 *
 * Invariant P1: `filled` counts live keys plus tombstones, and stays at most
 * half of `cap`, so every probe ends at an empty slot.
 */
#ifndef RCGC_PTRMAP_H
#define RCGC_PTRMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ptrmap_slot {
    const void *key;   /* NULL: empty; PTRMAP_GONE: deleted */
    void *value;
} ptrmap_slot;

typedef struct ptrmap {
    ptrmap_slot *slots;
    size_t cap, len, filled;
} ptrmap;

#define PTRMAP_GONE ((const void *)1)

/* The value's slot for key, or NULL. */
ptrmap_slot *ptrmap_find(const ptrmap *m, const void *key);
/* Set key's value (adding the key if need be); false if the map could not
   grow (it is then unchanged). */
bool ptrmap_put(ptrmap *m, const void *key, void *value);
/* Remove key; returns its value (NULL if absent). */
void *ptrmap_remove(ptrmap *m, const void *key);
/* Forget every key and give the memory back. */
void ptrmap_free(ptrmap *m);

#define PTRMAP_FOREACH(m, s) \
    for (ptrmap_slot *s = (m)->slots; s && s < (m)->slots + (m)->cap; s++) \
        if (s->key && s->key != PTRMAP_GONE)

#endif
