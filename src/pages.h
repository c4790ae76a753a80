/*
 * Size-class pages: where objects of up to SMALL_MAX bytes (header and body)
 * live.  Each heap keeps, per 16-byte size class, a list of 64 KiB pages cut
 * into blocks of that size; making an object pops a block off its page's
 * free list, freeing one pushes it back.  Both are a handful of instructions
 * inlined into object.c, where a call into the backend allocator (mimalloc
 * or libc) cost a call, a thread-local lookup and, for mimalloc, a check of
 * the owning thread on every free.  A page finds itself from any of its
 * blocks by masking the address, so a free needs no lookup either.
 * Larger objects, and everything that is not an object (container storage,
 * rcgc's tables), still come from the backend (alloc.c).
 *
 * A page that becomes empty leaves its class unless it is the one the class
 * allocates from, and waits for the next class that needs a page; past
 * 2 MiB of them, its memory goes back to the system (pages.c).
 *
 * Invariants (RCGC_ASSERT in debug builds):
 *  P1  A page's blocks are all of size (class + 1) * CLASS_GRAIN; used counts
 *      those handed out, and used + (blocks on its free list) + (blocks past
 *      its bump pointer) = its block count.
 *  P2  A page is on its class's `available` list iff it has a free block or
 *      is that list's head; the head is where allocation looks first.
 *  P3  A page belongs to one heap (its `heap`), and only that heap's thread
 *      touches it, so nothing here is atomic.
 *  P4  Under AddressSanitizer or valgrind, a block that is not handed out is
 *      marked inaccessible except while this file reads or writes its
 *      free-list word.
 */
#ifndef RCGC_PAGES_H
#define RCGC_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT 16
#define PAGE_BYTES ((size_t)1 << PAGE_SHIFT)
#define CLASS_GRAIN 16
#define SMALL_MAX 512
#define CLASS_COUNT (SMALL_MAX / CLASS_GRAIN)

struct rcgc_heap;

typedef struct free_block {
    struct free_block *next;
} free_block;

typedef struct block_page {
    free_block *free;          /* blocks freed, to be handed out again */
    char *bump;                /* blocks never handed out start here... */
    char *end;                 /* ...and end here */
    struct block_page *next, *prev;  /* in its class's available list (P2) */
    struct rcgc_heap *heap;
    uint32_t chunk;            /* its index in state.chunks */
    uint32_t used;
    uint16_t size_class;
    uint16_t listed;
} block_page;

/* 32 pages mapped at once (pages.c); a bit set in cold: that page is free
   and its memory given back. */
typedef struct page_chunk {
    char *base;
    uint32_t cold;
} page_chunk;

typedef struct size_class {
    block_page *available;           /* P2: circular, allocation looks at the head */
} size_class;

static inline unsigned class_of(size_t size)
{
    return (unsigned)((size - 1) / CLASS_GRAIN);
}
static inline block_page *page_of_block(const void *block)
{
    return (block_page *)((uintptr_t)block & ~(uintptr_t)(PAGE_BYTES - 1));
}

/* The whole paths (pages.c); object_alloc / object_free in internal.h
   inline their common case.  NULL + ENOMEM when no page could be had. */
void *rcgc__block_alloc(struct rcgc_heap *S, unsigned cls);
void rcgc__block_free(struct rcgc_heap *S, void *block);
/* A free that left its page empty, or a page that was full with a free
   block again. */
void rcgc__block_freed_slow(struct rcgc_heap *S, block_page *pg);
/* Every page back to the backend (teardown, after the last object). */
void rcgc__pages_release(struct rcgc_heap *S);

#if defined(__SANITIZE_ADDRESS__)
#define RCGC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RCGC_ASAN 1
#endif
#endif
#ifdef RCGC_ASAN
#define RCGC_POISONS 1
#endif
/* Valgrind's client requests cost a few instructions each even outside
   valgrind, so they are a build option (RCGC_VALGRIND, the valgrind preset). */
#if !defined(RCGC_POISONS) && defined(RCGC_VALGRIND)
#define RCGC_POISONS 1
#endif

#ifdef RCGC_POISONS
void rcgc__block_poison(void *block, size_t size);
void rcgc__block_unpoison(void *block, size_t size);
#else
static inline void rcgc__block_poison(void *block, size_t size) { (void)block, (void)size; }
static inline void rcgc__block_unpoison(void *block, size_t size) { (void)block, (void)size; }
#endif

static inline size_t class_block_size(unsigned cls)
{
    return (size_t)(cls + 1) * CLASS_GRAIN;
}

/* Under AddressSanitizer and valgrind a block keeps at least 16 bytes past
   the object poisoned, as malloc's redzones are, so that a write past an
   object's body is caught rather than landing in the next object. */
#ifdef RCGC_POISONS
#define BLOCK_REDZONE 16
#else
#define BLOCK_REDZONE 0
#endif
/* Whether an object of `size` bytes lives in a block, and of which class. */
static inline bool in_block(size_t size)
{
    return size <= SMALL_MAX - BLOCK_REDZONE;
}
static inline unsigned block_class(size_t size)
{
    return class_of(size + BLOCK_REDZONE);
}
/* A block just popped for an object of `size` bytes: its tail poisoned. */
static inline void block_fit(void *block, size_t size)
{
#ifdef RCGC_POISONS
    rcgc__block_poison((char *)block + size,
                       class_block_size(page_of_block(block)->size_class) - size);
#else
    (void)block, (void)size;
#endif
}

/* A block off the page's free list, else from its bump area; NULL when
   the page is full. */
static inline void *block_pop(block_page *pg)
{
    size_t size = class_block_size(pg->size_class);
    free_block *b = pg->free;
    if (b) {
        rcgc__block_unpoison(b, size);
        pg->free = b->next;
    } else if (pg->bump < pg->end) {
        b = (free_block *)pg->bump;
        pg->bump += size;
        rcgc__block_unpoison(b, size);
    } else {
        return NULL;
    }
    pg->used++;
    return b;
}

/* Back on its page's free list; true when the page needs
   rcgc__block_freed_slow (P2: it was full, or it is empty now). */
static inline bool block_push(block_page *pg, void *block)
{
    free_block *b = block;
    b->next = pg->free;
    pg->free = b;
    rcgc__block_poison(b, class_block_size(pg->size_class));
    return --pg->used == 0 || !pg->listed;
}

#endif
