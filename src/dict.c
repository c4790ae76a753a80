/*
 * rcgc_dict: string keys to strong references, in insertion order.
 *
 * The layout is CPython's compact dict: an entries array in insertion order
 * and an open-addressing index whose slots hold positions in that array,
 * both in one block (entries first), so a dict's storage is one allocation
 * and one free (two cost 1.9 % more instructions on bench/interp.c, whose
 * every closure has a small dict).  Deleting an entry leaves a hole in the entries (key NULL) and a
 * DELETED mark in its index slot, so later probes keep walking past it; the
 * holes disappear when the table is rebuilt.  Iteration walks the entries,
 * which is what gives insertion order for free.
 *
 * Keys are copied; values must not be NULL.  Storage is traced to the
 * caller's line through the tracer's call-site scope (rcgc_dict_set_at).  As in list.c, every change
 * leaves the table consistent before a reference is dropped, because
 * dropping one can run user code that reads or changes this dict.
 *
 * `version` counts the changes that move entries (a new key, a deletion, a
 * clear, a rebuild) so that rcgc_dict_next can tell a walk that the dict
 * changed under it (container.h).  Replacing the value of a key is not one:
 * the entry stays where it is, and CPython allows it during iteration too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "container.h"
#include "internal.h"

typedef struct dict_entry {
    uint64_t hash;
    char *key;       /* owned copy; NULL marks a deleted entry */
    void *value;
} dict_entry;

typedef struct rcgc_dict {
    dict_entry *entries;  /* the block: entries_cap entries, then the index */
    size_t *index;        /* index_size slots: SLOT_EMPTY, SLOT_DELETED or a position in entries */
    size_t index_size;    /* a power of two, or 0 before the first insertion */
    size_t entries_cap;   /* two thirds of index_size: keeps probe chains short */
    size_t entries_used;  /* entries written so far, deleted ones included */
    size_t len;           /* live entries */
    size_t version;       /* see the top of the file */
} rcgc_dict;

/* The bytes of the block that holds both arrays. */
static size_t table_bytes(size_t cap, size_t size)
{
    return cap * sizeof(dict_entry) + size * sizeof(size_t);
}

#define SLOT_EMPTY   SIZE_MAX
#define SLOT_DELETED (SIZE_MAX - 1)
#define MIN_INDEX_SIZE 8
/* Bits of the hash mixed into each probe step, so that keys whose hashes
   share their low bits still spread over the whole table. */
#define PERTURB_SHIFT 5

/* 64-bit FNV-1a: cheap and spreads short strings well. */
static uint64_t hash_string(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* The probe sequence visits every slot of a power-of-two table once the
   perturbation has been shifted to zero (i -> 5i + 1 is a full cycle), so a
   table with at least one empty slot always ends a search. */
typedef struct probe {
    size_t mask, pos;
    uint64_t perturb;
} probe;

static probe probe_start(const rcgc_dict *d, uint64_t hash)
{
    probe p = {d->index_size - 1, 0, hash};
    p.pos = (size_t)hash & p.mask;
    return p;
}

static void probe_next(probe *p)
{
    p->perturb >>= PERTURB_SHIFT;
    p->pos = (p->pos * 5 + (size_t)p->perturb + 1) & p->mask;
}

/* The index slot that refers to key's entry, or SLOT_EMPTY if key is absent. */
static size_t find_slot(const rcgc_dict *d, const char *key, uint64_t hash)
{
    if (d->index_size == 0) return SLOT_EMPTY;
    for (probe p = probe_start(d, hash);; probe_next(&p)) {
        size_t at = d->index[p.pos];
        if (at == SLOT_EMPTY) return SLOT_EMPTY;
        if (at == SLOT_DELETED) continue;
        const dict_entry *e = &d->entries[at];
        if (e->hash == hash && strcmp(e->key, key) == 0) return p.pos;
    }
}

/* New entries never reuse DELETED slots: the count of non-empty slots then
   never exceeds entries_used, which stays below index_size. */
static size_t find_empty_slot(const rcgc_dict *d, uint64_t hash)
{
    probe p = probe_start(d, hash);
    while (d->index[p.pos] != SLOT_EMPTY) probe_next(&p);
    return p.pos;
}

/* Rebuild both arrays with room for at least `want` entries, dropping the
   holes left by deletions.  Allocates their block before touching the
   dict, so a failure leaves it as it was; and reads the dict only after the
   block is in hand, because the allocation hook may run code (a collection, finalizers)
   that adds entries meanwhile: then it sizes again for what is there now. */
static int dict_resize(rcgc_dict *d, size_t want)
{
    size_t size, cap;
    dict_entry *entries;
    size_t *index;
    for (;;) {
        size = MIN_INDEX_SIZE;
        while (size / 3 * 2 < want) {
            if (size > SIZE_MAX / 2 / sizeof(dict_entry)) {
                errno = ENOMEM;
                return -1;
            }
            size *= 2;
        }
        cap = size / 3 * 2;
        if (cap > POS_INDEX_MASK) {   /* rcgc_dict_next could not say where it is */
            errno = ENOMEM;
            return -1;
        }
        entries = rcgc__alloc(table_bytes(cap, size));
        if (!entries) return -1;
        index = (size_t *)(entries + cap);
        if (d->len < cap) break;
        rcgc__free(entries, table_bytes(cap, size));
        want = (d->len + 1) * 2;
    }
    for (size_t i = 0; i < size; i++) index[i] = SLOT_EMPTY;

    dict_entry *old_entries = d->entries;
    size_t old_size = d->index_size, old_cap = d->entries_cap;
    size_t old_used = d->entries_used;

    d->entries = entries;
    d->index = index;
    d->index_size = size;
    d->entries_cap = cap;
    d->entries_used = 0;
    d->version++;
    for (size_t i = 0; i < old_used; i++) {
        if (!old_entries[i].key) continue;
        entries[d->entries_used] = old_entries[i];
        index[find_empty_slot(d, old_entries[i].hash)] = d->entries_used++;
    }
    if (old_entries) rcgc__free(old_entries, table_bytes(old_cap, old_size));
    return 0;
}

static int dict_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    rcgc_dict *d = self;
    for (size_t i = 0; i < d->entries_used; i++)
        RCGC_VISIT(d->entries[i].value);
    return 0;
}

static void free_key(char *key)
{
    rcgc__free(key, strlen(key) + 1);
}

/* Detach all storage before dropping anything, as list.c does: code run by
   a decref finds an empty dict, and anything it inserts goes into fresh
   storage that a later clear handles. */
static void dict_clear_entries(void *self)
{
    rcgc_dict *d = self;
    dict_entry *entries = d->entries;
    size_t size = d->index_size, cap = d->entries_cap, used = d->entries_used;
    d->version++;   /* a clear is a change even of an empty dict: one rule for walks */
    if (!entries) return;
    d->entries = NULL;
    d->index = NULL;
    d->index_size = d->entries_cap = d->entries_used = d->len = 0;

    for (size_t i = 0; i < used; i++) {
        if (!entries[i].key) continue;
        free_key(entries[i].key);
        rcgc_decref(entries[i].value);
    }
    rcgc__free(entries, table_bytes(cap, size));
}

/* Something a finalizer stored while the dict was being cleared must not
   leak, so clear until nothing is left. */
static void dict_destroy(void *self)
{
    rcgc_dict *d = self;
    while (d->entries)
        dict_clear_entries(d);
}

/* Keys longer than this are shown cut, ending in "..." (objgraph cuts its
   reprs at 40 too), so that a name fits one line and the hook's buffer. */
#define KEY_SHOWN 40

/* ["key"] for the entry traverse reports as visit `index`: entries[index]
   holding the referent names it at once (no deleted entry before it, or a
   key that holds the referent too); else the live entries are counted. */
static int dict_name_ref(const void *self, const void *referent, size_t index, char *buf,
                         size_t size)
{
    const rcgc_dict *d = self;
    size_t at = index;
    if (at >= d->entries_used || !d->entries[at].key || d->entries[at].value != referent) {
        size_t seen = 0;
        for (at = 0; at < d->entries_used; at++)
            if (d->entries[at].key && seen++ == index) break;
        if (at >= d->entries_used || d->entries[at].value != referent)
            for (at = 0; at < d->entries_used; at++)
                if (d->entries[at].key && d->entries[at].value == referent) break;
        if (at >= d->entries_used) return 0;
    }
    const char *key = d->entries[at].key;
    size_t len = strlen(key);
    if (len <= KEY_SHOWN) return snprintf(buf, size, "[\"%s\"]", key);
    len = KEY_SHOWN;
    while (len > 0 && ((unsigned char)key[len] & 0xc0) == 0x80) len--;   /* a whole character */
    return snprintf(buf, size, "[\"%.*s...\"]", (int)len, key);
}

const rcgc_type rcgc_dict_type = {
    .name = "dict",
    .size = sizeof(rcgc_dict),
    .traverse = dict_traverse,
    .clear = dict_clear_entries,
    .finalize = NULL,
    .destroy = dict_destroy,
    .name_ref = dict_name_ref,
};

/* `what` names the caller in debug builds' misuse lines. */
static bool is_dict(const void *obj, const char *what)
{
    if (obj && rcgc__typeof_in(obj, what) == &rcgc_dict_type) return true;
    errno = EINVAL;
    return false;
}

void *rcgc_dict_new(void)
{
    return rcgc_new(&rcgc_dict_type);
}

void *rcgc_dict_new_at(const char *file, int line, const char *func)
{
    return rcgc_new_at(&rcgc_dict_type, file, line, func);
}

size_t rcgc_dict_len(const void *self)
{
    if (!is_dict(self, __func__)) return 0;
    return ((const rcgc_dict *)self)->len;
}

void *rcgc_dict_get(const void *self, const char *key)
{
    if (!is_dict(self, __func__)) return NULL;
    if (!key) {
        errno = EINVAL;
        return NULL;
    }
    const rcgc_dict *d = self;
    size_t slot = find_slot(d, key, hash_string(key));
    if (slot == SLOT_EMPTY) {
        errno = ENOENT;
        return NULL;
    }
    return d->entries[d->index[slot]].value;
}

int rcgc_dict_set_at(void *self, const char *key, void *value, const char *file, int line,
                     const char *func)
{
    rcgc_state *S = state();
    site_scope sc;
    site_enter(S, &sc, file, line, func, &rcgc_dict_type, __builtin_frame_address(0));
    int r = rcgc_dict_set(self, key, value);
    site_leave(S, &sc);
    return r;
}

int rcgc_dict_set(void *self, const char *key, void *value)
{
    if (!is_dict(self, __func__)) return -1;
    if (!key || !value) {
        errno = EINVAL;
        return -1;
    }
    RCGC_CHECK_OBJECT(value, __func__);   /* a misuse line names the caller's call */
    rcgc_dict *d = self;
    uint64_t hash = hash_string(key);
    size_t slot = find_slot(d, key, hash);
    if (slot != SLOT_EMPTY) {
        dict_entry *e = &d->entries[d->index[slot]];
        void *old = e->value;
        rcgc_incref(value);
        e->value = value;
        rcgc_decref(old);
        return 0;
    }

    size_t key_size = strlen(key) + 1;
    char *copy = rcgc__alloc(key_size);
    if (!copy) return -1;
    memcpy(copy, key, key_size);
    /* The allocations may have run code that changed the dict (see
       dict_resize): look the key up again, and make room until there is. */
    for (;;) {
        slot = find_slot(d, key, hash);
        if (slot != SLOT_EMPTY) {
            rcgc__free(copy, key_size);
            return rcgc_dict_set(d, key, value);   /* now a replacement */
        }
        if (d->entries_used < d->entries_cap) break;
        /* Room for the new entry and as many again: amortised O(1). */
        if (dict_resize(d, (d->len + 1) * 2) != 0) {
            rcgc__free(copy, key_size);
            return -1;
        }
    }
    rcgc_incref(value);
    size_t at = d->entries_used++;
    d->entries[at] = (dict_entry){hash, copy, value};
    d->index[find_empty_slot(d, hash)] = at;
    d->len++;
    d->version++;
    return 0;
}

int rcgc_dict_set_steal(void *self, const char *key, void *value)
{
    return steal_result(rcgc_dict_set(self, key, value), value);
}

int rcgc_dict_set_steal_at(void *self, const char *key, void *value, const char *file,
                           int line, const char *func)
{
    return steal_result(rcgc_dict_set_at(self, key, value, file, line, func), value);
}

int rcgc_dict_del(void *self, const char *key)
{
    if (!is_dict(self, __func__)) return -1;
    if (!key) {
        errno = EINVAL;
        return -1;
    }
    rcgc_dict *d = self;
    size_t slot = find_slot(d, key, hash_string(key));
    if (slot == SLOT_EMPTY) {
        errno = ENOENT;
        return -1;
    }
    dict_entry *e = &d->entries[d->index[slot]];
    char *old_key = e->key;
    void *old_value = e->value;
    e->key = NULL;
    e->value = NULL;
    d->index[slot] = SLOT_DELETED;
    d->len--;
    d->version++;
    free_key(old_key);
    rcgc_decref(old_value);
    return 0;
}

bool rcgc_dict_next(const void *self, size_t *pos, const char **key,
                    void **value)
{
    if (!is_dict(self, __func__)) return false;
    if (!pos) {
        errno = EINVAL;
        return false;
    }
    const rcgc_dict *d = self;
    size_t start = pos_index(*pos, d->version);
    if (start == SIZE_MAX) return false;
    for (size_t i = start; i < d->entries_used; i++) {
        if (!d->entries[i].key) continue;
        if (!pos_advance(pos, i, d->version)) return false;
        if (key) *key = d->entries[i].key;
        if (value) *value = d->entries[i].value;
        return true;
    }
    errno = 0;
    return false;
}

void rcgc_dict_clear(void *self)
{
    if (!is_dict(self, __func__)) return;
    dict_clear_entries(self);
}
