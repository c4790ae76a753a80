/* Size-class pages (src/pages.c): what a program sees of them is that
   rcgc_new still gives zeroed, aligned, separate bodies of any size, and
   that memory it frees goes back.  The page lists are read through the
   internals to check the second. */
#define _DEFAULT_SOURCE   /* mincore */
#include "harness.h"

#include <sys/mman.h>

#include "internal.h"

static size_t pages_held(void)
{
    return state()->pages;
}

/* Of the free pages whose memory went back (cold), how many 4 KiB pieces
   the system still holds: none, if nothing wrote to them since. */
static size_t cold_bytes_resident(void)
{
    const rcgc_state *S = state();
    size_t resident = 0;
    for (size_t i = 0; i < S->chunks_len; i++)
        for (unsigned bit = 0; bit < 32; bit++) {
            if (!(S->chunks[i].cold >> bit & 1)) continue;
            unsigned char in_core[PAGE_BYTES / 4096];
            CHECK_EQ(mincore(S->chunks[i].base + (size_t)bit * PAGE_BYTES, PAGE_BYTES, in_core), 0);
            for (size_t k = 0; k < sizeof in_core; k++) resident += (in_core[k] & 1) * 4096;
        }
    return resident;
}

/* Types of body sizes 0, 8, ..., past the largest class. */
#define SIZES 80
static rcgc_type types[SIZES];
static void make_types(void)
{
    for (size_t i = 0; i < SIZES; i++)
        types[i] = (rcgc_type){.name = "sized", .size = i * 8};
}

TEST(bodies_are_zeroed_aligned_and_apart_at_every_size)
{
    make_types();
    void *objs[SIZES];
    for (int round = 0; round < 3; round++) {   /* later rounds reuse freed blocks */
        for (size_t i = 0; i < SIZES; i++) {
            objs[i] = rcgc_new(&types[i]);
            CHECK(objs[i] != NULL);
            CHECK_EQ((uintptr_t)objs[i] % 16, 0);
            const unsigned char *body = objs[i];
            for (size_t b = 0; b < types[i].size; b++) CHECK_EQ(body[b], 0);
            memset(objs[i], 0xA5, types[i].size);   /* ASan and valgrind see overruns */
        }
        for (size_t i = 0; i < SIZES; i++) {
            const unsigned char *body = objs[i];
            for (size_t b = 0; b < types[i].size; b++) CHECK_EQ(body[b], 0xA5);
            rcgc_decref(objs[i]);
        }
    }
}

TEST(objects_past_the_largest_class_come_from_the_allocator)
{
    /* The largest size a class holds, and one byte more. */
    size_t header = sizeof(gc_link) + sizeof(obj_head);
    rcgc_type in_class = {.name = "in_class", .size = SMALL_MAX - header};
    rcgc_type past = {.name = "past", .size = SMALL_MAX - header + 1};
    size_t before = rcgc_memory_in_use();
    void *a = rcgc_new(&in_class), *b = rcgc_new(&past);
    CHECK(a && b);
    CHECK_EQ(rcgc_memory_in_use() - before, 2 * SMALL_MAX + 1);
    memset(a, 1, in_class.size);
    memset(b, 1, past.size);
    rcgc_decref(a);
    rcgc_decref(b);
    CHECK_EQ(rcgc_memory_in_use(), before);
}

/* Pages that the debug build's quarantine of 4096 freed objects may hold
   back (lists' blocks: 6 pages at most). */
#ifdef RCGC_DEBUG
#define QUARANTINE_PAGES 6
#else
#define QUARANTINE_PAGES 0
#endif

/* 100,000 pairs of lists holding each other, kept in a list. */
static void *make_pairs(void)
{
    void *list = rcgc_list_new();
    for (int i = 0; i < 100000; i++) {
        void *a = rcgc_list_new(), *b = rcgc_list_new();
        CHECK_EQ(rcgc_list_append_steal(a, b), 0);
        CHECK_EQ(rcgc_list_append(b, a), 0);
        CHECK_EQ(rcgc_list_append_steal(list, a), 0);
    }
    return list;
}

/* 200,000 tracked lists (about 250 pages), dropped: every page but the one
   each class allocates from goes back, and building again takes the same
   memory, not more. */
TEST(memory_a_program_frees_goes_back)
{
    rcgc_heap *heap = rcgc_heap_new();
    CHECK(heap != NULL);
    rcgc_heap *previous = rcgc_heap_enter(heap);
    rcgc_disable();
    size_t empty = pages_held();
    CHECK_EQ(empty, 0);
    void *list = make_pairs();
    size_t held = pages_held(), mapped = state()->chunks_len;
    CHECK(held > 100);
    CHECK(mapped * 32 >= held);   /* 32 pages a chunk */
    rcgc_decref(list);
    CHECK_EQ(rcgc_collect(2), 200000);
    /* All but 32 of the emptied pages went back to the system, whole. */
    CHECK(state()->pages_hot_count <= 32);
    CHECK(state()->pages_cold + state()->pages_hot_count + pages_held() == 32 * mapped);
    CHECK(state()->pages_cold >= held - 32 - QUARANTINE_PAGES);
    CHECK_EQ(cold_bytes_resident(), 0);
    list = make_pairs();
    CHECK(pages_held() >= held && pages_held() <= held + QUARANTINE_PAGES);
    CHECK(state()->chunks_len >= mapped && state()->chunks_len <= mapped + 1);
    rcgc_decref(list);
    CHECK_EQ(rcgc_collect(2), 200000);
    /* The lists' class keeps its head page. */
    CHECK(pages_held() >= 1 && pages_held() <= 1 + QUARANTINE_PAGES);
    CHECK_EQ(rcgc_heap_enter(previous), heap);
    CHECK_EQ(rcgc_heap_destroy(heap), 0);
}

TEST(a_destroyed_heap_keeps_no_page)
{
    rcgc_heap *heap = rcgc_heap_new();
    CHECK(heap != NULL);
    rcgc_heap *previous = rcgc_heap_enter(heap);
    make_types();
    for (size_t i = 0; i < SIZES; i++) {
        void *kept = rcgc_new(&types[i]);   /* left for teardown to free */
        CHECK(kept != NULL);
    }
    CHECK(pages_held() >= SMALL_MAX / CLASS_GRAIN - 2);
    CHECK_EQ(rcgc_heap_enter(previous), heap);
    /* Teardown frees the objects and then every page; valgrind's leak
       check in the valgrind stage sees nothing left. */
    CHECK_EQ(rcgc_heap_destroy(heap), 0);
}

/* A page that filled up takes blocks again once one of its blocks is
   freed, and a free in the middle of a full page leaves the others alone. */
TEST(a_full_page_takes_blocks_again)
{
    rcgc_type t = {.name = "t", .size = 16};
    enum { N = 5000 };   /* several pages of 48-byte blocks */
    static void *objs[N];
    for (int i = 0; i < N; i++) {
        objs[i] = rcgc_new(&t);
        CHECK(objs[i] != NULL);
        *(int *)objs[i] = i;
    }
    for (int i = 0; i < N; i += 3) rcgc_decref(objs[i]);
    for (int i = 0; i < N; i += 3) {
        objs[i] = rcgc_new(&t);
        CHECK(objs[i] != NULL);
        CHECK_EQ(*(int *)objs[i], 0);
        *(int *)objs[i] = i;
    }
    for (int i = 0; i < N; i++) {
        CHECK_EQ(*(int *)objs[i], i);
        rcgc_decref(objs[i]);
    }
}

/* A page the allocator will not give: the object is not made, errno says
   why, nothing is counted, and the next attempt works. */
TEST(a_page_that_cannot_be_had_fails_the_new_object_only)
{
    rcgc_heap *heap = rcgc_heap_new();
    CHECK(heap != NULL);
    rcgc_heap *previous = rcgc_heap_enter(heap);
    rcgc_type t = {.name = "t", .size = 24};
    state()->page_refusal = 1;   /* the first page */
    errno = 0;
    CHECK(rcgc_new(&t) == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK_EQ(rcgc_memory_in_use(), 0);
    CHECK_EQ(pages_held(), 0);
    void *obj = rcgc_new(&t);
    CHECK(obj != NULL);
    CHECK_EQ(pages_held(), 1);
    rcgc_decref(obj);
    CHECK_EQ(rcgc_memory_in_use(), 0);
    CHECK_EQ(rcgc_heap_enter(previous), heap);
    CHECK_EQ(rcgc_heap_destroy(heap), 0);
}
