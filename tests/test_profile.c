/*
 * Memory profiling's regions (rcgc_profile_*), the capture file
 * (rcgc_capture_*, RCGC_TRACE_FILE) and the rcgc-report program run on
 * captures: exact tables and reports for known workloads, every failure of
 * rcgc's own memory, and captures cut at every byte.
 *
 * The workloads drive the memory events (the calls trace.c makes for every
 * block) directly, with made-up blocks, sizes, sites and types, so the
 * expected text is exact in every build; the end-to-end tests make real
 * objects.
 */
#include "harness.h"

#include <fcntl.h>
#include <time.h>
#include <stdint.h>
#include <sys/stat.h>

#include "capture.h"
#include "internal.h"
#include "profile.h"
#include "rcgc_tools.h"

#ifndef RCGC_REPORT
#error "tests/report/CMakeLists.txt passes the path of rcgc-report"
#endif

/* ---- regions ----------------------------------------------------------------------- */

static void alloc_event(size_t size)
{
    if (state()->regions_active) rcgc__regions_on_alloc(state(), size);
}

static void free_event(size_t size)
{
    if (state()->regions_active) rcgc__regions_on_free(state(), size);
}

TEST(regions_nest_and_add_up)
{
    rcgc__regions_reset(state());
    rcgc_profile_begin("load");
    alloc_event(4096);
    rcgc_profile_begin("parse");
    alloc_event(2048);
    free_event(1024);
    rcgc_profile_end();
    rcgc_profile_begin("parse");
    alloc_event(1024);
    rcgc_profile_end();
    free_event(512);
    rcgc_profile_end();
    CHECK(!state()->regions_active);

    capture out;
    capture_reset(&out);
    rcgc_profile_print(capture_write, &out);
    CHECK_STR(out.text, "Region      Allocated         Freed     Increment          Peak  Occurrences\n"
                        "============================================================================\n"
                        "load        7.000 KiB     1.500 KiB     5.500 KiB     6.000 KiB            1\n"
                        "  parse     3.000 KiB     1.000 KiB     2.000 KiB     2.000 KiB            2\n");
    CHECK_EQ(out.lines, 4);
}

TEST(regions_print_open_ones_and_mib)
{
    rcgc__regions_reset(state());
    rcgc_profile_print(NULL, NULL);   /* no region yet: the heading alone, to stderr */
    rcgc_profile_begin("big");
    alloc_event(3 * 1048576);
    free_event(4 * 1048576);          /* freed more than it made: a negative increment */
    rcgc_profile_begin("inner");
    alloc_event(1536);
    capture out;
    capture_reset(&out);
    rcgc_profile_print(capture_write, &out);
    CHECK_STR(out.text, "Region      Allocated         Freed     Increment          Peak  Occurrences\n"
                        "============================================================================\n"
                        "big         3.001 MiB     4.000 MiB -1022.500 KiB     3.000 MiB            0 (open)\n"
                        "  inner     1.500 KiB     0.000 KiB     1.500 KiB     1.500 KiB            0 (open)\n");
    rcgc_profile_end();
    rcgc_profile_end();
    capture_reset(&out);
    rcgc_profile_print(capture_write, &out);
    CHECK_STR(out.text, "Region      Allocated         Freed     Increment          Peak  Occurrences\n"
                        "============================================================================\n"
                        "big         3.001 MiB     4.000 MiB -1022.500 KiB     3.000 MiB            1\n"
                        "  inner     1.500 KiB     0.000 KiB     1.500 KiB     1.500 KiB            1\n");
}

TEST(regions_misuse_sets_einval)
{
    rcgc__regions_reset(state());
    errno = 0;
    rcgc_profile_end();
    CHECK_EQ(errno, EINVAL);
    rcgc_profile_begin("outer");
    errno = 0;
    rcgc_profile_begin(NULL);
    CHECK_EQ(errno, EINVAL);
    alloc_event(100);                 /* counts in "outer" */
    rcgc_profile_end();               /* ends the unrecorded one */
    CHECK(state()->regions_active);
    rcgc_profile_end();
    errno = 0;
    rcgc_profile_end();
    CHECK_EQ(errno, EINVAL);
    capture out;
    capture_reset(&out);
    rcgc_profile_print(capture_write, &out);
    CHECK_STR(out.text, "Region     Allocated         Freed     Increment          Peak  Occurrences\n"
                        "===========================================================================\n"
                        "outer      0.098 KiB     0.000 KiB     0.098 KiB     0.098 KiB            1\n"
                        "(1 region occurrence not recorded: no name, or no memory)\n");
}

static const rcgc_type leaf_t = {.name = "leaf", .size = 16};

/* Real objects: the allocator's events reach the regions, tracing or not. */
TEST(regions_count_real_allocations)
{
    rcgc__regions_reset(state());
    size_t e = object_size(&leaf_t);
    for (int tracing = 0; tracing < 2; tracing++) {
        if (tracing) CHECK_EQ(rcgc_trace_start(1), 0);
        rcgc_profile_begin("outer");
        void *a = rcgc_new(&leaf_t);
        rcgc_profile_begin("inner");
        rcgc_decref(rcgc_new(&leaf_t));
        rcgc_profile_end();
        rcgc_profile_end();
        rcgc_decref(a);
        rcgc_trace_stop();
    }
    char want[512];
    snprintf(want, sizeof want,
             "Region      Allocated         Freed     Increment          Peak  Occurrences\n"
             "============================================================================\n"
             "outer  %10.3f KiB %9.3f KiB %9.3f KiB %9.3f KiB            2\n"
             "  inner%10.3f KiB %9.3f KiB %9.3f KiB %9.3f KiB            2\n",
             4.0 * (double)e / 1024, 2.0 * (double)e / 1024, 2.0 * (double)e / 1024,
             2.0 * (double)e / 1024, 2.0 * (double)e / 1024, 2.0 * (double)e / 1024, 0.0,
             (double)e / 1024);
    capture out;
    capture_reset(&out);
    rcgc_profile_print(capture_write, &out);
    CHECK_STR(out.text, want);
}

/* Every allocation of rcgc's own memory refused in turn: begin sets ENOMEM
   and records nothing, the ends still balance, the totals of what was
   recorded stay right. */
TEST(regions_without_own_memory)
{
    for (unsigned refuse = 1; refuse <= 6; refuse++) {
        pid_t pid = fork();
        if (pid == 0) {
            state()->own_refusal = refuse;
            rcgc_profile_begin("a");
            rcgc_profile_begin("b");
            alloc_event(1024);
            rcgc_profile_end();
            rcgc_profile_end();
            state()->own_refusal = 0;
            capture out;
            capture_reset(&out);
            rcgc_profile_print(capture_write, &out);
            bool ok = !state()->regions_active && out.lines >= 2 &&
                      strncmp(out.text, "Region", 6) == 0;
            /* a recorded "a" holds b's KiB */
            const char *a = strstr(out.text, "\na ");
            if (a && !strstr(a, "1.000 KiB")) ok = false;
            _exit(ok ? 0 : 1);
        }
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}

/* ---- captures ------------------------------------------------------------------------ */

static char workdir[256];

static const char *temp_path(const char *name)
{
    static char paths[16][512];
    static int next;
    if (!workdir[0]) {
        snprintf(workdir, sizeof workdir, "/tmp/rcgc-profile-test.XXXXXX");
        if (!mkdtemp(workdir)) abort();
    }
    char *p = paths[next++ % 16];
    snprintf(p, 512, "%s/%s", workdir, name);
    return p;
}

/* Runs rcgc-report with args; its stdout in out, stderr's first line in
   err; returns the exit status (or 128 + signal). */
static int run_report(const char *args, char *out, size_t cap, char *err, size_t err_cap)
{
    static const char *errfile;
    if (!errfile) errfile = strdup(temp_path("stderr.txt"));
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", RCGC_REPORT, args, errfile);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (err) {
        const char *text = read_text_file(errfile);
        size_t len = text ? strlen(text) : 0;
        if (len >= err_cap) len = err_cap - 1;
        memcpy(err, text ? text : "", len);
        err[len] = '\0';
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static const rcgc_type node_t = {.name = "node", .size = 32};
static const trace_site site_make = {"app.c", "make_node", 10};
static const trace_site site_grow = {"app.c", "grow", 20};
static const trace_site site_helper = {"lib.c", "helper", 5};

static traceback *new_tb(const trace_site *site, uint32_t hash, void *pc)
{
    traceback *tb = calloc(1, sizeof *tb + sizeof(void *));
    tb->nframes = pc ? 2 : 1;
    tb->hash = hash;
    tb->site = site;
    tb->pcs[0] = pc;
    return tb;
}

static void ev_alloc(uintptr_t block, size_t size, const traceback *tb, const rcgc_type *type)
{
    if (state()->capturing) rcgc__capture_on_alloc(state(), (void *)block, size, tb, type);
}

static void ev_free(uintptr_t block, size_t size)
{
    if (state()->capturing) rcgc__capture_on_free(state(), (void *)block, size);
}

/* The known workload: 8 allocations (1888 B), 4 frees (1168 B, 16 of them
   of a block made before the capture), the peak (1280 B) after the fifth
   event, one collection. */
static void workload(void)
{
    traceback *make = new_tb(&site_make, 1, NULL), *grow = new_tb(&site_grow, 2, NULL);
    traceback *helper = new_tb(&site_helper, 3, (void *)0x10);
    for (uintptr_t i = 0; i < 4; i++) ev_alloc(0x1000 + 0x100 * i, 64, make, &node_t);
    ev_alloc(0x2000, 1024, grow, NULL);
    ev_free(0x1000, 64);
    ev_free(0x1100, 64);
    if (state()->capturing) rcgc__capture_on_collection(state(), 2, 0.0005, 2, 0);
    ev_alloc(0x3000, 48, helper, &leaf_t);
    ev_alloc(0x3100, 48, helper, &leaf_t);
    ev_free(0x2000, 1024);
    ev_alloc(0x2100, 512, grow, NULL);
    ev_free(0x9999, 16);
    free(make);
    free(grow);
    free(helper);
}

static const char *make_capture(const char *name)
{
    const char *path = temp_path(name);
    CHECK_EQ(rcgc_capture_start(path), 0);
    CHECK(state()->capturing);
    workload();
    CHECK_EQ(rcgc_capture_stop(), 0);
    CHECK(!state()->capturing);
    return path;
}

static char out[1 << 16], err[4096];

TEST(capture_start_and_stop_errors)
{
    errno = 0;
    CHECK_EQ(rcgc_capture_stop(), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(rcgc_capture_start(NULL), -1);
    CHECK_EQ(errno, EINVAL);
    CHECK_EQ(rcgc_capture_start("/nonexistent-dir/x.cap"), -1);
    CHECK_EQ(errno, ENOENT);
    CHECK(!state()->capturing);
    const char *path = temp_path("a.cap");
    CHECK_EQ(rcgc_capture_start(path), 0);
    CHECK_EQ(rcgc_capture_start(path), -1);
    CHECK_EQ(errno, EBUSY);
    CHECK_EQ(rcgc_capture_stop(), 0);
    const char *text = read_text_file(path);
    CHECK(text && strncmp(text, "rcgc-capture 1 ", 15) == 0);
    CHECK(text && strstr(text, "\ne ") != NULL);
}

TEST(report_stats_exact)
{
    const char *cap = make_capture("w.cap");
    char args[600];
    snprintf(args, sizeof args, "stats '%s'", cap);
    CHECK_EQ(run_report(args, out, sizeof out, err, sizeof err), 0);
    CHECK_STR(out, "8 allocations (1888 B), 4 frees (1168 B); 5 blocks alive at the end (736 B), peak 1280 B\n"
                   "1 collection, pauses 0.500 ms in all, longest 0.500 ms\n"
                   "[ Top 10 lines ]\n"
                   "app.c:20: size=1536 B, count=2, average=768 B\n"
                   "app.c:10: size=256 B, count=4, average=64 B\n"
                   "lib.c:5: size=96 B, count=2, average=48 B\n");
    CHECK_STR(err, "");
    snprintf(args, sizeof args, "stats --by type -n 2 '%s'", cap);
    CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
    CHECK_STR(strstr(out, "[ Top"), "[ Top 2 types ]\n"
                                    "(storage): size=1536 B, count=2, average=768 B\n"
                                    "node: size=256 B, count=4, average=64 B\n");
    snprintf(args, sizeof args, "stats --by file '%s'", cap);
    CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
    CHECK_STR(strstr(out, "[ Top"), "[ Top 10 files ]\n"
                                    "app.c: size=1792 B, count=6, average=299 B\n"
                                    "lib.c: size=96 B, count=2, average=48 B\n");
    snprintf(args, sizeof args, "stats --by traceback '%s'", cap);
    CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
    CHECK_STR(strstr(out, "[ Top"), "[ Top 10 tracebacks ]\n"
                                    "app.c:20: size=1536 B, count=2, average=768 B\n"
                                    "  app.c:20 in grow\n"
                                    "app.c:10: size=256 B, count=4, average=64 B\n"
                                    "  app.c:10 in make_node\n"
                                    "lib.c:5: size=96 B, count=2, average=48 B\n"
                                    "  lib.c:5 in helper\n"
                                    "  ?:0 in 0x10\n");
}

TEST(report_leaks_exact)
{
    const char *cap = make_capture("w.cap");
    char args[600];
    snprintf(args, sizeof args, "leaks '%s'", cap);
    CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
    CHECK_STR(out, "5 blocks (736 B) allocated and never freed, from 3 tracebacks\n"
                   "[ Top 10 tracebacks ]\n"
                   "app.c:20: size=512 B, count=1, average=512 B, type=(storage)\n"
                   "  app.c:20 in grow\n"
                   "app.c:10: size=128 B, count=2, average=64 B, type=node\n"
                   "  app.c:10 in make_node\n"
                   "lib.c:5: size=96 B, count=2, average=48 B, type=leaf\n"
                   "  lib.c:5 in helper\n"
                   "  ?:0 in 0x10\n");
}

/* A second capture: the first workload, then 10 more nodes at app.c:10. */
TEST(report_compare_exact)
{
    const char *before = make_capture("before.cap");
    const char *after = temp_path("after.cap");
    CHECK_EQ(rcgc_capture_start(after), 0);
    workload();
    traceback *make = new_tb(&site_make, 1, NULL);
    for (uintptr_t i = 0; i < 10; i++) ev_alloc(0x8000 + 0x100 * i, 64, make, &node_t);
    CHECK_EQ(rcgc_capture_stop(), 0);
    free(make);
    char args[1200];
    snprintf(args, sizeof args, "compare '%s' '%s'", before, after);
    CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
    CHECK_STR(out, "[ Top 10 differences by lines ]\n"
                   "app.c:10: size=896 B (+640 B), count=14 (+10), average=64 B\n"
                   "app.c:20: size=1536 B (+0 B), count=2 (+0), average=768 B\n"
                   "lib.c:5: size=96 B (+0 B), count=2 (+0), average=48 B\n");
    snprintf(args, sizeof args, "compare --by type '%s' '%s'", after, before);
    CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
    CHECK_STR(out, "[ Top 10 differences by types ]\n"
                   "node: size=256 B (-640 B), count=4 (-10), average=64 B\n"
                   "(storage): size=1536 B (+0 B), count=2 (+0), average=768 B\n"
                   "leaf: size=96 B (+0 B), count=2 (+0), average=48 B\n");
}

TEST(report_bad_files_and_help)
{
    const char *junk = temp_path("junk.cap");
    FILE *f = fopen(junk, "w");
    fputs("hello\n", f);
    fclose(f);
    char args[600];
    snprintf(args, sizeof args, "stats '%s'", junk);
    CHECK_EQ(run_report(args, out, sizeof out, err, sizeof err), 2);
    CHECK_EQ(strlen(out), 0u);
    CHECK(strstr(err, "not an rcgc capture") != NULL);
    CHECK_EQ(strchr(err, '\n'), err + strlen(err) - 1);   /* one line */
    CHECK_EQ(run_report("stats /nonexistent.cap", out, sizeof out, err, sizeof err), 2);
    CHECK_STR(err, "rcgc-report: /nonexistent.cap: No such file or directory\n");
    f = fopen(junk, "w");
    fputs("rcgc-capture 1 12 34\nq 1 2\n", f);
    fclose(f);
    snprintf(args, sizeof args, "leaks '%s'", junk);
    CHECK_EQ(run_report(args, out, sizeof out, err, sizeof err), 2);
    CHECK(strstr(err, "bad record at byte 21") != NULL);
    f = fopen(junk, "w");
    fputs("rcgc-capture 9 12 34\n", f);
    fclose(f);
    snprintf(args, sizeof args, "stats '%s'", junk);
    CHECK_EQ(run_report(args, out, sizeof out, err, sizeof err), 2);
    CHECK(strstr(err, "version 9 is not supported") != NULL);

    CHECK_EQ(run_report("--help", out, sizeof out, NULL, 0), 0);
    CHECK(strncmp(out, "usage: rcgc-report COMMAND", 26) == 0);
    static const char *const commands[] = {"stats", "compare", "leaks", "timeline", "flamegraph"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(args, sizeof args, "%s --help", commands[i]);
        CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
        char want[64];
        snprintf(want, sizeof want, "usage: rcgc-report %s ", commands[i]);
        CHECK(strncmp(out, want, strlen(want)) == 0);
    }
    CHECK_EQ(run_report("frobnicate x", out, sizeof out, err, sizeof err), 1);
    CHECK_EQ(run_report("timeline x.cap", out, sizeof out, err, sizeof err), 1);
    CHECK(strstr(err, "needs -o PAGE.html") != NULL);
}

/* rcgc's own memory refused at each allocation in turn: the capture either
   does not start (ENOMEM, nothing written) or ends early (stop: -1 +
   ENOMEM) leaving a file the report reads; the program's own memory is
   never touched. */
TEST(capture_without_own_memory)
{
    const char *path = make_capture("whole.cap");
    char args[1200];
    snprintf(args, sizeof args, "leaks '%s'", path);
    CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
    static char whole[sizeof out];
    memcpy(whole, out, sizeof out);
    const char *cut = temp_path("refused.cap");
    snprintf(args, sizeof args, "leaks '%s'", cut);
    int succeeded = 0;
    for (unsigned refuse = 1; refuse < 64; refuse++) {
        unlink(cut);
        size_t in_use = rcgc_memory_in_use();
        state()->own_refusal = refuse;
        int started = rcgc_capture_start(cut);
        int start_errno = errno;
        if (started == 0) workload();
        errno = 0;
        int stopped = started == 0 ? rcgc_capture_stop() : -1;
        int stop_errno = errno;
        bool refused = state()->own_refusal == 0;
        state()->own_refusal = 0;
        CHECK(!state()->capturing);
        CHECK_EQ(rcgc_memory_in_use(), in_use);
        if (started != 0) {
            CHECK_EQ(start_errno, ENOMEM);
            CHECK(access(cut, F_OK) != 0);
            continue;
        }
        if (stopped == 0) {
            CHECK(!refused);
            CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
            CHECK_STR(out, whole);
            succeeded++;
            break;
        }
        CHECK_EQ(stop_errno, ENOMEM);
        int status = run_report(args, out, sizeof out, err, sizeof err);
        CHECK(status == 0 || status == 2);
        if (status == 2) CHECK(strstr(err, "header") != NULL);
    }
    CHECK_EQ(succeeded, 1);
}

/* The capture cut at every byte: never a crash; a cut header is exit 2,
   any other cut exit 0 with what was complete. */
TEST(report_reads_every_truncation)
{
    const char *cap = make_capture("full.cap");
    static char data[1 << 16];
    FILE *f = fopen(cap, "rb");
    size_t len = fread(data, 1, sizeof data, f);
    fclose(f);
    CHECK(len > 100 && len < sizeof data);
    size_t header = (size_t)((char *)memchr(data, '\n', len) - data) + 1;
    const char *cut = temp_path("cut.cap");
    char args[1200];
    snprintf(args, sizeof args, "leaks '%s'", cut);
    int bad = 0;
    for (size_t n = 0; n < len; n++) {
        f = fopen(cut, "wb");
        fwrite(data, 1, n, f);
        fclose(f);
        int status = run_report(args, out, sizeof out, err, sizeof err);
        int want = n < header ? 2 : 0;
        if (status != want && bad++ < 5)
            fprintf(stderr, "  cut at %zu of %zu: exit %d, stderr %s", n, len, status, err);
        if (n >= header && !strstr(err, "reporting what is complete") && bad++ < 5)
            fprintf(stderr, "  cut at %zu: no warning: %s", n, err);
    }
    CHECK_EQ(bad, 0);
}

/* A child forked while capturing writes nothing (the capture is the
   parent's); a program killed mid-capture leaves a file the report reads up
   to its last whole record. */
TEST(capture_fork_and_kill)
{
    const char *path = temp_path("fork.cap");
    CHECK_EQ(rcgc_capture_start(path), 0);
    workload();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        bool stopped = !state()->capturing;
        workload();
        exit(stopped ? 0 : 1);   /* exit: the atexit hook runs, and must write nothing */
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ(rcgc_capture_stop(), 0);
    char args[600];
    snprintf(args, sizeof args, "stats '%s'", path);
    CHECK_EQ(run_report(args, out, sizeof out, err, sizeof err), 0);
    CHECK(strncmp(out, "8 allocations (1888 B), 4 frees (1168 B);", 41) == 0);
    CHECK_STR(err, "");

    const char *killed = temp_path("killed.cap");
    pid = fork();
    if (pid == 0) {
        if (rcgc_capture_start(killed) != 0) _exit(1);
        for (;;) workload();
    }
    /* Killed once it has written something (a fixed pause was not always
       enough under valgrind on a loaded machine), and in the middle of
       writing more. */
    struct timespec pause = {0, 10 * 1000 * 1000};
    struct stat st;
    for (int waited = 0; waited < 3000; waited++) {
        if (stat(killed, &st) == 0 && st.st_size >= 4096) break;
        nanosleep(&pause, NULL);
    }
    nanosleep(&pause, NULL);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    snprintf(args, sizeof args, "leaks '%s'", killed);
    CHECK_EQ(run_report(args, out, sizeof out, err, sizeof err), 0);
    CHECK(strstr(err, "reporting what is complete") != NULL);
}

/* ---- end to end: real objects ---------------------------------------------------------- */

TEST(capture_of_real_objects)
{
    const char *path = temp_path("real.cap");
    CHECK_EQ(rcgc_capture_start(path), 0);
    void *objs[3];
    for (int i = 0; i < 3; i++) objs[i] = rcgc_new(&leaf_t);
    rcgc_decref(objs[0]);
    rcgc_collect(2);
    CHECK_EQ(rcgc_capture_stop(), 0);
    rcgc_decref(objs[1]);
    rcgc_decref(objs[2]);
    char args[600];
    snprintf(args, sizeof args, "stats --by type '%s'", path);
    CHECK_EQ(run_report(args, out, sizeof out, NULL, 0), 0);
    size_t each = object_size(&leaf_t);
    char want[256];
    snprintf(want, sizeof want, "leaf: size=%zu B, count=3, average=%zu B\n", 3 * each, each);
    CHECK(strstr(out, want) != NULL);
#ifndef RCGC_STRESS   /* where every allocation collects */
    CHECK(strstr(out, "\n1 collection, ") != NULL);
#endif
    const char *text = read_text_file(path);
    CHECK(text && strstr(text, "\nc ") && strstr(text, "\np "));
}

TEST(trace_file_environment)
{
    const char *path = temp_path("env.cap");
    char cmd[1200];
    /* this very program, in a child with RCGC_TRACE_FILE set */
    snprintf(cmd, sizeof cmd, "RCGC_TRACE_FILE='%s' '%s' --exact env_child >/dev/null 2>&1",
             path, harness_argv0);
    CHECK_EQ(system(cmd), 0);
    const char *text = read_text_file(path);
    CHECK(text && strncmp(text, "rcgc-capture 1 ", 15) == 0);
    CHECK(text && strstr(text, "\ne ") != NULL);   /* ended by the exit hook */
}

TEST(env_child)
{
    /* Run by trace_file_environment, which checks the file: a capture from
       the environment, ended at exit.  Run on its own, it has nothing to do. */
    if (!getenv("RCGC_TRACE_FILE")) SKIP("run in a child by trace_file_environment");
    void *o = rcgc_new(&leaf_t);
    rcgc_decref(o);
    /* The environment's capture is already running. */
    errno = 0;
    CHECK_EQ(rcgc_capture_start(temp_path("env-second.cap")), -1);
    CHECK_EQ(errno, EBUSY);
}
