/*
 * Writes a capture for the browser test of rcgc-report's pages: tracing 8
 * frames, a document model built in three phases (paragraphs of words in
 * lists, kept; cyclic scratch nodes, dropped and collected), a young and a
 * full collection after each phase, and a short sleep between phases so the
 * timeline spreads out.  Usage: report_workload OUT.capture
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "nodes.h"
#include "rcgc_tools.h"

static const rcgc_type word_type = {.name = "word", .size = 24};
static const rcgc_type paragraph_type = {.name = "paragraph", .size = sizeof(node),
                                         .traverse = node_traverse, .clear = node_clear};

__attribute__((noinline)) static void *make_paragraph(int words)
{
    node *p = rcgc_new(&paragraph_type);
    void *list = rcgc_list_new();
    for (int i = 0; i < words; i++) {
        void *w = rcgc_new(&word_type);
        rcgc_list_append(list, w);
        rcgc_decref(w);
    }
    p->slot[0] = list;
    return p;
}

__attribute__((noinline)) static void make_scratch(int n)
{
    for (int i = 0; i < n; i++) {
        node *a = new_node(&plain_type, i), *b = new_node(&plain_type, -i);
        link_slot(a, 0, b);
        link_slot(b, 0, a);
        rcgc_decref(a);
        rcgc_decref(b);
    }
}

__attribute__((noinline)) static void build_document(void *doc, int paragraphs)
{
    for (int i = 0; i < paragraphs; i++) {
        void *p = make_paragraph(20);
        rcgc_list_append(doc, p);
        rcgc_decref(p);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.capture\n", argv[0]);
        return 2;
    }
    if (rcgc_trace_start(8) != 0 || rcgc_capture_start(argv[1]) != 0) {
        perror(argv[1]);
        return 1;
    }
    void *doc = rcgc_list_new();
    struct timespec pause = {0, 20 * 1000 * 1000};
    for (int phase = 0; phase < 3; phase++) {
        build_document(doc, 100);
        make_scratch(500);
        rcgc_collect(0);
        nanosleep(&pause, NULL);
        rcgc_collect(2);
        nanosleep(&pause, NULL);
    }
    rcgc_decref(doc);
    rcgc_collect(2);
    int rc = rcgc_capture_stop();
    if (rc != 0) perror(argv[1]);
    rcgc_trace_stop();
    return rc == 0 ? 0 : 1;
}
