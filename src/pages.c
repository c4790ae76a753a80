/*
 * Size-class pages (pages.h has the layout, the invariants P1-P4 and why).
 * This file holds what the inline paths leave out: a fresh page, a page
 * that filled up or emptied, and giving every page back at teardown.
 *
 * Blocks are handed out from a page's free list first, then from its bump
 * area, so a page that was never full costs no more memory than it has
 * handed out (the backend's pages are touched as they are used).
 */
#include <errno.h>

#include "internal.h"

#ifdef RCGC_POISONS
#if defined(RCGC_VALGRIND)
#include <valgrind/memcheck.h>
#define POISON(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define UNPOISON(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))   /* read at once: the free-list word */
#else
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
void rcgc__block_poison(void *block, size_t size) { POISON(block, size); }
void rcgc__block_unpoison(void *block, size_t size) { UNPOISON(block, size); }
#endif

/* Blocks start past the page header, at a 16-byte boundary. */
#define FIRST_BLOCK (((sizeof(block_page) + CLASS_GRAIN - 1) / CLASS_GRAIN) * CLASS_GRAIN)

/* The available list is circular: the head's prev is the tail. */
static void list_at_tail(size_class *c, block_page *pg)
{
    block_page *head = c->available;
    if (!head) {
        pg->next = pg->prev = pg;
        c->available = pg;
    } else {
        pg->next = head;
        pg->prev = head->prev;
        head->prev->next = pg;
        head->prev = pg;
    }
    pg->listed = 1;
}

static void unlist(size_class *c, block_page *pg)
{
    if (pg->next == pg) {
        c->available = NULL;
    } else {
        pg->prev->next = pg->next;
        pg->next->prev = pg->prev;
        if (c->available == pg) c->available = pg->next;
    }
    pg->next = pg->prev = NULL;
    pg->listed = 0;
}

static block_page *page_new(rcgc_state *S, unsigned cls)
{
    block_page *pg = rcgc__page_memory();
    if (!pg) return NULL;
    size_t block = class_block_size(cls);
    pg->free = NULL;
    pg->bump = (char *)pg + FIRST_BLOCK;
    pg->end = pg->bump + (PAGE_BYTES - FIRST_BLOCK) / block * block;
    pg->heap = S;
    pg->used = 0;
    pg->size_class = (uint16_t)cls;
    rcgc__block_poison(pg->bump, (size_t)(pg->end - pg->bump));
    S->pages++;
    return pg;
}

void *rcgc__block_alloc(rcgc_state *S, unsigned cls)
{
    size_class *c = &S->classes[cls];
    for (;;) {
        block_page *pg = c->available;
        if (!pg) {
            pg = page_new(S, cls);
            if (!pg) {
                errno = ENOMEM;
                return NULL;
            }
            list_at_tail(c, pg);
        }
        RCGC_ASSERT(pg->heap == S && pg->size_class == cls);
        void *b = block_pop(pg);
        if (b) return b;
        unlist(c, pg);   /* full: it comes back when a block of it is freed */
    }
}

void rcgc__block_free(rcgc_state *S, void *block)
{
    block_page *pg = page_of_block(block);
    if (block_push(pg, block)) rcgc__block_freed_slow(S, pg);
}

static void page_free(rcgc_state *S, block_page *pg)
{
    S->pages--;
    /* The backend reads its own words at the start of what it handed out. */
    rcgc__block_unpoison((char *)pg + FIRST_BLOCK, PAGE_BYTES - FIRST_BLOCK);
    rcgc__page_memory_free(pg);
}

void rcgc__block_freed_slow(rcgc_state *S, block_page *pg)
{
    RCGC_ASSERT(pg->heap == S);
    size_class *c = &S->classes[pg->size_class];
    /* At the tail: the head keeps being used up first, and this page
       gathers more free blocks before allocation reaches it. */
    if (!pg->listed) list_at_tail(c, pg);
    if (pg->used == 0 && c->available != pg) {   /* the head stays: no churn at the edge */
        unlist(c, pg);
        page_free(S, pg);
    }
}

void rcgc__pages_release(rcgc_state *S)
{
    for (unsigned cls = 0; cls < CLASS_COUNT; cls++) {
        size_class *c = &S->classes[cls];
        while (c->available) {
            block_page *pg = c->available;
            RCGC_ASSERT(pg->used == 0);
            unlist(c, pg);
            page_free(S, pg);
        }
    }
}
