/*
 * The capture file (memray's model): RCGC_TRACE_FILE=path, or
 * rcgc_capture_start(path), records every block rcgc allocates and frees,
 * each collection with its pause, and samples of live objects per type, for
 * rcgc-report to read later.  docs/capture-format.md is the format.
 *
 * Records go through a 64 KiB buffer in rcgc's own memory (rcgc__own_*: not
 * in rcgc_memory_in_use, never asks the hook) and reach the file with
 * write(2) when the buffer is full, at rcgc_capture_stop and at exit
 * (atexit).  Only whole records are ever in the buffer, so a program killed
 * at any moment leaves a file whose records are all complete but maybe the
 * last, which the reader ignores.  Strings (type names, functions, files)
 * and tracebacks are written once, before the first record that uses them.
 *
 * Samples of live objects per type (rcgc_census) are taken when the capture
 * starts, after every collection, every 10 ms of a busy program (the clock
 * is read every 256 events) and when it stops.
 *
 * A write error or a want of rcgc's own memory ends the capture: what was
 * written stays readable, and rcgc_capture_stop then returns the error.
 * The capture belongs to the process that started it: a child of fork(2)
 * stops its copy at once (pthread_atfork) and writes nothing.
 *
 * Tracebacks are keyed by their interned pointer (trace.h), checked against
 * a copy of their hash, length and first frame, since trace_stop frees them
 * and a new one may come back at the same address.  Frames past the first
 * are symbolized when the traceback is first written (unwind.c's
 * rcgc__symbolize): a capture names functions and files, never addresses
 * that mean nothing outside the process.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "profile.h"
#include "rcgc_tools.h"
#include "trace.h"

#define CAPTURE_BUFFER (64 * 1024)
#define SAMPLE_EVERY_NS (10 * 1000 * 1000)
#define CLOCK_EVERY_EVENTS 256

typedef struct string_slot {
    char *text;       /* NULL: empty */
    size_t len;
    uint32_t hash, id;
} string_slot;

typedef struct tb_entry {   /* what a traceback id was given for */
    uint32_t id, hash, nframes;
    const void *first;      /* its site */
} tb_entry;

typedef struct capture_file {
    int fd;
    int error;              /* errno of the failure that ended it; 0 */
    char *buf;
    size_t len, cap;
    uint64_t start_ns, last_sample_ns;
    unsigned events;        /* since the clock was last read */
    string_slot *strings;
    size_t strings_cap, strings_len;
    uint32_t next_string, next_tb;
    ptrmap tracebacks;      /* traceback * -> tb_entry * */
    ptrmap types;           /* rcgc_type * -> (uintptr_t) string id */
    rcgc_type_count *census;
    size_t census_cap;
} capture_file;

/* The atexit and atfork hooks, set once for every heap (they visit them
   all), whichever thread starts the first capture. */
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;
static bool hooks_set;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the buffer ------------------------------------------------------------ */

static bool flush(capture_file *C)
{
    size_t done = 0;
    while (done < C->len) {
        ssize_t n = write(C->fd, C->buf + done, C->len - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            C->error = errno;
            return false;
        }
        done += (size_t)n;
    }
    C->len = 0;
    return true;
}

static void fail(rcgc_state *S, int error);

/* Room for n more bytes, at a record boundary. */
static bool room(rcgc_state *S, size_t n)
{
    capture_file *C = S->capture;
    if (C->len + n <= C->cap) return true;
    if (!flush(C)) {
        fail(S, C->error);
        return false;
    }
    if (n > C->cap) {
        char *grown = rcgc__own_realloc(C->buf, n);
        if (!grown) {
            fail(S, ENOMEM);
            return false;
        }
        C->buf = grown;
        C->cap = n;
    }
    return true;
}

/* Digits straight to their place, the length found first (the hot path:
   two records a block). */
static char *put_u64(char *p, uint64_t v)
{
    int n = 1;
    for (uint64_t x = v; x >= 10; x /= 10) n++;
    char *end = p + n;
    do *--end = (char)('0' + v % 10); while ((v /= 10) != 0);
    return p + n;
}

static char *put_hex(char *p, uintptr_t v)
{
    int n = v ? (int)((sizeof(unsigned long long) * 8 - (size_t)__builtin_clzll(v) + 3) / 4) : 1;
    for (int i = n - 1; i >= 0; i--, v >>= 4) p[i] = "0123456789abcdef"[v & 15];
    return p + n;
}

/* A record of kind k and up to 8 numbers, the first `hex_first` in hex. */
static bool put_record(rcgc_state *S, char kind, const uint64_t *v, int n, bool hex_first)
{
    if (!room(S, 2 + (size_t)n * 21)) return false;
    capture_file *C = S->capture;
    char *p = C->buf + C->len;
    *p++ = kind;
    for (int i = 0; i < n; i++) {
        *p++ = ' ';
        p = (i == 0 && hex_first) ? put_hex(p, (uintptr_t)v[i]) : put_u64(p, v[i]);
    }
    *p++ = '\n';
    C->len = (size_t)(p - C->buf);
    return true;
}

/* ---- strings and tracebacks ------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The id of a string, written first if new; 0 on failure (capture ended). */
static uint32_t string_id(rcgc_state *S, const char *text)
{
    if (!S->capturing) return 0;   /* ended by an earlier failure of this record */
    capture_file *C = S->capture;
    if (!text) text = "?";
    size_t len = strlen(text);
    uint32_t h = hash_bytes(text, len);
    if ((C->strings_len + 1) * 2 > C->strings_cap) {
        size_t cap = C->strings_cap ? C->strings_cap * 2 : 64;
        string_slot *table = rcgc__own_calloc(cap * sizeof *table);
        if (!table) {
            fail(S, ENOMEM);
            return 0;
        }
        for (size_t i = 0; i < C->strings_cap; i++) {
            if (!C->strings[i].text) continue;
            size_t j = C->strings[i].hash & (cap - 1);
            while (table[j].text) j = (j + 1) & (cap - 1);
            table[j] = C->strings[i];
        }
        rcgc__own_free(C->strings);
        C->strings = table;
        C->strings_cap = cap;
    }
    size_t i = h & (C->strings_cap - 1);
    for (; C->strings[i].text; i = (i + 1) & (C->strings_cap - 1)) {
        string_slot *s = &C->strings[i];
        if (s->hash == h && s->len == len && memcmp(s->text, text, len) == 0) return s->id;
    }
    char *copy = rcgc__own_calloc(len + 1);
    if (!copy || !room(S, len + 48)) {
        rcgc__own_free(copy);
        if (!copy) fail(S, ENOMEM);
        return 0;
    }
    memcpy(copy, text, len);
    uint32_t id = ++C->next_string;
    char *p = C->buf + C->len;
    *p++ = 's';
    *p++ = ' ';
    p = put_u64(p, id);
    *p++ = ' ';
    p = put_u64(p, len);
    *p++ = ' ';
    memcpy(p, text, len);
    p += len;
    *p++ = '\n';
    C->len = (size_t)(p - C->buf);
    C->strings[i] = (string_slot){copy, len, h, id};
    C->strings_len++;
    return id;
}

static uint32_t type_id(rcgc_state *S, const rcgc_type *type)
{
    if (!type) return 0;
    capture_file *C = S->capture;
    ptrmap_slot *slot = ptrmap_find(&C->types, type);
    if (slot) return (uint32_t)(uintptr_t)slot->value;
    uint32_t id = string_id(S, type->name ? type->name : "?");
    if (!id) return 0;
    if (!ptrmap_put(&C->types, type, (void *)(uintptr_t)id)) {
        fail(S, ENOMEM);
        return 0;
    }
    return id;
}

static uint32_t traceback_id(rcgc_state *S, const traceback *tb)
{
    if (!tb) return 0;
    capture_file *C = S->capture;
    ptrmap_slot *slot = ptrmap_find(&C->tracebacks, tb);
    if (slot) {
        tb_entry *e = slot->value;
        if (e->hash == tb->hash && e->nframes == tb->nframes && e->first == tb->site) return e->id;
    }
    /* Frames as string ids: func, file, line, most recent first. */
    uint32_t nframes = tb->nframes ? tb->nframes : 1;
    size_t need = 32 + (size_t)nframes * 3 * 11;
    uint64_t fields[3 * 64];
    if (nframes > 64) nframes = 64;
    for (uint32_t f = 0; f < nframes; f++) {
        const char *func = "?", *file = "?";
        int line = 0;
        char fbuf[256], filebuf[512];
        if (f == 0) {
            if (tb->site) {
                func = tb->site->func;
                file = tb->site->file;
                line = tb->site->line;
            }
        } else if (rcgc__symbolize(tb->pcs[f - 1], fbuf, sizeof fbuf, filebuf, sizeof filebuf,
                                   &line) == 0) {
            func = fbuf;
            file = filebuf[0] ? filebuf : "?";
        } else {
            snprintf(fbuf, sizeof fbuf, "%p", tb->pcs[f - 1]);
            func = fbuf;
            line = 0;
        }
        uint32_t fid = string_id(S, func), file_id = string_id(S, file);
        if (!fid || !file_id) return 0;
        fields[3 * f] = fid;
        fields[3 * f + 1] = file_id;
        fields[3 * f + 2] = line > 0 ? (uint64_t)line : 0;
    }
    tb_entry *e = slot ? slot->value : rcgc__own_calloc(sizeof *e);
    if (!e || !room(S, need)) {
        if (!e) fail(S, ENOMEM);
        return 0;
    }
    if (!slot && !ptrmap_put(&C->tracebacks, tb, e)) {
        rcgc__own_free(e);
        fail(S, ENOMEM);
        return 0;
    }
    *e = (tb_entry){++C->next_tb, tb->hash, tb->nframes, tb->site};
    char *p = C->buf + C->len;
    *p++ = 't';
    *p++ = ' ';
    p = put_u64(p, e->id);
    *p++ = ' ';
    p = put_u64(p, nframes);
    for (uint32_t i = 0; i < 3 * nframes; i++) {
        *p++ = ' ';
        p = put_u64(p, fields[i]);
    }
    *p++ = '\n';
    C->len = (size_t)(p - C->buf);
    return e->id;
}

/* ---- samples ------------------------------------------------------------------ */

static void sample(rcgc_state *S, uint64_t t)
{
    capture_file *C = S->capture;
    C->last_sample_ns = t;
    size_t alive = rcgc_census(C->census, C->census_cap);
    if (alive > C->census_cap) {
        rcgc_type_count *grown = rcgc__own_realloc(C->census, alive * 2 * sizeof *grown);
        if (!grown) {
            fail(S, ENOMEM);
            return;
        }
        C->census = grown;
        C->census_cap = alive * 2;
        alive = rcgc_census(C->census, C->census_cap);
    }
    uint32_t ids[alive ? alive : 1];
    for (size_t i = 0; i < alive; i++)
        if (!(ids[i] = type_id(S, C->census[i].type))) return;
    if (!room(S, 64 + alive * 63)) return;
    char *p = C->buf + C->len;
    *p++ = 'p';
    *p++ = ' ';
    p = put_u64(p, (t - C->start_ns) / 1000);
    *p++ = ' ';
    p = put_u64(p, S->bytes_in_use);
    *p++ = ' ';
    p = put_u64(p, alive);
    for (size_t i = 0; i < alive; i++) {
        *p++ = ' ';
        p = put_u64(p, ids[i]);
        *p++ = ' ';
        p = put_u64(p, C->census[i].count);
        *p++ = ' ';
        p = put_u64(p, C->census[i].bytes);
    }
    *p++ = '\n';
    C->len = (size_t)(p - C->buf);
}

static void tick(rcgc_state *S)
{
    capture_file *C = S->capture;
    if (++C->events < CLOCK_EVERY_EVENTS) return;
    C->events = 0;
    uint64_t t = now_ns();
    if (t - C->last_sample_ns >= SAMPLE_EVERY_NS) sample(S, t);
}

/* ---- events ---------------------------------------------------------------------- */

void rcgc__capture_on_alloc(rcgc_state *S, const void *block, size_t size, const traceback *tb,
                            const rcgc_type *type)
{
    uint64_t v[4] = {(uintptr_t)block, size, 0, 0};
    if (tb && !(v[2] = traceback_id(S, tb))) return;
    if (type && !(v[3] = type_id(S, type))) return;
    if (put_record(S, 'a', v, 4, true)) tick(S);
}

void rcgc__capture_on_free(rcgc_state *S, const void *block, size_t size)
{
    uint64_t v[2] = {(uintptr_t)block, size};
    if (put_record(S, 'f', v, 2, true)) tick(S);
}

void rcgc__capture_on_collection(rcgc_state *S, int generation, double seconds,
                                 size_t collected, size_t uncollectable)
{
    uint64_t t = now_ns();
    double ns = seconds > 0 ? seconds * 1e9 : 0;
    uint64_t v[5] = {(t - S->capture->start_ns) / 1000, generation < 0 ? 0 : (uint64_t)generation,
                     (uint64_t)ns, collected, uncollectable};
    if (put_record(S, 'c', v, 5, false)) sample(S, t);
}

/* ---- start and stop ------------------------------------------------------------------ */

static void release(rcgc_state *S)
{
    capture_file *C = S->capture;
    for (size_t i = 0; i < C->strings_cap; i++) rcgc__own_free(C->strings[i].text);
    rcgc__own_free(C->strings);
    PTRMAP_FOREACH(&C->tracebacks, s) rcgc__own_free(s->value);
    ptrmap_free(&C->tracebacks);
    ptrmap_free(&C->types);
    rcgc__own_free(C->census);
    rcgc__own_free(C->buf);
    C->strings = NULL;
    C->census = NULL;
    C->buf = NULL;
    C->strings_cap = C->strings_len = C->census_cap = C->len = C->cap = 0;
}

/* A start that failed leaves nothing behind: rcgc_capture_stop then says
   EINVAL, as when no capture was started. */
static void discard(rcgc_state *S)
{
    release(S);
    rcgc__own_free(S->capture);
    S->capture = NULL;
}

/* Ends the capture after an error: what is buffered is written if it can
   be, the file closed, and the error kept for rcgc_capture_stop. */
static void fail(rcgc_state *S, int error)
{
    capture_file *C = S->capture;
    S->capturing = false;
    rcgc__update_memory_observed(S);
    if (!C->error) C->error = error;
    if (C->fd >= 0) {
        if (error == ENOMEM) {   /* the buffer's whole records are still good */
            flush(C);
            C->error = ENOMEM;
        }
        close(C->fd);
        C->fd = -1;
    }
    release(S);
}

static void stop_capture(void) { (void)rcgc_capture_stop(); }

static void stop_capture_of(rcgc_state *S, void *arg)
{
    (void)arg;
    if (S->capturing) rcgc__as_current(S, stop_capture);
}

/* Every heap's capture: a thread may still be in its heap at exit. */
static void at_exit(void)
{
    rcgc__each_heap(stop_capture_of, NULL);
}

/* A child of fork(2) has a copy of the buffer and the file: were it to
   write them, the parent's records would come twice and the two processes'
   records would interleave.  The capture is the parent's; the child's
   stops at once, writing nothing. */
static void end_capture_in_child(rcgc_state *S, void *arg)
{
    (void)arg;
    if (!S->capturing) return;
    S->capturing = false;
    rcgc__update_memory_observed(S);
    close(S->capture->fd);
    S->capture->fd = -1;
    release(S);
    rcgc__own_free(S->capture);
    S->capture = NULL;
}

static void in_child(void)
{
    rcgc__each_heap(end_capture_in_child, NULL);
}

static void set_hooks(void)
{
    hooks_set = atexit(at_exit) == 0 && pthread_atfork(NULL, NULL, in_child) == 0;
}

int rcgc_capture_start(const char *path)
{
    rcgc_state *S = state();
    if (!path || !*path) {
        errno = EINVAL;
        return -1;
    }
    if (S->capturing) {
        errno = EBUSY;
        return -1;
    }
    if (!S->capture && !(S->capture = rcgc__own_calloc(sizeof *S->capture))) {
        errno = ENOMEM;
        return -1;
    }
    capture_file *C = S->capture;
    *C = (capture_file){.fd = -1};
    if (!(C->buf = rcgc__own_calloc(CAPTURE_BUFFER))) {
        discard(S);
        errno = ENOMEM;
        return -1;
    }
    C->cap = CAPTURE_BUFFER;
    C->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (C->fd < 0) {
        int e = errno;
        discard(S);
        errno = e;
        return -1;
    }
    pthread_once(&hooks_once, set_hooks);
    if (!hooks_set) {
        close(C->fd);
        C->fd = -1;
        discard(S);
        errno = ENOMEM;
        return -1;
    }
    C->start_ns = now_ns();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    C->len = (size_t)snprintf(C->buf, C->cap, "rcgc-capture 1 %ld %" PRIu64 "\n", (long)getpid(),
                              (uint64_t)wall.tv_sec * 1000000u + (uint64_t)wall.tv_nsec / 1000);
    S->capturing = true;
    rcgc__update_memory_observed(S);
    sample(S, C->start_ns);
    if (!S->capturing) {
        int e = C->error;
        discard(S);
        errno = e;
        return -1;
    }
    return 0;
}

int rcgc_capture_stop(void)
{
    rcgc_state *S = state();
    capture_file *C = S->capture;
    if (!C) {
        errno = EINVAL;
        return -1;
    }
    if (S->capturing) {
        uint64_t t = now_ns();
        sample(S, t);
        uint64_t v[1] = {(t - C->start_ns) / 1000};
        if (S->capturing) put_record(S, 'e', v, 1, false);
        if (S->capturing && !flush(C)) fail(S, C->error);
        if (S->capturing) {
            S->capturing = false;
            rcgc__update_memory_observed(S);
            if (close(C->fd) != 0) C->error = errno;
            C->fd = -1;
            release(S);
        }
    }
    release(S);   /* again: harmless, and whatever a failed record made after fail() goes */
    int error = C->error;
    C->error = 0;
    rcgc__own_free(C);
    S->capture = NULL;
    if (error) {
        errno = error;
        return -1;
    }
    return 0;
}

/* RCGC_TRACE_FILE=path: a capture from the start, and tracing with one
   frame unless RCGC_TRACEMALLOC=N asked for more (a capture without
   tracebacks could say nothing by line or file). */
void rcgc__capture_setup(void)
{
    const char *path = getenv("RCGC_TRACE_FILE");
    if (!path || !*path) return;
    if (!state()->tracing) rcgc_trace_start(1);
    if (rcgc_capture_start(path) != 0)
        fprintf(stderr, "rcgc: RCGC_TRACE_FILE=%s: cannot capture: %s\n", path, strerror(errno));
}
