/*
 * rcgc-report: reads the captures rcgc writes (RCGC_TRACE_FILE=path or
 * rcgc_capture_start; docs/capture-format.md) and prints or draws them, as
 * memray's reporters do for its captures.
 *
 *   rcgc-report stats [-n N] [--by type|line|file|traceback] FILE
 *   rcgc-report compare [-n N] [--by ...] BEFORE AFTER
 *   rcgc-report leaks [-n N] FILE
 *   rcgc-report timeline FILE -o PAGE.html
 *   rcgc-report flamegraph FILE -o PAGE.html
 *
 * Sizes and lines are tracemalloc's (`app.c:120: size=576 KiB, count=4,
 * average=144 KiB`).  A file that is not a capture, or whose header is cut,
 * gives one line on stderr and exit status 2; a capture cut after its
 * header (the program was killed) is read up to its last complete record,
 * with one warning line on stderr.  The pages are single files with inline
 * SVG and no script or style fetched from anywhere.
 *
 * stats and compare also read snapshot dumps (rcgc_snapshot_dump), through
 * the library's rcgc_snapshot_load and print functions, so they print what
 * the program would have printed.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rcgc_tools.h"
#include "trace.h"   /* rcgc__format_size, tracemalloc's sizes, shared with snapshots */

/* ---- small helpers ------------------------------------------------------------ */

static void die(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("rcgc-report: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(status);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) die(2, "out of memory");
    return q;
}

#define GROW(arr, len, cap)                                                  \
    do {                                                                     \
        if ((len) >= (cap)) {                                                \
            (cap) = (cap) ? (cap) * 2 : 64;                                  \
            (arr) = xrealloc((arr), (cap) * sizeof *(arr));                  \
        }                                                                    \
    } while (0)

/* qsort, which may not be given NULL even for no items */
static void sort_items(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1) qsort(base, n, size, cmp);
}


/* ---- the capture ---------------------------------------------------------------- */

typedef struct event {
    char kind;                 /* 'a' or 'f' */
    uint64_t block, size;
    uint32_t tb, type;         /* 'a' only */
} event;

typedef struct collection {
    uint64_t t_us, pause_ns, collected, uncollectable;
    unsigned generation;
    size_t at;                 /* events before it */
} collection;

typedef struct sample {
    uint64_t t_us, in_use;
    size_t first, n;           /* triples in capture.counts */
    size_t at;
} sample;

typedef struct type_count {
    uint32_t type;
    uint64_t count, bytes;
} type_count;

typedef struct tb_def {
    uint32_t nframes;
    uint32_t *frames;          /* func, file, line per frame, most recent first */
} tb_def;

typedef struct capture {
    char **strings;            /* by id; [0] unused */
    size_t nstrings, strings_cap;
    tb_def *tbs;
    size_t ntbs, tbs_cap;
    event *events;
    size_t nevents, events_cap;
    collection *collections;
    size_t ncollections, collections_cap;
    sample *samples;
    size_t nsamples, samples_cap;
    type_count *counts;
    size_t ncounts, counts_cap;
    bool ended, truncated;
    uint64_t end_us;
    size_t records;
} capture;

typedef struct reader {
    const char *p, *end;
    bool cut;                  /* the file ended inside the record */
    bool bad;
} reader;

static bool read_u64(reader *r, uint64_t *v, int base)
{
    if (r->p >= r->end) return (r->cut = true), false;
    if (*r->p != ' ') return (r->bad = true), false;
    r->p++;
    uint64_t x = 0;
    const char *start = r->p;
    while (r->p < r->end) {
        int c = (unsigned char)*r->p, d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else break;
        if (x > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return (r->bad = true), false;
        x = x * (uint64_t)base + (uint64_t)d;
        r->p++;
    }
    if (r->p >= r->end) return (r->cut = true), false;
    if (r->p == start) return (r->bad = true), false;
    *v = x;
    return true;
}

static bool read_end(reader *r)
{
    if (r->p >= r->end) return (r->cut = true), false;
    if (*r->p != '\n') return (r->bad = true), false;
    r->p++;
    return true;
}

static bool read_id(reader *r, uint32_t *id, size_t defined, bool zero_ok)
{
    uint64_t v;
    if (!read_u64(r, &v, 10)) return false;
    if ((v == 0 && !zero_ok) || v > defined) return (r->bad = true), false;
    *id = (uint32_t)v;
    return true;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(2, "%s: %s", path, strerror(errno));
    char *data = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            data = xrealloc(data, cap);
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) die(2, "%s: %s", path, strerror(errno));
    fclose(f);
    *len = n;
    return data;
}

static const char MAGIC[] = "rcgc-capture ";

/* One record at r->p; false at the end of what is complete. */
static bool parse_record(capture *c, reader *r)
{
    const char *start = r->p;
    char kind = *r->p++;
    uint64_t v[5];
    switch (kind) {
    case 's': {
        uint64_t id, len;
        if (!read_u64(r, &id, 10) || !read_u64(r, &len, 10)) break;
        if (id != c->nstrings) return (r->bad = true), false;
        if ((uint64_t)(r->end - r->p) < len + 2) return (r->cut = true), false;
        if (*r->p != ' ' || r->p[1 + len] != '\n') return (r->bad = true), false;
        GROW(c->strings, c->nstrings, c->strings_cap);
        char *s = xrealloc(NULL, len + 1);
        memcpy(s, r->p + 1, len);
        s[len] = '\0';
        c->strings[c->nstrings++] = s;
        r->p += len + 2;
        return true;
    }
    case 't': {
        uint64_t id, n;
        if (!read_u64(r, &id, 10) || !read_u64(r, &n, 10)) break;
        if (id != c->ntbs || n == 0 || n > 1024) return (r->bad = true), false;
        uint32_t *frames = xrealloc(NULL, 3 * n * sizeof *frames);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t line;
            if (!read_id(r, &frames[3 * i], c->nstrings - 1, false) ||
                !read_id(r, &frames[3 * i + 1], c->nstrings - 1, false) ||
                !read_u64(r, &line, 10) || line > INT32_MAX) {
                free(frames);
                if (!r->cut) r->bad = true;
                return false;
            }
            frames[3 * i + 2] = (uint32_t)line;
        }
        if (!read_end(r)) {
            free(frames);
            return false;
        }
        GROW(c->tbs, c->ntbs, c->tbs_cap);
        c->tbs[c->ntbs++] = (tb_def){(uint32_t)n, frames};
        return true;
    }
    case 'a': {
        event e = {.kind = 'a'};
        if (!read_u64(r, &e.block, 16) || !read_u64(r, &e.size, 10) ||
            !read_id(r, &e.tb, c->ntbs - 1, true) || !read_id(r, &e.type, c->nstrings - 1, true) ||
            !read_end(r))
            break;
        GROW(c->events, c->nevents, c->events_cap);
        c->events[c->nevents++] = e;
        return true;
    }
    case 'f': {
        event e = {.kind = 'f'};
        if (!read_u64(r, &e.block, 16) || !read_u64(r, &e.size, 10) || !read_end(r)) break;
        GROW(c->events, c->nevents, c->events_cap);
        c->events[c->nevents++] = e;
        return true;
    }
    case 'c': {
        for (int i = 0; i < 5; i++)
            if (!read_u64(r, &v[i], 10)) goto out;
        if (!read_end(r)) break;
        if (v[1] > 2) return (r->bad = true), false;
        GROW(c->collections, c->ncollections, c->collections_cap);
        c->collections[c->ncollections++] =
            (collection){v[0], v[2], v[3], v[4], (unsigned)v[1], c->nevents};
        return true;
    }
    case 'p': {
        uint64_t t, in_use, n;
        if (!read_u64(r, &t, 10) || !read_u64(r, &in_use, 10) || !read_u64(r, &n, 10)) break;
        size_t first = c->ncounts;
        for (uint64_t i = 0; i < n; i++) {
            type_count tc;
            if (!read_id(r, &tc.type, c->nstrings - 1, false) || !read_u64(r, &tc.count, 10) ||
                !read_u64(r, &tc.bytes, 10)) {
                c->ncounts = first;
                return false;
            }
            GROW(c->counts, c->ncounts, c->counts_cap);
            c->counts[c->ncounts++] = tc;
        }
        if (!read_end(r)) {
            c->ncounts = first;
            return false;
        }
        GROW(c->samples, c->nsamples, c->samples_cap);
        c->samples[c->nsamples++] = (sample){t, in_use, first, (size_t)n, c->nevents};
        return true;
    }
    case 'e': {
        uint64_t t;
        if (!read_u64(r, &t, 10) || !read_end(r)) break;
        c->ended = true;
        c->end_us = t;
        return true;
    }
    default:
        r->p = start;
        r->bad = true;
        return false;
    }
out:
    return false;
}

static void load_capture(capture *c, const char *path)
{
    memset(c, 0, sizeof *c);
    size_t len;
    char *data = read_file(path, &len);
    size_t mlen = sizeof MAGIC - 1;
    if (len < mlen ? memcmp(data, MAGIC, len) != 0 : memcmp(data, MAGIC, mlen) != 0)
        die(2, "%s: not an rcgc capture (no \"rcgc-capture\" header)", path);
    const char *nl = memchr(data, '\n', len);
    if (!nl) die(2, "%s: truncated: the capture's header is incomplete", path);
    unsigned long version = strtoul(data + mlen, NULL, 10);
    if (version != 1)
        die(2, "%s: capture format version %lu is not supported (this rcgc-report reads version 1)",
            path, version);
    /* ids start at 1: slot 0 of each table is a placeholder */
    GROW(c->strings, c->nstrings, c->strings_cap);
    c->strings[c->nstrings++] = NULL;
    GROW(c->tbs, c->ntbs, c->tbs_cap);
    c->tbs[c->ntbs++] = (tb_def){0, NULL};
    reader r = {nl + 1, data + len, false, false};
    while (r.p < r.end && !c->ended) {
        const char *start = r.p;
        if (!parse_record(c, &r)) {
            if (r.bad)
                die(2, "%s: bad record at byte %zu: not an rcgc capture, or a damaged one", path,
                    (size_t)(start - data));
            c->truncated = true;
            break;
        }
        c->records++;
    }
    if (c->truncated)
        fprintf(stderr, "rcgc-report: %s: truncated after %zu records (the program stopped mid-write); "
                "reporting what is complete\n", path, c->records);
    else if (!c->ended)
        fprintf(stderr, "rcgc-report: %s: no end record (the program stopped before the capture "
                "ended); reporting what is complete\n", path);
    free(data);
}

static void free_capture(capture *c)
{
    for (size_t i = 0; i < c->nstrings; i++) free(c->strings[i]);
    for (size_t i = 0; i < c->ntbs; i++) free(c->tbs[i].frames);
    free(c->strings);
    free(c->tbs);
    free(c->events);
    free(c->collections);
    free(c->samples);
    free(c->counts);
}

static const char *type_name(const capture *c, uint32_t type)
{
    return type ? c->strings[type] : "(storage)";
}

/* ---- live blocks (a small open-addressing map, block -> event index) ---------------- */

typedef struct live_map {
    uint64_t *keys;            /* 0: empty, 1: gone */
    size_t *vals;
    size_t cap, filled;
} live_map;

static size_t live_hash(uint64_t k)
{
    k ^= k >> 31;
    k *= UINT64_C(0x9e3779b97f4a7c15);
    return (size_t)(k ^ (k >> 29));
}

static size_t *live_find(live_map *m, uint64_t key)
{
    if (!m->cap) return NULL;
    for (size_t i = live_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) return &m->vals[i];
        if (m->keys[i] == 0) return NULL;
    }
}

static void live_put(live_map *m, uint64_t key, size_t val);

static void live_grow(live_map *m)
{
    live_map bigger = {0};
    bigger.cap = m->cap ? m->cap * 2 : 1024;
    bigger.keys = xrealloc(NULL, bigger.cap * sizeof *bigger.keys);
    bigger.vals = xrealloc(NULL, bigger.cap * sizeof *bigger.vals);
    memset(bigger.keys, 0, bigger.cap * sizeof *bigger.keys);
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] > 1) live_put(&bigger, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = bigger;
}

static void live_put(live_map *m, uint64_t key, size_t val)
{
    if ((m->filled + 1) * 2 > m->cap) live_grow(m);
    size_t *v = live_find(m, key);
    if (v) {
        *v = val;
        return;
    }
    size_t i = live_hash(key) & (m->cap - 1);
    while (m->keys[i] > 1) i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == 0) m->filled++;
    m->keys[i] = key;
    m->vals[i] = val;
}

static bool live_remove(live_map *m, uint64_t key)
{
    size_t *v = live_find(m, key);
    if (!v) return false;
    m->keys[v - m->vals] = 1;
    return true;
}

/* Replays events [0, upto): alive[i] says whether allocation i is alive after
   them; returns the bytes alive then.  Blocks are keyed by address+1, so
   address 0 and the markers never meet. */
static uint64_t replay(const capture *c, size_t upto, bool *alive, uint64_t *peak, size_t *peak_at)
{
    live_map m = {0};
    uint64_t bytes = 0;
    if (peak) *peak = 0;
    if (peak_at) *peak_at = 0;
    for (size_t i = 0; i < upto; i++) {
        const event *e = &c->events[i];
        uint64_t key = e->block + 2;
        if (e->kind == 'a') {
            size_t *old = live_find(&m, key);
            if (old) {   /* a free we never saw: the old block is gone */
                alive[*old] = false;
                bytes -= c->events[*old].size;
            }
            live_put(&m, key, i);
            alive[i] = true;
            bytes += e->size;
            if (peak && bytes > *peak) {
                *peak = bytes;
                if (peak_at) *peak_at = i + 1;
            }
        } else {
            alive[i] = false;
            size_t *v = live_find(&m, key);
            if (v) {
                alive[*v] = false;
                bytes -= c->events[*v].size;
                live_remove(&m, key);
            }
        }
    }
    free(m.keys);
    free(m.vals);
    return bytes;
}

/* ---- grouping -------------------------------------------------------------------- */

typedef enum { BY_TYPE, BY_LINE, BY_FILE, BY_TRACEBACK } by_key;
static const char *by_heading[] = {"types", "lines", "files", "tracebacks"};

typedef struct group {
    char *key;                 /* the text the group is known by */
    uint32_t tb;               /* BY_TRACEBACK: the traceback shown */
    uint32_t type;             /* leaks: the type */
    uint64_t size, count;
    int64_t size_diff, count_diff;   /* compare */
} group;

typedef struct groups {
    group *items;
    size_t len, cap;
} groups;

static void frame_text(const capture *c, uint32_t tb, uint32_t f, char *buf, size_t cap,
                       bool with_func)
{
    const tb_def *t = &c->tbs[tb];
    if (!tb || f >= t->nframes) {
        snprintf(buf, cap, with_func ? "<unknown>:0 in ?" : "<unknown>:0");
        return;
    }
    const uint32_t *fr = &t->frames[3 * f];
    if (with_func)
        snprintf(buf, cap, "%s:%" PRIu32 " in %s", c->strings[fr[1]], fr[2], c->strings[fr[0]]);
    else
        snprintf(buf, cap, "%s:%" PRIu32, c->strings[fr[1]], fr[2]);
}

static void key_text(const capture *c, const event *e, by_key by, char *buf, size_t cap)
{
    switch (by) {
    case BY_TYPE:
        snprintf(buf, cap, "%s", type_name(c, e->type));
        break;
    case BY_LINE:
        frame_text(c, e->tb, 0, buf, cap, false);
        break;
    case BY_FILE:
        if (e->tb)
            snprintf(buf, cap, "%s", c->strings[c->tbs[e->tb].frames[1]]);
        else
            snprintf(buf, cap, "<unknown>");
        break;
    case BY_TRACEBACK: {
        /* every frame, so equal tracebacks of two captures meet */
        size_t o = 0;
        buf[0] = '\0';
        uint32_t n = e->tb ? c->tbs[e->tb].nframes : 1;
        for (uint32_t f = 0; f < n && o + 1 < cap; f++) {
            char fr[1024];
            frame_text(c, e->tb, f, fr, sizeof fr, true);
            o += (size_t)snprintf(buf + o, cap - o, "%s%s", f ? "\n" : "", fr);
        }
        break;
    }
    }
}

static group *group_of(groups *g, const char *key, uint32_t type, bool by_type_too)
{
    for (size_t i = 0; i < g->len; i++)   /* few groups: a scan is enough */
        if ((!by_type_too || g->items[i].type == type) && strcmp(g->items[i].key, key) == 0)
            return &g->items[i];
    GROW(g->items, g->len, g->cap);
    group *n = &g->items[g->len++];
    memset(n, 0, sizeof *n);
    n->key = strdup(key);
    if (!n->key) die(2, "out of memory");
    n->type = type;
    return n;
}

/* What a capture allocated, by key (alive_only: what is alive at its end). */
static void group_capture(const capture *c, by_key by, bool alive_only, bool by_type_too,
                          groups *out)
{
    bool *alive = NULL;
    if (alive_only) {
        alive = xrealloc(NULL, c->nevents * sizeof *alive);
        replay(c, c->nevents, alive, NULL, NULL);
    }
    char key[8192];
    for (size_t i = 0; i < c->nevents; i++) {
        const event *e = &c->events[i];
        if (e->kind != 'a' || (alive && !alive[i])) continue;
        key_text(c, e, by, key, sizeof key);
        group *g = group_of(out, key, e->type, by_type_too);
        g->tb = e->tb;
        g->size += e->size;
        g->count++;
    }
    free(alive);
}

static int by_size(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    int k = strcmp(x->key, y->key);
    if (k) return k;
    return x->type < y->type ? -1 : x->type > y->type;
}

static int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

static int by_diff(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (abs64(x->size_diff) != abs64(y->size_diff)) return abs64(x->size_diff) > abs64(y->size_diff) ? -1 : 1;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    if (abs64(x->count_diff) != abs64(y->count_diff)) return abs64(x->count_diff) > abs64(y->count_diff) ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* "key: size=..., count=..., average=..." and, by traceback, the frames. */
static void print_group(const group *g, by_key by, bool diff, const char *suffix)
{
    char size[32], sdiff[32], avg[32];
    rcgc__format_size(size, sizeof size, (double)g->size, false);
    char head[1100];
    const char *key = g->key;
    if (by == BY_TRACEBACK) {   /* the most recent frame, as tracemalloc prints it */
        size_t n = strcspn(key, "\n");
        const char *in = strstr(key, " in ");
        if (in && (size_t)(in - key) < n) n = (size_t)(in - key);
        snprintf(head, sizeof head, "%.*s", (int)n, key);
        key = head;
    }
    printf("%s: size=%s", key, size);
    if (diff) {
        rcgc__format_size(sdiff, sizeof sdiff, (double)g->size_diff, true);
        printf(" (%s), count=%" PRIu64 " (%+" PRId64 ")", sdiff, g->count, g->count_diff);
    } else {
        printf(", count=%" PRIu64, g->count);
    }
    if (g->count) {
        rcgc__format_size(avg, sizeof avg, (double)g->size / (double)g->count, false);
        printf(", average=%s", avg);
    }
    printf("%s\n", suffix ? suffix : "");
    if (by == BY_TRACEBACK) {
        for (const char *p = g->key; *p;) {
            size_t n = strcspn(p, "\n");
            printf("  %.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
    }
}

static void free_groups(groups *g)
{
    for (size_t i = 0; i < g->len; i++) free(g->items[i].key);
    free(g->items);
}

/* ---- options ------------------------------------------------------------------------- */

typedef struct options {
    size_t limit;
    by_key by;
    const char *output;
    const char *files[2];
    int nfiles;
} options;

static const char USAGE[] =
    "usage: rcgc-report COMMAND [OPTIONS] FILE...\n"
    "Reads the captures rcgc writes (RCGC_TRACE_FILE=path, or rcgc_capture_start).\n"
    "\n"
    "commands:\n"
    "  stats FILE             what the program allocated, top N by type, line, file or traceback\n"
    "                         (FILE may also be a snapshot dump: rcgc_snapshot_dump)\n"
    "  compare BEFORE AFTER   the same for two captures or two snapshot dumps, with the differences\n"
    "  leaks FILE             blocks allocated and never freed, by traceback\n"
    "  timeline FILE -o PAGE  memory over time per type, collections and pauses marked (HTML)\n"
    "  flamegraph FILE -o PAGE  memory at the peak by stack (HTML)\n"
    "\n"
    "`rcgc-report COMMAND --help` describes each.  Exit status: 0, 1 for a wrong\n"
    "command line, 2 for a file that is not a capture or cannot be read.\n";

static const char *command_help(const char *cmd)
{
    if (!strcmp(cmd, "stats"))
        return "usage: rcgc-report stats [-n N] [--by type|line|file|traceback] FILE\n"
               "A summary line (allocations, frees, what is alive at the end, the peak,\n"
               "collections and their pauses), then the N keys (default 10) that allocated\n"
               "the most bytes over the whole capture, in tracemalloc's format:\n"
               "  app.c:120: size=576 KiB, count=4, average=144 KiB\n"
               "--by line (default): file:line of the allocating call; file; type (blocks that\n"
               "are not objects are \"(storage)\"); traceback (every frame, most recent first).\n"
               "FILE may be a snapshot dump (rcgc_snapshot_dump): then the traces alive when it\n"
               "was taken, as rcgc_snapshot_print_top prints them (no summary line).\n";
    if (!strcmp(cmd, "compare"))
        return "usage: rcgc-report compare [-n N] [--by type|line|file|traceback] BEFORE AFTER\n"
               "What AFTER allocated against what BEFORE did, by key, largest change first:\n"
               "  app.c:120: size=576 KiB (+576 KiB), count=4 (+4), average=144 KiB\n"
               "BEFORE and AFTER may be two snapshot dumps (rcgc_snapshot_dump): then the\n"
               "traces alive when each was taken, as rcgc_snapshot_print_compare prints them.\n";
    if (!strcmp(cmd, "leaks"))
        return "usage: rcgc-report leaks [-n N] FILE\n"
               "Blocks allocated during the capture and not freed when it ended, grouped by\n"
               "traceback and type, largest first, each with its frames (most recent first).\n"
               "Objects a program keeps until exit show here too: read it as memray's --leaks.\n";
    if (!strcmp(cmd, "timeline"))
        return "usage: rcgc-report timeline FILE -o PAGE.html\n"
               "A self-contained HTML page: memory in use over time and the bytes of the 8\n"
               "largest types, from the capture's samples, with each collection marked and its\n"
               "pause drawn below.\n";
    if (!strcmp(cmd, "flamegraph"))
        return "usage: rcgc-report flamegraph FILE -o PAGE.html\n"
               "A self-contained HTML page: the blocks alive at the capture's peak, by stack\n"
               "(outermost frame at the top, the allocating call, then the type, at the\n"
               "bottom), each box as wide as its bytes.\n";
    return NULL;
}

static void usage_error(const char *cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "rcgc-report%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    fprintf(stderr, fmt, what);
    fprintf(stderr, " (rcgc-report %s--help)\n", cmd ? "COMMAND " : "");
    exit(1);
}

static options parse_options(const char *cmd, int argc, char **argv, int nfiles, bool needs_output)
{
    options o = {.limit = 10, .by = BY_LINE};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(command_help(cmd), stdout);
            exit(0);
        } else if (!strcmp(a, "-n") || !strcmp(a, "--limit")) {
            if (++i >= argc) usage_error(cmd, "%s needs a number", a);
            char *endp;
            unsigned long long n = strtoull(argv[i], &endp, 10);
            if (*endp || !*argv[i] || n == 0) usage_error(cmd, "bad number: %s", argv[i]);
            o.limit = (size_t)n;
        } else if (!strcmp(a, "--by")) {
            if (++i >= argc) usage_error(cmd, "%s needs a key", a);
            const char *k = argv[i];
            if (!strcmp(k, "type")) o.by = BY_TYPE;
            else if (!strcmp(k, "line")) o.by = BY_LINE;
            else if (!strcmp(k, "file")) o.by = BY_FILE;
            else if (!strcmp(k, "traceback")) o.by = BY_TRACEBACK;
            else usage_error(cmd, "unknown key: %s", k);
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc) usage_error(cmd, "%s needs a file", a);
            o.output = argv[i];
        } else if (a[0] == '-' && a[1]) {
            usage_error(cmd, "unknown option: %s", a);
        } else {
            if (o.nfiles == nfiles) usage_error(cmd, "one file too many: %s", a);
            o.files[o.nfiles++] = a;
        }
    }
    if (o.nfiles != nfiles) usage_error(cmd, "%s", nfiles == 2 ? "needs two files" : "needs a file");
    if (needs_output && !o.output) usage_error(cmd, "%s", "needs -o PAGE.html");
    return o;
}

/* ---- stats, compare, leaks --------------------------------------------------------------- */

static void summary(const capture *c)
{
    uint64_t allocs = 0, alloc_bytes = 0, frees = 0, free_bytes = 0, pauses = 0, longest = 0;
    for (size_t i = 0; i < c->nevents; i++) {
        if (c->events[i].kind == 'a') {
            allocs++;
            alloc_bytes += c->events[i].size;
        } else {
            frees++;
            free_bytes += c->events[i].size;
        }
    }
    for (size_t i = 0; i < c->ncollections; i++) {
        pauses += c->collections[i].pause_ns;
        if (c->collections[i].pause_ns > longest) longest = c->collections[i].pause_ns;
    }
    bool *alive = xrealloc(NULL, c->nevents * sizeof *alive);
    uint64_t peak;
    uint64_t at_end = replay(c, c->nevents, alive, &peak, NULL);
    size_t nalive = 0;
    for (size_t i = 0; i < c->nevents; i++) nalive += c->events[i].kind == 'a' && alive[i];
    free(alive);
    char a[32], f[32], e[32], p[32];
    rcgc__format_size(a, sizeof a, (double)alloc_bytes, false);
    rcgc__format_size(f, sizeof f, (double)free_bytes, false);
    rcgc__format_size(e, sizeof e, (double)at_end, false);
    rcgc__format_size(p, sizeof p, (double)peak, false);
    printf("%" PRIu64 " allocations (%s), %" PRIu64 " frees (%s); %zu blocks alive at the end (%s), "
           "peak %s\n", allocs, a, frees, f, nalive, e, p);
    printf("%zu collection%s, pauses %.3f ms in all, longest %.3f ms\n", c->ncollections,
           c->ncollections == 1 ? "" : "s", (double)pauses / 1e6, (double)longest / 1e6);
}

/* ---- snapshot dumps -------------------------------------------------------------------- */

static bool is_snapshot(const char *path)
{
    FILE *f = fopen(path, "rb");
    char head[8];
    bool yes = f && fread(head, 1, sizeof head, f) == sizeof head &&
               memcmp(head, "RCGCSNAP", sizeof head) == 0;
    if (f) fclose(f);
    return yes;
}

static rcgc_snapshot *load_snapshot(const char *path)
{
    /* rcgc's switches would have this program trace or capture itself
       (RCGC_TRACE_FILE might even name the file being read). */
    static const char *const switches[] = {"RCGC_TRACE_FILE", "RCGC_TRACEMALLOC", "RCGC_MONITOR",
                                           "RCGC_LEAK_REPORT"};
    for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++) unsetenv(switches[i]);
    rcgc_snapshot *s = rcgc_snapshot_load(path);
    if (!s)
        die(2, "%s: %s", path,
            errno == EINVAL ? "not a snapshot dump this rcgc-report reads (version 1), or a cut "
                              "or damaged one"
                            : strerror(errno));
    return s;
}

static void print_line(const char *line, void *arg)
{
    (void)arg;
    fputs(line, stdout);
}

static const rcgc_key snapshot_key[] = {[BY_TYPE] = RCGC_BY_TYPE, [BY_LINE] = RCGC_BY_LINENO,
                                        [BY_FILE] = RCGC_BY_FILENAME,
                                        [BY_TRACEBACK] = RCGC_BY_TRACEBACK};

static int cmd_stats(int argc, char **argv)
{
    options o = parse_options("stats", argc, argv, 1, false);
    if (is_snapshot(o.files[0])) {
        rcgc_snapshot *s = load_snapshot(o.files[0]);
        rcgc_snapshot_print_top(s, snapshot_key[o.by], o.limit, print_line, NULL);
        rcgc_snapshot_free(s);
        return 0;
    }
    capture c;
    load_capture(&c, o.files[0]);
    summary(&c);
    groups g = {0};
    group_capture(&c, o.by, false, false, &g);
    sort_items(g.items, g.len, sizeof *g.items, by_size);
    printf("[ Top %zu %s ]\n", o.limit, by_heading[o.by]);
    for (size_t i = 0; i < g.len && i < o.limit; i++) print_group(&g.items[i], o.by, false, NULL);
    free_groups(&g);
    free_capture(&c);
    return 0;
}

static int cmd_compare(int argc, char **argv)
{
    options o = parse_options("compare", argc, argv, 2, false);
    bool snap_before = is_snapshot(o.files[0]), snap_after = is_snapshot(o.files[1]);
    if (snap_before != snap_after)
        die(2, "%s is a snapshot dump and %s is not: compare two captures or two dumps",
            o.files[snap_before ? 0 : 1], o.files[snap_before ? 1 : 0]);
    if (snap_before) {
        rcgc_snapshot *b = load_snapshot(o.files[0]), *a = load_snapshot(o.files[1]);
        rcgc_snapshot_print_compare(a, b, snapshot_key[o.by], o.limit, print_line, NULL);
        rcgc_snapshot_free(a);
        rcgc_snapshot_free(b);
        return 0;
    }
    capture before, after;
    load_capture(&before, o.files[0]);
    load_capture(&after, o.files[1]);
    groups gb = {0}, ga = {0};
    group_capture(&before, o.by, false, false, &gb);
    group_capture(&after, o.by, false, false, &ga);
    for (size_t i = 0; i < ga.len; i++) {
        group *g = &ga.items[i];
        g->size_diff = (int64_t)g->size;
        g->count_diff = (int64_t)g->count;
    }
    for (size_t i = 0; i < gb.len; i++) {
        group *b = &gb.items[i];
        group *g = group_of(&ga, b->key, 0, false);
        g->size_diff -= (int64_t)b->size;
        g->count_diff -= (int64_t)b->count;
    }
    sort_items(ga.items, ga.len, sizeof *ga.items, by_diff);
    printf("[ Top %zu differences by %s ]\n", o.limit, by_heading[o.by]);
    for (size_t i = 0; i < ga.len && i < o.limit; i++) print_group(&ga.items[i], o.by, true, NULL);
    free_groups(&ga);
    free_groups(&gb);
    free_capture(&before);
    free_capture(&after);
    return 0;
}

static int cmd_leaks(int argc, char **argv)
{
    options o = parse_options("leaks", argc, argv, 1, false);
    capture c;
    load_capture(&c, o.files[0]);
    groups g = {0};
    group_capture(&c, BY_TRACEBACK, true, true, &g);
    sort_items(g.items, g.len, sizeof *g.items, by_size);
    uint64_t bytes = 0, blocks = 0;
    for (size_t i = 0; i < g.len; i++) {
        bytes += g.items[i].size;
        blocks += g.items[i].count;
    }
    char b[32];
    rcgc__format_size(b, sizeof b, (double)bytes, false);
    printf("%" PRIu64 " block%s (%s) allocated and never freed, from %zu traceback%s\n", blocks,
           blocks == 1 ? "" : "s", b, g.len, g.len == 1 ? "" : "s");
    if (g.len) printf("[ Top %zu tracebacks ]\n", o.limit);
    for (size_t i = 0; i < g.len && i < o.limit; i++) {
        char suffix[300];
        snprintf(suffix, sizeof suffix, ", type=%s", type_name(&c, g.items[i].type));
        print_group(&g.items[i], BY_TRACEBACK, false, suffix);
    }
    free_groups(&g);
    free_capture(&c);
    return 0;
}

/* ---- pages ---------------------------------------------------------------------------------- */

static FILE *page_open(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) die(2, "%s: %s", path, strerror(errno));
    return f;
}

static void page_close(FILE *f, const char *path)
{
    if (ferror(f) || fclose(f) != 0) die(2, "%s: write error", path);
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void page_head(FILE *f, const char *title, const char *file)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    html_text(f, title);
    fputs(": ", f);
    html_text(f, file);
    fputs("</title>\n<style>\n"
          "body{font-family:sans-serif;margin:16px;color:#222;background:#fff}\n"
          "h1{font-size:20px} .legend span{margin-right:14px;white-space:nowrap}\n"
          ".legend i{display:inline-block;width:14px;height:4px;margin-right:4px;vertical-align:middle}\n"
          "svg text{font-size:11px;font-family:sans-serif}\n"
          ".frame text{pointer-events:none} .frame:hover rect{stroke:#000}\n"
          "</style></head><body>\n<h1>", f);
    html_text(f, title);
    fputs(": ", f);
    html_text(f, file);
    fputs("</h1>\n", f);
}

static const char *palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                                "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

typedef struct type_peak {
    uint32_t type;
    uint64_t peak;
} type_peak;

static int by_peak(const void *a, const void *b)
{
    const type_peak *x = a, *y = b;
    if (x->peak != y->peak) return x->peak > y->peak ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

static int cmd_timeline(int argc, char **argv)
{
    options o = parse_options("timeline", argc, argv, 1, true);
    capture c;
    load_capture(&c, o.files[0]);
    const double W = 1000, H = 360, L = 80, T = 20, PH = 60;   /* plot, left margin, top, pauses */
    uint64_t tmax = 1, ymax = 1, pmax = 1;
    for (size_t i = 0; i < c.nsamples; i++) {
        if (c.samples[i].t_us > tmax) tmax = c.samples[i].t_us;
        if (c.samples[i].in_use > ymax) ymax = c.samples[i].in_use;
    }
    for (size_t i = 0; i < c.ncollections; i++) {
        if (c.collections[i].t_us > tmax) tmax = c.collections[i].t_us;
        if (c.collections[i].pause_ns > pmax) pmax = c.collections[i].pause_ns;
    }
    /* the 8 types of most bytes at some sample */
    type_peak *peaks = NULL;
    size_t npeaks = 0, peaks_cap = 0;
    for (size_t i = 0; i < c.ncounts; i++) {
        size_t j = 0;
        while (j < npeaks && peaks[j].type != c.counts[i].type) j++;
        if (j == npeaks) {
            GROW(peaks, npeaks, peaks_cap);
            peaks[npeaks++] = (type_peak){c.counts[i].type, 0};
        }
        if (c.counts[i].bytes > peaks[j].peak) peaks[j].peak = c.counts[i].bytes;
        if (c.counts[i].bytes > ymax) ymax = c.counts[i].bytes;
    }
    sort_items(peaks, npeaks, sizeof *peaks, by_peak);
    if (npeaks > 8) npeaks = 8;

    FILE *f = page_open(o.output);
    page_head(f, "rcgc timeline", o.files[0]);
    uint64_t pauses = 0;
    for (size_t i = 0; i < c.ncollections; i++) pauses += c.collections[i].pause_ns;
    char ym[32];
    rcgc__format_size(ym, sizeof ym, (double)ymax, false);
    fprintf(f, "<p class=\"summary\">%zu samples over %.1f ms; %zu collection%s, pauses %.3f ms "
            "in all</p>\n", c.nsamples, (double)tmax / 1000, c.ncollections,
            c.ncollections == 1 ? "" : "s", (double)pauses / 1e6);
    fprintf(f, "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"100%%\" "
            "viewBox=\"0 0 %.0f %.0f\">\n", L + W + 20, T + H + 40 + PH + 30);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#999\"/>\n",
            L, T, W, H);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>\n", L - 4, T + 10, ym);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>\n", L - 4, T + H);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">0 ms</text>\n", L, T + H + 14);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.1f ms</text>\n", L + W, T + H + 14,
            (double)tmax / 1000);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">time</text>\n", L + W / 2, T + H + 14);
    /* collections: a line through the chart, a bar as tall as the pause below it */
    double py = T + H + 30;
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">pauses</text>\n", L - 4, py + PH / 2);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#ccc\"/>\n",
            L, py, W, PH);
    for (size_t i = 0; i < c.ncollections; i++) {
        const collection *k = &c.collections[i];
        double x = L + W * (double)k->t_us / (double)tmax;
        double h = PH * (double)k->pause_ns / (double)pmax;
        if (h < 1) h = 1;
        fprintf(f, "<g><title>generation %u collection at %.3f ms: pause %.3f ms, %" PRIu64
                " collected, %" PRIu64 " uncollectable</title>"
                "<line class=\"collection gen%u\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" "
                "stroke=\"%s\" stroke-width=\"1\" stroke-dasharray=\"%s\"/>"
                "<rect class=\"pause\" x=\"%.1f\" y=\"%.1f\" width=\"3\" height=\"%.1f\" fill=\"%s\"/></g>\n",
                k->generation, (double)k->t_us / 1000, (double)k->pause_ns / 1e6, k->collected,
                k->uncollectable, k->generation, x, T, x, T + H,
                k->generation == 2 ? "#d62728" : "#bbb", k->generation == 2 ? "none" : "3,3", x - 1,
                py + PH - h, h, k->generation == 2 ? "#d62728" : "#888");
    }
    /* memory in use, then each type */
    fputs("<polyline class=\"series\" data-type=\"memory in use\" fill=\"none\" stroke=\"#000\" "
          "stroke-width=\"2\" points=\"", f);
    for (size_t i = 0; i < c.nsamples; i++)
        fprintf(f, "%.1f,%.1f ", L + W * (double)c.samples[i].t_us / (double)tmax,
                T + H - H * (double)c.samples[i].in_use / (double)ymax);
    fputs("\"/>\n", f);
    for (size_t k = 0; k < npeaks; k++) {
        fprintf(f, "<polyline class=\"series\" data-type=\"");
        html_text(f, type_name(&c, peaks[k].type));
        fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", palette[k]);
        for (size_t i = 0; i < c.nsamples; i++) {
            uint64_t bytes = 0;
            for (size_t j = 0; j < c.samples[i].n; j++)
                if (c.counts[c.samples[i].first + j].type == peaks[k].type)
                    bytes = c.counts[c.samples[i].first + j].bytes;
            fprintf(f, "%.1f,%.1f ", L + W * (double)c.samples[i].t_us / (double)tmax,
                    T + H - H * (double)bytes / (double)ymax);
        }
        fputs("\"/>\n", f);
    }
    fputs("</svg>\n<p class=\"legend\"><span><i style=\"background:#000\"></i>memory in use</span>", f);
    for (size_t k = 0; k < npeaks; k++) {
        char pk[32];
        rcgc__format_size(pk, sizeof pk, (double)peaks[k].peak, false);
        fprintf(f, "<span><i style=\"background:%s\"></i>", palette[k]);
        html_text(f, type_name(&c, peaks[k].type));
        fprintf(f, " (peak %s)</span>", pk);
    }
    fputs("<span><i style=\"background:#d62728\"></i>full collections</span>"
          "<span><i style=\"background:#bbb\"></i>young collections</span></p>\n</body></html>\n", f);
    page_close(f, o.output);
    free(peaks);
    free_capture(&c);
    return 0;
}

/* The flame graph: a tree of frames, outermost at the root. */
typedef struct node {
    char *label;
    uint64_t bytes;
    size_t first_child, next_sibling;   /* indices; 0: none */
} node;

typedef struct tree {
    node *nodes;
    size_t len, cap;
} tree;

static size_t child(tree *t, size_t parent, const char *label)
{
    size_t last = 0;
    for (size_t k = t->nodes[parent].first_child; k; k = t->nodes[k].next_sibling) {
        if (!strcmp(t->nodes[k].label, label)) return k;
        last = k;
    }
    GROW(t->nodes, t->len, t->cap);
    size_t n = t->len++;
    t->nodes[n] = (node){strdup(label), 0, 0, 0};
    if (!t->nodes[n].label) die(2, "out of memory");
    if (last)
        t->nodes[last].next_sibling = n;
    else
        t->nodes[parent].first_child = n;
    return n;
}

static const char *flame_colour(const char *label)
{
    static const char *warm[] = {"#f4a259", "#f7c873", "#e9724c", "#f2b880", "#ef8a62", "#fdd49e"};
    uint32_t h = 2166136261u;
    for (const char *p = label; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return warm[h % 6];
}

static void draw(FILE *f, const tree *t, size_t n, double x, double w, int depth, uint64_t total,
                 int *maxdepth)
{
    const double RH = 18, TOP = 10;
    if (w < 0.5) return;
    if (depth > *maxdepth) *maxdepth = depth;
    const node *nd = &t->nodes[n];
    char sz[32];
    rcgc__format_size(sz, sizeof sz, (double)nd->bytes, false);
    fputs("<g class=\"frame\"><title>", f);
    html_text(f, nd->label);
    fprintf(f, ": %s (%.1f %%)</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\" "
            "fill=\"%s\" stroke=\"#fff\"/>", sz, 100.0 * (double)nd->bytes / (double)(total ? total : 1),
            x, TOP + depth * RH, w, RH - 1, depth ? flame_colour(nd->label) : "#e05050");
    if (w > 40) {
        int chars = (int)((w - 6) / 6.5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, TOP + depth * RH + 13);
        char text[512];
        snprintf(text, sizeof text, "%s", nd->label);
        if ((int)strlen(text) > chars && chars > 2) {
            text[chars - 2] = '.';
            text[chars - 1] = '.';
            text[chars] = '\0';
        }
        html_text(f, text);
        fputs("</text>", f);
    }
    fputs("</g>\n", f);
    double cx = x;
    for (size_t k = nd->first_child; k; k = t->nodes[k].next_sibling) {
        double cw = nd->bytes ? w * (double)t->nodes[k].bytes / (double)nd->bytes : 0;
        draw(f, t, k, cx, cw, depth + 1, total, maxdepth);
        cx += cw;
    }
}

static int cmd_flamegraph(int argc, char **argv)
{
    options o = parse_options("flamegraph", argc, argv, 1, true);
    capture c;
    load_capture(&c, o.files[0]);
    bool *alive = xrealloc(NULL, c.nevents * sizeof *alive);
    uint64_t peak;
    size_t peak_at;
    replay(&c, c.nevents, alive, &peak, &peak_at);
    replay(&c, peak_at, alive, NULL, NULL);
    tree t = {0};
    GROW(t.nodes, t.len, t.cap);
    t.nodes[t.len++] = (node){strdup("all"), 0, 0, 0};
    size_t blocks = 0;
    for (size_t i = 0; i < peak_at; i++) {
        const event *e = &c.events[i];
        if (e->kind != 'a' || !alive[i]) continue;
        blocks++;
        size_t at = 0;
        t.nodes[0].bytes += e->size;
        uint32_t nf = e->tb ? c.tbs[e->tb].nframes : 0;
        if (!e->tb) {
            at = child(&t, at, "<no traceback>");
            t.nodes[at].bytes += e->size;
        }
        for (uint32_t k = nf; k-- > 0;) {
            char fr[1100];
            const uint32_t *x = &c.tbs[e->tb].frames[3 * k];
            snprintf(fr, sizeof fr, "%s (%s:%" PRIu32 ")", c.strings[x[0]], c.strings[x[1]], x[2]);
            at = child(&t, at, fr);
            t.nodes[at].bytes += e->size;
        }
        at = child(&t, at, type_name(&c, e->type));
        t.nodes[at].bytes += e->size;
    }
    free(alive);
    FILE *f = page_open(o.output);
    page_head(f, "rcgc flame graph", o.files[0]);
    char pk[32];
    rcgc__format_size(pk, sizeof pk, (double)peak, false);
    fprintf(f, "<p class=\"summary\">Memory at the peak: %s in %zu blocks, after %zu of %zu events. "
            "The outermost frame is at the top; each box is as wide as the bytes allocated under "
            "it and alive at the peak; the last row is the type.</p>\n", pk, blocks, peak_at,
            c.nevents);
    /* drawn into a buffer first, to know the height */
    char *body = NULL;
    size_t body_len = 0;
    FILE *mem = open_memstream(&body, &body_len);
    if (!mem) die(2, "out of memory");
    int maxdepth = 0;
    draw(mem, &t, 0, 10, 1180, 0, t.nodes[0].bytes, &maxdepth);
    fclose(mem);
    int height = 10 + (maxdepth + 1) * 18 + 10;
    fprintf(f, "<svg id=\"flamegraph\" xmlns=\"http://www.w3.org/2000/svg\" width=\"100%%\" "
            "viewBox=\"0 0 1200 %d\">\n", height);
    fwrite(body, 1, body_len, f);
    fputs("</svg>\n</body></html>\n", f);
    free(body);
    page_close(f, o.output);
    for (size_t i = 0; i < t.len; i++) free(t.nodes[i].label);
    free(t.nodes);
    free_capture(&c);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    const char *cmd = argv[1];
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } commands[] = {{"stats", cmd_stats},       {"compare", cmd_compare},
                    {"leaks", cmd_leaks},       {"timeline", cmd_timeline},
                    {"flamegraph", cmd_flamegraph}};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "rcgc-report: unknown command: %s (rcgc-report --help)\n", cmd);
    return 1;
}
