/*
 * Size-class pages (pages.h has the layout, the invariants P1-P4 and why).
 * This file holds what the inline paths leave out: a fresh page, a page
 * that filled up or emptied, and giving every page back at teardown.
 *
 * Blocks are handed out from a page's free list first, then from its bump
 * area, so a page that was never full costs no more memory than it has
 * handed out (its memory is touched as it is used).
 *
 * Pages are cut from 2 MiB chunks mapped here (mmap), and an empty page
 * stays with its heap for the next class that needs one: up to 2 MiB of
 * them as they are (hot), the rest given back to the system with
 * MADV_DONTNEED (cold: still mapped, zero pages when touched again).  So a
 * program that builds, drops and builds again reuses the same memory.
 * (Pages from the backend, mi_malloc_aligned, did not: building a retained
 * list of 1 M containers three times peaked at 259 MiB against 181 for
 * once.)  Teardown unmaps the chunks.
 */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS, madvise */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

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

/* ---- the page source ------------------------------------------------------ */

#define CHUNK_PAGES 32
#define CHUNK_BYTES (CHUNK_PAGES * PAGE_BYTES)
#define HOT_PAGES_KEPT 32

#ifdef RCGC_ASAN
/* LeakSanitizer looks for pointers in heap blocks, not in mappings of the
   program's own: the objects in a mapped chunk would hide every block they
   hold (their item arrays, say), which it would then call leaked. */
static char *map_chunk(void) { return aligned_alloc(PAGE_BYTES, CHUNK_BYTES); }
static void unmap_chunk(void *chunk) { free(chunk); }
#else
/* A program built with LeakSanitizer that links this library built
   without it: LeakSanitizer is told to look in the chunks too, or the
   blocks objects hold (item arrays, dict tables) would look leaked. */
extern void __lsan_register_root_region(const void *p, size_t size) __attribute__((weak));
extern void __lsan_unregister_root_region(const void *p, size_t size) __attribute__((weak));

/* Aligned to the page size: map a page more and trim the ends. */
static char *map_chunk(void)
{
    char *raw = mmap(NULL, CHUNK_BYTES + PAGE_BYTES, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    char *chunk = (char *)(((uintptr_t)raw + PAGE_BYTES - 1) & ~(uintptr_t)(PAGE_BYTES - 1));
    if (chunk > raw) munmap(raw, (size_t)(chunk - raw));
    munmap(chunk + CHUNK_BYTES, (size_t)(raw + PAGE_BYTES - chunk));
    if (__lsan_register_root_region) __lsan_register_root_region(chunk, CHUNK_BYTES);
    return chunk;
}
static void unmap_chunk(void *chunk)
{
    if (__lsan_unregister_root_region) __lsan_unregister_root_region(chunk, CHUNK_BYTES);
    (void)munmap(chunk, CHUNK_BYTES);
}
#endif

/* A new chunk's pages are all cold: never touched, so not resident. */
static bool new_chunk(rcgc_state *S)
{
    if (S->chunks_len == S->chunks_cap) {
        size_t cap = S->chunks_cap ? S->chunks_cap * 2 : 16;
        page_chunk *grown = rcgc__chunks_realloc(S->chunks, cap * sizeof *grown);
        if (!grown) return false;
        S->chunks = grown;
        S->chunks_cap = cap;
    }
    char *base = map_chunk();
    if (!base) return false;
    S->cold_hint = S->chunks_len;
    S->chunks[S->chunks_len++] = (page_chunk){base, UINT32_MAX};
    S->pages_cold += CHUNK_PAGES;
    return true;
}
_Static_assert(CHUNK_PAGES == 32, "a chunk's cold pages are the bits of a uint32_t");

/* An empty page: a hot one, else a cold one, else from a new chunk.  Tests
   refuse it through state.page_refusal (the hook sees the objects, not
   the pages). */
static block_page *take_page(rcgc_state *S)
{
    if (S->page_refusal && --S->page_refusal == 0) return NULL;
    block_page *pg = S->pages_hot;
    if (pg) {
        S->pages_hot = pg->next;
        S->pages_hot_count--;
        return pg;
    }
    if (!S->pages_cold && !new_chunk(S)) return NULL;
    for (size_t i = S->cold_hint;; i = (i + 1) % S->chunks_len) {
        page_chunk *c = &S->chunks[i];
        if (!c->cold) continue;
        unsigned bit = (unsigned)__builtin_ctz(c->cold);
        c->cold &= ~(UINT32_C(1) << bit);
        S->pages_cold--;
        S->cold_hint = i;
        pg = (block_page *)(c->base + (size_t)bit * PAGE_BYTES);
        pg->chunk = (uint32_t)i;
        return pg;
    }
}

static void give_page(rcgc_state *S, block_page *pg)
{
    if (S->pages_hot_count < HOT_PAGES_KEPT) {
        pg->next = S->pages_hot;
        S->pages_hot = pg;
        S->pages_hot_count++;
        return;
    }
    /* Past what is kept hot: the memory goes back, the address stays, and
       nothing is written to the page after (that would bring a piece of it
       back): its chunk's bit says it is free. */
    page_chunk *c = &S->chunks[pg->chunk];
    unsigned bit = (unsigned)(((char *)pg - c->base) / PAGE_BYTES);
    (void)madvise(pg, PAGE_BYTES, MADV_DONTNEED);
    c->cold |= UINT32_C(1) << bit;
    S->pages_cold++;
}

/* ---- pages of a class ---------------------------------------------------- */

static block_page *page_new(rcgc_state *S, unsigned cls)
{
    block_page *pg = take_page(S);
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
    /* The next class to take it writes anywhere in it. */
    rcgc__block_unpoison((char *)pg + FIRST_BLOCK, PAGE_BYTES - FIRST_BLOCK);
    give_page(S, pg);
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
        size_t listed = 0;
        block_page *pg = c->available;
        for (block_page *q = pg; q && (listed == 0 || q != pg); q = q->next) listed++;
        for (; listed; listed--) {
            block_page *next = pg->next;
            RCGC_ASSERT(pg->used == 0);
            if (pg->used == 0) {   /* a release build's leak keeps its page */
                unlist(c, pg);
                page_free(S, pg);
            }
            pg = next;
        }
    }
    if (S->pages) return;   /* objects left (a release build's leak): keep their memory */
    for (size_t i = 0; i < S->chunks_len; i++) unmap_chunk(S->chunks[i].base);
    rcgc__own_free(S->chunks);
    S->chunks = NULL;
    S->chunks_len = S->chunks_cap = S->cold_hint = 0;
    S->pages_hot = NULL;
    S->pages_hot_count = S->pages_cold = 0;
}
