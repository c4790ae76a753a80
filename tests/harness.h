/*
 * A small test harness: each test file is one program of TEST(...) functions.
 * Checks record a failure with file and line and go on; the program ends with
 * the line "N passed, N failed" (", N skipped" when SKIP ended some) and exits
 * non-zero if any test failed.
 * `prog NAME` runs only the tests whose name contains NAME, `prog --exact
 * NAME` only the test called NAME (exit 2 if there is none), and `prog --list`
 * prints the name of every test compiled in, one a line (CTest runs each test
 * on its own through these two; see tests/CMakeLists.txt).
 */
#ifndef RCGC_TEST_HARNESS_H
#define RCGC_TEST_HARNESS_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L   /* fork, pipe: include this header first */
#endif

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*harness_test_fn)(void);

struct harness_test {
    const char *name;
    harness_test_fn fn;
};

static struct harness_test harness_tests[512];
/* The program's own path, for tests that run it again in a child (under
   valgrind /proc/self/exe is valgrind's, not the test's). */
static const char *harness_argv0;
static int harness_ntests;
static int harness_current_failed;

static inline void harness_register(const char *name, harness_test_fn fn)
{
    if (harness_ntests < (int)(sizeof harness_tests / sizeof harness_tests[0]))
        harness_tests[harness_ntests++] = (struct harness_test){name, fn};
}

#define TEST(name)                                                        \
    static void name(void);                                               \
    __attribute__((constructor)) static void harness_reg_##name(void)     \
    {                                                                     \
        harness_register(#name, name);                                    \
    }                                                                     \
    static void name(void)

/* How a failed check is reported.  A program may define its own
   HARNESS_FAIL(fmt, ...) before including this header (to add context to
   each line); it must set harness_current_failed. */
#ifndef HARNESS_FAIL
#define HARNESS_FAIL(...)                                                 \
    do {                                                                  \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);                 \
        fprintf(stderr, __VA_ARGS__);                                     \
        fputc('\n', stderr);                                              \
        harness_current_failed = 1;                                       \
    } while (0)
#endif

/* End the current test as skipped, saying why: the program prints
   "skip NAME: why", counts it in its last line, and when it ran that one
   test alone (--exact) exits 77, which CTest shows as "Skipped". */
static const char *harness_current_skipped;
#define SKIP(why)                                                         \
    do {                                                                  \
        harness_current_skipped = (why);                                  \
        return;                                                           \
    } while (0)

/* For tests about the timing or counts of automatic collections, which a
   stress build (RCGC_STRESS: every allocation that may collect does)
   changes by design. */
#ifdef RCGC_STRESS
#define SKIP_IF_STRESS(why) SKIP("stress build: " why)
#else
#define SKIP_IF_STRESS(why) ((void)0)
#endif

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) HARNESS_FAIL("CHECK(%s) failed", #cond);             \
    } while (0)

/* Compare as unsigned long long / long long: covers size_t and int. */
#define CHECK_EQ(actual, expected)                                        \
    do {                                                                  \
        unsigned long long a_ = (unsigned long long)(actual);             \
        unsigned long long e_ = (unsigned long long)(expected);           \
        if (a_ != e_)                                                     \
            HARNESS_FAIL("%s == %lld, expected %s == %lld", #actual,      \
                         (long long)a_, #expected, (long long)e_);        \
    } while (0)

#define CHECK_PTR(actual, expected)                                       \
    do {                                                                  \
        const void *a_ = (const void *)(actual);                          \
        const void *e_ = (const void *)(expected);                        \
        if (a_ != e_)                                                     \
            HARNESS_FAIL("%s == %p, expected %s == %p", #actual, a_,      \
                         #expected, e_);                                  \
    } while (0)

#define CHECK_STR(actual, expected)                                       \
    do {                                                                  \
        const char *a_ = (actual), *e_ = (expected);                      \
        if (!a_ || !e_ || strcmp(a_, e_) != 0)                            \
            HARNESS_FAIL("%s == \"%s\", expected \"%s\"", #actual,        \
                         a_ ? a_ : "(null)", e_ ? e_ : "(null)");         \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                  \
    do {                                                                  \
        const char *h_ = (haystack), *n_ = (needle);                      \
        if (!h_ || !strstr(h_, n_))                                       \
            HARNESS_FAIL("%s does not contain \"%s\"; it is:\n%s",        \
                         #haystack, n_, h_ ? h_ : "(null)");              \
    } while (0)

/* Run fn in a child process; capture what it writes to stderr (up to
   cap-1 bytes) and return its wait status. */
static inline int harness_run_child(void (*fn)(void), char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while ((n = read(fds[0], out + len, cap - 1 - len)) > 0) {
        len += (size_t)n;
        if (len == cap - 1) break;
    }
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

/* Check that fn, run in a child, aborts (SIGABRT) and that what it writes
   to stderr contains `needle` (and `also`, unless NULL). */
#define CHECK_ABORTS(fn, needle, also)                                    \
    do {                                                                  \
        char abort_out_[2048];                                            \
        int abort_status_ = harness_run_child((fn), abort_out_, sizeof abort_out_); \
        CHECK(WIFSIGNALED(abort_status_) && WTERMSIG(abort_status_) == SIGABRT); \
        CHECK_CONTAINS(abort_out_, (needle));                             \
        const char *abort_also_ = (also);                                 \
        if (abort_also_) CHECK_CONTAINS(abort_out_, abort_also_);         \
    } while (0)

int main(int argc, char **argv)
{
    harness_argv0 = argv[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < harness_ntests; i++) printf("%s\n", harness_tests[i].name);
        return 0;
    }
    bool exact = argc == 3 && strcmp(argv[1], "--exact") == 0;
    const char *filter = exact ? argv[2] : argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < harness_ntests; i++) {
        if (filter && !(exact ? strcmp(harness_tests[i].name, filter) == 0
                              : strstr(harness_tests[i].name, filter) != NULL))
            continue;
        harness_current_failed = 0;
        harness_current_skipped = NULL;
        harness_tests[i].fn();
        if (harness_current_failed) {
            failed++;
            fprintf(stderr, "FAIL %s\n", harness_tests[i].name);
        } else if (harness_current_skipped) {
            skipped++;
            printf("skip %s: %s\n", harness_tests[i].name, harness_current_skipped);
        } else {
            passed++;
            printf("ok   %s\n", harness_tests[i].name);
        }
        fflush(stdout);
    }
    if (skipped)
        printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    else
        printf("%d passed, %d failed\n", passed, failed);
    if (exact && passed + failed + skipped == 0) {
        fprintf(stderr, "no test is called %s\n", filter);
        return 2;
    }
    if (failed) return 1;
    return exact && skipped ? 77 : 0;
}

#endif
