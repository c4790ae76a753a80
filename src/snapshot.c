/*
 * Snapshots: tracemalloc's Snapshot, Statistic and StatisticDiff for rcgc.
 *
 * A snapshot copies what it shows when it is taken, so it outlives tracing
 * (rcgc_trace_stop frees the tracer's tables) and the process (dump/load):
 *   - strings: every file, frame text and type name, each once;
 *   - tracebacks: frames as (file, line, text) string ids, most recent
 *     first, resolved to text when the snapshot is taken (the first frame
 *     from the header's macros, the others through unwind.c's symbolizer);
 *   - groups: (traceback, type, bytes, blocks), the traces of the table
 *     summed by traceback and type, sorted by both.  Every statistic
 *     tracemalloc computes from its traces it computes from these sums.
 * All of it is rcgc's own memory (rcgc__own_*): not in rcgc_memory_in_use,
 * never refused by the hook.
 *
 * Statistics (tracemalloc's Snapshot._group_by and _compare_grouped_stats):
 * the groups' keys are summed, then sorted largest first by (size, count,
 * key), compare by (|size diff|, size, |count diff|, count, key), the key
 * last and also descending, as tracemalloc's reverse sort leaves ties.  A
 * traceback key compares oldest frame first (tracemalloc's order).  The
 * cumulative keys count a block once under every distinct key among its
 * frames (tracemalloc counts a frame repeated by recursion once per
 * repetition; a block counted twice in one file's total is not what the
 * total means, so rcgc does not).
 *
 * The dump format (version 1), integers little-endian of fixed width, so a
 * dump reads the same on any machine:
 *   "RCGCSNAP"  u32 version = 1  u32 0x01020304 (byte-order mark)
 *   u32 traceback limit (the nframes tracing ran with, 1..64)
 *   u32 n strings,    each: u32 length, the bytes (no NUL)
 *   u32 n tracebacks, each: u32 n frames (1..64), each: u32 file, u32 text, u32 line
 *   u32 n groups,     each: u32 traceback, u32 type (0xffffffff: none),
 *                           u64 bytes, u64 blocks (>= 1)
 *   u64 FNV-1a of every byte before it
 * load checks every count against the bytes left, every id against its
 * table, and the checksum, before it builds anything: a cut, foreign or
 * damaged file is NULL + EINVAL.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "rcgc_tools.h"
#include "trace.h"

#define NO_TYPE UINT32_MAX
#define MAX_FRAMES 64
#define FORMAT_VERSION 1u
#define BYTE_ORDER_MARK 0x01020304u

static const char MAGIC[8] = {'R', 'C', 'G', 'C', 'S', 'N', 'A', 'P'};

typedef struct snap_frame {
    uint32_t file, text, line;
} snap_frame;

typedef struct snap_tb {
    uint32_t first, n;   /* frames[first .. first + n) */
} snap_tb;

typedef struct snap_group {
    uint32_t tb, type;
    uint64_t size, count;
} snap_group;

struct rcgc_snapshot {
    uint32_t limit;
    char **strings;
    uint32_t *lengths;
    size_t nstrings;
    snap_tb *tbs;
    size_t ntbs;
    snap_frame *frames;
    size_t nframes;
    snap_group *groups;
    size_t ngroups;
};

void rcgc_snapshot_free(rcgc_snapshot *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nstrings; i++) rcgc__own_free(s->strings[i]);
    rcgc__own_free(s->strings);
    rcgc__own_free(s->lengths);
    rcgc__own_free(s->tbs);
    rcgc__own_free(s->frames);
    rcgc__own_free(s->groups);
    rcgc__own_free(s);
}

static void *own_array(size_t n, size_t elem)
{
    if (n && elem > SIZE_MAX / n) return NULL;
    return rcgc__own_calloc(n ? n * elem : 1);
}

/* ---- taking ------------------------------------------------------------------ */

/* Strings of a snapshot being taken, each kept once (open addressing). */
typedef struct string_set {
    rcgc_snapshot *s;
    uint32_t *slots;   /* id + 1; 0: empty */
    size_t cap, strings_cap;
    size_t frames_cap;  /* of s->frames, grown by doubling */
} string_set;

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}
#define FNV_START UINT64_C(0xcbf29ce484222325)

static bool set_grow(string_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : 256;
    uint32_t *slots = own_array(cap, sizeof *slots);
    if (!slots) return false;
    for (size_t i = 0; i < set->s->nstrings; i++) {
        size_t j = fnv1a(set->s->strings[i], set->s->lengths[i], FNV_START) & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)i + 1;
    }
    rcgc__own_free(set->slots);
    set->slots = slots;
    set->cap = cap;
    return true;
}

/* The id of text in the snapshot, added if new; -1 when out of memory. */
static int64_t string_id(string_set *set, const char *text)
{
    rcgc_snapshot *s = set->s;
    size_t len = strlen(text);
    if (len > UINT32_MAX) len = UINT32_MAX;
    uint64_t h = fnv1a(text, len, FNV_START);
    if (set->cap) {
        for (size_t i = h & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1)) {
            uint32_t id = set->slots[i] - 1;
            if (s->lengths[id] == len && memcmp(s->strings[id], text, len) == 0) return id;
        }
    }
    if ((s->nstrings + 1) * 2 > set->cap && !set_grow(set)) return -1;
    if (s->nstrings == set->strings_cap) {
        size_t cap = set->strings_cap ? set->strings_cap * 2 : 64;
        char **strings = rcgc__own_realloc(s->strings, cap * sizeof *strings);
        if (!strings) return -1;
        s->strings = strings;
        uint32_t *lengths = rcgc__own_realloc(s->lengths, cap * sizeof *lengths);
        if (!lengths) return -1;
        s->lengths = lengths;
        set->strings_cap = cap;
    }
    char *copy = rcgc__own_calloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, text, len);
    uint32_t id = (uint32_t)s->nstrings++;
    s->strings[id] = copy;
    s->lengths[id] = (uint32_t)len;
    size_t i = h & (set->cap - 1);
    while (set->slots[i]) i = (i + 1) & (set->cap - 1);
    set->slots[i] = id + 1;
    return id;
}

typedef struct raw_trace {
    const traceback *tb;
    const rcgc_type *type;
    size_t size;
} raw_trace;

typedef struct gather {
    raw_trace *items;
    size_t len, cap;
} gather;

static void count_trace(const void *block, size_t size, const traceback *tb,
                        const rcgc_type *type, void *arg)
{
    (void)block, (void)size, (void)type;
    if (tb) ((gather *)arg)->cap++;
}

static void copy_trace(const void *block, size_t size, const traceback *tb,
                       const rcgc_type *type, void *arg)
{
    gather *g = arg;
    (void)block;
    if (tb && g->len < g->cap) g->items[g->len++] = (raw_trace){tb, type, size};
}

static int by_traceback_then_type(const void *a, const void *b)
{
    const raw_trace *x = a, *y = b;
    uintptr_t p = (uintptr_t)x->tb, q = (uintptr_t)y->tb;
    if (p != q) return p < q ? -1 : 1;
    p = (uintptr_t)x->type, q = (uintptr_t)y->type;
    return p < q ? -1 : p > q;
}

static int by_group_key(const void *a, const void *b)
{
    const snap_group *x = a, *y = b;
    if (x->tb != y->tb) return x->tb < y->tb ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

/* Frames of tb as the snapshot keeps them; false when out of memory. */
static bool add_traceback(string_set *set, const traceback *tb)
{
    rcgc_snapshot *s = set->s;
    uint32_t n = tb->nframes < 1 ? 1 : tb->nframes > MAX_FRAMES ? MAX_FRAMES : tb->nframes;
    snap_tb *t = &s->tbs[s->ntbs];
    t->first = (uint32_t)s->nframes;
    t->n = n;
    if (s->nframes + n > set->frames_cap) {
        size_t cap = set->frames_cap ? set->frames_cap * 2 : 256;
        while (cap < s->nframes + n) cap *= 2;
        snap_frame *grown = rcgc__own_realloc(s->frames, cap * sizeof *grown);
        if (!grown) return false;
        s->frames = grown;
        set->frames_cap = cap;
    }
    snap_frame *frames = s->frames;
    for (uint32_t i = 0; i < n; i++) {
        char text[1024], file[512];
        int line = 0;
        if (i == 0) {
            snprintf(file, sizeof file, "%s", tb->site->file ? tb->site->file : "<unknown>");
            line = tb->site->line;
        } else if (rcgc__symbolize(tb->pcs[i - 1], NULL, 0, file, sizeof file, &line) != 0 ||
                   !file[0]) {
            snprintf(file, sizeof file, "<unknown>");
            line = 0;
        }
        rcgc__format_frame(tb, i, text, sizeof text);
        int64_t f = string_id(set, file), x = string_id(set, text);
        if (f < 0 || x < 0) return false;
        frames[s->nframes++] = (snap_frame){(uint32_t)f, (uint32_t)x, (uint32_t)(line < 0 ? 0 : line)};
    }
    s->ntbs++;
    return true;
}

static bool fill(rcgc_snapshot *s, string_set *set, const gather *g)
{
    /* At most one group and one traceback per trace. */
    s->groups = own_array(g->len, sizeof *s->groups);
    s->tbs = own_array(g->len, sizeof *s->tbs);
    if (!s->groups || !s->tbs) return false;
    const traceback *last = NULL;
    for (size_t i = 0; i < g->len; i++) {
        const raw_trace *r = &g->items[i];
        if (r->tb != last) {
            if (!add_traceback(set, r->tb)) return false;
            last = r->tb;
        }
        uint32_t type = NO_TYPE;
        if (r->type) {
            int64_t id = string_id(set, r->type->name ? r->type->name : "?");
            if (id < 0) return false;
            type = (uint32_t)id;
        }
        uint32_t tb = (uint32_t)s->ntbs - 1;
        snap_group *prev = s->ngroups ? &s->groups[s->ngroups - 1] : NULL;
        if (i && prev->tb == tb && r->type == g->items[i - 1].type) {
            prev->size += r->size;
            prev->count++;
        } else {
            s->groups[s->ngroups++] = (snap_group){tb, type, r->size, 1};
        }
    }
    /* Two types of one name are one group. */
    qsort(s->groups, s->ngroups, sizeof *s->groups, by_group_key);
    size_t out = 0;
    for (size_t i = 0; i < s->ngroups; i++) {
        if (out && by_group_key(&s->groups[out - 1], &s->groups[i]) == 0) {
            s->groups[out - 1].size += s->groups[i].size;
            s->groups[out - 1].count += s->groups[i].count;
        } else {
            s->groups[out++] = s->groups[i];
        }
    }
    s->ngroups = out;
    return true;
}

rcgc_snapshot *rcgc_snapshot_take(void)
{
    rcgc_state *S = state();
    if (!S->tracing) {
        errno = EINVAL;
        return NULL;
    }
    gather g = {NULL, 0, 0};
    rcgc__trace_foreach(count_trace, &g);
    rcgc_snapshot *s = rcgc__own_calloc(sizeof *s);
    g.items = own_array(g.cap, sizeof *g.items);
    string_set set = {s, NULL, 0, 0, 0};
    bool ok = s && g.items;
    if (ok) {
        s->limit = (uint32_t)S->trace_nframes;
        rcgc__trace_foreach(copy_trace, &g);
        qsort(g.items, g.len, sizeof *g.items, by_traceback_then_type);
        ok = fill(s, &set, &g);
    }
    rcgc__own_free(g.items);
    rcgc__own_free(set.slots);
    if (!ok) {
        rcgc_snapshot_free(s);
        errno = ENOMEM;
        return NULL;
    }
    return s;
}

/* ---- filtering ---------------------------------------------------------------- */

int rcgc_snapshot_filter(rcgc_snapshot *s, bool include, const char *file_pattern)
{
    if (!s || !file_pattern) {
        errno = EINVAL;
        return -1;
    }
    size_t out = 0;
    for (size_t i = 0; i < s->ngroups; i++) {
        const snap_frame *f = &s->frames[s->tbs[s->groups[i].tb].first];
        bool match = fnmatch(file_pattern, s->strings[f->file], 0) == 0;
        if (match == include) s->groups[out++] = s->groups[i];
    }
    s->ngroups = out;
    return 0;
}

/* ---- statistics ----------------------------------------------------------------- */

typedef struct statistic {
    const rcgc_snapshot *s;   /* whose strings and frames the key names */
    uint32_t tb, file, line, type;
    uint64_t size, count;
    int64_t size_diff, count_diff;
} statistic;

typedef struct stats {
    statistic *items;
    size_t len;
} stats;

/* The key the comparisons below read (qsort has no argument); per thread,
   as two heaps' threads may sort at once. */
static _Thread_local rcgc_key sort_key;

static bool cumulative(rcgc_key key)
{
    return key == RCGC_BY_FILENAME_CUMULATIVE || key == RCGC_BY_LINENO_CUMULATIVE;
}

static const char *type_name(const statistic *a)
{
    return a->type == NO_TYPE ? "(storage)" : a->s->strings[a->type];
}

static int frame_cmp(const rcgc_snapshot *sa, const snap_frame *a, const rcgc_snapshot *sb,
                     const snap_frame *b)
{
    int c = strcmp(sa->strings[a->file], sb->strings[b->file]);
    if (c) return c;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    return 0;
}

/* Key order, ascending: tracemalloc's (file, line), a traceback oldest
   frame first; frame texts last, so that unknown frames stay apart. */
static int key_cmp(const statistic *a, const statistic *b)
{
    switch (sort_key) {
    case RCGC_BY_TYPE:
        return strcmp(type_name(a), type_name(b));
    case RCGC_BY_FILENAME:
    case RCGC_BY_FILENAME_CUMULATIVE:
        return strcmp(a->s->strings[a->file], b->s->strings[b->file]);
    case RCGC_BY_LINENO:
    case RCGC_BY_LINENO_CUMULATIVE: {
        int c = strcmp(a->s->strings[a->file], b->s->strings[b->file]);
        if (c) return c;
        return a->line < b->line ? -1 : a->line > b->line;
    }
    case RCGC_BY_TRACEBACK: {
        const snap_tb *x = &a->s->tbs[a->tb], *y = &b->s->tbs[b->tb];
        const snap_frame *fx = &a->s->frames[x->first], *fy = &b->s->frames[y->first];
        uint32_t n = x->n < y->n ? x->n : y->n;
        for (uint32_t i = 1; i <= n; i++) {
            int c = frame_cmp(a->s, &fx[x->n - i], b->s, &fy[y->n - i]);
            if (c) return c;
        }
        if (x->n != y->n) return x->n < y->n ? -1 : 1;
        for (uint32_t i = 1; i <= n; i++) {
            int c = strcmp(a->s->strings[fx[x->n - i].text], b->s->strings[fy[y->n - i].text]);
            if (c) return c;
        }
        return 0;
    }
    }
    return 0;
}

static int key_order(const void *a, const void *b)
{
    return key_cmp(a, b);
}

static int top_order(const void *pa, const void *pb)
{
    const statistic *a = pa, *b = pb;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return -key_cmp(a, b);
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static int diff_order(const void *pa, const void *pb)
{
    const statistic *a = pa, *b = pb;
    if (magnitude(a->size_diff) != magnitude(b->size_diff))
        return magnitude(a->size_diff) > magnitude(b->size_diff) ? -1 : 1;
    if (a->size != b->size) return a->size > b->size ? -1 : 1;
    if (magnitude(a->count_diff) != magnitude(b->count_diff))
        return magnitude(a->count_diff) > magnitude(b->count_diff) ? -1 : 1;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return -key_cmp(a, b);
}

/* The statistics of s by sort_key, in key order (each key once); false
   when out of memory. */
static bool group_by(const rcgc_snapshot *s, stats *out)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ngroups; i++)
        n += cumulative(sort_key) ? s->tbs[s->groups[i].tb].n : 1;
    out->items = own_array(n, sizeof *out->items);
    out->len = 0;
    if (!out->items) return false;
    for (size_t i = 0; i < s->ngroups; i++) {
        const snap_group *g = &s->groups[i];
        const snap_tb *t = &s->tbs[g->tb];
        const snap_frame *f = &s->frames[t->first];
        uint32_t frames = cumulative(sort_key) ? t->n : 1;
        size_t start = out->len;
        for (uint32_t k = 0; k < frames; k++) {
            statistic st = {s, g->tb, f[k].file, f[k].line, g->type, g->size, g->count, 0, 0};
            bool seen = false;   /* a key counted once per block (one snapshot: equal ids) */
            for (size_t j = start; j < out->len && !seen; j++)
                seen = out->items[j].file == st.file &&
                       (sort_key == RCGC_BY_FILENAME_CUMULATIVE || out->items[j].line == st.line);
            if (!seen) out->items[out->len++] = st;
        }
    }
    qsort(out->items, out->len, sizeof *out->items, key_order);
    size_t m = 0;
    for (size_t i = 0; i < out->len; i++) {
        if (m && key_cmp(&out->items[m - 1], &out->items[i]) == 0) {
            out->items[m - 1].size += out->items[i].size;
            out->items[m - 1].count += out->items[i].count;
        } else {
            out->items[m++] = out->items[i];
        }
    }
    out->len = m;
    return true;
}

/* tracemalloc's _format_size (trace.h). */
void rcgc__format_size(char *buf, size_t cap, double size, bool sign)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    for (int u = 0;; u++) {
        double mag = size < 0 ? -size : size;
        if (mag < 100 && u > 0) {
            snprintf(buf, cap, sign ? "%+.1f %s" : "%.1f %s", size, units[u]);
            return;
        }
        if (mag < 10 * 1024 || u == 4) {
            snprintf(buf, cap, sign ? "%+.0f %s" : "%.0f %s", size, units[u]);
            return;
        }
        size /= 1024;
    }
}

static const char *const headings[] = {"types", "files", "lines", "tracebacks", "files", "lines"};

static void print_stat(const statistic *st, bool diff, rcgc_write_fn out, void *arg)
{
    char key[1100], size[32], delta[32], average[48] = "";
    const rcgc_snapshot *s = st->s;
    const snap_frame *first = &s->frames[s->tbs[st->tb].first];
    switch (sort_key) {
    case RCGC_BY_TYPE:
        snprintf(key, sizeof key, "%s", type_name(st));
        break;
    case RCGC_BY_FILENAME:
    case RCGC_BY_FILENAME_CUMULATIVE:
        snprintf(key, sizeof key, "%s", s->strings[st->file]);
        break;
    case RCGC_BY_LINENO:
    case RCGC_BY_LINENO_CUMULATIVE:
        snprintf(key, sizeof key, "%s:%" PRIu32, s->strings[st->file], st->line);
        break;
    case RCGC_BY_TRACEBACK:
        snprintf(key, sizeof key, "%s:%" PRIu32, s->strings[first->file], first->line);
        break;
    }
    rcgc__format_size(size, sizeof size, (double)st->size, false);
    if (st->count) {
        char avg[32];
        rcgc__format_size(avg, sizeof avg, (double)st->size / (double)st->count, false);
        snprintf(average, sizeof average, ", average=%s", avg);
    }
    if (diff) {
        rcgc__format_size(delta, sizeof delta, (double)st->size_diff, true);
        rcgc__print_to(out, arg, "%s: size=%s (%s), count=%" PRIu64 " (%+" PRId64 ")%s\n", key,
                       size, delta, st->count, st->count_diff, average);
    } else {
        rcgc__print_to(out, arg, "%s: size=%s, count=%" PRIu64 "%s\n", key, size, st->count,
                       average);
    }
    if (sort_key == RCGC_BY_TRACEBACK)
        for (uint32_t i = 0; i < s->tbs[st->tb].n; i++)
            rcgc__print_to(out, arg, "  %s\n", s->strings[first[i].text]);
}

static bool key_valid(rcgc_key key)
{
    return (unsigned)key <= (unsigned)RCGC_BY_LINENO_CUMULATIVE;
}

void rcgc_snapshot_print_top(const rcgc_snapshot *s, rcgc_key key, size_t limit,
                             rcgc_write_fn out, void *arg)
{
    if (!s || !key_valid(key)) {
        errno = EINVAL;
        return;
    }
    sort_key = key;
    stats st;
    if (!group_by(s, &st)) {
        errno = ENOMEM;
        return;
    }
    qsort(st.items, st.len, sizeof *st.items, top_order);
    size_t n = limit && limit < st.len ? limit : st.len;
    rcgc__print_to(out, arg, "[ Top %zu %s%s ]\n", limit ? limit : st.len, headings[key],
                   cumulative(key) ? ", cumulative" : "");
    for (size_t i = 0; i < n; i++) print_stat(&st.items[i], false, out, arg);
    rcgc__own_free(st.items);
}

void rcgc_snapshot_print_compare(const rcgc_snapshot *now, const rcgc_snapshot *before,
                                 rcgc_key key, size_t limit, rcgc_write_fn out, void *arg)
{
    if (!now || !before || !key_valid(key)) {
        errno = EINVAL;
        return;
    }
    sort_key = key;
    stats a = {NULL, 0}, b = {NULL, 0};
    statistic *d = NULL;
    if (!group_by(now, &a) || !group_by(before, &b) ||
        !(d = own_array(a.len + b.len, sizeof *d))) {
        rcgc__own_free(a.items);
        rcgc__own_free(b.items);
        errno = ENOMEM;
        return;
    }
    /* Both in key order: one merge (tracemalloc's _compare_grouped_stats). */
    size_t len = 0, i = 0, j = 0;
    while (i < a.len || j < b.len) {
        int c = i == a.len ? 1 : j == b.len ? -1 : key_cmp(&a.items[i], &b.items[j]);
        statistic st;
        if (c <= 0) {
            st = a.items[i];
            /* Differences in unsigned arithmetic: a loaded dump's sums may
               be anything, and signed overflow is undefined. */
            st.size_diff = (int64_t)(st.size - (c == 0 ? b.items[j].size : 0));
            st.count_diff = (int64_t)(st.count - (c == 0 ? b.items[j].count : 0));
            i++;
            j += c == 0;
        } else {
            st = b.items[j++];
            st.size_diff = (int64_t)(0 - st.size);
            st.count_diff = (int64_t)(0 - st.count);
            st.size = st.count = 0;
        }
        d[len++] = st;
    }
    qsort(d, len, sizeof *d, diff_order);
    size_t n = limit && limit < len ? limit : len;
    rcgc__print_to(out, arg, "[ Top %zu differences by %s%s ]\n", limit ? limit : len,
                   headings[key], cumulative(key) ? ", cumulative" : "");
    for (size_t k = 0; k < n; k++) print_stat(&d[k], true, out, arg);
    rcgc__own_free(d);
    rcgc__own_free(a.items);
    rcgc__own_free(b.items);
}

/* ---- dump and load ---------------------------------------------------------------- */

typedef struct buffer {
    unsigned char *p;
    size_t len, cap;
} buffer;

static void put32(buffer *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) b->p[b->len++] = (unsigned char)(v >> (8 * i));
}

static void put64(buffer *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) b->p[b->len++] = (unsigned char)(v >> (8 * i));
}

static size_t dump_size(const rcgc_snapshot *s)
{
    size_t n = sizeof MAGIC + 6 * 4 + 8;   /* header, three counts, checksum */
    for (size_t i = 0; i < s->nstrings; i++) n += 4 + s->lengths[i];
    n += s->ntbs * 4 + s->nframes * 12 + s->ngroups * 24;
    return n;
}

int rcgc_snapshot_dump(const rcgc_snapshot *s, const char *path)
{
    if (!s || !path || !*path) {
        errno = EINVAL;
        return -1;
    }
    buffer b = {NULL, 0, dump_size(s)};
    b.p = rcgc__own_calloc(b.cap);
    if (!b.p) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(b.p, MAGIC, sizeof MAGIC);
    b.len = sizeof MAGIC;
    put32(&b, FORMAT_VERSION);
    put32(&b, BYTE_ORDER_MARK);
    put32(&b, s->limit);
    put32(&b, (uint32_t)s->nstrings);
    for (size_t i = 0; i < s->nstrings; i++) {
        put32(&b, s->lengths[i]);
        memcpy(b.p + b.len, s->strings[i], s->lengths[i]);
        b.len += s->lengths[i];
    }
    put32(&b, (uint32_t)s->ntbs);
    for (size_t i = 0; i < s->ntbs; i++) {
        put32(&b, s->tbs[i].n);
        for (uint32_t k = 0; k < s->tbs[i].n; k++) {
            const snap_frame *f = &s->frames[s->tbs[i].first + k];
            put32(&b, f->file);
            put32(&b, f->text);
            put32(&b, f->line);
        }
    }
    put32(&b, (uint32_t)s->ngroups);
    for (size_t i = 0; i < s->ngroups; i++) {
        put32(&b, s->groups[i].tb);
        put32(&b, s->groups[i].type);
        put64(&b, s->groups[i].size);
        put64(&b, s->groups[i].count);
    }
    put64(&b, fnv1a(b.p, b.len, FNV_START));

    FILE *f = fopen(path, "wb");
    if (!f) {
        int err = errno;
        rcgc__own_free(b.p);
        errno = err;
        return -1;
    }
    struct stat st;
    bool regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    errno = 0;
    bool ok = fwrite(b.p, 1, b.len, f) == b.len && fflush(f) == 0;
    int err = errno ? errno : EIO;
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno ? errno : EIO;
    }
    rcgc__own_free(b.p);
    if (!ok) {
        if (regular) remove(path);   /* no half a snapshot left behind (a device stays) */
        errno = err;
        return -1;
    }
    return 0;
}

typedef struct reader {
    const unsigned char *p, *end;
} reader;

static bool get32(reader *r, uint32_t *v)
{
    if (r->end - r->p < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; i++) *v |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    return true;
}

static bool get64(reader *r, uint64_t *v)
{
    if (r->end - r->p < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; i++) *v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return true;
}

/* n records of at least `each` bytes fit in what is left. */
static bool fits(const reader *r, uint32_t n, size_t each)
{
    return (size_t)(r->end - r->p) / each >= n;
}

/* 0, or EINVAL (not a snapshot of this version) or ENOMEM. */
static int parse(rcgc_snapshot *s, const unsigned char *data, size_t len)
{
    if (len < sizeof MAGIC + 8 || memcmp(data, MAGIC, sizeof MAGIC) != 0) return EINVAL;
    reader r = {data + sizeof MAGIC, data + len - 8};
    uint32_t version, mark, n;
    uint64_t sum;
    reader tail = {data + len - 8, data + len};
    if (!get32(&r, &version) || version != FORMAT_VERSION || !get32(&r, &mark) ||
        mark != BYTE_ORDER_MARK || !get64(&tail, &sum) || sum != fnv1a(data, len - 8, FNV_START))
        return EINVAL;
    if (!get32(&r, &s->limit) || s->limit < 1 || s->limit > MAX_FRAMES) return EINVAL;

    if (!get32(&r, &n) || !fits(&r, n, 4)) return EINVAL;
    if (!(s->strings = own_array(n, sizeof *s->strings)) ||
        !(s->lengths = own_array(n, sizeof *s->lengths)))
        return ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l;
        if (!get32(&r, &l) || (size_t)(r.end - r.p) < l || memchr(r.p, 0, l)) return EINVAL;
        if (!(s->strings[i] = rcgc__own_calloc((size_t)l + 1))) return ENOMEM;
        memcpy(s->strings[i], r.p, l);
        s->lengths[i] = l;
        s->nstrings++;
        r.p += l;
    }

    if (!get32(&r, &n) || !fits(&r, n, 16)) return EINVAL;
    if (!(s->tbs = own_array(n, sizeof *s->tbs))) return ENOMEM;
    const unsigned char *frames_at = r.p;
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {   /* first the shape, to size the frames */
        uint32_t k;
        if (!get32(&r, &k) || k < 1 || k > MAX_FRAMES || !fits(&r, k, 12)) return EINVAL;
        r.p += (size_t)k * 12;
        total += k;
    }
    if (!(s->frames = own_array(total, sizeof *s->frames))) return ENOMEM;
    r.p = frames_at;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k;
        get32(&r, &k);
        s->tbs[i] = (snap_tb){(uint32_t)s->nframes, k};
        for (uint32_t j = 0; j < k; j++) {
            snap_frame *f = &s->frames[s->nframes++];
            get32(&r, &f->file);
            get32(&r, &f->text);
            get32(&r, &f->line);
            if (f->file >= s->nstrings || f->text >= s->nstrings) return EINVAL;
        }
        s->ntbs++;
    }

    if (!get32(&r, &n) || !fits(&r, n, 24)) return EINVAL;
    if (!(s->groups = own_array(n, sizeof *s->groups))) return ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        snap_group *g = &s->groups[i];
        get32(&r, &g->tb);
        get32(&r, &g->type);
        get64(&r, &g->size);
        get64(&r, &g->count);
        if (g->tb >= s->ntbs || (g->type != NO_TYPE && g->type >= s->nstrings) || !g->count)
            return EINVAL;
        s->ngroups++;
    }
    return r.p == r.end ? 0 : EINVAL;
}

rcgc_snapshot *rcgc_snapshot_load(const char *path)
{
    if (!path) {
        errno = EINVAL;
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;   /* fopen's errno */
    unsigned char *data = NULL;
    size_t len = 0, cap = 0;
    int err = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            unsigned char *p = rcgc__own_realloc(data, ncap);
            if (!p) {
                err = ENOMEM;
                break;
            }
            data = p;
            cap = ncap;
        }
        size_t got = fread(data + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) err = EIO;
            break;
        }
    }
    fclose(f);
    rcgc_snapshot *s = NULL;
    if (!err) {
        s = rcgc__own_calloc(sizeof *s);
        err = s ? parse(s, data, len) : ENOMEM;
    }
    rcgc__own_free(data);
    if (err) {
        rcgc_snapshot_free(s);
        errno = err;
        return NULL;
    }
    return s;
}
