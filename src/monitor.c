/*
 * Leak detection over time: samples of memory in use and of live objects per
 * type, a rule that names the types whose count keeps rising, and a page
 * that plots it all.
 *
 * Memory is bounded whatever the program does.  The monitor keeps a ring of
 * the MONITOR_WINDOW most recent samples and follows at most MONITOR_TYPES
 * types, one column each (256 x 32 counts: about 72 KiB, taken with the
 * first sample from rcgc's own memory, rcgc__own_*, so outside
 * rcgc_memory_in_use and the allocation hook).  256 samples is a long
 * enough history to see a trend on the page and the rule needs only the
 * last MONITOR_RECENT; 32 types is more than most programs have, and a
 * leaking type, whose count keeps rising, soon becomes one of the most
 * numerous.  A type takes a free column the first time it is among the 32
 * most numerous types at a sample; when none is free, it takes the column of
 * the followed type with the fewest objects now, if it has more.  A column's
 * counts from before its type took it read UNKNOWN.
 *
 * A sample reads the census (census.c), the collector's statistics and
 * rcgc_memory_in_use; it runs no user code, changes no object, and may run
 * from the collector (RCGC_MONITOR=1: collect.c samples after each full
 * collection through rcgc__monitor_sample).
 *
 * Invariants:
 *  M1  samples[(first + i) % MONITOR_WINDOW], i < len, are the kept samples,
 *      oldest first; len <= MONITOR_WINDOW.
 *  M2  types[c] == NULL implies counts[c] == UNKNOWN in every kept sample.
 */
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "rcgc_tools.h"

#define MONITOR_WINDOW 256   /* samples kept */
#define MONITOR_TYPES 32     /* types followed */
#define MONITOR_RECENT 16    /* samples the rule judges */
#define MONITOR_MIN 8        /* samples needed to judge */
#define MONITOR_SHOWN 8      /* types plotted besides the suspects */
#define UNKNOWN SIZE_MAX

typedef struct monitor_sample {
    double time;                  /* seconds since the first sample */
    size_t memory;                /* rcgc_memory_in_use() */
    size_t collections;           /* since the previous sample, every generation */
    size_t full_collections;      /* of those, of the oldest generation */
    size_t counts[MONITOR_TYPES]; /* live objects per followed type, or UNKNOWN */
} monitor_sample;

struct monitor {
    monitor_sample samples[MONITOR_WINDOW];
    size_t first, len;
    size_t taken;                 /* samples ever taken */
    const rcgc_type *types[MONITOR_TYPES];
    size_t seen_collections, seen_full;
    double start;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const monitor_sample *kept(const monitor *m, size_t i)
{
    return &m->samples[(m->first + i) % MONITOR_WINDOW];
}

static const char *type_name(const rcgc_type *t)
{
    return t->name ? t->name : "?";
}

/* ---- sampling ------------------------------------------------------------------ */

static void forget_column(monitor *m, int c)
{
    for (size_t i = 0; i < MONITOR_WINDOW; i++) m->samples[i].counts[c] = UNKNOWN;
}

/* Gives the most numerous types columns (see the top of the file). */
static void follow_top_types(rcgc_state *S, monitor *m)
{
    rcgc_type_count top[MONITOR_TYPES];
    size_t n = rcgc_census(top, MONITOR_TYPES);
    if (n > MONITOR_TYPES) n = MONITOR_TYPES;
    for (size_t k = 0; k < n; k++) {
        int c, fewest = -1;
        for (c = 0; c < MONITOR_TYPES && m->types[c] != top[k].type; c++) {}
        if (c < MONITOR_TYPES) continue;
        for (c = 0; c < MONITOR_TYPES && m->types[c]; c++) {
            if (fewest < 0 || rcgc__census_count(S, m->types[c]) <
                                  rcgc__census_count(S, m->types[fewest]))
                fewest = c;
        }
        if (c == MONITOR_TYPES) {
            if (rcgc__census_count(S, m->types[fewest]) >= top[k].count) continue;
            c = fewest;
        }
        forget_column(m, c);
        m->types[c] = top[k].type;
    }
}

void rcgc__monitor_sample(rcgc_state *S)
{
    monitor *m = S->monitor;
    if (!m) {
        if (!(m = rcgc__own_calloc(sizeof *m))) {
            S->monitor_missed++;
            return;
        }
        for (int c = 0; c < MONITOR_TYPES; c++) forget_column(m, c);
        m->start = now_seconds();
        S->monitor = m;
    }
    size_t collections = 0;
    for (int g = 0; g < RCGC_NUM_GENERATIONS; g++) collections += S->stats[g].collections;
    size_t full = S->stats[RCGC_NUM_GENERATIONS - 1].collections;
    follow_top_types(S, m);
    monitor_sample *s;
    if (m->len < MONITOR_WINDOW) {
        s = &m->samples[(m->first + m->len++) % MONITOR_WINDOW];
    } else {
        s = &m->samples[m->first];
        m->first = (m->first + 1) % MONITOR_WINDOW;
    }
    s->time = now_seconds() - m->start;
    s->memory = S->bytes_in_use;
    s->collections = collections - m->seen_collections;
    s->full_collections = full - m->seen_full;
    for (int c = 0; c < MONITOR_TYPES; c++)
        s->counts[c] = m->types[c] ? rcgc__census_count(S, m->types[c]) : UNKNOWN;
    m->seen_collections = collections;
    m->seen_full = full;
    m->taken++;
}

void rcgc_monitor_sample(void)
{
    rcgc__monitor_sample(state());
}

void rcgc_monitor_reset(void)
{
    rcgc_state *S = state();
    rcgc__own_free(S->monitor);
    S->monitor = NULL;
    S->monitor_missed = 0;
}

/* ---- the rule ------------------------------------------------------------------ */

/* Newton's method from above, which decreases to the root: no libm. */
static double square_root(double x)
{
    if (x <= 0) return 0;
    double r = x > 1 ? x : 1;
    for (;;) {
        double next = (r + x / r) / 2;
        if (next >= r) return r;
        r = next;
    }
}

typedef struct suspect {
    const rcgc_type *type;
    int column;
    size_t samples;          /* judged: the last ones with a known count */
    size_t from, to;         /* count at the first and the last of them */
    size_t rises;            /* steps (sample to next) where the count rose */
    double per_sample, noise;
} suspect;

/* The last samples of column c with a known count, at most MONITOR_RECENT:
   returns how many, and the index in the ring order of the first. */
static size_t judged_span(const monitor *m, int c, size_t *first)
{
    size_t n = 0;
    while (n < m->len && n < MONITOR_RECENT && kept(m, m->len - 1 - n)->counts[c] != UNKNOWN)
        n++;
    *first = m->len - n;
    return n;
}

static bool judge_column(const monitor *m, int c, suspect *out)
{
    size_t first, n = judged_span(m, c, &first);
    if (!m->types[c] || n < MONITOR_MIN) return false;
    size_t steps = n - 1, rises = 0;
    double sum = 0, sumsq = 0, largest_fall = 0;
    for (size_t i = first + 1; i < first + n; i++) {
        double d = (double)kept(m, i)->counts[c] - (double)kept(m, i - 1)->counts[c];
        rises += d > 0;
        if (-d > largest_fall) largest_fall = -d;
        sum += d;
        sumsq += d * d;
    }
    double mean = sum / (double)steps;
    double spread = 2 * square_root(sumsq / (double)steps - mean * mean);
    double noise = spread > largest_fall ? spread : largest_fall;
    size_t from = kept(m, first)->counts[c], to = kept(m, first + n - 1)->counts[c];
    double growth = (double)to - (double)from;
    if (rises * 4 < steps * 3 || growth <= noise) return false;
    *out = (suspect){m->types[c], c, n, from, to, rises, growth / (double)steps, noise};
    return true;
}

/* Fastest growth first, then by name. */
static int by_growth(const void *a, const void *b)
{
    const suspect *x = a, *y = b;
    if (x->per_sample != y->per_sample) return x->per_sample > y->per_sample ? -1 : 1;
    return strcmp(type_name(x->type), type_name(y->type));
}

static size_t find_suspects(const monitor *m, suspect out[MONITOR_TYPES])
{
    size_t n = 0;
    for (int c = 0; m && c < MONITOR_TYPES; c++)
        if (judge_column(m, c, &out[n])) n++;
    qsort(out, n, sizeof *out, by_growth);
    return n;
}

/* ---- the report ---------------------------------------------------------------- */

/* The tracked object of type t that has lived longest: the first found in
   the generation lists, oldest generation first (frozen ones last). */
static const void *example_of(rcgc_state *S, const rcgc_type *t)
{
    if (!type_is_gc(t)) return NULL;
    for (int g = RCGC_NUM_GENERATIONS; g >= 0; g--) {
        const gc_link *list = g ? &S->generations[g - 1].head : &S->permanent;
        for (const gc_link *l = link_next(list); l != list; l = link_next(l))
            if (head_type(link_head((gc_link *)l)) == t) return body_of_link((gc_link *)l);
    }
    return NULL;
}

size_t rcgc_monitor_report(rcgc_write_fn out, void *arg)
{
    rcgc_state *S = state();
    const monitor *m = S->monitor;
    if (S->monitor_missed)
        rcgc__print_to(out, arg, "monitor: out of memory: %zu sample%s not taken\n",
                       S->monitor_missed, S->monitor_missed == 1 ? "" : "s");
    if (!m || m->len < MONITOR_MIN) {
        size_t n = m ? m->len : 0;
        rcgc__print_to(out, arg, "monitor: %zu sample%s, too few to judge (%d needed)\n", n,
                       n == 1 ? "" : "s", MONITOR_MIN);
        return 0;
    }
    /* Judged and copied before any line is printed: the sink is user code
       and may take samples of its own. */
    suspect found[MONITOR_TYPES];
    size_t n = find_suspects(m, found);
    size_t span = m->len < MONITOR_RECENT ? m->len : MONITOR_RECENT, collections = 0;
    for (size_t i = m->len - span + 1; i < m->len; i++) collections += kept(m, i)->collections;
    size_t mem_from = kept(m, m->len - span)->memory, mem_to = kept(m, m->len - 1)->memory;
    rcgc__print_to(out, arg,
                   "monitor: the last %zu of %zu samples: memory in use %zu -> %zu bytes, "
                   "%zu collection%s; %zu suspect%s\n",
                   span, m->taken, mem_from, mem_to, collections, collections == 1 ? "" : "s",
                   n, n == 1 ? "" : "s");
    for (size_t k = 0; k < n; k++) {
        const suspect *s = &found[k];
        void *example = (void *)example_of(S, s->type);
        if (example) rcgc_incref(example);   /* the sink may drop it while it prints */
        rcgc__print_to(out, arg,
                       "  %s: %zu -> %zu in %zu samples, %+.1f per sample (rose in %zu of %zu "
                       "steps, noise %.1f)%s\n",
                       type_name(s->type), s->from, s->to, s->samples, s->per_sample, s->rises,
                       s->samples - 1, s->noise,
                       example ? ", for example:" : ", not tracked: no chain to show");
        if (example) {
            bool alive = head_of(example)->refcnt > 1;
            rcgc_decref(example);
            if (!alive) example = NULL;
        }
        if (example && rcgc__print_chain(example, out, arg, "    ") < 0 && errno == ENOMEM)
            rcgc__print_to(out, arg, "    no chain: out of memory\n");
    }
    return n;
}

/* ---- the page ---------------------------------------------------------------------- */

static void put_escaped(FILE *f, const char *text)
{
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*p, f);
        }
    }
}

static void write_escaped_line(const char *text, void *arg)
{
    put_escaped(arg, text);
}

/* A plotted series: a followed type's column, or memory (column -1). */
typedef struct series {
    int column;
    const char *colour;
    const suspect *suspect;   /* NULL: not a suspect */
} series;

static double value_at(const monitor *m, const series *s, size_t i)
{
    const monitor_sample *x = kept(m, i);
    if (s->column < 0) return (double)x->memory;
    return x->counts[s->column] == UNKNOWN ? NAN : (double)x->counts[s->column];
}

#define CHART_W 1100
#define CHART_LEFT 90
#define CHART_RIGHT 20
#define CHART_TOP 12
#define CHART_BOTTOM 28

static double chart_x(const monitor *m, size_t i)
{
    double w = CHART_W - CHART_LEFT - CHART_RIGHT;
    return CHART_LEFT + (m->len > 1 ? w * (double)i / (double)(m->len - 1) : w / 2);
}

static void put_amount(FILE *f, double v, bool bytes)
{
    if (!bytes || v < 10 * 1024) fprintf(f, "%.0f%s", v, bytes ? " B" : "");
    else if (v < 10 * 1024 * 1024) fprintf(f, "%.1f KiB", v / 1024);
    else fprintf(f, "%.1f MiB", v / (1024 * 1024));
}

static void chart(FILE *f, const monitor *m, const char *id, int height, const series *ss,
                  size_t nseries, bool bytes)
{
    double top = 1;
    for (size_t k = 0; k < nseries; k++)
        for (size_t i = 0; i < m->len; i++) {
            double v = value_at(m, &ss[k], i);
            if (!isnan(v) && v > top) top = v;
        }
    double plot_h = height - CHART_TOP - CHART_BOTTOM, base = CHART_TOP + plot_h;
    fprintf(f, "<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\">\n", id, CHART_W, height, CHART_W, height);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%.0f\" fill=\"#fafafa\" "
               "stroke=\"#ccc\"/>\n", CHART_LEFT, CHART_TOP, CHART_W - CHART_LEFT - CHART_RIGHT,
            plot_h);
    for (int t = 0; t <= 4; t++) {   /* value grid */
        double y = base - plot_h * t / 4;
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
                   "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\" "
                   "fill=\"#555\">", CHART_LEFT, CHART_W - CHART_RIGHT, y, y, CHART_LEFT - 6,
                y + 4);
        put_amount(f, top * t / 4, bytes);
        fputs("</text>\n", f);
    }
    for (size_t i = 0; i < m->len; i++) {   /* collections */
        const monitor_sample *x = kept(m, i);
        if (!x->collections) continue;
        double cx = chart_x(m, i);
        fprintf(f, "<line class=\"collection%s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" "
                   "stroke=\"%s\" stroke-dasharray=\"4 3\"><title>%zu collection%s before "
                   "this sample</title></line>\n",
                x->full_collections ? " full" : "", cx, cx, CHART_TOP, base,
                x->full_collections ? "#777" : "#bbb", x->collections,
                x->collections == 1 ? "" : "s");
    }
    size_t step = m->len > 10 ? (m->len + 9) / 10 : 1;   /* sample numbers */
    for (size_t i = 0; i < m->len; i += step)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\" "
                   "fill=\"#555\">%zu</text>\n", chart_x(m, i), height - 8,
                m->taken - m->len + i + 1);
    for (size_t k = nseries; k-- > 0;) {   /* the first series drawn last, on top */
        const series *s = &ss[k];
        const char *name = s->column < 0 ? "memory in use" : type_name(m->types[s->column]);
        bool open = false;
        for (size_t i = 0; i <= m->len; i++) {
            double v = i < m->len ? value_at(m, s, i) : NAN;
            if (isnan(v)) {
                if (open) fputs("\"/>\n", f);
                open = false;
                continue;
            }
            if (!open) {
                fprintf(f, "<polyline class=\"series%s\" data-type=\"", s->suspect ? " suspect" : "");
                put_escaped(f, name);
                fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" "
                           "stroke-linejoin=\"round\" points=\"", s->colour,
                        s->suspect ? "3.5" : "1.8");
                open = true;
            }
            fprintf(f, "%.1f,%.1f ", chart_x(m, i), base - plot_h * v / top);
        }
    }
    fputs("</svg>\n", f);
}

static void legend_entry(FILE *f, const monitor *m, const series *s)
{
    fprintf(f, "<li%s><span class=\"swatch\" style=\"background:%s\"></span>",
            s->suspect ? " class=\"suspect\"" : "", s->colour);
    put_escaped(f, type_name(m->types[s->column]));
    const monitor_sample *last = kept(m, m->len - 1);
    if (last->counts[s->column] != UNKNOWN) fprintf(f, " (%zu)", last->counts[s->column]);
    if (s->suspect) fprintf(f, " &mdash; suspect, %+.1f per sample", s->suspect->per_sample);
    fputs("</li>\n", f);
}

/* The suspects, then the most numerous other followed types now. */
static size_t pick_series(const monitor *m, const suspect *found, size_t nfound,
                          series out[MONITOR_TYPES + MONITOR_SHOWN])
{
    static const char *const hot[] = {"#d62728", "#e6550d", "#c51b8a", "#a50f15"};
    static const char *const cool[] = {"#1f77b4", "#2ca02c", "#9467bd", "#17becf",
                                       "#8c564b", "#7f7f7f", "#bcbd22", "#393b79"};
    size_t n = 0;
    for (size_t k = 0; k < nfound; k++)
        out[n++] = (series){found[k].column, hot[k % 4], &found[k]};
    const monitor_sample *last = kept(m, m->len - 1);
    for (size_t shown = 0; shown < MONITOR_SHOWN; shown++) {
        int best = -1;
        for (int c = 0; c < MONITOR_TYPES; c++) {
            bool taken = last->counts[c] == UNKNOWN;
            for (size_t k = 0; k < n && !taken; k++) taken = out[k].column == c;
            if (!taken && (best < 0 || last->counts[c] > last->counts[best] ||
                           (last->counts[c] == last->counts[best] &&
                            strcmp(type_name(m->types[c]), type_name(m->types[best])) < 0)))
                best = c;
        }
        if (best < 0) break;
        out[n++] = (series){best, cool[shown % 8], NULL};
    }
    return n;
}

static void write_page(FILE *f, const monitor *m)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>rcgc memory monitor</title>\n<style>\n"
          "body{font-family:sans-serif;margin:16px 24px;color:#222;background:#fff}\n"
          "h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:14px 0 4px}\n"
          "p{margin:4px 0}ul.legend{list-style:none;padding:0;margin:4px 0;font-size:14px}\n"
          "ul.legend li{display:inline-block;margin-right:18px}\n"
          "li.suspect{font-weight:bold;color:#a50f15}\n"
          ".swatch{display:inline-block;width:14px;height:14px;margin-right:5px;"
          "vertical-align:-2px}\n"
          "pre{font-size:12px;background:#f4f4f4;padding:8px;overflow-x:auto}\n"
          "</style></head><body>\n<h1>rcgc memory monitor</h1>\n", f);
    if (!m || !m->len) {
        fputs("<p>No samples yet: call rcgc_monitor_sample(), or set RCGC_MONITOR=1.</p>\n"
              "</body></html>\n", f);
        return;
    }
    suspect found[MONITOR_TYPES];
    size_t nfound = m->len >= MONITOR_MIN ? find_suspects(m, found) : 0;
    series ss[MONITOR_TYPES + MONITOR_SHOWN];
    size_t nseries = pick_series(m, found, nfound, ss);
    const monitor_sample *last = kept(m, m->len - 1);
    fprintf(f, "<p>Samples %zu to %zu (%zu kept of %zu taken) over %.3f s. ",
            m->taken - m->len + 1, m->taken, m->len, m->taken, last->time - kept(m, 0)->time);
    if (m->len < MONITOR_MIN)
        fprintf(f, "Too few samples to judge (%d needed).", MONITOR_MIN);
    else if (!nfound)
        fputs("No suspects.", f);
    else {
        fprintf(f, "<strong class=\"suspects\">Suspect%s: ", nfound == 1 ? "" : "s");
        for (size_t k = 0; k < nfound; k++) {
            if (k) fputs(", ", f);
            put_escaped(f, type_name(found[k].type));
        }
        fputs("</strong>", f);
    }
    fputs("</p>\n<h2>Memory in use</h2>\n", f);
    series memory = {-1, "#1f77b4", NULL};
    chart(f, m, "memory", 210, &memory, 1, true);
    fputs("<h2>Live objects per type</h2>\n", f);
    chart(f, m, "types", 270, ss, nseries, false);
    fputs("<ul class=\"legend\">\n", f);
    for (size_t k = 0; k < nseries; k++) legend_entry(f, m, &ss[k]);
    fputs("<li><span class=\"swatch\" style=\"background:repeating-linear-gradient(90deg,"
          "#777 0 4px,#fff 4px 7px)\"></span>full collection</li>\n"
          "<li><span class=\"swatch\" style=\"background:repeating-linear-gradient(90deg,"
          "#bbb 0 4px,#fff 4px 7px)\"></span>younger collection</li>\n</ul>\n"
          "<h2>Report</h2>\n<pre>", f);
    rcgc_monitor_report(write_escaped_line, f);
    fputs("</pre>\n</body></html>\n", f);
}

int rcgc_monitor_write_html(const char *path)
{
    if (!path) {
        errno = EINVAL;
        return -1;
    }
    rcgc_state *S = state();
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    write_page(f, S->monitor);
    int failed = ferror(f), e = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        e = errno;
    }
    if (failed) {
        errno = e ? e : EIO;
        return -1;
    }
    return 0;
}
