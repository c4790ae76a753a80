/*
 * Timing and reporting shared by the benchmark programs.  Every program
 * prints its figures as lines "RESULT <workload> <implementation> <unit>
 * <value>" so that bench/run.sh can put peers side by side.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_RUNS 51

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int bench_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median resists the odd run disturbed by the other users of a shared
   machine better than the mean does.  Sorts `values` in place. */
static inline double bench_median(double *values, int count)
{
    qsort(values, (size_t)count, sizeof *values, bench_compare_doubles);
    if (count % 2) return values[count / 2];
    return (values[count / 2 - 1] + values[count / 2]) / 2;
}

static inline void bench_result(const char *workload, const char *impl,
                                const char *unit, double value)
{
    printf("RESULT %s %s %s %.2f\n", workload, impl, unit, value);
    fflush(stdout);
}

/* A positive integer argument, or the default when absent. */
static inline long bench_arg(int argc, char **argv, int index, long fallback)
{
    if (argc <= index) return fallback;
    char *end;
    long value = strtol(argv[index], &end, 10);
    if (*end || value <= 0) {
        fprintf(stderr, "%s: argument %d must be a positive integer\n", argv[0], index);
        exit(2);
    }
    return value;
}

/* Resident memory from /proc/self/status (Linux), in MiB: "VmHWM" the peak
   (getrusage's ru_maxrss), "VmRSS" the current; -1 where it cannot be read. */
static inline double bench_rss_mib(const char *field)
{
    FILE *status = fopen("/proc/self/status", "r");
    if (!status) return -1;
    char line[256];
    double kib = -1;
    size_t length = strlen(field);
    while (fgets(line, sizeof line, status))
        if (strncmp(line, field, length) == 0 && line[length] == ':') {
            kib = strtod(line + length + 1, NULL);
            break;
        }
    fclose(status);
    return kib < 0 ? -1 : kib / 1024;
}
static inline double bench_peak_rss_mib(void) { return bench_rss_mib("VmHWM"); }

#endif
