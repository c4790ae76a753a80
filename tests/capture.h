/*
 * A write sink for tests of printed output: lines accumulate in a buffer,
 * and captured_masked() gives them with every address (0x followed by hex
 * digits) replaced by "0x?", so expected text can be written out exactly.
 */
#ifndef RCGC_TEST_CAPTURE_H
#define RCGC_TEST_CAPTURE_H

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "rcgc.h"

typedef struct capture {
    char text[1 << 16];
    size_t len;
    int lines;
} capture;

static inline void capture_reset(capture *c)
{
    c->text[0] = '\0';
    c->len = 0;
    c->lines = 0;
}

/* An rcgc_write_fn: arg is the capture. */
static inline void capture_write(const char *line, void *arg)
{
    capture *c = arg;
    size_t n = strlen(line);
    if (c->len + n >= sizeof c->text) n = sizeof c->text - 1 - c->len;
    memcpy(c->text + c->len, line, n);
    c->len += n;
    c->text[c->len] = '\0';
    c->lines++;
}

/* The captured text with addresses masked (a static buffer). */
static inline const char *captured_masked(const capture *c)
{
    static char masked[1 << 16];
    size_t o = 0;
    for (size_t i = 0; i < c->len && o + 4 < sizeof masked;) {
        if (c->text[i] == '0' && c->text[i + 1] == 'x' && isxdigit((unsigned char)c->text[i + 2])) {
            memcpy(masked + o, "0x?", 3);
            o += 3;
            i += 2;
            while (isxdigit((unsigned char)c->text[i])) i++;
        } else {
            masked[o++] = c->text[i++];
        }
    }
    masked[o] = '\0';
    return masked;
}

/* The text of a file (its first 1 MiB; a static buffer), or NULL if it
   cannot be opened: for tests of files the tools write. */
static inline const char *read_text_file(const char *path)
{
    static char text[1 << 20];
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    return text;
}

#endif
