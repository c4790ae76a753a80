/*
 * Snapshots (rcgc_tools.h, tracemalloc's Snapshot): exact statistics of
 * known allocations at known lines by every key, compare deltas, filters,
 * dump/load bit for bit, cut / foreign / damaged dumps, and the failure
 * paths of rcgc's own memory.  Hand-made dumps (dump_writer below) give
 * tracebacks of several frames without depending on the unwinder.
 */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture.h"
#include "internal.h"   /* state()->own_refusal: the ENOMEM paths */
#include "nodes.h"
#include "rcgc_tools.h"

static capture out;

/* A type whose objects take exactly 144 KiB with rcgc's header: the
   contract's example line, "size=576 KiB, count=4, average=144 KiB". */
static rcgc_type blob_type = {.name = "blob", .size = 0};

static void blob_setup(void)
{
    blob_type.size = 1024;
    size_t header = bytes_of(&blob_type) - blob_type.size;
    blob_type.size = 144 * 1024 - header;
}

static const char *top(const rcgc_snapshot *s, rcgc_key key, size_t limit)
{
    capture_reset(&out);
    rcgc_snapshot_print_top(s, key, limit, capture_write, &out);
    return out.text;
}

static const char *compare(const rcgc_snapshot *now, const rcgc_snapshot *before, rcgc_key key,
                           size_t limit)
{
    capture_reset(&out);
    rcgc_snapshot_print_compare(now, before, key, limit, capture_write, &out);
    return out.text;
}

static char path_a[64], path_b[64];

static void paths_setup(void)
{
    snprintf(path_a, sizeof path_a, "/tmp/rcgc-snap-%d-a.bin", (int)getpid());
    snprintf(path_b, sizeof path_b, "/tmp/rcgc-snap-%d-b.bin", (int)getpid());
}

static unsigned char *file_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *p = malloc(1 << 20);
    *len = p ? fread(p, 1, 1 << 20, f) : 0;
    fclose(f);
    return p;
}

static void write_bytes(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(p, 1, len, f);
    fclose(f);
}

TEST(take_needs_tracing_and_null_arguments_are_einval)
{
    rcgc_trace_stop();
    errno = 0;
    CHECK(rcgc_snapshot_take() == NULL);
    CHECK_EQ(errno, EINVAL);
    rcgc_snapshot_free(NULL);
    errno = 0;
    CHECK_EQ(rcgc_snapshot_dump(NULL, "/tmp/x"), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK(rcgc_snapshot_load(NULL) == NULL);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcgc_snapshot_filter(NULL, true, "*"), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_STR(top(NULL, RCGC_BY_LINENO, 10), "");
    CHECK_EQ(errno, EINVAL);

    rcgc_trace_start(1);
    rcgc_snapshot *s = rcgc_snapshot_take();
    CHECK(s != NULL);
    rcgc_trace_stop();
    errno = 0;
    CHECK_EQ(rcgc_snapshot_dump(s, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcgc_snapshot_filter(s, true, NULL), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_STR(top(s, (rcgc_key)42, 10), "");
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_STR(compare(s, NULL, RCGC_BY_LINENO, 10), "");
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_STR(compare(NULL, s, RCGC_BY_LINENO, 10), "");
    CHECK_EQ(errno, EINVAL);
    CHECK_STR(top(s, RCGC_BY_LINENO, 10), "[ Top 10 lines ]\n");   /* nothing traced */
    CHECK_STR(top(s, RCGC_BY_TYPE, 0), "[ Top 0 types ]\n");
    rcgc_snapshot_free(s);
}

/* Four blobs at one line and two nodes at another, traced with one frame. */
typedef struct heap {
    void *blobs[4];
    node *nodes[2];
    int blob_line, node_line;
} heap;

static void make_heap(heap *h)
{
    h->blob_line = __LINE__ + 1;
    for (int i = 0; i < 4; i++) h->blobs[i] = rcgc_new(&blob_type);
    h->node_line = __LINE__ + 1;
    for (int i = 0; i < 2; i++) h->nodes[i] = rcgc_new(&plain_type);
}

static void free_heap(heap *h)
{
    for (int i = 0; i < 4; i++) rcgc_decref(h->blobs[i]);
    for (int i = 0; i < 2; i++) rcgc_decref(h->nodes[i]);
}

TEST(top_by_each_key_is_tracemallocs_text)
{
    quiet_start();
    blob_setup();
    size_t e = bytes_of(&plain_type);
    CHECK(e < 256);   /* the figures below round as written for nodes this small */
    rcgc_trace_start(1);
    heap h;
    make_heap(&h);
    rcgc_snapshot *s = rcgc_snapshot_take();
    CHECK(s != NULL);
    rcgc_trace_stop();   /* the snapshot owns what it shows */
    free_heap(&h);

    char want[4096];
    snprintf(want, sizeof want,
             "[ Top 10 lines ]\n"
             "%s:%d: size=576 KiB, count=4, average=144 KiB\n"
             "%s:%d: size=%zu B, count=2, average=%zu B\n",
             __FILE__, h.blob_line, __FILE__, h.node_line, 2 * e, e);
    CHECK_STR(top(s, RCGC_BY_LINENO, 10), want);
    CHECK_EQ(out.lines, 3);   /* one line a call */
    snprintf(want, sizeof want,
             "[ Top 1 lines ]\n"
             "%s:%d: size=576 KiB, count=4, average=144 KiB\n",
             __FILE__, h.blob_line);
    CHECK_STR(top(s, RCGC_BY_LINENO, 1), want);
    snprintf(want, sizeof want,
             "[ Top 2 types ]\n"
             "blob: size=576 KiB, count=4, average=144 KiB\n"
             "node: size=%zu B, count=2, average=%zu B\n",
             2 * e, e);
    CHECK_STR(top(s, RCGC_BY_TYPE, 0), want);
    snprintf(want, sizeof want,
             "[ Top 10 files ]\n"
             "%s: size=576 KiB, count=6, average=96.0 KiB\n", __FILE__);
    CHECK_STR(top(s, RCGC_BY_FILENAME, 10), want);
    snprintf(want, sizeof want,
             "[ Top 10 tracebacks ]\n"
             "%s:%d: size=576 KiB, count=4, average=144 KiB\n"
             "  %s:%d in make_heap\n"
             "%s:%d: size=%zu B, count=2, average=%zu B\n"
             "  %s:%d in make_heap\n",
             __FILE__, h.blob_line, __FILE__, h.blob_line, __FILE__, h.node_line, 2 * e, e,
             __FILE__, h.node_line);
    CHECK_STR(top(s, RCGC_BY_TRACEBACK, 10), want);
    /* One frame: cumulative is the same sums under its own heading. */
    snprintf(want, sizeof want,
             "[ Top 10 lines, cumulative ]\n"
             "%s:%d: size=576 KiB, count=4, average=144 KiB\n"
             "%s:%d: size=%zu B, count=2, average=%zu B\n",
             __FILE__, h.blob_line, __FILE__, h.node_line, 2 * e, e);
    CHECK_STR(top(s, RCGC_BY_LINENO_CUMULATIVE, 10), want);
    rcgc_snapshot_free(s);
    quiet_end();
}

TEST(compare_gives_exact_deltas)
{
    quiet_start();
    blob_setup();
    size_t e = bytes_of(&plain_type);
    rcgc_trace_start(1);
    int node_line = __LINE__ + 1;
    node *a = rcgc_new(&plain_type), *b = rcgc_new(&plain_type);
    rcgc_snapshot *before = rcgc_snapshot_take();
    void *blobs[4];
    int blob_line = __LINE__ + 1;
    for (int i = 0; i < 4; i++) blobs[i] = rcgc_new(&blob_type);
    rcgc_decref(b);
    rcgc_snapshot *now = rcgc_snapshot_take();
    rcgc_decref(a);
    rcgc_snapshot *empty = rcgc_snapshot_take();
    rcgc_trace_stop();
    for (int i = 0; i < 4; i++) rcgc_decref(blobs[i]);

    char want[4096];
    snprintf(want, sizeof want,
             "[ Top 10 differences by lines ]\n"
             "%s:%d: size=576 KiB (+576 KiB), count=4 (+4), average=144 KiB\n"
             "%s:%d: size=%zu B (-%zu B), count=1 (-1), average=%zu B\n",
             __FILE__, blob_line, __FILE__, node_line, e, e, e);
    CHECK_STR(compare(now, before, RCGC_BY_LINENO, 10), want);
    snprintf(want, sizeof want,
             "[ Top 1 differences by types ]\n"
             "blob: size=576 KiB (+576 KiB), count=4 (+4), average=144 KiB\n");
    CHECK_STR(compare(now, before, RCGC_BY_TYPE, 1), want);
    /* Keys only in before: size 0, no average. */
    snprintf(want, sizeof want,
             "[ Top 2 differences by lines ]\n"
             "%s:%d: size=576 KiB (+576 KiB), count=4 (+4), average=144 KiB\n"
             "%s:%d: size=0 B (-%zu B), count=0 (-2)\n",
             __FILE__, blob_line, __FILE__, node_line, 2 * e);
    CHECK_STR(compare(empty, before, RCGC_BY_LINENO, 0), want);
    /* Unchanged keys: +0. */
    snprintf(want, sizeof want,
             "[ Top 10 differences by files ]\n"
             "%s: size=%zu B (+0 B), count=2 (+0), average=%zu B\n",
             __FILE__, 2 * e, e);
    CHECK_STR(compare(before, before, RCGC_BY_FILENAME, 10), want);
    rcgc_snapshot_free(before);
    rcgc_snapshot_free(now);
    rcgc_snapshot_free(empty);
    quiet_end();
}

TEST(filter_matches_the_most_recent_frames_file)
{
    quiet_start();
    size_t e = bytes_of(&plain_type);
    rcgc_trace_start(1);
    int here = __LINE__ + 1;
    node *a = rcgc_new(&plain_type);
    node *b = new_node(&plain_type, 1);   /* nodes.h's line */
    rcgc_snapshot *s = rcgc_snapshot_take(), *t = rcgc_snapshot_take(),
                  *u = rcgc_snapshot_take();
    rcgc_trace_stop();
    rcgc_decref(a);
    rcgc_decref(b);

    CHECK_EQ(rcgc_snapshot_filter(s, false, "*nodes.h"), 0);
    char want[2048];
    snprintf(want, sizeof want, "[ Top 10 lines ]\n%s:%d: size=%zu B, count=1, average=%zu B\n",
             __FILE__, here, e, e);
    CHECK_STR(top(s, RCGC_BY_LINENO, 10), want);
    CHECK_EQ(rcgc_snapshot_filter(t, true, "*/nodes.h"), 0);
    const char *text = top(t, RCGC_BY_FILENAME, 10);
    CHECK_CONTAINS(text, "nodes.h: size=");
    CHECK_EQ(out.lines, 2);
    CHECK_EQ(rcgc_snapshot_filter(t, true, "*test_snapshot.c"), 0);   /* filters add up */
    CHECK_STR(top(t, RCGC_BY_FILENAME, 10), "[ Top 10 files ]\n");
    CHECK_EQ(rcgc_snapshot_filter(u, true, "*"), 0);                   /* `*` crosses '/' */
    top(u, RCGC_BY_LINENO, 10);
    CHECK_EQ(out.lines, 3);
    rcgc_snapshot_free(s);
    rcgc_snapshot_free(t);
    rcgc_snapshot_free(u);
    quiet_end();
}

/* ---- hand-made dumps ---------------------------------------------------------- */

typedef struct dump_writer {
    unsigned char b[1 << 14];
    size_t n;
} dump_writer;

static void w32(dump_writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++) w->b[w->n++] = (unsigned char)(v >> (8 * i));
}

static void w64(dump_writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++) w->b[w->n++] = (unsigned char)(v >> (8 * i));
}

static void wstr(dump_writer *w, const char *s)
{
    w32(w, (uint32_t)strlen(s));
    memcpy(w->b + w->n, s, strlen(s));
    w->n += strlen(s);
}

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

/* The checksum over the first n - 8 bytes, written in the last 8. */
static void seal(unsigned char *p, size_t n)
{
    uint64_t h = fnv1a(p, n - 8);
    for (int i = 0; i < 8; i++) p[n - 8 + i] = (unsigned char)(h >> (8 * i));
}

static void header(dump_writer *w, uint32_t version)
{
    w->n = 0;
    memcpy(w->b, "RCGCSNAP", 8);
    w->n = 8;
    w32(w, version);
    w32(w, 0x01020304);
    w32(w, 3);
}

/* Two tracebacks of three frames; the second repeats its first frame (a
   recursion).  Strings: 0 a.c, 1 b.c, 2..4 frame texts, 5 blob. */
static void three_frames(dump_writer *w)
{
    header(w, 1);
    w32(w, 6);
    wstr(w, "a.c");
    wstr(w, "b.c");
    wstr(w, "a.c:10 in f");
    wstr(w, "a.c:20 in g");
    wstr(w, "b.c:5 in main");
    wstr(w, "blob");
    w32(w, 2);
    w32(w, 3);   /* f <- g <- main */
    w32(w, 0), w32(w, 2), w32(w, 10);
    w32(w, 0), w32(w, 3), w32(w, 20);
    w32(w, 1), w32(w, 4), w32(w, 5);
    w32(w, 3);   /* f <- f <- main */
    w32(w, 0), w32(w, 2), w32(w, 10);
    w32(w, 0), w32(w, 2), w32(w, 10);
    w32(w, 1), w32(w, 4), w32(w, 5);
    w32(w, 2);
    w32(w, 0), w32(w, 5), w64(w, 1000), w64(w, 2);
    w32(w, 1), w32(w, 0xffffffffu), w64(w, 500), w64(w, 1);
    w64(w, 0);
    seal(w->b, w->n);
}

static rcgc_snapshot *load_bytes(const void *p, size_t n)
{
    write_bytes(path_a, p, n);
    return rcgc_snapshot_load(path_a);
}

TEST(cumulative_and_traceback_keys_over_several_frames)
{
    paths_setup();
    static dump_writer w;
    three_frames(&w);
    rcgc_snapshot *s = load_bytes(w.b, w.n);
    CHECK(s != NULL);
    /* a.c:10 once per block though the second traceback has it twice
       (tracemalloc would count that block twice); equal sums: key
       descending, as tracemalloc's reverse sort. */
    CHECK_STR(top(s, RCGC_BY_LINENO_CUMULATIVE, 10),
              "[ Top 10 lines, cumulative ]\n"
              "b.c:5: size=1500 B, count=3, average=500 B\n"
              "a.c:10: size=1500 B, count=3, average=500 B\n"
              "a.c:20: size=1000 B, count=2, average=500 B\n");
    CHECK_STR(top(s, RCGC_BY_FILENAME_CUMULATIVE, 10),
              "[ Top 10 files, cumulative ]\n"
              "b.c: size=1500 B, count=3, average=500 B\n"
              "a.c: size=1500 B, count=3, average=500 B\n");
    CHECK_STR(top(s, RCGC_BY_LINENO, 10),
              "[ Top 10 lines ]\n"
              "a.c:10: size=1500 B, count=3, average=500 B\n");
    CHECK_STR(top(s, RCGC_BY_TYPE, 10),
              "[ Top 10 types ]\n"
              "blob: size=1000 B, count=2, average=500 B\n"
              "(storage): size=500 B, count=1, average=500 B\n");
    CHECK_STR(top(s, RCGC_BY_TRACEBACK, 10),
              "[ Top 10 tracebacks ]\n"
              "a.c:10: size=1000 B, count=2, average=500 B\n"
              "  a.c:10 in f\n"
              "  a.c:20 in g\n"
              "  b.c:5 in main\n"
              "a.c:10: size=500 B, count=1, average=500 B\n"
              "  a.c:10 in f\n"
              "  a.c:10 in f\n"
              "  b.c:5 in main\n");
    CHECK_EQ(rcgc_snapshot_filter(s, true, "b.c"), 0);   /* the most recent frame only */
    CHECK_STR(top(s, RCGC_BY_LINENO, 10), "[ Top 10 lines ]\n");
    rcgc_snapshot_free(s);
    unlink(path_a);
}

TEST(sizes_are_formatted_as_tracemalloc_formats_them)
{
    /* Expected text from CPython 3.12's tracemalloc._format_size. */
    static const struct {
        uint64_t size;
        const char *text;
    } sizes[] = {{10239, "10239 B"},      {10240, "10.0 KiB"},    {102376, "100.0 KiB"},
                 {102400, "100 KiB"},     {1023487, "999 KiB"},   {10485760, "10.0 MiB"},
                 {UINT64_C(5) << 40, "5120 GiB"}, {UINT64_C(1) << 63, "8388608 TiB"}};
    paths_setup();
    static dump_writer w;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        header(&w, 1);
        w32(&w, 2);
        wstr(&w, "x.c");
        wstr(&w, "x.c:1 in f");
        w32(&w, 1);
        w32(&w, 1), w32(&w, 0), w32(&w, 1), w32(&w, 1);
        w32(&w, 1);
        w32(&w, 0), w32(&w, 0xffffffffu), w64(&w, sizes[i].size), w64(&w, 1);
        w64(&w, 0);
        seal(w.b, w.n);
        rcgc_snapshot *s = load_bytes(w.b, w.n);
        CHECK(s != NULL);
        char want[256];
        snprintf(want, sizeof want, "[ Top 10 files ]\nx.c: size=%s, count=1, average=%s\n",
                 sizes[i].text, sizes[i].text);
        CHECK_STR(top(s, RCGC_BY_FILENAME, 10), want);
        /* Against itself and as a key gone: no overflow at 2^63 (UBSan). */
        snprintf(want, sizeof want,
                 "[ Top 10 differences by files ]\nx.c: size=%s (+0 B), count=1 (+0), average=%s\n",
                 sizes[i].text, sizes[i].text);
        CHECK_STR(compare(s, s, RCGC_BY_FILENAME, 10), want);
        rcgc_snapshot *t = rcgc_snapshot_load(path_a);
        CHECK_EQ(rcgc_snapshot_filter(s, false, "x.c"), 0);
        snprintf(want, sizeof want,
                 "[ Top 10 differences by files ]\nx.c: size=0 B (-%s), count=0 (-1)\n",
                 sizes[i].text);
        CHECK_STR(compare(s, t, RCGC_BY_FILENAME, 10), want);
        rcgc_snapshot_free(t);
        rcgc_snapshot_free(s);
    }
    unlink(path_a);
}

/* ---- dump and load ------------------------------------------------------------ */

static const rcgc_key all_keys[] = {RCGC_BY_TYPE,      RCGC_BY_FILENAME,
                                    RCGC_BY_LINENO,    RCGC_BY_TRACEBACK,
                                    RCGC_BY_FILENAME_CUMULATIVE, RCGC_BY_LINENO_CUMULATIVE};

static char printed[6][1 << 14];

/* What s prints by every key, into printed[][] (first) or checked against it. */
static void prints_as(const rcgc_snapshot *s, bool first)
{
    for (size_t k = 0; k < 6; k++) {
        const char *text = top(s, all_keys[k], 0);
        if (first)
            snprintf(printed[k], sizeof printed[k], "%s", text);
        else
            CHECK_STR(text, printed[k]);
    }
}

/* A traced heap with several types, lines and container storage (one
   frame: the unwinder's frames are the child's test below, whose process
   may keep the symbolizer's tables until it ends). */
static rcgc_snapshot *busy_snapshot(void **keep)
{
    rcgc_trace_start(1);
    void *list = rcgc_list_new();
    void *dict = rcgc_dict_new();
    for (int i = 0; i < 20; i++) {
        node *n = new_node(&plain_type, i);
        rcgc_list_append(list, n);
        rcgc_decref(n);
    }
    rcgc_dict_set(dict, "list", list);
    void *blob = rcgc_new(&blob_type);
    rcgc_dict_set(dict, "blob", blob);
    rcgc_decref(blob);
    rcgc_decref(list);
    rcgc_snapshot *s = rcgc_snapshot_take();
    rcgc_trace_stop();
    *keep = dict;
    return s;
}

TEST(dump_and_load_round_trip_bit_for_bit)
{
    quiet_start();
    blob_setup();
    paths_setup();
    void *dict;
    rcgc_snapshot *s = busy_snapshot(&dict);
    CHECK(s != NULL);
    size_t memory = rcgc_memory_in_use();
    CHECK_EQ(rcgc_snapshot_dump(s, path_a), 0);
    rcgc_snapshot *t = rcgc_snapshot_load(path_a);
    CHECK(t != NULL);
    CHECK_EQ(rcgc_snapshot_dump(t, path_b), 0);
    CHECK_EQ(rcgc_memory_in_use(), memory);   /* snapshots are rcgc's own memory */
    size_t na = 0, nb = 0;
    unsigned char *a = file_bytes(path_a, &na), *b = file_bytes(path_b, &nb);
    CHECK(a && b && na > 100);
    CHECK_EQ(na, nb);
    CHECK(a && b && na == nb && memcmp(a, b, na) == 0);
    prints_as(s, true);
    prints_as(t, false);
    capture_reset(&out);
    rcgc_snapshot_print_compare(t, s, RCGC_BY_TRACEBACK, 0, capture_write, &out);
    CHECK_CONTAINS(out.text, "(+0 B), count=");
    CHECK_CONTAINS(out.text, "\n  ");   /* frames */
    CHECK(!strstr(out.text, "(-") && !strstr(out.text, "(+1"));
    CHECK_CONTAINS(top(t, RCGC_BY_TYPE, 0), "\nblob: size=144 KiB, count=1, average=144 KiB\n");
    free(a);
    free(b);
    rcgc_snapshot_free(s);
    rcgc_snapshot_free(t);
    rcgc_decref(dict);
    unlink(path_a);
    unlink(path_b);
    quiet_end();
}

static void to_stderr(const char *line, void *arg)
{
    (void)arg;
    fputs(line, stderr);
}

static void *__attribute__((noinline)) inner_alloc(void)
{
    return rcgc_new(&plain_type);
}
enum { INNER_LINE = __LINE__ - 2 };

static void *__attribute__((noinline)) outer_alloc(void)
{
    void *obj = inner_alloc();
    __asm__ volatile("" ::: "memory");   /* not a tail call */
    return obj;
}

/* In a child: 8 frames, dumped to path_a and printed by traceback. */
static void take_in_child(void)
{
    rcgc_trace_start(8);
    void *obj = outer_alloc();
    rcgc_snapshot *s = rcgc_snapshot_take();
    if (!s || rcgc_snapshot_dump(s, path_a) != 0) _exit(3);
    rcgc_snapshot_print_top(s, RCGC_BY_TRACEBACK, 0, to_stderr, NULL);
    rcgc_snapshot_free(s);
    rcgc_decref(obj);
    rcgc_trace_stop();
}

TEST(a_dump_prints_the_same_in_another_process)
{
    paths_setup();
    char child[1 << 14];
    int status = harness_run_child(take_in_child, child, sizeof child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rcgc_snapshot *s = rcgc_snapshot_load(path_a);
    CHECK(s != NULL);
    CHECK_STR(top(s, RCGC_BY_TRACEBACK, 0), child);
    char first[1024];
    snprintf(first, sizeof first, "[ Top 1 tracebacks ]\n%s:%d: size=", __FILE__, (int)INNER_LINE);
    CHECK(strncmp(out.text, first, strlen(first)) == 0);
    snprintf(first, sizeof first, "\n  %s:%d in inner_alloc\n", __FILE__, (int)INNER_LINE);
    CHECK_CONTAINS(out.text, first);
    CHECK(out.lines >= 3 && out.lines <= 2 + 8);   /* heading, key, 1..8 frames */
    rcgc_snapshot_free(s);
    unlink(path_a);
}

TEST(cut_damaged_and_foreign_dumps_are_einval)
{
    quiet_start();
    blob_setup();
    paths_setup();
    void *dict;
    rcgc_snapshot *s = busy_snapshot(&dict);
    CHECK_EQ(rcgc_snapshot_dump(s, path_b), 0);
    rcgc_snapshot_free(s);
    rcgc_decref(dict);
    size_t n = 0;
    unsigned char *whole = file_bytes(path_b, &n);
    CHECK(whole != NULL && n > 100);
    if (!whole) return;
    unsigned char *p = malloc(n);
    size_t bad = 0;
    for (size_t len = 0; len < n; len++) {   /* every prefix */
        errno = 0;
        rcgc_snapshot *t = load_bytes(whole, len);
        bad += t == NULL && errno == EINVAL;
        rcgc_snapshot_free(t);
    }
    CHECK_EQ(bad, n);
    unsigned seed = 12345;
    size_t refused = 0, sealed_runs = 0, sealed_refused = 0;
    for (int run = 0; run < 3000; run++) {   /* byte flips, raw and with the checksum fixed */
        memcpy(p, whole, n);
        int flips = 1 + run % 3;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1103515245u + 12345u;
            p[at] ^= (unsigned char)(1 + (seed >> 16) % 255);
        }
        bool sealed = run % 2;
        if (sealed) seal(p, n);
        errno = 0;
        rcgc_snapshot *t = load_bytes(p, n);
        if (!t) CHECK_EQ(errno, EINVAL);
        if (sealed) {
            sealed_runs++;
            sealed_refused += t == NULL;
        } else {
            refused += t == NULL;
        }
        if (t) {   /* what loads prints, by every key, without a fault */
            for (size_t k = 0; k < 6; k++) top(t, all_keys[k], 0);
            capture_reset(&out);
            rcgc_snapshot_print_compare(t, t, RCGC_BY_TRACEBACK, 0, capture_write, &out);
            CHECK_EQ(rcgc_snapshot_filter(t, false, "*.h"), 0);
        }
        rcgc_snapshot_free(t);
    }
    CHECK_EQ(refused, 1500);        /* the checksum catches every raw flip */
    CHECK(sealed_refused > 100);    /* and the checks behind it many sealed ones */
    CHECK(sealed_refused < sealed_runs);

    /* Foreign files: another format, another version, the other byte order. */
    errno = 0;
    CHECK(load_bytes("hello, world\n", 13) == NULL);
    CHECK_EQ(errno, EINVAL);
    static dump_writer w;
    three_frames(&w);
    w.b[8] = 2;   /* version 2 */
    seal(w.b, w.n);
    errno = 0;
    CHECK(load_bytes(w.b, w.n) == NULL);
    CHECK_EQ(errno, EINVAL);
    three_frames(&w);
    for (int i = 0; i < 4; i++) w.b[12 + i] = (unsigned char)(1 + i);   /* 0x04030201 */
    seal(w.b, w.n);
    errno = 0;
    CHECK(load_bytes(w.b, w.n) == NULL);
    CHECK_EQ(errno, EINVAL);
    three_frames(&w);   /* a byte too many */
    w.b[w.n] = 0;
    w.n++;
    seal(w.b, w.n);
    errno = 0;
    CHECK(load_bytes(w.b, w.n) == NULL);
    CHECK_EQ(errno, EINVAL);
    three_frames(&w);   /* a frame's file id past the strings */
    w.b[8 + 12 + 4 + (4 + 3) * 2 + (4 + 11) * 2 + (4 + 13) + (4 + 4) + 4 + 4] = 6;
    seal(w.b, w.n);
    errno = 0;
    CHECK(load_bytes(w.b, w.n) == NULL);
    CHECK_EQ(errno, EINVAL);

    errno = 0;
    CHECK(rcgc_snapshot_load("/nonexistent/rcgc-snapshot") == NULL);
    CHECK_EQ(errno, ENOENT);
    errno = 0;
    CHECK(rcgc_snapshot_load("/tmp") == NULL);   /* opens, but cannot be read */
    CHECK_EQ(errno, EIO);
    free(p);
    free(whole);
    unlink(path_a);
    unlink(path_b);
    quiet_end();
}

TEST(unwritable_paths_fail_with_errno_and_leave_nothing)
{
    quiet_start();
    paths_setup();
    rcgc_trace_start(1);
    node *a = rcgc_new(&plain_type);
    rcgc_snapshot *s = rcgc_snapshot_take();
    rcgc_trace_stop();
    size_t memory = rcgc_memory_in_use();
    errno = 0;
    CHECK_EQ(rcgc_snapshot_dump(s, "/nonexistent/dir/snap.bin"), -1);
    CHECK_EQ(errno, ENOENT);
    errno = 0;
    CHECK_EQ(rcgc_snapshot_dump(s, ""), -1);
    CHECK_EQ(errno, EINVAL);
    if (access("/dev/full", W_OK) == 0) {
        errno = 0;
        CHECK_EQ(rcgc_snapshot_dump(s, "/dev/full"), -1);
        CHECK_EQ(errno, ENOSPC);
        CHECK_EQ(access("/dev/full", F_OK), 0);   /* a device is never removed */
    }
    CHECK_EQ(rcgc_memory_in_use(), memory);
    rcgc_snapshot_free(s);
    rcgc_decref(a);
    quiet_end();
}

TEST(own_memory_refused_at_each_allocation_fails_cleanly)
{
    quiet_start();
    blob_setup();
    paths_setup();
    rcgc_trace_start(1);
    void *dict;
    rcgc_snapshot *whole = busy_snapshot(&dict);
    rcgc_trace_start(1);   /* busy_snapshot stopped it; the heap is untraced now */
    void *list = rcgc_list_new();
    for (int i = 0; i < 10; i++) rcgc_list_append(list, NULL);
    CHECK_EQ(rcgc_snapshot_dump(whole, path_b), 0);
    prints_as(whole, true);
    size_t memory = rcgc_memory_in_use();
    int failures[6] = {0};
    for (unsigned n = 1; n <= 200; n++) {
        state()->own_refusal = n;   /* take */
        errno = 0;
        rcgc_snapshot *s = rcgc_snapshot_take();
        CHECK(s != NULL || errno == ENOMEM);
        failures[0] += state()->own_refusal == 0;
        CHECK((s == NULL) == (state()->own_refusal == 0));
        state()->own_refusal = n;   /* load */
        errno = 0;
        rcgc_snapshot *t = rcgc_snapshot_load(path_b);
        CHECK(t != NULL || errno == ENOMEM);
        failures[1] += state()->own_refusal == 0;
        state()->own_refusal = 0;
        if (t) prints_as(t, false);
        state()->own_refusal = n;   /* dump */
        errno = 0;
        int r = whole ? rcgc_snapshot_dump(whole, path_a) : -1;
        CHECK(r == 0 || (errno == ENOMEM && access(path_a, F_OK) != 0));
        failures[2] += state()->own_refusal == 0;
        unlink(path_a);
        for (int k = 0; k < 3; k++) {   /* printing: all or nothing */
            static const rcgc_key keys[] = {RCGC_BY_LINENO, RCGC_BY_TRACEBACK,
                                            RCGC_BY_LINENO_CUMULATIVE};
            state()->own_refusal = n;
            errno = 0;
            const char *text = k < 2 ? top(whole, keys[k], 0)
                                     : compare(whole, whole, keys[k], 0);
            if (state()->own_refusal == 0) {
                failures[3 + k]++;
                CHECK_STR(text, "");
                CHECK_EQ(errno, ENOMEM);
            }
        }
        state()->own_refusal = 0;
        rcgc_snapshot_free(s);
        rcgc_snapshot_free(t);
        CHECK_EQ(rcgc_memory_in_use(), memory);
    }
    CHECK(failures[0] > 3 && failures[0] < 200);   /* take: several, then none left */
    CHECK(failures[1] > 3 && failures[1] < 200);   /* load */
    CHECK_EQ(failures[2], 1);                      /* dump: its one buffer */
    CHECK_EQ(failures[3], 1);                      /* print_top: its one table */
    CHECK_EQ(failures[4], 1);
    CHECK_EQ(failures[5], 3);                      /* compare: two tables and the merge */
    rcgc_trace_stop();
    rcgc_snapshot_free(whole);
    rcgc_decref(list);
    rcgc_decref(dict);
    unlink(path_b);
    quiet_end();
}

#ifdef RCGC_REPORT
/* What `rcgc-report args` writes (stderr too when asked with 2>&1), and
   its exit status. */
static int report(const char *args, char *text, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s", RCGC_REPORT, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(text, 1, cap - 1, p);
    text[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(rcgc_report_reads_snapshot_dumps_for_stats_and_compare)
{
    quiet_start();
    blob_setup();
    paths_setup();
    rcgc_trace_start(1);
    node *first = rcgc_new(&plain_type);
    rcgc_snapshot *before = rcgc_snapshot_take();
    heap h;
    make_heap(&h);
    rcgc_snapshot *now = rcgc_snapshot_take();
    rcgc_trace_stop();
    free_heap(&h);
    rcgc_decref(first);
    CHECK_EQ(rcgc_snapshot_dump(before, path_b), 0);
    CHECK_EQ(rcgc_snapshot_dump(now, path_a), 0);

    static char text[1 << 14], args[512];
    snprintf(args, sizeof args, "stats %s", path_a);
    CHECK_EQ(report(args, text, sizeof text), 0);
    CHECK_STR(text, top(now, RCGC_BY_LINENO, 10));
    snprintf(args, sizeof args, "stats -n 1 --by traceback %s", path_a);
    CHECK_EQ(report(args, text, sizeof text), 0);
    CHECK_STR(text, top(now, RCGC_BY_TRACEBACK, 1));
    snprintf(args, sizeof args, "compare --by type %s %s", path_b, path_a);
    CHECK_EQ(report(args, text, sizeof text), 0);
    CHECK_STR(text, compare(now, before, RCGC_BY_TYPE, 10));
    /* The program's own switches do not make the report capture itself
       over the file it reads. */
    snprintf(args, sizeof args, "stats --by file %s", path_a);
    setenv("RCGC_TRACE_FILE", path_a, 1);
    CHECK_EQ(report(args, text, sizeof text), 0);
    unsetenv("RCGC_TRACE_FILE");
    CHECK_STR(text, top(now, RCGC_BY_FILENAME, 10));

    size_t n = 0;   /* a cut dump: one line, status 2 */
    unsigned char *whole = file_bytes(path_a, &n);
    write_bytes(path_a, whole, n / 2);
    free(whole);
    snprintf(args, sizeof args, "stats %s 2>&1", path_a);
    CHECK_EQ(report(args, text, sizeof text), 2);
    char want[256];
    snprintf(want, sizeof want,
             "rcgc-report: %s: not a snapshot dump this rcgc-report reads (version 1), or a cut "
             "or damaged one\n", path_a);
    CHECK_STR(text, want);
    write_bytes(path_a, "rcgc-capture 1\n", 15);   /* a capture and a dump */
    snprintf(args, sizeof args, "compare %s %s 2>&1", path_b, path_a);
    CHECK_EQ(report(args, text, sizeof text), 2);
    CHECK_CONTAINS(text, "is a snapshot dump and");
    rcgc_snapshot_free(before);
    rcgc_snapshot_free(now);
    unlink(path_a);
    unlink(path_b);
    quiet_end();
}
#endif

TEST(a_restart_forgets_and_a_snapshot_keeps)
{
    quiet_start();
    size_t e = bytes_of(&plain_type);
    rcgc_trace_start(1);
    int line = __LINE__ + 1;
    node *a = rcgc_new(&plain_type);
    rcgc_snapshot *s = rcgc_snapshot_take();
    rcgc_trace_stop();
    rcgc_trace_start(1);   /* a is not traced any more */
    rcgc_snapshot *t = rcgc_snapshot_take();
    rcgc_trace_stop();
    char want[1024];
    snprintf(want, sizeof want, "[ Top 10 lines ]\n%s:%d: size=%zu B, count=1, average=%zu B\n",
             __FILE__, line, e, e);
    CHECK_STR(top(s, RCGC_BY_LINENO, 10), want);
    CHECK_STR(top(t, RCGC_BY_LINENO, 10), "[ Top 10 lines ]\n");
    rcgc_snapshot_free(s);
    rcgc_snapshot_free(t);
    rcgc_decref(a);
    quiet_end();
}
