/*
 * rcgc_list: a growable array of strong references, like Python's list.
 *
 * Built on the public object API plus the internal allocator, so that the
 * storage array is counted and can be refused by the user's allocation hook,
 * and the tracer's call-site scope, so that it is traced to the caller's
 * line.  Items may be NULL.
 *
 * Re-entrancy: dropping a reference can run arbitrary user code (finalizers,
 * weakref callbacks, a whole deallocation cascade) that may read or modify
 * this very list.  So every function leaves the list consistent before it
 * calls rcgc_decref, and decrefs last.
 *
 * `version` counts the changes of length (append, pop, remove, clear) so
 * that rcgc_list_next can tell a walk that the list changed under it
 * (container.h); replacing an item in place is not such a change.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "container.h"
#include "internal.h"

typedef struct rcgc_list {
    void **items;
    size_t len;
    size_t cap;
    size_t version;
} rcgc_list;

/* A list's first item array, and below this capacity a list never shrinks:
   small lists would otherwise reallocate back and forth around a push/pop
   boundary.  4, as CPython's first append: 8 cost 32 bytes more for every
   list of up to 4 items (bench/retain.c's one-item containers). */
#define LIST_MIN_CAP 4

static int list_traverse(void *self, rcgc_visit_fn visit, void *arg)
{
    rcgc_list *list = self;
    for (size_t i = 0; i < list->len; i++)
        RCGC_VISIT(list->items[i]);
    return 0;
}

/* Detach the storage first (CPython's list_clear): a finalizer run by one of
   the decrefs below sees an empty list and may even append to it, which
   starts a fresh array instead of writing into the one being torn down. */
static void list_clear_items(void *self)
{
    rcgc_list *list = self;
    void **items = list->items;
    size_t len = list->len, cap = list->cap;
    list->version++;   /* a clear is a change even of an empty list: one rule for walks */
    if (!items) return;
    list->items = NULL;
    list->len = 0;
    list->cap = 0;
    for (size_t i = 0; i < len; i++)
        rcgc_decref(items[i]);
    rcgc__free(items, cap * sizeof(void *));
}

/* A finalizer run by clear may have appended to the dying list; clearing
   until nothing is left keeps those references from leaking. */
static void list_destroy(void *self)
{
    rcgc_list *list = self;
    while (list->items)
        list_clear_items(list);
}

/* "[i]" for the slot traverse reports as visit `index`.  items[index] holding
   the referent names a slot that holds it too, at once; else (NULLs before
   it) the visits are counted. */
static int list_name_ref(const void *self, const void *referent, size_t index, char *buf,
                         size_t size)
{
    const rcgc_list *list = self;
    size_t at = index;
    if (at >= list->len || list->items[at] != referent) {
        size_t seen = 0;
        for (at = 0; at < list->len; at++)
            if (list->items[at] && seen++ == index) break;
        if (at >= list->len || list->items[at] != referent)
            for (at = 0; at < list->len && list->items[at] != referent; at++) continue;
        if (at >= list->len) return 0;
    }
    return snprintf(buf, size, "[%zu]", at);
}

const rcgc_type rcgc_list_type = {
    .name = "list",
    .size = sizeof(rcgc_list),
    .traverse = list_traverse,
    .clear = list_clear_items,
    .finalize = NULL,
    .destroy = list_destroy,
    .name_ref = list_name_ref,
};

/* `what` names the caller in debug builds' misuse lines. */
static bool is_list(const void *obj, const char *what)
{
    if (obj && rcgc__typeof_in(obj, what) == &rcgc_list_type) return true;
    errno = EINVAL;
    return false;
}

/* Make room for one more item.  On failure the list is untouched.  Doubling
   keeps append amortised O(1). */
static int list_reserve_one(rcgc_list *list)
{
    return rcgc__reserve(&list->items, &list->cap, &list->len, sizeof(void *),
                         LIST_MIN_CAP);
}

/* Give memory back once the list is a quarter full.  Best effort: a failed
   reallocation keeps the larger array, and errno is left as it was because
   the caller's operation succeeded. */
static void list_maybe_shrink(rcgc_list *list)
{
    if (list->cap <= LIST_MIN_CAP || list->len > list->cap / 4) return;
    size_t new_cap = list->cap / 2;
    int saved_errno = errno;
    void **items = rcgc__shrink(list->items, list->cap * sizeof(void *),
                                new_cap * sizeof(void *));
    errno = saved_errno;
    if (items) {
        list->items = items;
        list->cap = new_cap;
    }
}

void *rcgc_list_new(void)
{
    return rcgc_new(&rcgc_list_type);
}

void *rcgc_list_new_at(const char *file, int line, const char *func)
{
    return rcgc_new_at(&rcgc_list_type, file, line, func);
}

size_t rcgc_list_len(const void *self)
{
    if (!is_list(self, __func__)) return 0;
    return ((const rcgc_list *)self)->len;
}

static int append_item(void *self, void *item)
{
    if (!is_list(self, "rcgc_list_append")) return -1;
    if (item) RCGC_CHECK_OBJECT(item, "rcgc_list_append");   /* named for the caller */
    rcgc_list *list = self;
    if (list_reserve_one(list) != 0) return -1;
    if (item) rcgc_incref(item);
    list->items[list->len++] = item;
    list->version++;
    return 0;
}

int rcgc_list_append(void *self, void *item)
{
    return append_item(self, item);
}

int rcgc_list_append_at(void *self, void *item, const char *file, int line, const char *func)
{
    rcgc_state *S = state();
    site_scope sc;
    site_enter(S, &sc, file, line, func, &rcgc_list_type, __builtin_frame_address(0));
    int r = append_item(self, item);
    site_leave(S, &sc);
    return r;
}

int rcgc_list_append_steal(void *self, void *item)
{
    return steal_result(append_item(self, item), item);
}

int rcgc_list_append_steal_at(void *self, void *item, const char *file, int line,
                              const char *func)
{
    return steal_result(rcgc_list_append_at(self, item, file, line, func), item);
}

int rcgc_list_set_steal(void *self, size_t i, void *item)
{
    return steal_result(rcgc_list_set(self, i, item), item);
}

bool rcgc_list_next(const void *self, size_t *pos, void **item)
{
    if (!is_list(self, __func__)) return false;
    if (!pos) {
        errno = EINVAL;
        return false;
    }
    const rcgc_list *list = self;
    size_t i = pos_index(*pos, list->version);
    if (i == SIZE_MAX) return false;
    if (i >= list->len) {
        errno = 0;
        return false;
    }
    if (!pos_advance(pos, i, list->version)) return false;
    if (item) *item = list->items[i];
    return true;
}

void *rcgc_list_get(const void *self, size_t i)
{
    if (!is_list(self, __func__)) return NULL;
    const rcgc_list *list = self;
    if (i >= list->len) {
        errno = ERANGE;
        return NULL;
    }
    return list->items[i];
}

int rcgc_list_set(void *self, size_t i, void *item)
{
    if (!is_list(self, __func__)) return -1;
    if (item) RCGC_CHECK_OBJECT(item, __func__);
    rcgc_list *list = self;
    if (i >= list->len) {
        errno = ERANGE;
        return -1;
    }
    void *old = list->items[i];
    if (item) rcgc_incref(item);
    list->items[i] = item;
    rcgc_decref(old);
    return 0;
}

/* Take item i out, closing the gap; the caller inherits the reference. */
static void *list_take(rcgc_list *list, size_t i)
{
    void *item = list->items[i];
    memmove(&list->items[i], &list->items[i + 1],
            (list->len - i - 1) * sizeof(void *));
    list->len--;
    list->version++;
    list_maybe_shrink(list);
    return item;
}

void *rcgc_list_pop(void *self, size_t i)
{
    if (!is_list(self, __func__)) return NULL;
    rcgc_list *list = self;
    if (i >= list->len) {
        errno = ERANGE;
        return NULL;
    }
    return list_take(list, i);
}

int rcgc_list_remove(void *self, size_t i)
{
    if (!is_list(self, __func__)) return -1;
    rcgc_list *list = self;
    if (i >= list->len) {
        errno = ERANGE;
        return -1;
    }
    rcgc_decref(list_take(list, i));
    return 0;
}

void rcgc_list_clear(void *self)
{
    if (!is_list(self, __func__)) return;
    list_clear_items(self);
}
