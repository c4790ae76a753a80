/*
 * What the ready containers (list.c, dict.c), written against the public
 * API, use besides it: the allocator, and a type lookup whose debug-build
 * misuse line names the function the user called rather than rcgc_typeof.
 */
#ifndef RCGC_CONTAINER_H
#define RCGC_CONTAINER_H

#include "rcgc.h"
#include "alloc.h"

/* rcgc_typeof(obj), misuse reported as coming from `what`. */
const rcgc_type *rcgc__typeof_in(const void *obj, const char *what);

/* For the tools' why-alive labels: the index of the first item that is
   `item` (SIZE_MAX if none), the key of the first entry whose value is
   `value` (NULL if none). */
size_t rcgc__list_index_of(const void *list, const void *item);
const char *rcgc__dict_key_of(const void *dict, const void *value);

#endif
