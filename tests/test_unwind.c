/*
 * src/unwind.c: rcgc__unwind walks the frame pointers above the running
 * public entry point (state.entry_frame) and gives the return addresses of
 * a known chain of calls, innermost first, at most max of them, and nothing
 * from a chain that leads anywhere odd; rcgc__symbolize names them (the
 * functions of this file; with libdw also this file and the lines of the
 * calls), answers -1 + ENOENT for 0 and garbage, and gives the same answers
 * with its cache refused at every allocation.
 *
 * The chain's functions take their own frame address, which makes gcc and
 * clang give each a frame pointer whatever the flags of this file, as the
 * library's *_at entry points do.
 */
#define _GNU_SOURCE   /* pthread, open_memstream */
#include "harness.h"

#include <pthread.h>
#include <stdint.h>
#include <ucontext.h>

#include "internal.h"
#include "rcgc_tools.h"
#include "unwind.h"

static void *volatile frame_sink;
#define KEEP_FRAME() (frame_sink = __builtin_frame_address(0))

/* The lines of the calls in the chain, set on the lines of the calls. */
static int middle_line, outer_line;

/* The public entry point, as an *_at function is: records its frame, then
   unwinds from inside. */
__attribute__((noinline)) static int fake_entry(void **pcs, int max)
{
    void *saved = state()->entry_frame;
    state()->entry_frame = __builtin_frame_address(0);
    int n = rcgc__unwind(pcs, max);
    state()->entry_frame = saved;
    return n;
}

/* Frame 0 of a traceback: the caller of the entry point (the header's
   macros name it; rcgc__unwind starts above it). */
__attribute__((noinline)) static int inner(void **pcs, int max)
{
    KEEP_FRAME();
    int n = fake_entry(pcs, max);
    return n + (frame_sink == NULL);   /* no tail call */
}

__attribute__((noinline)) static int middle(void **pcs, int max)
{
    KEEP_FRAME();
    int n = inner(pcs, max); middle_line = __LINE__;
    return n + (frame_sink == NULL);
}

__attribute__((noinline)) static int outer(void **pcs, int max)
{
    KEEP_FRAME();
    int n = middle(pcs, max); outer_line = __LINE__;
    return n + (frame_sink == NULL);
}

/* pc returns into fn: it lies a little after fn's first instruction (or
   in code laid out just after fn: a hint, not a proof). */
static bool returns_into(const void *pc, uintptr_t fn)
{
    return (uintptr_t)pc > fn && (uintptr_t)pc - fn < 4096;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Checks pcs[0..2] are the returns into middle, outer and the function
   `caller` (which called outer at caller_line). */
static void check_chain(void **pcs, int n, uintptr_t caller, const char *caller_name,
                        int caller_line)
{
    CHECK(n >= 3);
    if (n < 3) return;
    CHECK(returns_into(pcs[0], (uintptr_t)middle));
    CHECK(returns_into(pcs[1], (uintptr_t)outer));
    CHECK(returns_into(pcs[2], caller));
    if (!rcgc__symbolize_has_lines()) return;   /* dladdr: exported names only */
    static const char *const names[3] = {"middle", "outer", NULL};
    const int lines[3] = {middle_line, outer_line, caller_line};
    for (int i = 0; i < 3; i++) {
        char func[64], file[512];
        int line = -1;
        CHECK_EQ(rcgc__symbolize(pcs[i], func, sizeof func, file, sizeof file, &line), 0);
        CHECK_STR(func, names[i] ? names[i] : caller_name);
        CHECK(ends_with(file, "tests/test_unwind.c"));
        CHECK_EQ(line, lines[i]);
    }
}

TEST(unwind_gives_the_callers_innermost_first)
{
    void *pcs[16];
    int n = outer(pcs, 16); int line = __LINE__;
    check_chain(pcs, n, (uintptr_t)unwind_gives_the_callers_innermost_first,
                "unwind_gives_the_callers_innermost_first", line);
    /* Then the harness and main where they keep frame pointers (debug
       builds): the walk goes on while the chain is sound. */
    CHECK(n < 16);
}

/* The chain, called from one place. */
__attribute__((noinline)) static int from_one_place(void **pcs, int max)
{
    KEEP_FRAME();
    int n = outer(pcs, max);
    return n + (frame_sink == NULL);
}

TEST(unwind_respects_max)
{
    void *all[16], *pcs[16];
    int n = 0;
    /* One call site for every capture (the first, max 16, is the reference),
       so that every frame compares equal. */
    for (int max = 16; max >= -1; max--) {
        for (int i = 0; i < 16; i++) pcs[i] = (void *)(uintptr_t)0x5a5a;
        int got = from_one_place(pcs, max);
        if (max == 16) {
            n = got;
            memcpy(all, pcs, sizeof all);
            CHECK(n >= 4);   /* from_one_place's caller at least */
            CHECK(n < 16);
            continue;
        }
        CHECK_EQ(got, max < 0 ? 0 : max < n ? max : n);
        for (int i = 0; i < got; i++) CHECK_PTR(pcs[i], all[i]);
        for (int i = got; i < 16; i++) CHECK_PTR(pcs[i], (void *)(uintptr_t)0x5a5a);
    }
}

TEST(unwind_without_an_entry_frame_finds_nothing)
{
    void *pcs[4] = {0};
    void *saved = state()->entry_frame;
    state()->entry_frame = NULL;
    CHECK_EQ(rcgc__unwind(pcs, 4), 0);
    CHECK_PTR(pcs[0], NULL);
    state()->entry_frame = saved;
}

static int some_global[4];

/* Frames that are not a sound chain end the walk at the first bad link:
   a link downwards or to itself, misaligned, outside the stack, or 0. */
TEST(unwind_stops_at_the_first_unsound_frame)
{
    void *saved = state()->entry_frame;
    void *pcs[8];
    void *fake[8];
    /* fake[0..1], fake[2..3], fake[4..5]: three frames, the third's link bad. */
    void *const bad_links[] = {
        NULL, &fake[0] /* downwards */, &fake[4] /* to itself */, (char *)&fake[6] + 1, some_global,
        (void *)(uintptr_t)8, (void *)UINTPTR_MAX,
    };
    for (size_t b = 0; b < sizeof bad_links / sizeof bad_links[0]; b++) {
        void *chain[8] = {&fake[2], (void *)0x1111, &fake[4], (void *)0x2222,
                          bad_links[b], (void *)0x3333, NULL, NULL};
        memcpy(fake, chain, sizeof fake);
        state()->entry_frame = fake;
        int n = rcgc__unwind(pcs, 8);
        CHECK_EQ(n, 2);
        CHECK_PTR(pcs[0], (void *)0x2222);
        CHECK_PTR(pcs[1], (void *)0x3333);
    }
    /* A frame whose return address is 0 ends the walk before it. */
    void *zero[8] = {&fake[2], NULL, &fake[4], NULL, NULL, NULL, NULL, NULL};
    memcpy(fake, zero, sizeof fake);
    state()->entry_frame = fake;
    CHECK_EQ(rcgc__unwind(pcs, 8), 0);
    /* An entry frame that is not on this stack: nothing. */
    void *const bad_entries[] = {some_global, (void *)(uintptr_t)16};
    for (size_t b = 0; b < sizeof bad_entries / sizeof bad_entries[0]; b++) {
        state()->entry_frame = bad_entries[b];
        CHECK_EQ(rcgc__unwind(pcs, 8), 0);
    }
    int *heap = malloc(64);
    state()->entry_frame = heap;
    CHECK_EQ(rcgc__unwind(pcs, 8), 0);
    free(heap);
    state()->entry_frame = saved;
}

struct thread_result {
    void *pcs[16];
    int n;
};
static void *unwind_in_thread(void *arg)
{
    struct thread_result *r = arg;
    r->n = outer(r->pcs, 16);
    return NULL;
}

TEST(unwind_works_on_other_threads)
{
    struct thread_result r = {{0}, -1};
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, unwind_in_thread, &r), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK(r.n >= 3);
    CHECK(returns_into(r.pcs[0], (uintptr_t)middle));
    CHECK(returns_into(r.pcs[1], (uintptr_t)outer));
    CHECK(returns_into(r.pcs[2], (uintptr_t)unwind_in_thread));
}

/* Through the public surface: a traced rcgc_new (the header's macro, its
   *_at function recording the entry frame) from a known chain. */
static const rcgc_type leaf_type = {.name = "leaf", .size = 16};
static int alloc_line, alloc_middle_line, alloc_outer_line;

__attribute__((noinline)) static void *alloc_here(void)
{
    KEEP_FRAME();
    void *obj = rcgc_new(&leaf_type); alloc_line = __LINE__;
    return frame_sink ? obj : NULL;
}
__attribute__((noinline)) static void *alloc_middle(void)
{
    KEEP_FRAME();
    void *obj = alloc_here(); alloc_middle_line = __LINE__;
    return frame_sink ? obj : NULL;
}
__attribute__((noinline)) static void *alloc_outer(void)
{
    KEEP_FRAME();
    void *obj = alloc_middle(); alloc_outer_line = __LINE__;
    return frame_sink ? obj : NULL;
}

TEST(a_traced_allocation_has_its_callers)
{
    CHECK_EQ(rcgc_trace_start(3), 0);
    void *obj = alloc_outer();
    CHECK(obj != NULL);
    const traceback *tb = rcgc__trace_of_object(obj);
    CHECK(tb != NULL);
    if (tb) {
        CHECK_EQ(tb->nframes, 3);
        CHECK_STR(tb->site->func, "alloc_here");
        CHECK_EQ(tb->site->line, alloc_line);
        CHECK(returns_into(tb->pcs[0], (uintptr_t)alloc_middle));
        CHECK(returns_into(tb->pcs[1], (uintptr_t)alloc_outer));
        if (rcgc__symbolize_has_lines()) {
            char func[64], file[512];
            int line = 0;
            CHECK_EQ(rcgc__symbolize(tb->pcs[0], func, sizeof func, file, sizeof file, &line), 0);
            CHECK_STR(func, "alloc_middle");
            CHECK(ends_with(file, "tests/test_unwind.c"));
            CHECK_EQ(line, alloc_middle_line);
            CHECK_EQ(rcgc__symbolize(tb->pcs[1], func, sizeof func, file, sizeof file, &line), 0);
            CHECK_STR(func, "alloc_outer");
            CHECK_EQ(line, alloc_outer_line);
        }
    }
    rcgc_decref(obj);
    rcgc_trace_stop();
    rcgc__symbolize_forget();
}

/* An allocation from a finalizer: the walk goes up through rcgc's own
   frames (the library keeps frame pointers) to the user's call that let
   the object go. */
static void *made_in_finalizer;
static void allocating_finalizer(void *self)
{
    (void)self;
    KEEP_FRAME();
    made_in_finalizer = rcgc_new(&leaf_type);
}
static const rcgc_type finalized_type = {.name = "finalized", .size = 16,
                                         .finalize = allocating_finalizer};

__attribute__((noinline)) static void let_go(void *obj)
{
    KEEP_FRAME();
    rcgc_decref(obj);
    frame_sink = NULL;   /* no tail call */
}

TEST(a_trace_from_a_finalizer_reaches_the_user_through_rcgc)
{
    void *obj = rcgc_new(&finalized_type);
    CHECK(obj != NULL);
    CHECK_EQ(rcgc_trace_start(16), 0);
    let_go(obj);
    CHECK(made_in_finalizer != NULL);
    const traceback *tb = made_in_finalizer ? rcgc__trace_of_object(made_in_finalizer) : NULL;
    CHECK(tb != NULL);
    if (tb) {
        CHECK_STR(tb->site->func, "allocating_finalizer");
        CHECK(tb->nframes >= 4);   /* the site, rcgc's frames, let_go's caller */
        /* Which pc is let_go's needs names: the library's code may follow
           the test's closely enough for an address range to mislead. */
        if (rcgc__symbolize_has_lines()) {
            int let_go_at = -1;
            char func[64], file[512];
            for (uint32_t i = 0; i + 1 < tb->nframes && let_go_at < 0; i++) {
                CHECK_EQ(rcgc__symbolize(tb->pcs[i], func, sizeof func, file, sizeof file, NULL),
                         0);
                if (strcmp(func, "let_go") == 0) let_go_at = (int)i;
                else   /* rcgc's own: the library, or the header's inline paths */
                    CHECK(strstr(file, "src/") != NULL || strstr(file, "include/rcgc.h") != NULL);
            }
            CHECK(let_go_at >= 1);
        }
    }
    rcgc_decref(made_in_finalizer);
    made_in_finalizer = NULL;
    rcgc_trace_stop();
    rcgc__symbolize_forget();
}

/* On a stack of its own (a coroutine's), the walk cannot know which
   addresses are mapped, so it gives nothing. */
static ucontext_t main_context, coroutine_context;
static struct thread_result coroutine_result;
static void coroutine(void)
{
    coroutine_result.n = outer(coroutine_result.pcs, 16);
}

TEST(unwind_on_a_coroutine_stack_gives_nothing)
{
    size_t size = 256 * 1024;
    char *stack = malloc(size);
    CHECK(stack != NULL);
    if (!stack) return;
    coroutine_result.n = -1;
    CHECK_EQ(getcontext(&coroutine_context), 0);
    coroutine_context.uc_stack.ss_sp = stack;
    coroutine_context.uc_stack.ss_size = size;
    coroutine_context.uc_link = &main_context;
    makecontext(&coroutine_context, coroutine, 0);
    CHECK_EQ(swapcontext(&main_context, &coroutine_context), 0);
    CHECK_EQ(coroutine_result.n, 0);
    free(stack);
}

TEST(symbolize_names_0_and_garbage_an_error)
{
    char *heap = malloc(64);
    const void *const bad[] = {
        NULL, (void *)1, (void *)2, (void *)(uintptr_t)0x10, (void *)(uintptr_t)0xdeadbeef,
        (void *)UINTPTR_MAX, (void *)(UINTPTR_MAX - 4095), heap, heap + 17,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int again = 0; again < 2; again++) {   /* then from the cache */
            char func[32] = "x", file[32] = "y";
            int line = -1;
            errno = 0;
            CHECK_EQ(rcgc__symbolize(bad[i], func, sizeof func, file, sizeof file, &line), -1);
            CHECK_EQ(errno, ENOENT);
            CHECK_STR(func, "");
            CHECK_STR(file, "");
            CHECK_EQ(line, 0);
        }
    }
    /* No output buffers at all. */
    CHECK_EQ(rcgc__symbolize(heap, NULL, 0, NULL, 0, NULL), -1);
    free(heap);
    /* A stack address and a data address: an answer either way, no crash. */
    char local;
    (void)rcgc__symbolize(&local, NULL, 0, NULL, 0, NULL);
    (void)rcgc__symbolize(some_global, NULL, 0, NULL, 0, NULL);
    rcgc__symbolize_forget();
}

TEST(symbolize_fits_the_buffers)
{
    /* A libc function's name comes from the dynamic symbol table, with or
       without libdw: 1 past its start, as a return address would be. */
    char name[64], small[4] = "xyz";
    const void *libc_pc = (const char *)(uintptr_t)fputc + 1;
    CHECK_EQ(rcgc__symbolize(libc_pc, name, sizeof name, NULL, 0, NULL), 0);
    CHECK(strstr(name, "putc") != NULL);
    CHECK_EQ(rcgc__symbolize(libc_pc, small, sizeof small, NULL, 0, NULL), 0);
    CHECK(strlen(small) == 3 && strncmp(small, name, 3) == 0);
    CHECK_EQ(rcgc__symbolize(libc_pc, NULL, 0, NULL, 0, NULL), 0);
    if (rcgc__symbolize_has_lines()) {
        void *pcs[4];
        CHECK(outer(pcs, 4) >= 1);
        char func[4] = "xyz", file[5], whole_file[512];
        int line = -1;
        CHECK_EQ(rcgc__symbolize(pcs[0], NULL, 0, whole_file, sizeof whole_file, NULL), 0);
        CHECK(ends_with(whole_file, "tests/test_unwind.c"));
        CHECK_EQ(rcgc__symbolize(pcs[0], func, sizeof func, file, sizeof file, &line), 0);
        CHECK_STR(func, "mid");        /* "middle", cut */
        CHECK_EQ(strlen(file), 4);     /* cut too */
        CHECK(strncmp(file, whole_file, 4) == 0);
        CHECK_EQ(line, middle_line);
    }
    rcgc__symbolize_forget();
}

/* The answers are the same whichever allocation of rcgc's own memory is
   refused (an entry, the map's growth), and the same from the
   cache afterwards: for the chain's pcs (named with libdw, unknown without)
   and libc's. */
TEST(symbolize_gives_the_same_answers_with_its_memory_refused)
{
    enum { N = 6 };
    const void *pcs[N];
    void *chain[3];
    CHECK_EQ(outer(chain, 3), 3);
    pcs[0] = chain[0], pcs[1] = chain[1], pcs[2] = chain[2];
    pcs[3] = (const char *)(uintptr_t)fputc + 1;
    pcs[4] = (const char *)(uintptr_t)malloc + 1;
    pcs[5] = (const void *)(uintptr_t)0x10;
    char want_func[N][64], want_file[N][512];
    int want_line[N], want_result[N];
    rcgc__symbolize_forget();
    for (int i = 0; i < N; i++)
        want_result[i] = rcgc__symbolize(pcs[i], want_func[i], 64, want_file[i], 512,
                                         &want_line[i]);
    CHECK_EQ(want_result[0], rcgc__symbolize_has_lines() ? 0 : -1);
    CHECK_EQ(want_result[3], 0);
    CHECK_EQ(want_result[5], -1);
    for (unsigned refuse = 1; refuse <= 8; refuse++) {
        rcgc__symbolize_forget();
        state()->own_refusal = refuse;
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < N; i++) {
                char func[64], file[512];
                int line = -1;
                CHECK_EQ(rcgc__symbolize(pcs[i], func, sizeof func, file, sizeof file, &line),
                         want_result[i]);
                CHECK_STR(func, want_func[i]);
                CHECK_STR(file, want_file[i]);
                CHECK_EQ(line, want_line[i]);
            }
        }
        state()->own_refusal = 0;
    }
    rcgc__symbolize_forget();
}
