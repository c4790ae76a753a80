/*
 * Profiling memory, the way Python's tracemalloc and memory_profiler do it:
 * a small document store is loaded, indexed and queried; tracing attributes
 * every byte to the line that asked for it, snapshots compare the phases, a
 * region table says what each phase allocated and kept, and a capture file
 * records the whole run for rcgc-report (stats, leaks, timeline pages).
 *
 *   build/examples/profile [capture file (profile.rcgccap)]
 *   build/tools/rcgc-report timeline profile.rcgccap -o timeline.html
 */
#include <rcgc.h>
#include <rcgc_tools.h>

#include <stdio.h>
#include <stdlib.h>

/* A document: a dict of fields and a list of words (dicts with a "text"). */
static void *make_word(int n)
{
    void *word = rcgc_dict_new();
    void *text = rcgc_list_new();   /* stands for the text's characters */
    for (int i = 0; i < n % 7 + 1; i++) rcgc_list_append(text, NULL);
    rcgc_dict_set(word, "text", text);
    rcgc_decref(text);
    return word;
}

static void *make_document(int id)
{
    void *doc = rcgc_dict_new();
    void *words = rcgc_list_new();
    for (int i = 0; i < 40; i++) {
        void *word = make_word(id * 40 + i);
        rcgc_list_append(words, word);
        rcgc_decref(word);
    }
    rcgc_dict_set(doc, "words", words);
    rcgc_decref(words);
    return doc;
}

static void *load(int documents)
{
    void *store = rcgc_list_new();
    for (int i = 0; i < documents; i++) {
        void *doc = make_document(i);
        rcgc_list_append(store, doc);
        rcgc_decref(doc);
    }
    return store;
}

/* The index maps a bucket name to the list of documents in it. */
static void *build_index(void *store)
{
    void *index = rcgc_dict_new();
    char key[32];
    for (size_t i = 0; i < rcgc_list_len(store); i++) {
        snprintf(key, sizeof key, "bucket-%zu", i % 50);
        void *bucket = rcgc_dict_get(index, key);
        if (!bucket) {
            bucket = rcgc_list_new();
            rcgc_dict_set(index, key, bucket);
            rcgc_decref(bucket);
        }
        rcgc_list_append(bucket, rcgc_list_get(store, i));
    }
    return index;
}

/* A query builds results it throws away: memory comes and goes. */
static size_t query(void *index, int rounds)
{
    size_t found = 0;
    for (int r = 0; r < rounds; r++) {
        void *results = rcgc_list_new();
        void *bucket = rcgc_dict_get(index, "bucket-7");
        for (size_t i = 0; i < rcgc_list_len(bucket); i++)
            rcgc_list_append(results, rcgc_list_get(bucket, i));
        found += rcgc_list_len(results);
        rcgc_decref(results);
    }
    return found;
}

static void print_line(const char *line, void *arg)
{
    (void)arg;
    fputs(line, stdout);
}

int main(int argc, char **argv)
{
    const char *capture = argc > 1 ? argv[1] : "profile.rcgccap";
    if (rcgc_trace_start(1) != 0 || rcgc_capture_start(capture) != 0) {
        perror("profile");
        return 1;
    }

    rcgc_profile_begin("load");
    void *store = load(200);
    rcgc_profile_end();
    rcgc_snapshot *loaded = rcgc_snapshot_take();

    rcgc_profile_begin("index");
    void *index = build_index(store);
    rcgc_profile_begin("query");
    size_t found = query(index, 100);
    rcgc_profile_end();
    rcgc_profile_end();
    rcgc_snapshot *indexed = rcgc_snapshot_take();
    if (!loaded || !indexed) {
        perror("profile: snapshot");
        return 1;
    }

    size_t current, peak;
    rcgc_trace_get_memory(&current, &peak);
    printf("traced memory: current %zu bytes, peak %zu bytes (%zu query results)\n\n",
           current, peak, found);
    rcgc_snapshot_print_top(indexed, RCGC_BY_LINENO, 5, print_line, NULL);
    printf("\n");
    rcgc_snapshot_print_top(indexed, RCGC_BY_TYPE, 5, print_line, NULL);
    printf("\nWhat indexing added, by line:\n");
    rcgc_snapshot_print_compare(indexed, loaded, RCGC_BY_LINENO, 5, print_line, NULL);
    printf("\nRegions:\n");
    rcgc_profile_print(print_line, NULL);

    rcgc_snapshot_free(loaded);
    rcgc_snapshot_free(indexed);
    rcgc_decref(index);
    rcgc_decref(store);
    rcgc_capture_stop();
    rcgc_trace_stop();
    printf("\ncapture written to %s; see it with\n"
           "  rcgc-report stats %s\n  rcgc-report timeline %s -o timeline.html\n",
           capture, capture, capture);
    return 0;
}
