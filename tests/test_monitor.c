/*
 * Leak detection over time (rcgc_monitor_*): a steady request loop yields no
 * suspect at any sample; the same loop leaking one closure per request is
 * named at its 8th sample with one chain; a leaking type without traverse
 * gets no chain; bounded memory; the page; RCGC_MONITOR=1; bad input; the
 * tools change nothing the program sees.
 */
#include "harness.h"

#include "capture.h"
#include "internal.h"
#include "monitor_requests.h"
#include "nodes.h"
#include "rcgc_tools.h"

static capture out;

/* The chain the reports show for the leaking request loop (masked). */
#define CHAIN_TO_FIRST_CLOSURE                                                        \
    "    <list 0x?> refcount 1, held from outside (1 reference not from tracked objects)\n" \
    "      [0] -> <closure 0x?> refcount 1\n"

/* The report into `out`; its number of suspects. */
static size_t report(void)
{
    capture_reset(&out);
    return rcgc_monitor_report(capture_write, &out);
}

/* A report's expected text: its first line from these figures, then
   `rest` (the suspects' lines). */
static const char *expected_report(size_t judged, size_t taken, size_t memory_from,
                                   size_t memory_to, size_t collections, size_t suspects,
                                   const char *rest)
{
    static char text[2048];
    snprintf(text, sizeof text,
             "monitor: the last %zu of %zu samples: memory in use %zu -> %zu bytes, "
             "%zu collection%s; %zu suspect%s\n%s", judged, taken, memory_from, memory_to,
             collections, collections == 1 ? "" : "s", suspects, suspects == 1 ? "" : "s", rest);
    return text;
}

static void quiet_sink(const char *line, void *arg)
{
    (void)line, (void)arg;
}

/* Runs `samples` sampled requests, reporting after each: the number of the
   first sample with a suspect (0: none); *total adds up every report's
   suspects.  `out` keeps the last report. */
static size_t first_flagged(requests *r, size_t samples, int leaks, size_t *total)
{
    size_t first = 0;
    *total = 0;
    for (size_t k = 1; k <= samples; k++) {
        requests_sampled(r, 1, leaks);
        size_t n = report();
        *total += n;
        if (n && !first) first = k;
    }
    return first;
}

TEST(too_few_samples_are_not_judged)
{
    rcgc_monitor_reset();
    CHECK_EQ(report(), 0);
    CHECK_STR(out.text, "monitor: 0 samples, too few to judge (8 needed)\n");
    requests r;
    requests_begin(&r);
    requests_sampled(&r, 7, LEAK_CLOSURE);
    CHECK_EQ(report(), 0);
    CHECK_STR(out.text, "monitor: 7 samples, too few to judge (8 needed)\n");
    requests_end(&r);
}

TEST(steady_requests_have_no_suspect_at_any_of_300_samples)
{
    requests r;
    requests_begin(&r);
    size_t total;
    /* 300 samples: more than the 256 kept */
    CHECK_EQ(first_flagged(&r, 300, LEAK_NOTHING, &total), 0);
    CHECK_EQ(total, 0);
    CHECK_STR(out.text, expected_report(16, 300, r.memory_at[284], r.memory_at[299], 0, 0, ""));
    requests_end(&r);
}

TEST(one_closure_leaked_per_request_is_named_at_the_8th_sample)
{
    requests r;
    requests_begin(&r);
    size_t total;
    CHECK_EQ(first_flagged(&r, 8, LEAK_CLOSURE, &total), 8);
    CHECK_EQ(total, 1);
    CHECK_STR(captured_masked(&out),
              expected_report(8, 8, r.memory_at[0], r.memory_at[7], 0, 1,
                              "  closure: 1 -> 8 in 8 samples, +1.0 per sample (rose in 7 of 7 "
                              "steps, noise 0.0), for example:\n" CHAIN_TO_FIRST_CLOSURE));
    /* 20 samples: still the one suspect, judged over the last 16 */
    requests_sampled(&r, 12, LEAK_CLOSURE);
    CHECK_EQ(report(), 1);
    CHECK_STR(captured_masked(&out),
              expected_report(16, 20, r.memory_at[4], r.memory_at[19], 0, 1,
                              "  closure: 5 -> 20 in 16 samples, +1.0 per sample (rose in 15 of "
                              "15 steps, noise 0.0), for example:\n" CHAIN_TO_FIRST_CLOSURE));
    /* the leak fixed: the count falls by 20, far more than it grew since */
    rcgc_list_clear(r.registry);
    requests_sampled(&r, 1, LEAK_NOTHING);
    CHECK_EQ(rcgc_monitor_report(quiet_sink, NULL), 0);
    requests_end(&r);
}

TEST(a_leaking_type_without_traverse_has_no_chain)
{
    requests r;
    requests_begin(&r);
    requests_sampled(&r, 10, LEAK_BUFFER);
    CHECK_EQ(report(), 1);
    CHECK_STR(out.text,
              expected_report(10, 10, r.memory_at[0], r.memory_at[9], 0, 1,
                              "  buffer: 1 -> 10 in 10 samples, +1.0 per sample (rose in 9 of 9 "
                              "steps, noise 0.0), not tracked: no chain to show\n"));
    requests_end(&r);
}

TEST(two_leaks_fastest_first)
{
    requests r;
    requests_begin(&r);
    for (int i = 0; i < 12; i++) {
        requests_handle(&r, LEAK_CLOSURE | LEAK_BUFFER);
        requests_handle(&r, LEAK_BUFFER);
        rcgc_monitor_sample();
    }
    CHECK_EQ(report(), 2);
    CHECK_STR(captured_masked(&out),
              expected_report(12, 12, r.memory_at[1], r.memory_at[23], 0, 2,
                              "  buffer: 2 -> 24 in 12 samples, +2.0 per sample (rose in 11 of "
                              "11 steps, noise 0.0), not tracked: no chain to show\n"
                              "  closure: 1 -> 12 in 12 samples, +1.0 per sample (rose in 11 of "
                              "11 steps, noise 0.0), for example:\n" CHAIN_TO_FIRST_CLOSURE));
    requests_end(&r);
}

/* Samples a count of "tick" objects changed by deltas[i] between sample i
   and i + 1, from the objects held in *held; returns the report's result. */
static const rcgc_type tick_type = {.name = "tick", .size = 8};
static size_t judge_pattern(const char *deltas, void **held, size_t *n)
{
    rcgc_monitor_reset();
    rcgc_monitor_sample();
    for (const char *d = deltas; *d; d++) {
        int change = *d >= 'a' ? -(*d - 'a' + 1) : *d - '0';
        for (; change > 0; change--) held[(*n)++] = rcgc_new(&tick_type);
        for (; change < 0; change++) rcgc_decref(held[--*n]);
        rcgc_monitor_sample();
    }
    return report();
}

/* Deltas: a digit adds that many objects, a letter frees (a: 1, b: 2 ...). */
TEST(the_rule_at_its_edges)
{
    void *held[256];
    size_t n = 0;
    /* rising in 11 of 15 steps (73 %): no */
    CHECK_EQ(judge_pattern("111011101110110", held, &n), 0);
    /* in 12 of 15 (80 %, the fewest that reach 75 %): yes */
    CHECK_EQ(judge_pattern("111101111011110", held, &n), 1);
    CHECK_CONTAINS(out.text, "  tick: 11 -> 23 in 16 samples, +0.8 per sample (rose in 12 of "
                             "15 steps, noise 0.8), not tracked: no chain to show\n");
    /* in 6 of 7 (the first judgement, at 8 samples): yes */
    CHECK_EQ(judge_pattern("1110111", held, &n), 1);
    /* in 13 of 15, but a fall of 7 as large as the growth: no */
    CHECK_EQ(judge_pattern("1111111g0111111", held, &n), 0);
    /* a fall of 6 smaller than the growth of 7 (noise 2 x 1.7 = 3.5): yes */
    CHECK_EQ(judge_pattern("1111111f0111111", held, &n), 1);
    CHECK_CONTAINS(out.text, "rose in 13 of 15 steps, noise 6.0)");
    /* big steady swings, up 5 by 5 then down 20: no */
    CHECK_EQ(judge_pattern("5555t5555t5555t", held, &n), 0);
    while (n) rcgc_decref(held[--n]);
    rcgc_monitor_reset();
}

/* More than 32 types: the most numerous are followed, and a type that
   becomes numerous takes the place of the least numerous. */
TEST(a_newly_numerous_type_is_followed)
{
    static rcgc_type many[40];
    static char names[40][8];
    void *held[40 * 41 / 2 + 40];
    size_t n = 0;
    rcgc_monitor_reset();
    for (int t = 0; t < 40; t++) {
        snprintf(names[t], sizeof names[t], "t%02d", t);
        many[t] = (rcgc_type){.name = names[t], .size = 8};
        for (int i = 0; i <= t; i++) held[n++] = rcgc_new(&many[t]);
    }
    for (int k = 0; k < 8; k++) rcgc_monitor_sample();
    CHECK_EQ(rcgc_monitor_report(quiet_sink, NULL), 0);
    /* t00 (1 object, not followed) leaks 10 a sample from now on */
    void *more[80];
    size_t m = 0;
    for (int k = 0; k < 8; k++) {
        for (int i = 0; i < 10; i++) more[m++] = rcgc_new(&many[0]);
        rcgc_monitor_sample();
    }
    CHECK_EQ(report(), 1);
    CHECK_CONTAINS(out.text, "  t00: 11 -> 81 in 8 samples, +10.0 per sample");
    while (m) rcgc_decref(more[--m]);
    while (n) rcgc_decref(held[--n]);
    rcgc_monitor_reset();
}

/* ---- the page ---------------------------------------------------------------------- */

TEST(the_page_plots_memory_and_types_and_names_the_suspect)
{
    requests r;
    requests_begin(&r);
    for (int k = 0; k < 30; k++) {
        requests_sampled(&r, 1, LEAK_CLOSURE);
        if (k == 12) rcgc_collect(0);
        if (k == 20) rcgc_collect(2);
    }
    char path[] = "/tmp/rcgc-monitor-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(rcgc_monitor_write_html(path), 0);
    const char *page = read_text_file(path);
    CHECK(page != NULL);
    if (page) {
        CHECK_CONTAINS(page, "<!DOCTYPE html>");
        CHECK_CONTAINS(page, "Samples 1 to 30 (30 kept of 30 taken)");
        CHECK_CONTAINS(page, "<strong class=\"suspects\">Suspect: closure</strong>");
        CHECK_CONTAINS(page, "<svg id=\"memory\"");
        CHECK_CONTAINS(page, "<polyline class=\"series\" data-type=\"memory in use\"");
        CHECK_CONTAINS(page, "<svg id=\"types\"");
        CHECK_CONTAINS(page, "<polyline class=\"series suspect\" data-type=\"closure\"");
        CHECK_CONTAINS(page, "<polyline class=\"series\" data-type=\"event\"");
        CHECK_CONTAINS(page, "<li class=\"suspect\"><span class=\"swatch\" style=\"background:"
                             "#d62728\"></span>closure (30) &mdash; suspect, +1.0 per sample</li>");
        CHECK_CONTAINS(page, "<line class=\"collection\" ");
        CHECK_CONTAINS(page, "<line class=\"collection full\" ");
        CHECK_CONTAINS(page, "  closure: 15 -&gt; 30 in 16 samples, +1.0 per sample");
        CHECK_CONTAINS(page, "&lt;list 0x");
        /* self-contained: nothing to fetch */
        CHECK(!strstr(page, "src="));
        CHECK(!strstr(page, "href"));
        CHECK(!strstr(page, "url("));
        CHECK(!strstr(page, "@import"));
        CHECK(!strstr(page, "<script"));
    }
    unlink(path);
    requests_end(&r);
}

TEST(the_page_without_samples_says_so)
{
    rcgc_monitor_reset();
    char path[] = "/tmp/rcgc-monitor-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_EQ(rcgc_monitor_write_html(path), 0);
    const char *page = read_text_file(path);
    CHECK(page && strstr(page, "No samples yet"));
    unlink(path);
}

TEST(bad_paths_fail_with_errno)
{
    errno = 0;
    CHECK_EQ(rcgc_monitor_write_html(NULL), -1);
    CHECK_EQ(errno, EINVAL);
    errno = 0;
    CHECK_EQ(rcgc_monitor_write_html("/nonexistent-dir/monitor.html"), -1);
    CHECK_EQ(errno, ENOENT);
    requests r;
    requests_begin(&r);
    requests_sampled(&r, 10, LEAK_CLOSURE);
    errno = 0;
    if (access("/dev/full", W_OK) == 0) {   /* every write fails: ENOSPC */
        CHECK_EQ(rcgc_monitor_write_html("/dev/full"), -1);
        CHECK_EQ(errno, ENOSPC);
    }
    requests_end(&r);
}

/* ---- rcgc's own memory refused ----------------------------------------------------- */

/* state()->own_refusal = n: the n-th allocation of rcgc's own
   bookkeeping fails (the hook never sees those). */
TEST(refused_bookkeeping_memory)
{
    rcgc_monitor_reset();
    state()->own_refusal = 1;   /* the first sample's ring */
    rcgc_monitor_sample();
    CHECK_EQ(state()->own_refusal, 0);
    CHECK_EQ(report(), 0);
    CHECK_STR(out.text, "monitor: out of memory: 1 sample not taken\n"
                        "monitor: 0 samples, too few to judge (8 needed)\n");
    requests r;
    requests_begin(&r);   /* resets: the missed sample is forgotten */
    requests_sampled(&r, 10, LEAK_CLOSURE);
    size_t memory = rcgc_memory_in_use(), refcount = rcgc_refcount(r.registry);
    const char *summary = expected_report(10, 10, r.memory_at[0], r.memory_at[9], 0, 1,
                                          "  closure: 1 -> 10 in 10 samples, +1.0 per sample "
                                          "(rose in 9 of 9 steps, noise 0.0), for example:\n");
    char without_chain[2200], full[2400];
    snprintf(without_chain, sizeof without_chain, "%s    no chain: out of memory\n", summary);
    snprintf(full, sizeof full, "%s" CHAIN_TO_FIRST_CLOSURE, summary);
    unsigned chains_lost = 0, n;
    for (n = 1; n <= 32; n++) {   /* the report: its chain fails, or all of it prints */
        state()->own_refusal = n;
        CHECK_EQ(report(), 1);
        bool hit = state()->own_refusal == 0;
        state()->own_refusal = 0;
        const char *text = captured_masked(&out);
        chains_lost += strcmp(text, without_chain) == 0;
        CHECK(strcmp(text, without_chain) == 0 || strcmp(text, full) == 0);
        if (!hit) break;
    }
    CHECK(chains_lost > 0 && n <= 32);
    CHECK_STR(captured_masked(&out), full);
    char path[] = "/tmp/rcgc-monitor-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    for (n = 1; n <= 32; n++) {   /* the page: written whatever is refused */
        state()->own_refusal = n;
        CHECK_EQ(rcgc_monitor_write_html(path), 0);
        bool hit = state()->own_refusal == 0;
        state()->own_refusal = 0;
        if (!hit) break;
        const char *page = read_text_file(path);
        CHECK(page && strstr(page, "</html>"));
    }
    CHECK(n <= 32);
    unlink(path);
    CHECK_EQ(rcgc_memory_in_use(), memory);
    CHECK_EQ(rcgc_refcount(r.registry), refcount);
    requests_end(&r);
}

/* ---- nothing the program sees changes -------------------------------------------- */

TEST(sampling_reporting_and_the_page_change_nothing)
{
    requests r;
    requests_begin(&r);
    requests_sampled(&r, 12, LEAK_CLOSURE);
    void *first = rcgc_list_get(r.registry, 0);
    size_t counts[3], counts_after[3];
    rcgc_get_count(counts);
    size_t refs[3] = {rcgc_refcount(r.registry), rcgc_refcount(first), rcgc_refcount(r.app)};
    size_t memory = rcgc_memory_in_use();
    rcgc_gen_stats stats[3], stats_after[3];
    for (int g = 0; g < 3; g++) rcgc_get_stats(g, &stats[g]);
    rcgc_monitor_sample();
    CHECK_EQ(rcgc_monitor_report(quiet_sink, NULL), 1);
    char path[] = "/tmp/rcgc-monitor-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_EQ(rcgc_monitor_write_html(path), 0);
    unlink(path);
    rcgc_get_count(counts_after);
    for (int g = 0; g < 3; g++) rcgc_get_stats(g, &stats_after[g]);
    for (int g = 0; g < 3; g++) {
        CHECK_EQ(counts_after[g], counts[g]);
        CHECK_EQ(stats_after[g].collections, stats[g].collections);
    }
    CHECK_EQ(rcgc_refcount(r.registry), refs[0]);
    CHECK_EQ(rcgc_refcount(first), refs[1]);
    CHECK_EQ(rcgc_refcount(r.app), refs[2]);
    CHECK_EQ(rcgc_memory_in_use(), memory);
    requests_end(&r);
}

/* ---- RCGC_MONITOR=1 -------------------------------------------------------------------- */

/* Run in a child (harness_run_child) in a heap of its own, where the body
   sets the variable and reads the environment as the default heap does when
   rcgc starts; the heap is destroyed at the end, so valgrind, which checks
   the child too, sees nothing lost. */
static void (*fresh_body)(void);
static void in_fresh_state(void)
{
    rcgc_heap *fresh = rcgc_heap_new();
    rcgc_heap *was = rcgc_heap_enter(fresh);
    fresh_body();
    rcgc_heap_enter(was);
    CHECK_EQ(rcgc_heap_destroy(fresh), 0);
}

static void full_collections_sample(void)
{
    setenv("RCGC_MONITOR", "1", 1);
    rcgc__read_environment();
    requests r;
    requests_begin(&r);
    for (int k = 0; k < 10; k++) {
        requests_handle(&r, LEAK_CLOSURE);
        rcgc_collect(0);   /* no sample */
        rcgc_collect(2);   /* a sample */
    }
    /* to stderr, which the parent reads */
    fprintf(stderr, "%zu %zu\n", r.memory_at[0], r.memory_at[9]);
    rcgc_monitor_report(NULL, NULL);
    requests_end(&r);
}

static void no_variable_no_samples(void)
{
    unsetenv("RCGC_MONITOR");
    rcgc__read_environment();
    for (int k = 0; k < 10; k++) rcgc_collect(2);
    rcgc_monitor_report(NULL, NULL);
}

TEST(rcgc_monitor_1_samples_after_every_full_collection)
{
    static capture child;
    fresh_body = full_collections_sample;
    int status = harness_run_child(in_fresh_state, child.text, sizeof child.text);
    child.len = strlen(child.text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    size_t from = 0, to = 0;
    CHECK_EQ(sscanf(child.text, "%zu %zu", &from, &to), 2);
    const char *masked = captured_masked(&child), *report_text = strchr(masked, '\n');
    CHECK_STR(report_text ? report_text + 1 : masked,
              expected_report(10, 10, from, to, 18, 1,
                              "  closure: 1 -> 10 in 10 samples, +1.0 per sample (rose in 9 of 9 "
                              "steps, noise 0.0), for example:\n" CHAIN_TO_FIRST_CLOSURE));
    fresh_body = no_variable_no_samples;
    status = harness_run_child(in_fresh_state, child.text, sizeof child.text);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_STR(child.text, "monitor: 0 samples, too few to judge (8 needed)\n");
}
