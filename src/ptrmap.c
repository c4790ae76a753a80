/* A map from addresses to pointers: see ptrmap.h. */
#include <stdint.h>

#include "alloc.h"
#include "ptrmap.h"

static size_t hash_address(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    return (size_t)(x ^ (x >> 33));
}

ptrmap_slot *ptrmap_find(const ptrmap *m, const void *key)
{
    if (!m->cap) return NULL;
    for (size_t i = hash_address(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key) return &m->slots[i];
        if (!m->slots[i].key) return NULL;
    }
}

static bool grow(ptrmap *m)
{
    size_t cap = m->len * 4 < m->cap ? m->cap : (m->cap ? m->cap * 2 : 64);
    ptrmap_slot *slots = rcgc__own_calloc(cap * sizeof *slots);
    if (!slots) return false;
    for (size_t i = 0; i < m->cap; i++) {
        const void *key = m->slots[i].key;
        if (!key || key == PTRMAP_GONE) continue;
        size_t j = hash_address(key) & (cap - 1);
        while (slots[j].key) j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    rcgc__own_free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->filled = m->len;
    return true;
}

bool ptrmap_put(ptrmap *m, const void *key, void *value)
{
    ptrmap_slot *s = ptrmap_find(m, key);
    if (s) {
        s->value = value;
        return true;
    }
    if ((m->filled + 1) * 2 > m->cap && !grow(m)) return false;
    size_t i = hash_address(key) & (m->cap - 1);
    while (m->slots[i].key && m->slots[i].key != PTRMAP_GONE) i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key) m->filled++;
    m->slots[i] = (ptrmap_slot){key, value};
    m->len++;
    return true;
}

void *ptrmap_remove(ptrmap *m, const void *key)
{
    ptrmap_slot *s = ptrmap_find(m, key);
    if (!s) return NULL;
    void *value = s->value;
    s->key = PTRMAP_GONE;
    s->value = NULL;
    if (--m->len == 0) ptrmap_free(m);   /* nothing left: give the memory back */
    return value;
}

void ptrmap_free(ptrmap *m)
{
    rcgc__own_free(m->slots);
    *m = (ptrmap){NULL, 0, 0, 0};
}
